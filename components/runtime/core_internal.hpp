#pragma once
// What the public handles (core.hpp) share: the deployment, compiled models and requests on a
// device reached over the bus. Private to components/runtime.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "components/model/op_registry.hpp"
#include "components/runtime/core.hpp"
#include "components/runtime/embedded.hpp"
#include "plugins/sdk/async.hpp"
#include "plugins/sdk/plugin.hpp"
#include "schemas/plugin.capnp.h"

namespace loom {

struct DeploymentState {
    std::unique_ptr<runtime::EmbeddedDeployment> deployment;
    std::shared_ptr<sdk::ThreadPoolExecutor> executor; // runs start_async inferences
    std::mutex mutex;                                  // guards the properties below
    Properties core_properties;                        // CACHE_DIR, LOOM_TRANSFORM_PIPELINE
    std::map<std::string, Properties> device_properties;

    ~DeploymentState();
};

// Sends `request` to a device and returns the reply (errors rethrown as loom::Error).
bus::InMessage device_call(kernel::RoutedChannel& device, schema::DeviceMethod method,
                           bus::OutMessage& request);

struct CompiledModelState {
    std::shared_ptr<DeploymentState> deployment; // keeps the bus alive
    kernel::RoutedChannel* device = nullptr;     // owned by the deployment
    std::string device_name;
    std::uint64_t handle = 0;
    std::vector<Port> inputs, outputs;
    bool profiling = false;

    ~CompiledModelState(); // releases the device's compiled model (best effort)
};

struct RequestState {
    std::shared_ptr<CompiledModelState> compiled;
    std::uint64_t handle = 0;
    std::vector<Tensor> inputs, outputs; // bound or produced
    std::vector<bool> output_bound;
    std::vector<ProfilingInfo> profile;
    std::unique_ptr<sdk::AsyncInferRequest> async;

    // One inference over the bus on this thread; `sequence` numbers it for cancel (0: none).
    void infer_now(std::uint64_t sequence = 0);
    ~RequestState();
};

// Ports from the device protocol's PortInfo.
std::vector<Port> to_ports(const std::vector<sdk::PortInfo>& ports);

} // namespace loom
