#pragma once
// What the public handles (<loom/core.hpp>) share: the deployment, this Core's sessions with its
// devices, and compiled models and requests living on a device reached over the bus. Private to
// components/runtime.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <loom/core.hpp>

#include "components/model/op_registry.hpp"
#include "components/protocol/async_request.hpp"
#include "components/protocol/device_session.hpp"
#include "components/runtime/deployment.hpp"
#include "schemas/plugin.capnp.h"

namespace loom::runtime {
class MultiModel;
class HeteroModel;
} // namespace loom::runtime

namespace loom {

// A device as this Core reaches it: its channel (owned by the deployment) and this Core's
// session with it (DESIGN.md §6), opened on first use. Thread-safe.
struct DeviceLink {
    std::string name;
    runtime::DeviceCaller channel; // valid while the deployment lives
    std::unique_ptr<protocol::DeviceSession> session;

    // A call in the session: compiled models, requests and what names them.
    bus::InMessage call(schema::DeviceMethod method, bus::OutMessage& request);
    // A call with the release deadline, for destructors (errors thrown; callers ignore them).
    bus::InMessage release(schema::DeviceMethod method, bus::OutMessage& request);
    // A call outside any session: describe, properties, query_model, op coverage.
    bus::InMessage call_plain(schema::DeviceMethod method, bus::OutMessage& request);
};

struct DeploymentState {
    std::unique_ptr<runtime::Deployment> deployment;        // embedded or attached
    std::shared_ptr<protocol::ThreadPoolExecutor> executor; // runs start_async inferences
    protocol::SessionOptions sessions;
    std::mutex mutex;           // guards the fields below
    Properties core_properties; // CACHE_DIR, LOOM_TRANSFORM_PIPELINE
    std::map<std::string, Properties> device_properties;
    std::map<std::string, std::shared_ptr<DeviceLink>> links;

    // The link to `device` (starting the device on first use); not_found for an unknown one.
    std::shared_ptr<DeviceLink> link(const std::string& device);
    ~DeploymentState();
};

struct CompiledModelState {
    std::shared_ptr<DeploymentState> deployment;  // keeps the bus alive
    std::shared_ptr<DeviceLink> device;           // declared after: released before the bus
    std::shared_ptr<runtime::MultiModel> multi;   // MULTI: its members (device null, handle 0)
    std::shared_ptr<runtime::HeteroModel> hetero; // HETERO: its stages (device null, handle 0)
    std::shared_ptr<CompiledModelImpl> custom;    // Core::adopt: runs it (device null, handle 0)
    std::string name;                             // the device as the caller named it
    // Atomic: MULTI zeroes it when the member is lost (nothing to release) while other threads
    // may be reading it to make requests.
    std::atomic<std::uint64_t> handle{0};
    std::vector<Port> inputs, outputs;
    bool profiling = false;

    // Releases the device's compiled model, within the release deadline (best effort: a dead
    // device's objects went with it, a frozen one's go when this Core's lease runs out).
    ~CompiledModelState();
};

struct RequestState {
    std::shared_ptr<CompiledModelState> compiled;
    std::uint64_t handle = 0;
    std::vector<Tensor> inputs, outputs; // bound or produced
    std::vector<bool> output_bound;
    std::vector<ProfilingInfo> profile;
    std::unique_ptr<protocol::AsyncInferRequest> async;
    // MULTI: the member request running this request's inference now, or the one a stateful
    // model pins it to.
    std::mutex member_mutex;
    std::shared_ptr<RequestState> member;
    std::size_t pin_index = 0;        // MULTI, stateful: the member pinned to …
    std::uint64_t pin_generation = 0; // … while it is this incarnation of it
    std::vector<std::shared_ptr<RequestState>> stage_requests; // HETERO: one per stage
    std::atomic<bool> cancelled{false}; // Core::adopt: the running inference is cancelled

    // One inference over the bus on this thread; `sequence` numbers it for cancel (0: none).
    void infer_now(std::uint64_t sequence = 0);
    ~RequestState();
};

// A request of `compiled` on its device (no asynchronous pipeline: the caller's thread runs it).
std::shared_ptr<RequestState> new_device_request(std::shared_ptr<CompiledModelState> compiled);
// The compiled model's OPTIMAL_NUMBER_OF_INFER_REQUESTS (1 when the device does not say).
unsigned optimal_requests(CompiledModelState& compiled);
// The graph the device runs (CompiledModel::runtime_model of a single device).
std::shared_ptr<model::Model> runtime_graph(CompiledModelState& compiled);
// Asks the device to cancel `request`'s inference number `sequence` (errors ignored).
void cancel_on_device(RequestState& request, std::uint64_t sequence) noexcept;

} // namespace loom
