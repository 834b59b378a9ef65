// The kernel's dial-in methods (register, heartbeat, deregister) and its health watcher: child
// processes through pidfds, every component that heartbeats through its liveness window.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "bus/endpoint.hpp"
#include "kernel/kernel.hpp"
#include "kernel/kernel_internal.hpp"

namespace loom::kernel {

// ---- dial-in ----------------------------------------------------------------------------------

namespace {

bool name_matches(const std::string& name, const std::string& pattern) {
    if (pattern.ends_with('*'))
        return name.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1));
    return name == pattern;
}

} // namespace

std::uint64_t Kernel::register_component(const Registration& reg) {
    LOOM_REQUIRE(!reg.name.empty(), "a registering component needs a name");
    if (!reg.key.empty()) {
        auto it = m_options.component_names.find(reg.key);
        bool allowed = it != m_options.component_names.end() &&
                       std::any_of(it->second.begin(), it->second.end(),
                                   [&](const auto& p) { return name_matches(reg.name, p); });
        if (!allowed)
            LOOM_THROW(ErrorKind::PERMISSION_DENIED,
                       "the key {}… may not register as '{}': the deployment gives it {}",
                       reg.key.substr(0, 8), reg.name,
                       it == m_options.component_names.end()
                           ? std::string("no component name")
                           : fmt::format("only {}", fmt::join(it->second, ", ")));
    }
    LOOM_REQUIRE(!reg.endpoints.empty(), "component '{}' registered no endpoint", reg.name);
    for (const auto& e : reg.endpoints)
        bus::parse_endpoint(e);
    std::unique_lock lock(m_mutex);
    LOOM_REQUIRE(!m_shutting_down, "the kernel is shutting down");
    auto fill = [&](ComponentRecord& r) {
        r.kind = reg.kind;
        r.version = reg.version;
        r.endpoints = reg.endpoints;
        r.host = reg.host;
        r.pid = reg.pid;
        r.server_key = reg.server_key;
    };
    if (reg.token != 0) {
        auto it = m_tokens.find(reg.token);
        LOOM_REQUIRE(it != m_tokens.end(), "component '{}' presented an unknown start token",
                     reg.name);
        auto id = it->second;
        m_tokens.erase(it);
        auto& r = m_registry.get(id);
        LOOM_REQUIRE(r.name == reg.name, "start token of '{}' presented by '{}'", r.name, reg.name);
        fill(r);
        m_owner_keys[id] = reg.key;
        m_last_heartbeat[id] = bus::Clock::now();
        set_state(lock, id, ComponentState::READY);
        return id;
    }
    const auto* current = m_registry.routed(reg.name);
    check_capacity(reg, current != nullptr);
    std::uint64_t old_id = current && !is_terminal(current->state) ? current->instance : 0;
    LOOM_REQUIRE(old_id == 0 || reg.replace,
                 "component '{}' is already served by instance {}; register with replace to "
                 "swap it",
                 reg.name, old_id);
    LOOM_REQUIRE(!m_swapping.contains(reg.name), "a swap of '{}' is in progress", reg.name);
    auto id = m_next_instance++;
    ComponentRecord r;
    r.instance = id;
    r.name = reg.name;
    r.placement = Placement::REMOTE;
    fill(r);
    m_registry.add(std::move(r));
    m_owner_keys[id] = reg.key;
    m_last_heartbeat[id] = bus::Clock::now();
    set_state(lock, id, ComponentState::READY);
    m_registry.route(reg.name, id);
    publish(schema::EventKind::REGISTERED, m_registry.get(id), old_id);
    if (old_id && m_registry.get(old_id).state == ComponentState::READY) {
        set_state(lock, old_id, ComponentState::DRAINING);
        // Drain the replaced instance off this thread: registering must not wait for it.
        // shutdown() joins these threads.
        m_retirers.emplace_back([this, old_id] {
            try {
                retire(old_id, true);
            } catch (const Error& e) {
                spdlog::warn("retiring instance {} failed: {}", old_id, e.what());
            }
        });
    }
    return id;
}

