// The `extensions` component: the deployment's extension loader (DESIGN.md §6). It loads
// libraries into its own process (sharing the process's op registry with the components there)
// and coordinates every other process that hosts components, found through the kernel.

#include <unistd.h>

#include "bus/endpoint.hpp"
#include "components/extensions/extension_service.hpp"
#include "components/extensions/remote_extension.hpp"
#include "components/model/registry_host.hpp"
#include "kernel/client.hpp"
#include "kernel/component_api.hpp"

namespace {

// One endpoint per other process hosting components (ready ones), reachable from here.
loom::extensions::PeerList peers_of(loom::bus::Context& context, const std::string& kernel) {
    auto client = std::make_shared<loom::kernel::KernelClient>(context, kernel);
    return [client] {
        const auto here = loom::bus::host_id();
        const auto pid = static_cast<std::int32_t>(::getpid());
        std::vector<std::pair<std::string, std::int32_t>> seen;
        std::vector<std::string> out;
        for (const auto& r : client->list()) {
            if (r.state != loom::kernel::ComponentState::READY) continue;
            if (r.host == here && r.pid == pid) continue;
            if (std::find(seen.begin(), seen.end(), std::pair(r.host, r.pid)) != seen.end())
                continue;
            for (const auto& e : r.endpoints)
                if (!e.starts_with("inproc://")) {
                    out.push_back(e);
                    seen.emplace_back(r.host, r.pid);
                    break;
                }
        }
        return out;
    };
}

std::shared_ptr<loom::bus::Service> make_extensions(const loom::kernel::ComponentArgs& args,
                                                    std::string& kind) {
    kind = "extensions";
    auto registry = args.registry ? args.registry : loom::model::make_native_registry_host();
    auto loader = std::make_shared<loom::extensions::ExtensionLoader>(
        std::move(registry), loom::extensions::make_opener(*args.context));
    loom::extensions::PeerList peers;
    if (!args.kernel_endpoint.empty()) peers = peers_of(*args.context, args.kernel_endpoint);
    return loom::extensions::make_extension_service(
        std::move(loader), *args.context, std::move(peers),
        args.name.empty() ? loom::extensions::k_extension_service : args.name);
}

} // namespace

LOOM_COMPONENT(make_extensions)
