// loom serve — one component as a process of its own, registered with a kernel.

#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/ranges.h>

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

void serve(const ServeOptions& o) {
    LOOM_REQUIRE(o.device.empty(),
                 "--device is not available yet: device plugins are hosted once the plugin SDK "
                 "lands");
    LOOM_REQUIRE(o.extension.empty(),
                 "--extension is not available yet: extensions are hosted once the extension "
                 "loader lands");
    LOOM_REQUIRE(!o.component.empty(), "give the component library with --component LIB");
    kernel::HostOptions host;
    host.library = o.component;
    host.name = o.name.empty() ? std::filesystem::path(o.component).stem().string() : o.name;
    host.config = read_text(o.config);
    host.binds = o.binds;
    host.kernel_endpoint = o.kernel;
    host.token = o.token;
    host.instance = o.instance;
    host.replace = o.replace;
    host.security = o.server_keys.load();
    host.kernel_security = o.kernel_keys.load();

    kernel::ComponentHost* running = nullptr;
    std::mutex mutex;
    SignalWatcher signals([&](int) {
        std::lock_guard lock(mutex);
        if (running) running->request_stop();
    });
    bus::Context context;
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
    what->add_option("--device", o->device, "Device plugin library (once the plugin SDK lands)");
    what->add_option("--extension", o->extension,
                     "Extension library (once the extension loader lands)");
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