void Kernel::check_capacity(const Registration& reg, bool known_name) const {
    if (!known_name && m_registry.route_count() >= m_options.max_names)
        LOOM_THROW(ErrorKind::OVERLOADED,
                   "component '{}' cannot register: the kernel routes {} names, its limit",
                   reg.name, m_options.max_names);
    if (reg.key.empty()) return;
    auto live = std::count_if(m_owner_keys.begin(), m_owner_keys.end(),
                              [&](const auto& entry) { return entry.second == reg.key; });
    if (static_cast<std::size_t>(live) >= m_options.max_instances_per_key)
        LOOM_THROW(ErrorKind::OVERLOADED,
                   "component '{}' cannot register: the key {}… already has {} live instances, "
                   "its limit",
                   reg.name, reg.key.substr(0, 8), live);
}

bool Kernel::owned_by(std::uint64_t instance, const std::string& key) const {
    if (key.empty()) return true; // a peer on this host
    auto it = m_owner_keys.find(instance);
    return it != m_owner_keys.end() && it->second == key;
}

bool Kernel::heartbeat(std::uint64_t instance, ComponentState, const std::string& key,
                       std::uint32_t in_flight) {
    std::lock_guard lock(m_mutex);
    const auto* r = m_registry.find(instance);
    if (!r || is_terminal(r->state)) return false;
    if (!owned_by(instance, key)) return false;
    m_registry.get(instance).in_flight = in_flight;
    m_last_heartbeat[instance] = bus::Clock::now();
    return true;
}

void Kernel::deregister(std::uint64_t instance, const std::string& key) {
    std::unique_lock lock(m_mutex);
    if (!owned_by(instance, key))
        LOOM_THROW(ErrorKind::NOT_FOUND, "no component instance {}", instance);
    auto& r = m_registry.get(instance);
    if (auto it = m_children.find(instance); it != m_children.end()) it->second->stopping = true;
    if (!is_terminal(r.state)) set_state(lock, instance, ComponentState::STOPPED);
}

// ---- health -----------------------------------------------------------------------------------

void Kernel::watch() {
    const auto& heartbeat = m_context.options().heartbeat;
    auto tick = std::max<long>(10, heartbeat.interval.count() / 4);
    std::vector<pollfd> fds;
    std::vector<std::uint64_t> ids;
    for (;;) {
        fds.assign(1, pollfd{m_wake_fd, POLLIN, 0});
        ids.clear();
        {
            std::lock_guard lock(m_mutex);
            if (m_shutting_down && m_children.empty()) break;
            for (auto& [id, child] : m_children) {
                fds.push_back({child->process->pidfd(), POLLIN, 0});
                ids.push_back(id);
            }
        }
        ::poll(fds.data(), fds.size(), static_cast<int>(tick));
        if (fds[0].revents & POLLIN) {
            std::uint64_t n;
            [[maybe_unused]] auto r = ::read(m_wake_fd, &n, sizeof(n));
        }
        std::unique_lock lock(m_mutex);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (!(fds[i + 1].revents & POLLIN)) continue;
            auto it = m_children.find(ids[i]);
            if (it == m_children.end() || !it->second->process->reap()) continue;
            auto child = std::move(it->second);
            m_children.erase(it);
            auto& r = m_registry.get(ids[i]);
            if (child->stopping) {
                if (!is_terminal(r.state)) set_state(lock, ids[i], ComponentState::STOPPED);
            } else if (!is_terminal(r.state)) {
                set_state(lock, ids[i], ComponentState::FAILED,
                          "its process " + child->process->exit_description());
            }
        }
        auto now = bus::Clock::now();
        std::vector<std::uint64_t> silent;
        for (auto& [id, last] : m_last_heartbeat)
            if (now - last > heartbeat.timeout()) silent.push_back(id);
        for (auto id : silent) {
            set_state(lock, id, ComponentState::FAILED,
                      fmt::format("no heartbeat for {} ms (interval {} ms × liveness {})",
                                  heartbeat.timeout().count(), heartbeat.interval.count(),
                                  heartbeat.liveness));
            // A hung child is killed so its callers see `disconnected` at once.
            if (auto it = m_children.find(id); it != m_children.end())
                it->second->process->signal(SIGKILL);
        }
    }
}

} // namespace loom::kernel
