#include "components/runtime/attached.hpp"

#include <algorithm>

#include "schemas/error.hpp"

namespace loom::runtime {

namespace {
constexpr std::string_view k_device_prefix = "device/";
}

AttachedDeployment::AttachedDeployment(AttachOptions options)
    : Deployment(options.registry ? options.registry : model::make_native_registry_host(),
                 options.context) {
    LOOM_REQUIRE(!options.kernel.empty(), "attach: no kernel endpoint");
    bus::ChannelOptions channel;
    channel.security = options.security;
    connect(options.kernel, channel);
    client().list(); // reachable, and it lets us in
}

AttachedDeployment::~AttachedDeployment() {
    close();
}

std::vector<std::string> AttachedDeployment::device_names() {
    std::vector<std::string> out;
    for (const auto& r : client().list())
        if (r.name.starts_with(k_device_prefix) && r.state == kernel::ComponentState::READY)
            out.push_back(r.name.substr(k_device_prefix.size()));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

DeviceCaller AttachedDeployment::named_device(const std::string& name) {
    const std::string component = std::string(k_device_prefix) + name;
    return routed_device(component, [&] {
        try {
            client().resolve(component);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::NOT_FOUND) throw;
            std::string list;
            for (const auto& n : device_names())
                list += (list.empty() ? "" : ", ") + n;
            LOOM_THROW(ErrorKind::NOT_FOUND, "no device '{}' in the deployment at {} (ready: {})",
                       name, client().endpoint(), list.empty() ? "none" : list);
        }
    });
}

} // namespace loom::runtime
