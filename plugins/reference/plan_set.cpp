#include "plugins/reference/plan_set.hpp"

#include <vector>

#include "schemas/error.hpp"

namespace loom::plugins::reference {

namespace {

bool uses_extensions(const model::Model& m, const model::OpRegistry& registry) {
    for (const auto* n : m.nodes()) {
        if (const auto* spec = registry.find(n->type, n->version); spec && !spec->origin.empty())
            return true;
        for (const auto& body : n->bodies)
            if (body.model && uses_extensions(*body.model, registry)) return true;
    }
    return false;
}

} // namespace

PlanSet::PlanSet(std::shared_ptr<const model::Model> m, std::shared_ptr<const Shared> shared,
                 std::shared_ptr<const model::OpRegistry> snapshot, Properties props)
    : m_model(std::move(m))
    , m_shared(std::move(shared))
    , m_props(std::move(props))
    , m_dynamic(uses_extensions(*m_model, *snapshot)) {
    m_active = snapshot->generation();
    m_plans[m_active] = make(std::move(snapshot));
}

void PlanSet::watch() {
    if (m_dynamic) m_watch = m_shared->registry->watch(*this);
}

PlanSet::Prepared PlanSet::for_run() const {
    const auto current = m_dynamic ? m_shared->registry->current()->generation() : 0;
    std::lock_guard lock(m_mutex);
    auto it = m_plans.find(current);
    return it != m_plans.end() ? it->second : m_plans.at(m_active);
}

void PlanSet::prepare(const std::shared_ptr<const model::OpRegistry>& candidate) {
    if (!m_dynamic) return;
    auto copy = m_model->clone();
    try {
        model::infer_and_validate(*copy, *candidate);
    } catch (const Error& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "compiled model '{}' cannot use it: {}",
                   m_model->name, e.message());
    }
    auto a = m_model->nodes();
    auto b = copy->nodes();
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
        for (std::size_t o = 0; o < a[i]->outputs.size() && o < b[i]->outputs.size(); ++o) {
            const auto& was = a[i]->outputs[o];
            const auto& now = b[i]->outputs[o];
            if (was.type != now.type || was.shape != now.shape)
                LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                           "compiled model '{}': node '{}' ({}@{}) output {} would change "
                           "from {} {} to {} {}",
                           m_model->name, a[i]->name, a[i]->type, a[i]->version, o,
                           loom::to_string(was.type), was.shape.to_string(),
                           loom::to_string(now.type), now.shape.to_string());
        }
    auto prepared = make(candidate);
    std::lock_guard lock(m_mutex);
    m_plans[candidate->generation()] = std::move(prepared);
}

void PlanSet::settle(std::uint64_t generation) noexcept {
    if (!m_dynamic) return;
    std::vector<Prepared> dropped; // released outside the lock: may unmap a library
    std::lock_guard lock(m_mutex);
    if (m_plans.contains(generation)) m_active = generation;
    // Running requests hold their own references to the plans dropped here.
    for (auto it = m_plans.begin(); it != m_plans.end();) {
        if (it->first == m_active) {
            ++it;
            continue;
        }
        dropped.push_back(std::move(it->second));
        it = m_plans.erase(it);
    }
}

PlanSet::Prepared PlanSet::make(std::shared_ptr<const model::OpRegistry> snapshot) const {
    const auto& flavor = m_shared->flavor;
    std::shared_ptr<const loom::reference::Executable> plan;
    if (flavor.compile) plan = flavor.compile(*m_model, *snapshot, *m_shared->kernels, m_props);
    if (!plan)
        plan = std::make_shared<const loom::reference::Plan>(*m_model, *snapshot,
                                                             *m_shared->kernels, flavor.prepare);
    return {std::move(snapshot), std::move(plan)};
}

} // namespace loom::plugins::reference
