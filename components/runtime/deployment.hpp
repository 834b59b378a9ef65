#pragma once
// What the Core reaches its components through (DESIGN.md §1): an embedded deployment it built
// itself (embedded.hpp), or a running one it attached to through its kernel (attached.hpp).
// Devices are named as DESIGN.md §6 names them: "CPU" (a device of the deployment), "CPU@nodeb"
// (the device component "device/CPU@nodeb" registered with the kernel) or "CPU@tcp://ADDR:PORT"
// / "CPU@ipc://PATH" (a device host reached by its endpoint, no kernel involved).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/channel.hpp"
#include "bus/context.hpp"
#include "components/model/registry_host.hpp"
#include "components/runtime/model_client.hpp"
#include "kernel/client.hpp"
#include "kernel/routed_channel.hpp"

namespace loom {
struct CoreOptions;
}

namespace loom::runtime {

// A device's methods (schema::DeviceMethod) over whatever reaches it; thread-safe. The request
// is kept intact so a routed channel may re-send it.
using DeviceCaller = std::function<bus::InMessage(std::uint16_t method, bus::OutMessage& request,
                                                  bus::CallOptions options)>;

// "CPU@tcp://10.0.0.2:7100" → {"CPU", "tcp://10.0.0.2:7100"}; {name, ""} for any other name.
struct DeviceName {
    std::string type;     // "CPU"
    std::string host;     // "nodeb", or the endpoint
    std::string endpoint; // set when `host` is an endpoint (tcp://, ipc://)
};
DeviceName parse_device_name(const std::string& name);

// "MULTI:A,B" with kind "MULTI" (or "HETERO:A,B" with "HETERO") → {"A", "B"}; empty when
// `device` is not a name of that kind. invalid_argument for an empty member, a member named
// twice, or a member that is itself composite.
std::vector<std::string> composite_members(const std::string& device, std::string_view kind);

// What both deployments share: this process's op registry and bus context, a kernel client, and
// routed channels to the model components and the devices of the deployment.
class Deployment {
public:
    virtual ~Deployment();

    bus::Context& context() noexcept { return *m_context; }
    Caller reader() { return caller_of(*m_reader); }
    Caller transform() { return caller_of(*m_transform); }
    Caller extensions() { return caller_of(*m_extensions); }
    // This process's op registry (native ops + the extensions loaded into it).
    const std::shared_ptr<model::RegistryHost>& registry() const noexcept { return m_registry; }
    // The names `device()` accepts now (not those reached by endpoint), sorted.
    virtual std::vector<std::string> device_names() = 0;
    // Whether a model file named by path should travel as bytes (the reader runs elsewhere).
    virtual bool reader_is_remote() const noexcept { return false; }

    // The device `name` (any form above); not_found naming what exists when there is none.
    // Thread-safe; the caller stays valid while the deployment lives.
    DeviceCaller device(const std::string& name);
    // Any component of the deployment by its name ("scaler", resolved by the kernel and routed
    // through its swaps; not_found when the kernel knows none), or a service reached by
    // endpoint (ipc://PATH, tcp://HOST:PORT: whatever it serves there). Thread-safe; the caller
    // stays valid while the deployment lives.
    DeviceCaller component(const std::string& name_or_endpoint);
    // The routed channel to the component `name` (not an endpoint): for callers that pin its
    // current instance (RoutedChannel::pinned). not_found when the kernel knows none.
    kernel::RoutedChannel& routed_component(const std::string& name);
    // The kernel client (start, swap, stop components: the operator's role over the network).
    kernel::KernelClient& kernel_client() noexcept { return *m_client; }

protected:
    // The derived constructor makes the registry and the context, then (its kernel up) connects.
    Deployment(std::shared_ptr<model::RegistryHost> registry, bus::ContextOptions context);
    // The kernel client and the routed channels to reader, transform and extensions.
    void connect(const std::string& kernel_endpoint, bus::ChannelOptions options = {});
    // A device of the deployment ("CPU", "CPU@nodeb").
    virtual DeviceCaller named_device(const std::string& name) = 0;
    // The routed channel to the device component `component` ("device/CPU"), made on first use
    // after `first_use` (which may throw, e.g. not_found, or start the component); thread-safe,
    // serialised: `first_use` runs under the lock.
    DeviceCaller routed_device(const std::string& component,
                               const std::function<void()>& first_use);
    kernel::RoutedChannel& routed(const std::string& component,
                                  const std::function<void()>& first_use);
    // Closes every channel and the kernel client: the derived destructor calls it before its
    // kernel goes (the context, a member of this base, ends after them).
    void close() noexcept;

    kernel::KernelClient& client() noexcept { return *m_client; }

private:
    // A device host reached by endpoint: asks it (ping) which device component it serves and
    // checks it is a `type` device.
    DeviceCaller endpoint_device(const DeviceName& name);
    // The channel to whatever `endpoint` serves (its name asked with a ping); `check` may refuse
    // that name. Under m_mutex.
    bus::Channel& endpoint_channel(const std::string& endpoint,
                                   const std::function<void(const std::string&)>& check);

    std::shared_ptr<model::RegistryHost> m_registry;
    std::unique_ptr<bus::Context> m_context; // last to go: every socket above is on it
    bus::ChannelOptions m_channel_options;
    std::unique_ptr<kernel::KernelClient> m_client;
    std::unique_ptr<kernel::RoutedChannel> m_reader, m_transform, m_extensions;
    std::mutex m_devices_mutex; // guards m_devices; a device's first use holds it
    std::map<std::string, std::unique_ptr<kernel::RoutedChannel>> m_devices;
    std::mutex m_mutex; // guards m_by_endpoint
    std::map<std::string, std::unique_ptr<bus::Channel>> m_by_endpoint;
};

// The deployment a Core with `options` uses: attached to options.kernel, else embedded.
std::unique_ptr<Deployment> make_deployment(const CoreOptions& options);

// Reads a model file through the deployment's reader: by path, or — the reader running
// elsewhere — as bytes read here (an IR's .bin beside its .xml travels too; an ONNX model's
// external data files do not: not_found from the reader names them).
ReadResult read_model_file(Deployment& deployment, const std::string& path);

} // namespace loom::runtime
