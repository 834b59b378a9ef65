#pragma once
// ReferenceRequest — one infer request of a REFERENCE compiled model: runs the Plan pinned for
// the run (PlanSet::for_run), keeps the request's ReadValue/Assign variables and the last run's
// profile. Used by one thread at a time (DESIGN.md §6).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plugins/reference/plan_set.hpp"
#include "plugins/sdk/plugin.hpp"

namespace loom::plugins::reference {

class ReferenceRequest final : public sdk::SyncInferRequest {
public:
    ReferenceRequest(std::shared_ptr<const model::Model> m, std::shared_ptr<const PlanSet> plans,
                     std::shared_ptr<const Shared> shared, bool profiling);

    void infer() override;
    std::vector<sdk::NodeProfile> profiling_info() const override;
    std::vector<std::pair<std::string, model::Tensor>> query_state() const override;
    void set_state(const std::string& name, const model::Tensor& value) override;
    void reset_state(const std::string& name) override;

private:
    // not_found unless the model has a ReadValue of variable `name`.
    void require_variable(const std::string& name) const;

    std::shared_ptr<const model::Model> m_model;
    std::shared_ptr<const PlanSet> m_plans;
    std::shared_ptr<const Shared> m_shared;
    bool m_profiling;
    loom::reference::VariableStore m_vars;
    loom::reference::Profile m_profile;
};

} // namespace loom::plugins::reference
