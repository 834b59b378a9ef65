// loom serve — one component as a process of its own, registered with a kernel; or, with
// --http, one model or pipeline served over HTTP (the Open Inference Protocol).

#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>

#include <fmt/ranges.h>

#include "components/extensions/extension_service.hpp"
#include "components/extensions/remote_extension.hpp"
#include "components/model/registry_host.hpp"
#include "components/runtime/embedded.hpp"
#include "components/serving/http_server.hpp"
#include "kernel/component_host.hpp"
#include "launcher/commands.hpp"
#include "launcher/security_options.hpp"
#include "launcher/signals.hpp"

namespace loom::launcher {
namespace {

struct ServeOptions {
    std::string component, device, extension;
    std::string http; // ADDRESS:PORT: serve a model or pipeline over HTTP (KServe v2)
    std::string model, pipeline, model_name;
    unsigned max_concurrent = 64, threads = 8, max_body_mib = 64;
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

// SIGINT/SIGTERM stop `loom serve` cleanly in every mode: the server or component stops, its
// endpoints close (ipc socket files and their shared-memory side sockets are removed) and the
// process exits 0. Made first, before anything starts a thread: a thread started earlier would
// not have the signals blocked and could be killed by one. What to stop is set once it exists;
// a signal that came before is acted on then.
class StopOnSignal {
public:
    StopOnSignal()
        : m_watcher([this](int) {
            std::lock_guard lock(m_mutex);
            m_requested = true;
            if (m_stop) m_stop();
        }) {}

    // While a Route lives, a signal calls the `stop` it was made with.
    class Route {
    public:
        explicit Route(StopOnSignal& owner)
            : m_owner(owner) {}
        ~Route() {
            std::lock_guard lock(m_owner.m_mutex);
            m_owner.m_stop = nullptr;
        }
        Route(const Route&) = delete;
        Route& operator=(const Route&) = delete;

    private:
        StopOnSignal& m_owner;
    };

