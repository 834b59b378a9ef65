#include "kernel/kernel.hpp"

#include <algorithm>

#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "bus/channel.hpp"
#include "bus/endpoint.hpp"
#include "kernel/component_library.hpp"
#include "kernel/kernel_internal.hpp"

namespace loom::kernel {

namespace {

std::uint64_t random_u64() {
    std::uint64_t v = 0;
    while (v == 0)
        (void)::getrandom(&v, sizeof(v), 0);
    return v;
}

std::filesystem::path find_launcher() {
    if (const char* env = std::getenv("LOOM_LAUNCHER")) return env;
    // Beside this library: <prefix>/lib/libloom_kernel.so -> <prefix>/bin/loom.
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&find_launcher), &info) && info.dli_fname) {
        auto lib = std::filesystem::canonical(info.dli_fname);
        auto candidate = lib.parent_path().parent_path() / "bin" / "loom";
        if (std::filesystem::exists(candidate)) return candidate;
    }
    return {};
}

} // namespace

Kernel::Kernel(bus::Context& context, KernelOptions options)
    : m_context(context)
    , m_options(std::move(options)) {
    m_runtime_dir = m_options.runtime_dir;
    if (m_runtime_dir.empty()) {
        std::string pattern = (std::filesystem::temp_directory_path() / "loom-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            LOOM_THROW(ErrorKind::UNAVAILABLE, "cannot create a runtime directory in {}",
                       std::filesystem::temp_directory_path().string());
        m_runtime_dir = pattern;
        m_own_runtime_dir = true;
    } else {
        prepare_runtime_dir(m_runtime_dir);
    }
    m_launcher = m_options.launcher.empty() ? find_launcher() : m_options.launcher;
    auto id = m_context.next_id();
    if (m_options.endpoints.empty())
        m_options.endpoints = {fmt::format("inproc://loom.kernel.{}", id),
                               "ipc://" + (m_runtime_dir / "kernel").string()};
    // "{runtime}" in the kernel's own endpoints, as in the components' (deployment.hpp).
    for (auto* list : {&m_options.endpoints, &m_options.event_endpoints})
        for (auto& e : *list)
            for (auto at = e.find("{runtime}"); at != std::string::npos; at = e.find("{runtime}"))
                e.replace(at, 9, m_runtime_dir.string());
    if (m_options.event_endpoints.empty())
        m_options.event_endpoints = {fmt::format("inproc://loom.events.{}", id),
                                     "ipc://" + (m_runtime_dir / "events").string()};
    m_events = std::make_unique<bus::Publisher>(m_context, m_options.event_endpoints,
                                                m_options.security, m_options.insecure);
    m_wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    LOOM_ASSERT(m_wake_fd >= 0, "eventfd failed");
    m_server = std::make_unique<bus::Server>(m_context, make_service(),
                                             bus::ServerOptions{.endpoints = m_options.endpoints,
                                                                .security = m_options.security,
                                                                .insecure = m_options.insecure});
    // Children dial the kernel over ipc (same host), else tcp.
    for (const char* scheme : {"ipc://", "tcp://"})
        for (const auto& e : m_server->endpoints())
            if (m_child_kernel_endpoint.empty() && e.starts_with(scheme))
                m_child_kernel_endpoint = e;
    m_watcher = std::thread([this] { watch(); });
}

Kernel::~Kernel() {
    shutdown();
    ::close(m_wake_fd);
    if (m_own_runtime_dir) {
        std::error_code ignored;
        std::filesystem::remove_all(m_runtime_dir, ignored);
    }
}

const std::vector<std::string>& Kernel::endpoints() const noexcept {
    return m_server->endpoints();
}
const std::vector<std::string>& Kernel::event_endpoints() const noexcept {
    return m_events->endpoints();
}

void Kernel::wake() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_wake_fd, &one, sizeof(one));
}

void Kernel::publish(schema::EventKind kind, const ComponentRecord& record,
                     std::uint64_t previous) {
    capnp::MallocMessageBuilder message;
    auto event = message.initRoot<schema::Event>();
    event.setKind(kind);
    to_schema(record, event.initComponent());
    event.setPreviousInstance(previous);
    event.setSequence(++m_event_sequence);
    m_events->publish("component/" + record.name, message);
}

