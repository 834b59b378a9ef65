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

class Deployment {
public:
    virtual ~Deployment();

    virtual bus::Context& context() noexcept = 0;
    virtual Caller reader() = 0;
    virtual Caller transform() = 0;
    virtual Caller extensions() = 0;
    // This process's op registry (native ops + the extensions loaded into it).
    virtual const std::shared_ptr<model::RegistryHost>& registry() const noexcept = 0;
    // The names `device()` accepts now (not those reached by endpoint), sorted.
    virtual std::vector<std::string> device_names() = 0;
    // Whether a model file named by path should travel as bytes (the reader runs elsewhere).
    virtual bool reader_is_remote() const noexcept { return false; }

    // The device `name` (any form above); not_found naming what exists when there is none.
    // Thread-safe; the caller stays valid while the deployment lives.
    DeviceCaller device(const std::string& name);

protected:
    // A device of the deployment ("CPU", "CPU@nodeb").
    virtual DeviceCaller named_device(const std::string& name) = 0;
    // Closes the channels to devices reached by endpoint: the derived class's destructor calls
    // it before its bus context goes (a context ends only after every socket on it closed).
    void close_endpoint_devices() noexcept;

private:
    // A device host reached by endpoint: asks it (ping) which device component it serves and
    // checks it is a `type` device.
    DeviceCaller endpoint_device(const DeviceName& name);

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
