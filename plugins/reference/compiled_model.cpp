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
    auto plans = std::make_shared<PlanSet>(m_model, m_shared, std::move(snapshot));
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
    const auto registry = m_plans->for_run().registry;
    for (auto* n : m->nodes()) {
        model::RtNode info;
        info.tag = "exec";
        const bool kernel = n->type != "Parameter" && n->type != "Constant" && n->type != "Result";
        const auto* spec = registry->find(n->type, n->version);
        const bool extension = spec && !spec->origin.empty();
        // The entry the Plan chose for the node (the same lookup on the same node).
        const auto* entry = kernel && !extension ? m_shared->kernels->find(*n, *registry) : nullptr;
        info.attributes = {{"execType", extension ? "extension"
                                        : entry   ? entry->name
                                        : kernel  ? "ref"
                                                  : n->type},
                           {"originalLayers", n->name},
                           {"runtimePrecision",
                            n->outputs.empty() ? std::string("undefined")
                                               : std::string(loom::to_string(n->outputs[0].type))}};
        n->rt_info.children.push_back(std::move(info));
    }
    return m;
}

std::string ReferenceCompiledModel::get_property(const std::string& name) const {
    if (name == props::optimal_number_of_infer_requests.name) return "1";
    if (m_props.has(name)) return m_props.text(name);
    if (name == props::enable_profiling.name) return "NO";
    if (name == props::performance_mode.name) return "LATENCY";
    if (name == props::inference_precision.name) return "f32";
    if (name == props::supported_properties.name) return to_text(supported_property_names());
    LOOM_THROW(ErrorKind::NOT_FOUND, "the compiled model has no property {}", name);
}

} // namespace loom::plugins::reference
