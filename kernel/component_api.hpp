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

#include "schemas/error.hpp"

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

namespace loom::kernel {

// The one entry-point mechanism of component and device plugin libraries (LOOM_COMPONENT,
// LOOM_PLUGIN): checks the ABI version the host asks for, runs `make` (which fills `result`),
// and turns every exception into an error kind and message — none crosses the library boundary.
template <class Make>
void run_entry(const ComponentArgs& args, ComponentResult& result, std::uint32_t abi_version,
               const char* what, Make&& make) noexcept {
    try {
        if (args.abi_version != abi_version) {
            result.error_kind = ErrorKind::UNSUPPORTED;
            result.error = std::string(what) + " ABI version " + std::to_string(args.abi_version) +
                           " requested, this library implements " + std::to_string(abi_version);
            return;
        }
        make();
        if (!result.service) {
            result.error_kind = ErrorKind::INTERNAL;
            result.error = std::string("the ") + what + " factory returned no service";
        }
    } catch (const Error& e) {
        result.service.reset();
        result.error_kind = e.kind();
        result.error = e.message();
    } catch (const std::exception& e) {
        result.service.reset();
        result.error_kind = ErrorKind::INTERNAL;
        result.error = e.what();
    } catch (...) {
        result.service.reset();
        result.error_kind = ErrorKind::INTERNAL;
        result.error = std::string("the ") + what + " factory threw a non-standard exception";
    }
}

} // namespace loom::kernel

// Defines an entry function `symbol` (ComponentEntry's signature) whose body, run by run_entry,
// is the remaining arguments (they see `args` and `result`).
#define LOOM_DEFINE_ENTRY(symbol, abi_version, what, ...)                                          \
    extern "C" __attribute__((visibility("default"))) void symbol(                                 \
        const ::loom::kernel::ComponentArgs& args,                                                 \
        ::loom::kernel::ComponentResult& result) noexcept {                                        \
        ::loom::kernel::run_entry(args, result, (abi_version), (what), [&] { __VA_ARGS__; });      \
    }

// Defines a component library's entry, `loom_create_component`. `factory` is callable as
//   std::shared_ptr<loom::bus::Service> factory(const loom::kernel::ComponentArgs&, std::string&
//   kind)
#define LOOM_COMPONENT(factory)                                                                    \
    LOOM_DEFINE_ENTRY(loom_create_component, LOOM_COMPONENT_ABI_VERSION, "component",              \
                      result.service = factory(args, result.kind))
