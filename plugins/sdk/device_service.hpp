#pragma once
// The device component (DESIGN.md §2 "device_host"): a Plugin served on the bus under
// schemas/plugin.capnp. Compiled models and infer requests live here, owned by the client session
// that created them (components/protocol/session_table.hpp): named by random handles, invisible
// to other sessions, released when the session closes or its lease runs out. The service is
// thread-safe (handlers run concurrently: in-process callers run them on their own thread, over
// sockets they run on a worker pool), so a cancel can reach a running inference.

#include <memory>
#include <string>

#include "bus/service.hpp"
#include "kernel/component_api.hpp"
#include "plugins/sdk/plugin.hpp"

namespace loom::plugins::sdk {

// `workers`: concurrent requests over sockets (in-process calls use the callers' threads).
std::shared_ptr<bus::Service> make_device_service(std::shared_ptr<Plugin> plugin,
                                                  std::string service_name, unsigned workers = 4);

// What LOOM_PLUGIN's entry does: serves `plugin` as the device component (named "device/<NAME>"
// unless the deployment named it).
inline void host_plugin(std::shared_ptr<Plugin> plugin, const kernel::ComponentArgs& args,
                        kernel::ComponentResult& result) {
    const std::string name = args.name.empty() ? "device/" + plugin->device_name() : args.name;
    result.kind = "device";
    result.service = make_device_service(std::move(plugin), name);
}

} // namespace loom::plugins::sdk

// Defines the plugin library's one entry, `loom_create_plugin` (the component entry mechanism,
// kernel/component_api.hpp, with the plugin ABI version). `factory` is callable as
//   std::shared_ptr<loom::plugins::sdk::Plugin> factory(const loom::kernel::ComponentArgs& args)
// (args.config is the deployment's TOML text for the device).
#define LOOM_PLUGIN(factory)                                                                       \
    LOOM_DEFINE_ENTRY(loom_create_plugin, LOOM_PLUGIN_ABI_VERSION, "plugin",                       \
                      ::loom::plugins::sdk::host_plugin(factory(args), args, result))