void Kernel::set_state(std::unique_lock<std::mutex>& lock, std::uint64_t id, ComponentState state,
                       const std::string& reason) {
    LOOM_ASSERT(lock.owns_lock());
    if (!m_registry.transition(id, state, reason)) return;
    const auto& r = m_registry.get(id);
    static constexpr std::pair<ComponentState, schema::EventKind> k_events[] = {
        {ComponentState::READY, schema::EventKind::READY},
        {ComponentState::DRAINING, schema::EventKind::DRAINING},
        {ComponentState::STOPPED, schema::EventKind::STOPPED},
        {ComponentState::FAILED, schema::EventKind::FAILED}};
    for (auto [s, kind] : k_events)
        if (s == state) publish(kind, r);
    if (state == ComponentState::FAILED)
        spdlog::warn("component '{}' instance {} failed: {}", r.name, id, r.last_error);
    if (is_terminal(state)) {
        m_last_heartbeat.erase(id);
        m_owner_keys.erase(id);
        m_registry.prune(m_options.retired_kept);
    }
    m_changed.notify_all();
}

std::vector<std::string> Kernel::expand(const std::vector<std::string>& templates,
                                        const std::string& name, std::uint64_t id) const {
    std::vector<std::string> out;
    for (auto e : templates) {
        for (auto [key, value] : {std::pair<std::string, std::string>{"{name}", name},
                                  {"{instance}", std::to_string(id)},
                                  {"{runtime}", m_runtime_dir.string()}})
            for (auto at = e.find(key); at != std::string::npos; at = e.find(key))
                e.replace(at, key.size(), value);
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<std::string> Kernel::default_endpoints(const ComponentSpec& spec,
                                                   std::uint64_t id) const {
    if (!spec.endpoints.empty()) return expand(spec.endpoints, spec.name, id);
    std::vector<std::string> out;
    if (spec.placement == Placement::IN_PROCESS)
        out.push_back(fmt::format("inproc://loom/{}/{}", spec.name, id));
    // Names may hold '/' ("device/CPU"); the socket file may not.
    std::string file = spec.name;
    std::replace(file.begin(), file.end(), '/', '_');
    out.push_back(fmt::format("ipc://{}/{}-{}", m_runtime_dir.string(), file, id));
    return out;
}

// ---- starting ---------------------------------------------------------------------------------

std::uint64_t Kernel::launch(ComponentSpec spec) {
    LOOM_REQUIRE(!spec.name.empty(), "a component needs a name");
    LOOM_REQUIRE(spec.placement != Placement::REMOTE,
                 "the kernel does not start remote components: run `loom serve --component LIB "
                 "--kernel ENDPOINT` where '{}' should run, and it registers itself",
                 spec.name);
    LOOM_REQUIRE(!spec.library.empty(), "component '{}' needs a library", spec.name);
    std::uint64_t id;
    {
        std::unique_lock lock(m_mutex);
        if (m_shutting_down) LOOM_THROW(ErrorKind::UNAVAILABLE, "the kernel is shutting down");
        id = m_next_instance++;
        ComponentRecord r;
        r.instance = id;
        r.name = spec.name;
        r.placement = spec.placement;
        r.host = bus::host_id();
        m_registry.add(std::move(r));
    }
    try {
        if (spec.placement == Placement::IN_PROCESS) {
            launch_in_process(id, spec);
        } else {
            launch_child(id, spec);
            auto timeout =
                spec.start_timeout.count() ? spec.start_timeout : m_options.start_timeout;
            wait_ready(id, timeout);
        }
    } catch (const Error& e) {
        std::unique_ptr<Child> child;
        {
            std::unique_lock lock(m_mutex);
            auto it = m_children.find(id);
            if (it != m_children.end()) {
                it->second->stopping = true;
                child = std::move(it->second);
                m_children.erase(it);
            }
            if (!is_terminal(m_registry.get(id).state))
                set_state(lock, id, ComponentState::FAILED, e.message());
        }
        child.reset(); // kills and reaps a child that did not come up
        throw;
    }
    return id;
}

void Kernel::launch_in_process(std::uint64_t id, const ComponentSpec& spec) {
    auto endpoints = default_endpoints(spec, id);
    auto loaded = load_component(spec.library, m_context, spec.name, spec.config,
                                 m_options.registry, this->endpoints().front());
    auto host = std::make_unique<InProcess>();
    host->service = loaded.service;
    host->server = std::make_unique<bus::Server>(m_context, loaded.service,
                                                 bus::ServerOptions{.endpoints = endpoints,
                                                                    .security = m_options.security,
                                                                    .insecure = m_options.insecure,
                                                                    .instance = id});
    std::unique_lock lock(m_mutex);
    auto& r = m_registry.get(id);
    r.kind = loaded.kind;
    r.version = loaded.service->version();
    r.endpoints = host->server->endpoints();
    r.pid = static_cast<std::int32_t>(::getpid());
    if (m_options.security) r.server_key = m_options.security->keys.public_key;
    m_in_process[id] = std::move(host);
    set_state(lock, id, ComponentState::READY);
}

void Kernel::launch_child(std::uint64_t id, const ComponentSpec& spec) {
    if (m_launcher.empty())
        LOOM_THROW(ErrorKind::NOT_FOUND,
                   "cannot start '{}' in a process: the `loom` launcher was not found (set "
                   "KernelOptions.launcher or LOOM_LAUNCHER)",
                   spec.name);
    LOOM_REQUIRE(!m_child_kernel_endpoint.empty(),
                 "cannot start '{}' in a process: the kernel has no ipc or tcp endpoint to dial",
                 spec.name);
    auto endpoints = default_endpoints(spec, id);
    for (const auto& e : endpoints)
        LOOM_REQUIRE(!e.starts_with("inproc://"),
                     "component '{}' runs in its own process and cannot bind {}", spec.name, e);
    std::uint64_t token = random_u64();
    std::vector<std::string> args{"serve",
                                  "--component",
                                  spec.library,
                                  "--name",
                                  spec.name,
                                  "--kernel",
                                  m_child_kernel_endpoint,
                                  "--token",
                                  std::to_string(token),
                                  "--instance",
                                  std::to_string(id)};
    for (const auto& e : endpoints) {
        args.push_back("--bind");
        args.push_back(e);
    }
    // Names may hold '/' ("device/CPU"); files in the runtime directory may not.
    std::string file = spec.name;
    std::replace(file.begin(), file.end(), '/', '_');
    child_security_args(file + "-" + std::to_string(id), args);
    if (!spec.config.empty()) {
        auto path = m_runtime_dir / fmt::format("{}-{}.toml", file, id);
        std::ofstream(path) << spec.config;
        args.push_back("--config");
        args.push_back(path.string());
    }
    {
        std::lock_guard lock(m_mutex);
        m_tokens[token] = id;
    }
    auto process = std::make_unique<ChildProcess>(m_launcher, args);
    std::lock_guard lock(m_mutex);
    m_registry.get(id).pid = process->pid();
    auto child = std::make_unique<Child>();
    child->process = std::move(process);
    m_children[id] = std::move(child);
    wake(); // the watcher adds the pidfd
}

void Kernel::wait_ready(std::uint64_t id, std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout,
                       [&] { return m_registry.get(id).state != ComponentState::STARTING; });
    const auto& r = m_registry.get(id);
    if (r.state == ComponentState::READY) return;
    if (r.state == ComponentState::STARTING)
        LOOM_THROW(ErrorKind::UNAVAILABLE, "component '{}' did not become ready within {} ms",
                   r.name, timeout.count());
    LOOM_THROW(ErrorKind::UNAVAILABLE, "component '{}' failed to start: {}", r.name,
               r.last_error.empty() ? std::string(to_string(r.state)) : r.last_error);
}

ComponentRecord Kernel::start(const ComponentSpec& spec) {
    {
        std::lock_guard lock(m_mutex);
        if (auto* r = m_registry.routed(spec.name); r && !is_terminal(r->state))
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                       "component '{}' is already served by instance {} ({}); use swap to "
                       "replace it",
                       spec.name, r->instance, to_string(r->state));
    }
    auto id = launch(spec);
    std::lock_guard lock(m_mutex);
    m_registry.route(spec.name, id);
    const auto& r = m_registry.get(id);
    publish(schema::EventKind::REGISTERED, r);
    return r;
}