    // Routes the signals to `stop` (called at once if one already came) until the Route is
    // destroyed: destroy it before what `stop` refers to.
    [[nodiscard]] Route route_to(std::function<void()> stop) {
        std::lock_guard lock(m_mutex);
        m_stop = std::move(stop);
        if (m_requested) m_stop();
        return Route(*this);
    }

private:
    std::mutex m_mutex;       // guards the two below (signal thread, serving thread)
    bool m_requested = false; // a signal came
    std::function<void()> m_stop;
    SignalWatcher m_watcher; // last: its thread uses the members above
};

// The socket files of the ipc endpoints served here, removed on the way out: ZeroMQ closes an
// ipc endpoint but leaves its file (libzmq 4.3 removes only those it made for a wildcard). A
// file is removed only while it still is the socket bound here — a successor that bound the
// same path since has replaced it, and keeps it.
class IpcSocketFiles {
public:
    explicit IpcSocketFiles(const std::vector<std::string>& endpoints) {
        for (const auto& e : endpoints) {
            if (!e.starts_with("ipc://")) continue;
            File f{e.substr(6), 0, 0};
            struct stat st {};
            if (::lstat(f.path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
            f.device = st.st_dev;
            f.inode = st.st_ino;
            m_files.push_back(std::move(f));
        }
    }
    ~IpcSocketFiles() {
        for (const auto& f : m_files) {
            struct stat st {};
            if (::lstat(f.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
                st.st_dev == f.device && st.st_ino == f.inode)
                ::unlink(f.path.c_str());
        }
    }
    IpcSocketFiles(const IpcSocketFiles&) = delete;
    IpcSocketFiles& operator=(const IpcSocketFiles&) = delete;

private:
    struct File {
        std::string path;
        dev_t device;
        ino_t inode;
    };
    std::vector<File> m_files;
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
void serve_extension(const ServeOptions& o, StopOnSignal& signals) {
    auto library = extensions::ExtensionLibrary::open(o.extension);
    bus::Context context(o.server_keys.context());
    bus::Server server(context, extensions::make_extension_host_service(library),
                       bus::ServerOptions{.endpoints = o.binds,
                                          .security = o.server_keys.load(),
                                          .insecure = o.server_keys.insecure});
    IpcSocketFiles files(server.endpoints());
    auto routed = signals.route_to([&server] { server.stop(); });
    std::cout << "serving extension '" << library->name() << "' " << library->version() << " at "
              << fmt::format("{}", fmt::join(server.endpoints(), " ")) << std::endl;
    server.wait_stop_requested();
    server.stop();
}

std::string upper(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// --device CPU (a device of this installation: libloom_plugin_cpu.so among Loom's libraries)
// or --device PATH/libloom_plugin_x.so; and the name it registers under: "device/CPU", or
// "device/CPU@nodeb" with --name nodeb (a --name with a '/' is taken as it is).
std::pair<std::string, std::string> device_library_and_name(const ServeOptions& o) {
    std::string library = o.device, type;
    const bool by_name = o.device.find('/') == std::string::npos && !o.device.ends_with(".so");
    if (by_name) {
        type = upper(o.device);
        std::string lower = o.device;
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto path = runtime::component_library_dir() / ("libloom_plugin_" + lower + ".so");
        if (!std::filesystem::exists(path))
            LOOM_THROW(ErrorKind::NOT_FOUND, "no device '{}' here: {} does not exist", o.device,
                       path.string());
        library = path.string();
    } else {
        type = std::filesystem::path(library).stem().string();
        if (type.starts_with("libloom_plugin_")) type = upper(type.substr(15));
    }
    if (o.name.find('/') != std::string::npos) return {library, o.name};
    return {library, "device/" + type + (o.name.empty() ? "" : "@" + o.name)};
}

// A model or pipeline over HTTP (the Open Inference Protocol) from an embedded deployment (or
// the kernel's with --kernel), until SIGINT/SIGTERM.
void serve_http(const ServeOptions& o, StopOnSignal& signals) {
    LOOM_REQUIRE(o.model.empty() != o.pipeline.empty(),
                 "--http serves a model (-m MODEL) or a pipeline (--pipeline FILE)");
    const auto colon = o.http.rfind(':');
    LOOM_REQUIRE(colon != std::string::npos && colon > 0,
                 "--http {}: write ADDRESS:PORT (127.0.0.1:8000; port 0 picks a free one)", o.http);
    serving::HttpOptions h;
    h.address = o.http.substr(0, colon);
    try {
        h.port = std::stoi(o.http.substr(colon + 1));
    } catch (const std::exception&) {
        h.port = -1;
    }
    LOOM_REQUIRE(h.port >= 0 && h.port <= 65535, "--http {}: the port must be 0..65535", o.http);
    h.max_concurrent = o.max_concurrent;
    h.threads = o.threads;
    h.max_body_bytes = std::size_t{o.max_body_mib} << 20;
    serving::ServedSpec m;
    m.model = o.model;
    m.pipeline = o.pipeline;
    m.device = o.device.empty() ? "CPU" : o.device;
    m.name = !o.model_name.empty()
                 ? o.model_name
                 : std::filesystem::path(o.model.empty() ? o.pipeline : o.model).stem().string();
    h.models.push_back(m);
    CoreOptions co;
    co.kernel = o.kernel;
    Core core(co);
    serving::HttpServer server(core, h);
    server.start();
    std::mutex mutex;
    std::condition_variable stopped;
    bool stop = false;
    auto routed = signals.route_to([&] {
        std::lock_guard lock(mutex);
        stop = true;
        stopped.notify_all();
    });
    std::cout << fmt::format("serving '{}' over http://{}:{}/v2/models/{}", m.name, h.address,
                             server.port(), m.name)
              << std::endl;
    std::unique_lock lock(mutex);
    stopped.wait(lock, [&] { return stop; });
    lock.unlock();
    server.stop();
}

void serve(const ServeOptions& o) {
    StopOnSignal signals;
    if (!o.http.empty()) return serve_http(o, signals);
    LOOM_REQUIRE(!o.binds.empty(), "give the endpoint to serve on with --bind");
    LOOM_REQUIRE(o.component.empty() + o.device.empty() + o.extension.empty() == 2,
                 "serve one of --component, --device or --extension (or --http with a model)");
    if (!o.extension.empty()) return serve_extension(o, signals);
    kernel::HostOptions host;
    if (!o.device.empty()) {
        std::tie(host.library, host.name) = device_library_and_name(o);
    } else {
        LOOM_REQUIRE(!o.component.empty(), "give the component library with --component LIB");
        host.library = o.component;
        host.name = o.name.empty() ? std::filesystem::path(o.component).stem().string() : o.name;
    }
    host.config = read_text(o.config);
    host.binds = o.binds;
    host.kernel_endpoint = o.kernel;
    host.token = o.token;
    host.instance = o.instance;
    host.replace = o.replace;
    host.security = o.server_keys.load();
    host.insecure = o.server_keys.insecure;
    host.kernel_security = o.kernel_keys.load();

    bus::Context context(o.server_keys.context());
    // This process's op registry and extension loader, answered as the "extensions" companion
    // at the component's endpoints (the deployment's loader installs extensions through it).
    host.registry = model::make_native_registry_host();
    auto loader = std::make_shared<extensions::ExtensionLoader>(host.registry,
                                                                extensions::make_opener(context));
    host.companions.push_back(extensions::make_extension_service(loader, context));

    kernel::ComponentHost component(context, host);
    IpcSocketFiles files(component.endpoints());
    auto routed = signals.route_to([&component] { component.request_stop(); });
    std::cout << "serving '" << host.name << "' at "
              << fmt::format("{}", fmt::join(component.endpoints(), " "))
              << (o.kernel.empty() ? ""
                                   : " (instance " + std::to_string(component.instance()) +
                                         " of kernel " + o.kernel + ")")
              << std::endl;
    component.run();
}

} // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "serve", "Run one component as a process of its own and register it with a kernel");
    auto o = std::make_shared<ServeOptions>();
    auto* what = cmd->add_option_group("what", "What to serve (one of)");
    what->add_option("--component", o->component, "Component library (.so)");
    what->add_option("--device", o->device,
                     "Device: a name (CPU, REFERENCE: Loom's plugin library) or a plugin "
                     "library; registers as device/NAME, or device/NAME@HOST with --name HOST");
    what->add_option("--extension", o->extension,
                     "Extension library, hosted alone (processes load it by endpoint)");
    auto* http = cmd->add_option_group("http", "Serve a model or pipeline over HTTP (KServe v2)");
    http->add_option("--http", o->http,
                     "ADDRESS:PORT to serve the Open Inference Protocol on (with -m or "
                     "--pipeline; --device is the model's device, default CPU)");
    http->add_option("-m,--model", o->model, "Model file to serve over --http");
    http->add_option("--pipeline", o->pipeline, "Pipeline file (TOML) to serve over --http");
    http->add_option("--model-name", o->model_name,
                     "The name clients use (default: the file's stem)");
    http->add_option("--max-concurrent", o->max_concurrent,
                     "Inferences at once; more are answered 503 (default 64)");
    http->add_option("--threads", o->threads, "Connections served at once (default 8)");
    http->add_option("--max-body-mib", o->max_body_mib,
                     "Largest request body; bigger ones are answered 413 (default 64)");
    cmd->add_option("-b,--bind", o->binds, "Endpoint to serve on (ipc://PATH, tcp://HOST:PORT)");
    cmd->add_option("-k,--kernel", o->kernel, "Kernel endpoint to register with")
        ->envname("LOOM_KERNEL");
    cmd->add_option("-n,--name", o->name,
                    "Name to register under (default: the library's; for a device, the host "
                    "part: --device CPU --name nodeb registers device/CPU@nodeb)");
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
