#include "plugins/reference/compiled_model.hpp"

#include "plugins/reference/blob.hpp"
#include "plugins/reference/config.hpp"
#include "plugins/reference/infer_request.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::reference {

ReferenceCompiledModel::ReferenceCompiledModel(std::shared_ptr<const model::Model> m,
                                               std::shared_ptr<const Shared> shared,
                                               std::shared_ptr<const model::OpRegistry> snapshot,
                                               Properties props)
    : m_model(std::move(m))
    , m_shared(std::move(shared))
    , m_props(std::move(props))
    , m_inputs(sdk::input_ports(*m_model))
    , m_outputs(sdk::output_ports(*m_model)) {
    auto plans = std::make_shared<PlanSet>(m_model, m_shared, std::move(snapshot), m_props);
    plans->watch();
    m_plans = std::move(plans);
}

std::shared_ptr<sdk::SyncInferRequest> ReferenceCompiledModel::create_sync_infer_request() const {
    return std::make_shared<ReferenceRequest>(m_model, m_plans, m_shared,
                                              m_props.get_or(props::enable_profiling, false));
}

std::vector<std::byte> ReferenceCompiledModel::export_model() const {
    return write_blob(*m_model, m_props);
}

std::shared_ptr<model::Model> ReferenceCompiledModel::runtime_model() const {
    auto m = m_model->clone();
    const auto plan = m_plans->for_run().plan;
    // clone() keeps the nodes' order: the i-th node of the copy is the i-th of the model.
    const auto originals = m_model->nodes();
    const auto copies = m->nodes();
    for (std::size_t i = 0; i < copies.size() && i < originals.size(); ++i) {
        auto* n = copies[i];
        model::RtNode info;
        info.tag = "exec";
        info.attributes = {{"execType", plan->exec_type(*originals[i])},
                           {"originalLayers", n->name},
                           {"runtimePrecision",
                            n->outputs.empty() ? std::string("undefined")
                                               : std::string(loom::to_string(n->outputs[0].type))}};
        n->rt_info.children.push_back(std::move(info));
    }
    return m;
}

std::string ReferenceCompiledModel::get_property(const std::string& name) const {
    if (m_shared->flavor.property)
        if (auto answer = m_shared->flavor.property(m_props, name)) return *answer;
    if (name == props::optimal_number_of_infer_requests.name) return "1";
    if (m_props.has(name)) return m_props.text(name);
    if (name == props::enable_profiling.name) return "NO";
    if (name == props::performance_mode.name) return "LATENCY";
    if (name == props::inference_precision.name) return "f32";
    if (name == props::supported_properties.name) return to_text(supported_property_names());
    LOOM_THROW(ErrorKind::NOT_FOUND, "the compiled model has no property {}", name);
}

} // namespace loom::plugins::reference