// ---- swapping and stopping --------------------------------------------------------------------

ComponentRecord Kernel::swap(const std::string& name, ComponentSpec replacement) {
    replacement.name = name;
    std::uint64_t old_id = 0;
    {
        std::lock_guard lock(m_mutex);
        const auto* current = m_registry.routed(name);
        if (!current) LOOM_THROW(ErrorKind::NOT_FOUND, "no component named '{}' to swap", name);
        LOOM_REQUIRE(!m_swapping.contains(name), "a swap of '{}' is already in progress", name);
        if (!is_terminal(current->state)) old_id = current->instance;
        m_swapping.insert(name);
    }
    struct Done {
        Kernel* kernel;
        std::string name;
        ~Done() {
            std::lock_guard lock(kernel->m_mutex);
            kernel->m_swapping.erase(name);
        }
    } done{this, name};

    // The new instance starts beside the old; if it fails, the old keeps serving.
    auto new_id = launch(replacement);
    {
        std::unique_lock lock(m_mutex);
        m_registry.route(name, new_id);
        publish(schema::EventKind::SWAPPED, m_registry.get(new_id), old_id);
        if (old_id && m_registry.get(old_id).state == ComponentState::READY)
            set_state(lock, old_id, ComponentState::DRAINING);
        else
            old_id = 0;
    }
    if (old_id) retire(old_id, true);
    std::lock_guard lock(m_mutex);
    return m_registry.get(new_id);
}

