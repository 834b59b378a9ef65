#include "components/runtime/deployment.hpp"

#include <fstream>
#include <iterator>

#include <loom/core.hpp>

#include "components/runtime/attached.hpp"
#include "components/runtime/embedded.hpp"
#include "schemas/bus.capnp.h"
#include "schemas/error.hpp"

namespace loom::runtime {

DeviceName parse_device_name(const std::string& name) {
    DeviceName out;
    const auto at = name.find('@');
    out.type = name.substr(0, at);
    if (at == std::string::npos) return out;
    out.host = name.substr(at + 1);
    LOOM_REQUIRE(!out.type.empty() && !out.host.empty(),
                 "device '{}': write TYPE@HOST (CPU@nodeb) or TYPE@ENDPOINT "
                 "(CPU@tcp://10.0.0.2:7100)",
                 name);
    if (out.host.find("://") != std::string::npos) {
        LOOM_REQUIRE(out.host.starts_with("tcp://") || out.host.starts_with("ipc://"),
                     "device '{}': a device host is reached over tcp:// or ipc://, not {}", name,
                     out.host);
        out.endpoint = out.host;
    }
    return out;
}

std::vector<std::string> composite_members(const std::string& device, std::string_view kind) {
    if (!device.starts_with(kind) || device.size() <= kind.size() || device[kind.size()] != ':')
        return {};
    std::vector<std::string> out;
    const auto list = device.substr(kind.size() + 1);
    for (std::size_t start = 0; start <= list.size();) {
        auto end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        auto member = list.substr(start, end - start);
        LOOM_REQUIRE(!member.empty(), "device '{}': an empty member (write {}:A,B)", device, kind);
        LOOM_REQUIRE(member.find(':') == std::string::npos || member.find('@') < member.find(':'),
                     "device '{}': member {} is itself composite", device, member);
        LOOM_REQUIRE(std::find(out.begin(), out.end(), member) == out.end(),
                     "device '{}': member {} is named twice", device, member);
        out.push_back(std::move(member));
        start = end + 1;
    }
    return out;
}

std::unique_ptr<Deployment> make_deployment(const CoreOptions& options) {
    bus::ContextOptions context;
    if (!options.client_key_file.empty())
        context.client_keys = bus::KeyPair::load(options.client_key_file);
    for (const auto& [endpoint, key] : options.server_keys)
        context.server_keys[endpoint] = bus::load_public_key(key);
    if (!options.kernel.empty()) {
        AttachOptions a;
        a.kernel = options.kernel;
        a.context = context;
        a.registry = options.process_registry;
        if (options.kernel.starts_with("tcp://")) {
            LOOM_REQUIRE(context.client_keys && !options.kernel_key.empty(),
                         "attaching to the kernel at {} needs CURVE: this client's key pair "
                         "(client_key_file, --key) and the kernel's public key (kernel_key, "
                         "--peer-key)",
                         options.kernel);
            a.security =
                bus::ClientSecurity{*context.client_keys, bus::load_public_key(options.kernel_key)};
        }
        return std::make_unique<AttachedDeployment>(std::move(a));
    }
    EmbeddedOptions e;
    e.library_dir = options.library_dir;
    e.context = std::move(context);
    const auto where = [](bool out) {
        return out ? kernel::Placement::CHILD_PROCESS : kernel::Placement::IN_PROCESS;
    };
    e.reader = e.transform = where(options.model_components_out_of_process);
    e.devices = where(options.devices_out_of_process);
    return std::make_unique<EmbeddedDeployment>(e);
}

namespace {
// A file's bytes as a frame.
bus::Frame file_frame(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) LOOM_THROW(ErrorKind::NOT_FOUND, "cannot open model file {}", path.string());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return bus::Frame::copy_of(
        std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}
} // namespace

ReadResult read_model_file(Deployment& deployment, const std::string& path) {
    if (!deployment.reader_is_remote()) return read_model(deployment.reader(), path);
    std::filesystem::path file(path), weights;
    if (file.extension() == ".xml") {
        weights = std::filesystem::path(file).replace_extension(".bin");
        if (!std::filesystem::exists(weights)) weights.clear();
    }
    return read_model_bytes(deployment.reader(), file_frame(file),
                            weights.empty() ? bus::Frame{} : file_frame(weights));
}

Deployment::Deployment(std::shared_ptr<model::RegistryHost> registry, bus::ContextOptions context)
    : m_registry(std::move(registry))
    , m_context(std::make_unique<bus::Context>(std::move(context))) {}

Deployment::~Deployment() {
    close();
}

void Deployment::connect(const std::string& kernel_endpoint, bus::ChannelOptions options) {
    m_channel_options = std::move(options);
    m_client =
        std::make_unique<kernel::KernelClient>(*m_context, kernel_endpoint, m_channel_options);
    const auto routed = [&](const char* name) {
        return std::make_unique<kernel::RoutedChannel>(*m_context, *m_client, name,
                                                       m_channel_options);
    };
    m_reader = routed("reader");
    m_transform = routed("transform");
    m_extensions = routed("extensions");
}

kernel::RoutedChannel& Deployment::routed(const std::string& component,
                                          const std::function<void()>& first_use) {
    std::lock_guard lock(m_devices_mutex);
    auto it = m_devices.find(component);
    if (it == m_devices.end()) {
        first_use();
        it = m_devices
                 .emplace(component, std::make_unique<kernel::RoutedChannel>(
                                         *m_context, *m_client, component, m_channel_options))
                 .first;
    }
    return *it->second;
}

kernel::RoutedChannel& Deployment::routed_component(const std::string& name) {
    return routed(name, [&] { m_client->resolve(name); });
}

DeviceCaller Deployment::routed_device(const std::string& component,
                                       const std::function<void()>& first_use) {
    kernel::RoutedChannel* channel = &routed(component, first_use);
    return [channel](std::uint16_t method, bus::OutMessage& request, bus::CallOptions options) {
        return channel->call_method(method, request, options);
    };
}

void Deployment::close() noexcept {
    {
        std::lock_guard lock(m_mutex);
        m_by_endpoint.clear();
    }
    {
        std::lock_guard lock(m_devices_mutex);
        m_devices.clear();
    }
    m_reader.reset();
    m_transform.reset();
    m_extensions.reset();
    m_client.reset();
}

DeviceCaller Deployment::device(const std::string& name) {
    auto parsed = parse_device_name(name);
    if (!parsed.endpoint.empty()) return endpoint_device(parsed);
    return named_device(name);
}

bus::Channel& Deployment::endpoint_channel(const std::string& endpoint,
                                           const std::function<void(const std::string&)>& check) {
    auto it = m_by_endpoint.find(endpoint);
    if (it == m_by_endpoint.end()) {
        // The service to address there is the one it says it serves ("device/CPU@nodeb").
        bus::Channel probe(context(), endpoint, "$control");
        auto status = probe.ping();
        std::string served = status.payload<schema::ServiceStatus>().getName().cStr();
        check(served);
        it = m_by_endpoint
                 .emplace(endpoint, std::make_unique<bus::Channel>(context(), endpoint, served))
                 .first;
    }
    return *it->second;
}

DeviceCaller Deployment::endpoint_device(const DeviceName& name) {
    std::lock_guard lock(m_mutex);
    bus::Channel* channel = &endpoint_channel(name.endpoint, [&](const std::string& served) {
        const std::string expected = "device/" + name.type;
        if (served != expected && !served.starts_with(expected + "@"))
            LOOM_THROW(ErrorKind::NOT_FOUND, "{} serves '{}', not a {} device", name.endpoint,
                       served, name.type);
    });
    return [channel](std::uint16_t method, bus::OutMessage& request, bus::CallOptions options) {
        return channel->call_method_keep(method, request, options);
    };
}

DeviceCaller Deployment::component(const std::string& name) {
    LOOM_REQUIRE(!name.empty(), "a component needs a name or an endpoint");
    if (name.find("://") != std::string::npos) {
        LOOM_REQUIRE(name.starts_with("tcp://") || name.starts_with("ipc://") ||
                         name.starts_with("inproc://"),
                     "component endpoint '{}': use tcp://, ipc:// or inproc://", name);
        std::lock_guard lock(m_mutex);
        bus::Channel* channel = &endpoint_channel(name, [](const std::string&) {});
        return [channel](std::uint16_t method, bus::OutMessage& request, bus::CallOptions options) {
            return channel->call_method_keep(method, request, options);
        };
    }
    return routed_device(name, [&] { m_client->resolve(name); });
}

} // namespace loom::runtime
