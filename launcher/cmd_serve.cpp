// loom serve — one component as a process of its own, registered with a kernel.

#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/ranges.h>

#include "components/extensions/extension_service.hpp"
#include "components/extensions/remote_extension.hpp"
#include "components/model/registry_host.hpp"
#include "kernel/component_host.hpp"
#include "launcher/commands.hpp"
#include "launcher/security_options.hpp"
#include "launcher/signals.hpp"

namespace loom::launcher {
namespace {

struct ServeOptions {
    std::string component, device, extension;
    std::vector<std::string> binds;
    std::string kernel;
    std::string name;
    std::string config;
    std::uint64_t token = 0;
    std::uint64_t instance = 0;
    bool replace = false;
    ServerKeyOptions server_keys;
    ClientKeyOptions kernel_keys;
};

std::string read_text(const std::string& path) {
    if (path.empty()) return {};
    std::ifstream in(path);
    if (!in) LOOM_THROW(ErrorKind::NOT_FOUND, "cannot read config file {}", path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// An extension library in a process of its own: the "extension-host" service at the binds, until
// SIGINT/SIGTERM or a `stop` control request. Processes load it by endpoint.
void serve_extension(const ServeOptions& o) {
    auto library = extensions::ExtensionLibrary::open(o.extension);
    bus::Context context;
    bus::Server server(context, extensions::make_extension_host_service(library),
                       bus::ServerOptions{.endpoints = o.binds, .security = o.server_keys.load()});
    SignalWatcher signals([&](int) { server.stop(); });
    std::cout << "serving extension '" << library->name() << "' " << library->version() << " at "
              << fmt::format("{}", fmt::join(server.endpoints(), " ")) << std::endl;
    server.wait_stop_requested();
    server.stop();
}

void serve(const ServeOptions& o) {
    if (!o.extension.empty()) return serve_extension(o);
    const std::string library = o.component.empty() ? o.device : o.component;
    LOOM_REQUIRE(!library.empty(), "give the component library with --component LIB");
    kernel::HostOptions host;
    host.library = library;
    host.name = o.name.empty() ? std::filesystem::path(library).stem().string() : o.name;
    host.config = read_text(o.config);
    host.binds = o.binds;
    host.kernel_endpoint = o.kernel;
    host.token = o.token;
    host.instance = o.instance;
    host.replace = o.replace;
    host.security = o.server_keys.load();
    host.kernel_security = o.kernel_keys.load();

    bus::Context context;
    // This process's op registry and extension loader, answered as the "extensions" companion
    // at the component's endpoints (the deployment's loader installs extensions through it).
    host.registry = model::make_native_registry_host();
    auto loader = std::make_shared<extensions::ExtensionLoader>(host.registry,
                                                                extensions::make_opener(context));
    host.companions.push_back(extensions::make_extension_service(loader, context));

    kernel::ComponentHost* running = nullptr;
    std::mutex mutex;
    SignalWatcher signals([&](int) {
        std::lock_guard lock(mutex);
        if (running) running->request_stop();
    });
    kernel::ComponentHost component(context, host);
    {
        std::lock_guard lock(mutex);
        running = &component;
    }
    std::cout << "serving '" << host.name << "' at "
              << fmt::format("{}", fmt::join(component.endpoints(), " "))
              << (o.kernel.empty() ? ""
                                   : " (instance " + std::to_string(component.instance()) +
                                         " of kernel " + o.kernel + ")")
              << std::endl;
    component.run();
    std::lock_guard lock(mutex);
    running = nullptr;
}

} // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "serve", "Run one component as a process of its own and register it with a kernel");
    auto o = std::make_shared<ServeOptions>();
    auto* what = cmd->add_option_group("what", "What to serve (one of)");
    what->add_option("--component", o->component, "Component library (.so)");
    what->add_option("--device", o->device, "Device plugin library");
    what->add_option("--extension", o->extension,
                     "Extension library, hosted alone (processes load it by endpoint)");
    what->require_option(1);
    cmd->add_option("-b,--bind", o->binds, "Endpoint to serve on (ipc://PATH, tcp://HOST:PORT)")
        ->required();
    cmd->add_option("-k,--kernel", o->kernel, "Kernel endpoint to register with")
        ->envname("LOOM_KERNEL");
    cmd->add_option("-n,--name", o->name, "Name to register under (default: the library's)");
    cmd->add_option("-c,--config", o->config, "Component configuration file (TOML)");
    cmd->add_option("--token", o->token, "Start token (given by a kernel that started us)");
    cmd->add_option("--instance", o->instance, "Instance id (given by a kernel that started us)");
    cmd->add_flag("--replace", o->replace,
                  "Replace the instance serving this name now (a swap: it drains and stops)");
    o->server_keys.add(*cmd);
    o->kernel_keys.add(*cmd, "the kernel");
    cmd->callback([&exit_code, o] { exit_code = guarded("serve", [&] { serve(*o); }); });
}

} // namespace loom::launcher