ComponentRecord Kernel::stop(const std::string& name) {
    std::uint64_t id;
    {
        std::unique_lock lock(m_mutex);
        const auto* r = m_registry.routed(name);
        if (!r || is_terminal(r->state))
            LOOM_THROW(ErrorKind::NOT_FOUND, "no running component named '{}'", name);
        id = r->instance;
        if (r->state == ComponentState::READY) set_state(lock, id, ComponentState::DRAINING);
    }
    retire(id, true);
    std::lock_guard lock(m_mutex);
    // Stopped on purpose: no longer routed (a swap or a crash keeps the route).
    if (const auto* r = m_registry.routed(name); r && r->instance == id) m_registry.unroute(name);
    return m_registry.get(id);
}

void Kernel::retire(std::uint64_t id, bool drain) {
    std::string endpoint, moved_to;
    std::uint64_t moved_epoch = 0;
    bus::ChannelOptions control_with;
    {
        std::lock_guard lock(m_mutex);
        const auto& r = m_registry.get(id);
        endpoint = m_context.nearest(r.endpoints, r.host);
        control_with = control_options(r);
        if (const auto* now = m_registry.routed(r.name); now && now->instance != id) {
            moved_to = m_context.nearest(now->endpoints, now->host);
            moved_epoch = now->epoch;
        }
    }
    bool drained = false;
    if (drain && !endpoint.empty()) {
        try {
            bus::Channel control(m_context, endpoint, std::string(bus::k_control_service),
                                 control_with);
            control.drain(moved_to, moved_epoch,
                          {.timeout = std::chrono::duration_cast<std::chrono::microseconds>(
                               m_options.drain_timeout)});
            drained = true;
        } catch (const Error& e) {
            spdlog::warn("instance {} did not drain: {}", id, e.what());
        }
    }
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_children.find(id); it != m_children.end()) it->second->drained = drained;
        m_registry.get(id).clean_stop = drained;
    }
    stop_instance(id);
}

