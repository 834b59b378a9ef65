#pragma once
// ReferenceCompiledModel — a model compiled for the REFERENCE device: its PlanSet (one Plan per
// op-registry snapshot), the properties it was compiled with, export for caching (blob.hpp) and
// the runtime graph. Safe to use from many threads (DESIGN.md §6); immutable after construction.

#include <memory>
#include <string>
#include <vector>

#include "plugins/reference/plan_set.hpp"
#include "plugins/sdk/plugin.hpp"

namespace loom::plugins::reference {

class ReferenceCompiledModel final : public sdk::CompiledModel {
public:
    // `m` must be inferred against `snapshot`.
    ReferenceCompiledModel(std::shared_ptr<const model::Model> m,
                           std::shared_ptr<const Shared> shared,
                           std::shared_ptr<const model::OpRegistry> snapshot, Properties props);

    const std::vector<sdk::Port>& inputs() const override { return m_inputs; }
    const std::vector<sdk::Port>& outputs() const override { return m_outputs; }

    std::shared_ptr<sdk::SyncInferRequest> create_sync_infer_request() const override;
    std::vector<std::byte> export_model() const override;
    // The model with an "exec" rt_info node per node: execType is the name of the kernel entry
    // the Plan runs it with ("ref"), "extension", or the node's type for Parameter/Constant/Result.
    std::shared_ptr<model::Model> runtime_model() const override;
    std::string get_property(const std::string& name) const override;

private:
    std::shared_ptr<const model::Model> m_model;
    std::shared_ptr<const Shared> m_shared;
    Properties m_props;
    std::vector<sdk::Port> m_inputs, m_outputs;
    std::shared_ptr<const PlanSet> m_plans;
};

} // namespace loom::plugins::reference
