#include "plugins/reference/infer_request.hpp"

#include "schemas/error.hpp"

namespace loom::plugins::reference {

ReferenceRequest::ReferenceRequest(std::shared_ptr<const model::Model> m,
                                   std::shared_ptr<const PlanSet> plans,
                                   std::shared_ptr<const Shared> shared, bool profiling)
    : SyncInferRequest(sdk::input_ports(*m), sdk::output_ports(*m))
    , m_model(std::move(m))
    , m_plans(std::move(plans))
    , m_shared(std::move(shared))
    , m_profiling(profiling) {}

void ReferenceRequest::infer() {
    begin_infer();
    std::vector<model::Tensor> in;
    for (std::size_t i = 0; i < inputs().size(); ++i)
        in.push_back(input(i));
    // Pinned for the whole run: every extension op of it runs one version (DESIGN.md §5).
    const auto pinned = m_plans->for_run();
    loom::reference::RunState run{pinned.registry.get(), m_shared->kernels.get(), &m_vars,
                                  &m_cancel};
    auto out = pinned.plan->run(in, run, m_profiling ? &m_profile : nullptr);
    for (std::size_t i = 0; i < out.size(); ++i)
        store_output(i, out[i]);
}

std::vector<sdk::NodeProfile> ReferenceRequest::profiling_info() const {
    using sdk::NodeProfile;
    std::vector<NodeProfile> out;
    for (const auto& p : m_profile) {
        NodeProfile n{p.name, p.type, p.executed ? p.exec_type : "",
                      p.executed ? NodeProfile::Status::EXECUTED : NodeProfile::Status::NOT_RUN,
                      p.real_time_us};
        out.push_back(std::move(n));
    }
    return out;
}

std::vector<std::pair<std::string, model::Tensor>> ReferenceRequest::query_state() const {
    std::vector<std::pair<std::string, model::Tensor>> out;
    for (const auto* n : m_model->nodes()) {
        if (n->type != "ReadValue") continue;
        const auto& id = n->attrs.get<std::string>("variable_id");
        auto it = m_vars.values.find(id);
        if (it != m_vars.values.end())
            out.emplace_back(id, it->second);
        else if (n->outputs.at(0).shape.is_static())
            out.emplace_back(
                id, model::Tensor::allocate(n->outputs[0].type, n->outputs[0].shape.to_shape()));
        else
            out.emplace_back(id, model::Tensor{});
    }
    return out;
}

void ReferenceRequest::set_state(const std::string& name, const model::Tensor& value) {
    require_variable(name);
    m_vars.values[name] =
        model::Tensor::copy_of(value.element_type(), value.shape(), value.bytes());
}

void ReferenceRequest::reset_state(const std::string& name) {
    if (name.empty()) {
        m_vars.values.clear();
        return;
    }
    require_variable(name);
    if (auto it = m_vars.values.find(name); it != m_vars.values.end()) m_vars.values.erase(it);
}

void ReferenceRequest::require_variable(const std::string& name) const {
    for (const auto* n : m_model->nodes())
        if (n->type == "ReadValue" && n->attrs.get<std::string>("variable_id") == name) return;
    LOOM_THROW(ErrorKind::NOT_FOUND, "the model has no variable '{}'", name);
}

} // namespace loom::plugins::reference
