#include "plugins/reference/plugin.hpp"

#include "components/passes/passes.hpp"
#include "plugins/reference/blob.hpp"
#include "plugins/reference/compiled_model.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::reference {

namespace {

bool is_interface(std::string_view type) {
    return type == "Parameter" || type == "Constant" || type == "Result";
}

std::shared_ptr<const Shared> make_shared_tables(std::shared_ptr<model::RegistryHost> registry,
                                                 Flavor flavor) {
    auto s = std::make_shared<Shared>();
    s->flavor = std::move(flavor);
    s->registry = registry ? std::move(registry) : model::make_native_registry_host();
    s->kernels = loom::reference::make_reference_kernels();
    return s;
}

// INFERENCE_PRECISION_HINT f32 runs an f16 model in f32, as OpenVINO's CPU device does (bf16 too:
// the device lowers an f32 graph); without the hint, REFERENCE keeps the model's own precision
// (the oracle) and CPU computes in f32.
std::shared_ptr<const model::Model> with_precision(std::shared_ptr<const model::Model> m,
                                                   const Properties& p,
                                                   const model::OpRegistry& registry,
                                                   bool f32_by_default) {
    const auto hint =
        p.has(props::inference_precision.name) ? p.get(props::inference_precision) : ElementType{};
    const bool f32 = p.has(props::inference_precision.name)
                         ? hint == ElementType::F32 || hint == ElementType::BF16
                         : f32_by_default;
    if (!f32) return m;
    auto copy = m->clone();
    passes::PassManager pm;
    pm.add(passes::make_f16_to_f32_pass());
    pm.run(*copy, registry);
    return copy;
}

void check(const Properties& p, const Flavor& flavor) {
    check_properties(p, {props::device_full_name.name});
    if (p.has(props::inference_precision.name)) {
        auto t = p.get(props::inference_precision);
        if (t == ElementType::F32 || t == ElementType::UNDEFINED) return;
        if (flavor.other_precision) {
            const auto why = flavor.other_precision(t);
            if (why.empty()) return;
            LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: {}", flavor.device, why);
        }
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{}: the reference device computes in the model's own precision; "
                   "INFERENCE_PRECISION_HINT {} is not supported (use f32)",
                   flavor.device, loom::to_string(t));
    }
}

} // namespace

ReferencePlugin::ReferencePlugin(std::shared_ptr<model::RegistryHost> registry, Flavor flavor)
    : m_name(flavor.device)
    , m_shared(make_shared_tables(std::move(registry), std::move(flavor)))
    , m_context(std::make_shared<sdk::HostRemoteContext>(m_name)) {}

std::string ReferencePlugin::full_name() const {
    return m_shared->flavor.full_name;
}

std::string ReferencePlugin::get_property(const std::string& name) const {
    if (name == props::device_full_name.name) return full_name();
    if (name == props::supported_properties.name) return to_text(supported_property_names());
    std::lock_guard lock(m_mutex);
    if (m_shared->flavor.property)
        if (auto answer = m_shared->flavor.property(m_props, name)) return *answer;
    if (name == props::device_capabilities.name) return "FP32 FP16 INT8 EXPORT_IMPORT";
    if (name == props::optimal_number_of_infer_requests.name) return "1";
    if (m_props.has(name)) return m_props.text(name);
    if (name == props::enable_profiling.name) return "NO";
    if (name == props::performance_mode.name) return "LATENCY";
    if (name == props::inference_precision.name) return "f32";
    if (name == props::num_requests.name) return "0";
    LOOM_THROW(ErrorKind::NOT_FOUND, "{} has no property {}", m_name, name);
}

void ReferencePlugin::set_property(const Properties& p) {
    check(p, m_shared->flavor);
    std::lock_guard lock(m_mutex);
    m_props.merge(p);
}

std::vector<std::string> ReferencePlugin::query_model(const model::Model& m,
                                                      const Properties&) const {
    std::vector<std::string> out;
    const auto registry = m_shared->registry->current();
    for (const auto* n : m.nodes())
        if (is_interface(n->type) || m_shared->kernels->find(*n, *registry) ||
            loom::reference::extension_op(*n, *registry))
            out.push_back(n->name);
    return out;
}

std::vector<std::pair<std::string, bool>> ReferencePlugin::op_coverage() const {
    std::vector<std::pair<std::string, bool>> out;
    const auto registry = m_shared->registry->current();
    for (const auto* spec : registry->all()) {
        const bool extension = !spec->origin.empty() && spec->evaluate;
        out.emplace_back(spec->type + ":" + spec->version,
                         is_interface(spec->type) || extension ||
                             m_shared->kernels->find(spec->type, spec->version));
    }
    return out;
}

std::shared_ptr<sdk::CompiledModel>
ReferencePlugin::compile_model(std::shared_ptr<const model::Model> m, const Properties& p) {
    check(p, m_shared->flavor);
    Properties merged;
    {
        std::lock_guard lock(m_mutex);
        merged = m_props;
    }
    merged.merge(p);
    auto snapshot = m_shared->registry->current();
    return std::make_shared<ReferenceCompiledModel>(
        with_precision(std::move(m), merged, *snapshot, m_shared->flavor.f32_by_default), m_shared,
        std::move(snapshot), merged);
}

std::shared_ptr<sdk::CompiledModel> ReferencePlugin::import_model(std::span<const std::byte> blob,
                                                                  const Properties& p) {
    auto imported = read_blob(blob, m_name);
    auto snapshot = m_shared->registry->current();
    model::infer_and_validate(*imported.model, *snapshot);
    imported.props.merge(p);
    return std::make_shared<ReferenceCompiledModel>(std::move(imported.model), m_shared,
                                                    std::move(snapshot), imported.props);
}

} // namespace loom::plugins::reference