void Kernel::stop_instance(std::uint64_t id) {
    std::unique_ptr<InProcess> host;
    Placement placement;
    std::string endpoint;
    bus::ChannelOptions control_with;
    {
        std::unique_lock lock(m_mutex);
        auto& r = m_registry.get(id);
        if (is_terminal(r.state)) return;
        placement = r.placement;
        endpoint = m_context.nearest(r.endpoints, r.host);
        control_with = control_options(r);
        if (auto it = m_in_process.find(id); it != m_in_process.end()) {
            host = std::move(it->second);
            m_in_process.erase(it);
        }
        if (auto it = m_children.find(id); it != m_children.end()) it->second->stopping = true;
    }
    if (host) {
        host->server->stop(); // running requests finish; their replies go out
        host.reset();         // the service and, with it, the library go
        std::unique_lock lock(m_mutex);
        set_state(lock, id, ComponentState::STOPPED);
        return;
    }
    // Another process: ask it to stop; a child that does not exit in time is killed.
    try {
        LOOM_REQUIRE(!endpoint.empty(), "none of its endpoints is reachable from the kernel");
        bus::Channel control(m_context, endpoint, std::string(bus::k_control_service),
                             control_with);
        control.stop({.timeout = std::chrono::duration_cast<std::chrono::microseconds>(
                          m_options.stop_timeout)});
    } catch (const Error& e) {
        spdlog::debug("instance {}: stop request failed: {}", id, e.what());
    }
    std::unique_lock lock(m_mutex);
    if (placement == Placement::REMOTE) {
        set_state(lock, id, ComponentState::STOPPED);
        return;
    }
    auto terminal = [&] { return is_terminal(m_registry.get(id).state); };
    if (!m_changed.wait_for(lock, m_options.stop_timeout, terminal)) {
        if (auto it = m_children.find(id); it != m_children.end())
            it->second->process->signal(SIGKILL);
        m_changed.wait_for(lock, m_options.stop_timeout, terminal);
    }
}

// ---- discovery and dial-in --------------------------------------------------------------------

Route Kernel::resolve(const std::string& name) const {
    std::lock_guard lock(m_mutex);
    return m_registry.resolve(name);
}

std::vector<ComponentRecord> Kernel::list() const {
    std::lock_guard lock(m_mutex);
    auto out = m_registry.list();
    for (auto& r : out) // in this process: the load now (the others' is their last heartbeat's)
        if (auto it = m_in_process.find(r.instance); it != m_in_process.end())
            r.in_flight = it->second->server->dispatcher().in_flight();
    return out;
}

ComponentRecord Kernel::instance(std::uint64_t id, std::chrono::milliseconds wait_terminal) {
    std::unique_lock lock(m_mutex);
    m_registry.get(id);
    if (wait_terminal.count() > 0)
        m_changed.wait_for(lock, wait_terminal,
                           [&] { return is_terminal(m_registry.get(id).state); });
    return m_registry.get(id);
}

void Kernel::probe(const std::string& topic) {
    capnp::MallocMessageBuilder message;
    auto event = message.initRoot<schema::Event>();
    event.setKind(schema::EventKind::PROBE);
    std::lock_guard lock(m_mutex);
    event.setSequence(++m_event_sequence);
    m_events->publish(topic, message);
}

// ---- shutdown ---------------------------------------------------------------------------------

void Kernel::shutdown() {
    std::vector<std::uint64_t> live;
    {
        std::lock_guard lock(m_mutex);
        if (m_shutting_down) return;
        m_shutting_down = true;
        for (const auto& r : m_registry.list())
            if (!is_terminal(r.state) && r.placement != Placement::REMOTE)
                live.push_back(r.instance);
        m_shutdown_requested = true;
    }
    m_changed.notify_all();
    for (auto id : live) {
        try {
            stop_instance(id);
        } catch (const Error& e) {
            spdlog::warn("stopping instance {}: {}", id, e.what());
        }
    }
    std::vector<std::thread> retirers;
    {
        std::lock_guard lock(m_mutex);
        retirers.swap(m_retirers);
    }
    for (auto& t : retirers)
        t.join();
    wake();
    if (m_watcher.joinable()) m_watcher.join();
    {
        std::lock_guard lock(m_mutex);
        m_children.clear(); // kills what is left
    }
    m_server->stop();
}

void Kernel::request_shutdown() {
    {
        std::lock_guard lock(m_mutex);
        m_shutdown_requested = true;
    }
    m_changed.notify_all();
}

bool Kernel::wait_shutdown_requested(bus::Clock::time_point deadline) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_until(lock, deadline, [&] { return m_shutdown_requested; });
}

} // namespace loom::kernel
