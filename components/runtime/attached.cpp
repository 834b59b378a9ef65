#include "components/runtime/attached.hpp"

#include <algorithm>

#include "schemas/error.hpp"

namespace loom::runtime {

namespace {
constexpr std::string_view k_device_prefix = "device/";
}

AttachedDeployment::AttachedDeployment(AttachOptions options)
    : m_registry(model::make_native_registry_host())
    , m_context(std::make_unique<bus::Context>(options.context)) {
    LOOM_REQUIRE(!options.kernel.empty(), "attach: no kernel endpoint");
    m_channel_options.security = options.security;
    m_client =
        std::make_unique<kernel::KernelClient>(*m_context, options.kernel, m_channel_options);
    m_client->list(); // reachable, and it lets us in
    m_reader = routed("reader");
    m_transform = routed("transform");
    m_extensions = routed("extensions");
}

AttachedDeployment::~AttachedDeployment() {
    close_endpoint_devices();
    m_devices.clear();
    m_reader.reset();
    m_transform.reset();
    m_extensions.reset();
    m_client.reset();
}

std::unique_ptr<kernel::RoutedChannel> AttachedDeployment::routed(const std::string& name) const {
    return std::make_unique<kernel::RoutedChannel>(*m_context, *m_client, name, m_channel_options);
}

std::vector<std::string> AttachedDeployment::device_names() {
    std::vector<std::string> out;
    for (const auto& r : m_client->list())
        if (r.name.starts_with(k_device_prefix) && r.state == kernel::ComponentState::READY)
            out.push_back(r.name.substr(k_device_prefix.size()));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

DeviceCaller AttachedDeployment::named_device(const std::string& name) {
    std::lock_guard lock(m_devices_mutex);
    auto it = m_devices.find(name);
    if (it == m_devices.end()) {
        const std::string component = std::string(k_device_prefix) + name;
        try {
            m_client->resolve(component);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::NOT_FOUND) throw;
            std::string list;
            for (const auto& n : device_names())
                list += (list.empty() ? "" : ", ") + n;
            LOOM_THROW(ErrorKind::NOT_FOUND, "no device '{}' in the deployment at {} (ready: {})",
                       name, m_client->endpoint(), list.empty() ? "none" : list);
        }
        it = m_devices.emplace(name, routed(component)).first;
    }
    kernel::RoutedChannel* channel = it->second.get();
    return [channel](std::uint16_t method, bus::OutMessage& request, bus::CallOptions options) {
        return channel->call_method(method, request, options);
    };
}

} // namespace loom::runtime
