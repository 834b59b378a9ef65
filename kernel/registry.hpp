#pragma once
// Registry — the kernel's table of component instances and routes (DESIGN.md §4). Pure state:
// no threads, no I/O. Not thread-safe; the kernel holds its lock around every use.
//
// Instance states: starting → ready → draining → stopped, and failed from any live state.
// A route maps a name to one instance under an epoch that grows with every switch.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/types.hpp"

namespace loom::kernel {

class Registry {
public:
    // Whether `from → to` is a legal transition.
    static bool allowed(ComponentState from, ComponentState to) noexcept;

    // Adds a new instance (its id must be fresh).
    ComponentRecord& add(ComponentRecord record);
    ComponentRecord* find(std::uint64_t instance) noexcept;
    const ComponentRecord* find(std::uint64_t instance) const noexcept;
    ComponentRecord& get(std::uint64_t instance); // not_found if absent

    // Moves an instance to `to` (internal error if illegal). `reason` becomes last_error for
    // failed. Returns false if it already was in `to`.
    bool transition(std::uint64_t instance, ComponentState to, const std::string& reason = {});

    // Routes `name` to `instance`; returns the new epoch.
    std::uint64_t route(const std::string& name, std::uint64_t instance);
    // Stops routing `name` (a component stopped on purpose): it resolves not_found, is listed
    // unrouted, and a later route of the name continues its epochs.
    void unroute(const std::string& name);
    // The routed instance of `name`, if any (in whatever state).
    const ComponentRecord* routed(const std::string& name) const noexcept;
    // Where `name` is served: not_found if never registered; unavailable (with the reason) if
    // its routed instance is starting, failed or stopped.
    Route resolve(const std::string& name) const;

    // How many names are routed.
    std::size_t route_count() const noexcept { return m_routes.size(); }
    // Live and routed instances, plus the most recent retired ones (newest last).
    std::vector<ComponentRecord> list() const;
    // Forgets retired (stopped/failed, unrouted) instances beyond the newest `keep`.
    void prune(std::size_t keep);

private:
    std::map<std::uint64_t, ComponentRecord> m_instances;
    std::map<std::string, std::uint64_t, std::less<>> m_routes;
    std::map<std::string, std::uint64_t, std::less<>> m_epochs;
};

bool is_terminal(ComponentState state) noexcept;

} // namespace loom::kernel
