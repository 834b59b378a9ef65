#include "kernel/component_library.hpp"

#include <dlfcn.h>

#include <filesystem>

namespace loom::kernel {

namespace {

// Runtimes whose threads outlive a call (OpenMP's pool, oneTBB's workers), and oneDNN, whose code
// those threads run: once a component pulled them in they stay for the process's life — unloading
// them under live threads crashes (DESIGN.md §6; the extension loader does the same). A runtime
// that is not loaded is left alone (RTLD_NOLOAD).
void keep_runtimes_loaded() {
    for (const char* name : {"libgomp.so.1", "libdnnl.so.2", "libtbb.so.12"})
        (void)::dlopen(name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE); // never closed
}

} // namespace

LoadedComponent load_component(const std::string& library, bus::Context& context,
                               const std::string& name, const std::string& config,
                               std::shared_ptr<model::RegistryHost> registry,
                               const std::string& kernel_endpoint) {
    if (!std::filesystem::exists(library))
        LOOM_THROW(ErrorKind::NOT_FOUND, "component library {} does not exist", library);
    void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot load component library {}: {}", library,
                   ::dlerror());
    keep_runtimes_loaded();
    std::shared_ptr<void> keep(handle, [](void* h) { ::dlclose(h); });
    // A component library exports loom_create_component; a device plugin library exports
    // loom_create_plugin with the same signature and its own ABI version (DESIGN.md §6).
    ComponentArgs args;
    auto entry = reinterpret_cast<ComponentEntry>(::dlsym(handle, k_component_entry_symbol));
    if (!entry) {
        entry = reinterpret_cast<ComponentEntry>(::dlsym(handle, k_plugin_entry_symbol));
        args.abi_version = LOOM_PLUGIN_ABI_VERSION;
    }
    if (!entry)
        LOOM_THROW(ErrorKind::NOT_FOUND,
                   "{} is not a Loom component or plugin library: it exports neither {} nor {}",
                   library, k_component_entry_symbol, k_plugin_entry_symbol);
    args.context = &context;
    args.name = name;
    args.config = config;
    args.registry = std::move(registry);
    args.kernel_endpoint = kernel_endpoint;
    ComponentResult result;
    entry(args, result);
    if (!result.error.empty() || !result.service)
        LOOM_THROW(result.error_kind, "component library {} failed to start '{}': {}", library,
                   name, result.error.empty() ? "no service" : result.error);
    // The library must outlive the service, its handlers and the control block that the
    // library's make_shared created (its code is in the library). The holder destroys the
    // service first, then closes the library; callers share the holder through an aliasing
    // pointer whose control block is ours.
    struct Holder {
        std::shared_ptr<void> library;
        std::shared_ptr<bus::Service> service; // declared last: destroyed first
    };
    auto holder = std::make_shared<Holder>(Holder{std::move(keep), std::move(result.service)});
    bus::Service* service = holder->service.get();
    return {std::shared_ptr<bus::Service>(std::move(holder), service), std::move(result.kind)};
}

} // namespace loom::kernel
