#pragma once
// The component library ABI. A component library exports exactly one function,
// `loom_create_component`, which builds the component's bus Service. Define it with
// LOOM_COMPONENT(factory): the macro checks the ABI version and turns exceptions into an error
// kind and message, so no C++ exception crosses the library boundary (DESIGN.md §2).
//
// The host keeps the library loaded for as long as the service (and anything it made) lives.

#include <cstdint>
#include <memory>
#include <string>

#include "bus/context.hpp"
#include "bus/service.hpp"

#define LOOM_COMPONENT_ABI_VERSION 1u
// Device plugin libraries (plugins/sdk/device_service.hpp LOOM_PLUGIN) export
// `loom_create_plugin` with the ComponentEntry signature; the kernel passes this ABI version.
#define LOOM_PLUGIN_ABI_VERSION 1u

namespace loom::model {
class RegistryHost; // components/model/registry_host.hpp; the kernel only passes it along
}

namespace loom::kernel {

struct ComponentArgs {
    std::uint32_t abi_version = LOOM_COMPONENT_ABI_VERSION;
    bus::Context* context = nullptr; // the process's bus context
    std::string name;                // the name the component is deployed under
    std::string config;              // the deployment's configuration text for it (TOML)
    // The process's op registry (DESIGN.md §5), shared by every component of the process;
    // null: the component makes its own with the native op set.
    std::shared_ptr<model::RegistryHost> registry;
    std::string kernel_endpoint; // the kernel that started it (empty: none known)
};

struct ComponentResult {
    std::shared_ptr<bus::Service> service;
    std::string kind; // e.g. "reader", "device", "test"
    ErrorKind error_kind = ErrorKind::INTERNAL;
    std::string error; // non-empty: the entry failed and `service` is null
};

using ComponentEntry = void (*)(const ComponentArgs& args, ComponentResult& result) noexcept;
inline constexpr const char* k_component_entry_symbol = "loom_create_component";
inline constexpr const char* k_plugin_entry_symbol = "loom_create_plugin";

} // namespace loom::kernel

// Defines the library's entry. `factory` is callable as
//   std::shared_ptr<loom::bus::Service> factory(const loom::kernel::ComponentArgs&, std::string&
//   kind)
#define LOOM_COMPONENT(factory)                                                                    \
    extern "C" __attribute__((visibility("default"))) void loom_create_component(                  \
        const ::loom::kernel::ComponentArgs& args,                                                 \
        ::loom::kernel::ComponentResult& result) noexcept {                                        \
        try {                                                                                      \
            if (args.abi_version != LOOM_COMPONENT_ABI_VERSION) {                                  \
                result.error_kind = ::loom::ErrorKind::UNSUPPORTED;                                \
                result.error = "component ABI version " + std::to_string(args.abi_version) +       \
                               " requested, this library implements " +                            \
                               std::to_string(LOOM_COMPONENT_ABI_VERSION);                         \
                return;                                                                            \
            }                                                                                      \
            result.service = factory(args, result.kind);                                           \
            if (!result.service) {                                                                 \
                result.error_kind = ::loom::ErrorKind::INTERNAL;                                   \
                result.error = "the component factory returned no service";                        \
            }                                                                                      \
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
            result.error = "the component factory threw a non-standard exception";                 \
        }                                                                                          \
    }
