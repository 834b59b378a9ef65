#include "kernel/registry.hpp"

#include "schemas/error.hpp"

namespace loom::kernel {

bool is_terminal(ComponentState state) noexcept {
    return state == ComponentState::STOPPED || state == ComponentState::FAILED;
}

bool Registry::allowed(ComponentState from, ComponentState to) noexcept {
    using S = ComponentState;
    switch (from) {
    case S::STARTING:
        return to == S::READY || to == S::FAILED || to == S::STOPPED;
    case S::READY:
        return to == S::DRAINING || to == S::FAILED || to == S::STOPPED;
    case S::DRAINING:
        return to == S::STOPPED || to == S::FAILED;
    case S::STOPPED:
    case S::FAILED:
        return false;
    }
    return false;
}

ComponentRecord& Registry::add(ComponentRecord record) {
    auto id = record.instance;
    auto [it, inserted] = m_instances.emplace(id, std::move(record));
    LOOM_ASSERT(inserted, "instance {} registered twice", id);
    return it->second;
}

ComponentRecord* Registry::find(std::uint64_t instance) noexcept {
    auto it = m_instances.find(instance);
    return it == m_instances.end() ? nullptr : &it->second;
}

const ComponentRecord* Registry::find(std::uint64_t instance) const noexcept {
    auto it = m_instances.find(instance);
    return it == m_instances.end() ? nullptr : &it->second;
}

ComponentRecord& Registry::get(std::uint64_t instance) {
    auto* r = find(instance);
    if (!r) LOOM_THROW(ErrorKind::NOT_FOUND, "no component instance {} is known", instance);
    return *r;
}

bool Registry::transition(std::uint64_t instance, ComponentState to, const std::string& reason) {
    auto& r = get(instance);
    if (r.state == to) return false;
    LOOM_ASSERT(allowed(r.state, to), "component '{}' instance {} cannot go from {} to {}", r.name,
                instance, to_string(r.state), to_string(to));
    r.state = to;
    if (to == ComponentState::FAILED && !reason.empty()) r.last_error = reason;
    return true;
}

std::uint64_t Registry::route(const std::string& name, std::uint64_t instance) {
    auto& target = get(instance);
    LOOM_ASSERT(target.name == name, "routing '{}' to instance {} of '{}'", name, instance,
                target.name);
    auto previous = m_routes.find(name);
    if (previous != m_routes.end())
        if (auto* old = find(previous->second)) old->routed = false;
    std::uint64_t epoch = ++m_epochs[name];
    m_routes[name] = instance;
    target.routed = true;
    target.epoch = epoch;
    return epoch;
}

void Registry::unroute(const std::string& name) {
    auto it = m_routes.find(name);
    if (it == m_routes.end()) return;
    if (auto* r = find(it->second)) r->routed = false;
    m_routes.erase(it);
}

const ComponentRecord* Registry::routed(const std::string& name) const noexcept {
    auto it = m_routes.find(name);
    return it == m_routes.end() ? nullptr : find(it->second);
}

Route Registry::resolve(const std::string& name) const {
    const auto* r = routed(name);
    if (!r) LOOM_THROW(ErrorKind::NOT_FOUND, "no component named '{}' is registered", name);
    switch (r->state) {
    case ComponentState::READY:
    case ComponentState::DRAINING:
        break;
    case ComponentState::STARTING:
        LOOM_THROW(ErrorKind::UNAVAILABLE, "component '{}' is still starting", name);
    case ComponentState::FAILED:
        LOOM_THROW(ErrorKind::UNAVAILABLE, "component '{}' failed: {}", name, r->last_error);
    case ComponentState::STOPPED:
        LOOM_THROW(ErrorKind::UNAVAILABLE, "component '{}' was stopped", name);
    }
    return Route{r->name, r->endpoints, r->epoch, r->instance, r->host, r->server_key};
}

std::vector<ComponentRecord> Registry::list() const {
    std::vector<ComponentRecord> out;
    out.reserve(m_instances.size());
    for (const auto& [id, r] : m_instances)
        out.push_back(r);
    return out;
}

void Registry::prune(std::size_t keep) {
    std::vector<std::uint64_t> retired;
    for (const auto& [id, r] : m_instances)
        if (is_terminal(r.state) && !r.routed) retired.push_back(id);
    if (retired.size() <= keep) return;
    for (std::size_t i = 0; i + keep < retired.size(); ++i)
        m_instances.erase(retired[i]);
}

} // namespace loom::kernel
