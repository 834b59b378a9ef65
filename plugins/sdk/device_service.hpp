#pragma once
// The device component (DESIGN.md §2 "device_host"): a Plugin served on the bus under
// schemas/plugin.capnp. Compiled models and infer requests live here and are named by handles
// the client releases; a handle the client forgot dies with the service. The service is
// thread-safe (handlers run concurrently: in-process callers run them on their own thread, over
// sockets they run on a worker pool), so a cancel can reach a running inference.

#include <memory>
#include <string>

#include "bus/service.hpp"
#include "kernel/component_api.hpp"
#include "plugins/sdk/plugin.hpp"

namespace loom::sdk {

// `workers`: concurrent requests over sockets (in-process calls use the callers' threads).
std::shared_ptr<bus::Service> make_device_service(std::shared_ptr<Plugin> plugin,
                                                  std::string service_name, unsigned workers = 4);

} // namespace loom::sdk

// Defines the plugin library's one entry, `loom_create_plugin`. `factory` is callable as
//   std::shared_ptr<loom::sdk::Plugin> factory(const loom::kernel::ComponentArgs& args)
// (args.config is the deployment's TOML text for the device). Exceptions become an error kind
// and message; none crosses the library boundary.
#define LOOM_PLUGIN(factory)                                                                       \
    extern "C" __attribute__((visibility("default"))) void loom_create_plugin(                     \
        const ::loom::kernel::ComponentArgs& args,                                                 \
        ::loom::kernel::ComponentResult& result) noexcept {                                        \
        try {                                                                                      \
            if (args.abi_version != LOOM_PLUGIN_ABI_VERSION) {                                     \
                result.error_kind = ::loom::ErrorKind::UNSUPPORTED;                                \
                result.error = "plugin ABI version " + std::to_string(args.abi_version) +          \
                               " requested, this library implements " +                            \
                               std::to_string(LOOM_PLUGIN_ABI_VERSION);                            \
                return;                                                                            \
            }                                                                                      \
            auto plugin = factory(args);                                                           \
            const std::string service_name =                                                       \
                args.name.empty() ? "device/" + plugin->device_name() : args.name;                 \
            result.kind = "device";                                                                \
            result.service = ::loom::sdk::make_device_service(std::move(plugin), service_name);    \
        } catch (const ::loom::Error& e) {                                                         \
            result.service.reset();                                                                \
            result.error_kind = e.kind();                                                          \
            result.error = e.message();                                                            \
        } catch (const std::exception& e) {                                                        \
            result.service.reset();                                                                \
            result.error_kind = ::loom::ErrorKind::INTERNAL;                                       \
            result.error = e.what();                                                               \
        } catch (...) {                                                                            \
            result.service.reset();                                                                \
            result.error_kind = ::loom::ErrorKind::INTERNAL;                                       \
            result.error = "the plugin factory threw a non-standard exception";                    \
        }                                                                                          \
    }
