#include "components/model/op_registry.hpp"

#include <charconv>

#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model {

ElementType InferContext::input_type(std::size_t i) const {
    LOOM_REQUIRE(i < m_node.inputs.size(), "input {} is missing ({} inputs)", i,
                 m_node.inputs.size());
    const auto& in = m_node.inputs[i];
    return in.node->outputs[in.index].type;
}

const PartialShape& InferContext::input_shape(std::size_t i) const {
    LOOM_REQUIRE(i < m_node.inputs.size(), "input {} is missing ({} inputs)", i,
                 m_node.inputs.size());
    const auto& in = m_node.inputs[i];
    return in.node->outputs[in.index].shape;
}

const Tensor* InferContext::input_constant(std::size_t i) const {
    if (i >= m_node.inputs.size()) return nullptr;
    const auto& in = m_node.inputs[i];
    if (in.node->type != "Constant" || in.node->value.empty()) return nullptr;
    return &in.node->value;
}

std::optional<std::vector<std::int64_t>> InferContext::input_values(std::size_t i) const {
    const Tensor* t = input_constant(i);
    if (!t) return std::nullopt;
    if (is_integral(t->element_type())) return t->to_i64();
    auto values = t->to_f64();
    std::vector<std::int64_t> out;
    for (double v : values) {
        if (v != static_cast<double>(static_cast<std::int64_t>(v))) return std::nullopt;
        out.push_back(static_cast<std::int64_t>(v));
    }
    return out;
}

void InferContext::set_output(std::size_t i, ElementType type, PartialShape shape) {
    if (m_node.outputs.size() <= i) m_node.outputs.resize(i + 1);
    m_node.outputs[i].type = type;
    m_node.outputs[i].shape = std::move(shape);
}

void InferContext::set_output_count(std::size_t n) {
    m_node.outputs.resize(n);
}

const AttrSpec* OpSpec::find_attr(std::string_view name) const noexcept {
    for (const auto& a : attrs)
        if (a.name == name) return &a;
    return nullptr;
}

std::optional<int> opset_number(std::string_view version) noexcept {
    if (!version.starts_with("opset")) return std::nullopt;
    int n = 0;
    auto digits = version.substr(5);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty())
        return std::nullopt;
    return n;
}

void OpRegistry::add(OpSpec spec) {
    auto& list = m_specs[spec.type];
    for (const auto& s : list)
        LOOM_REQUIRE(s.version != spec.version, "op {}-{} is registered twice", spec.type,
                     spec.version);
    auto n = opset_number(spec.version);
    auto pos = list.begin();
    while (pos != list.end() && n && opset_number(pos->version) && *opset_number(pos->version) < *n)
        ++pos;
    list.insert(pos, std::move(spec));
}

const OpSpec* OpRegistry::find(std::string_view type, std::string_view version) const noexcept {
    auto it = m_specs.find(type);
    if (it == m_specs.end()) return nullptr;
    auto wanted = opset_number(version);
    const OpSpec* best = nullptr;
    int best_n = -1;
    for (const auto& s : it->second) {
        if (s.version == version) return &s;
        auto n = opset_number(s.version);
        if (wanted && n && *n <= *wanted && *n > best_n) {
            best = &s;
            best_n = *n;
        }
    }
    return best;
}

std::vector<const OpSpec*> OpRegistry::versions(std::string_view type) const {
    std::vector<const OpSpec*> out;
    if (auto it = m_specs.find(type); it != m_specs.end())
        for (const auto& s : it->second)
            out.push_back(&s);
    return out;
}

std::vector<const OpSpec*> OpRegistry::all() const {
    std::vector<const OpSpec*> out;
    for (const auto& [type, list] : m_specs)
        for (const auto& s : list)
            out.push_back(&s);
    return out;
}

std::size_t OpRegistry::size() const noexcept {
    std::size_t n = 0;
    for (const auto& [type, list] : m_specs)
        n += list.size();
    return n;
}

void OpRegistry::set_evaluate(std::string_view type, std::string_view version, EvaluateFn fn) {
    auto it = m_specs.find(type);
    if (it != m_specs.end())
        for (auto& s : it->second)
            if (s.version == version) {
                s.evaluate = std::move(fn);
                return;
            }
    LOOM_THROW(ErrorKind::NOT_FOUND, "no op {}-{} to attach an evaluation to", type, version);
}

void OpRegistry::add_conversion(ConversionSpec spec) {
    LOOM_REQUIRE(!find_conversion(spec.framework, spec.domain, spec.type),
                 "a conversion of {} {} (domain '{}') is registered twice", spec.framework,
                 spec.type, spec.domain);
    m_conversions.push_back(std::move(spec));
}

const ConversionSpec* OpRegistry::find_conversion(std::string_view framework,
                                                  std::string_view domain,
                                                  std::string_view type) const noexcept {
    for (const auto& c : m_conversions)
        if (c.framework == framework && c.domain == domain && c.type == type) return &c;
    return nullptr;
}

std::vector<const ConversionSpec*> OpRegistry::conversions() const {
    std::vector<const ConversionSpec*> out;
    for (const auto& c : m_conversions)
        out.push_back(&c);
    return out;
}

std::size_t OpRegistry::remove_origin(std::string_view origin) {
    std::size_t removed = 0;
    for (auto it = m_specs.begin(); it != m_specs.end();) {
        removed += std::erase_if(it->second, [&](const OpSpec& s) { return s.origin == origin; });
        it = it->second.empty() ? m_specs.erase(it) : std::next(it);
    }
    removed +=
        std::erase_if(m_conversions, [&](const ConversionSpec& c) { return c.origin == origin; });
    return removed;
}

Output ConversionContext::input(std::size_t i) const {
    LOOM_REQUIRE(i < m_inputs.size(), "input {} is missing ({} inputs)", i, m_inputs.size());
    return m_inputs[i];
}

Node& ConversionContext::add(std::string type, std::string version, std::vector<Output> inputs,
                             Attributes attrs, std::size_t output_count) {
    auto& node = m_model.add(std::move(type), std::move(version), std::move(inputs),
                             std::move(attrs), output_count, m_name);
    m_created.push_back(&node);
    return node;
}

Output ConversionContext::constant(Tensor value) {
    auto& node = m_model.add_constant(std::move(value), m_name);
    m_created.push_back(&node);
    return node.output(0);
}

std::shared_ptr<OpRegistry> make_native_registry() {
    auto registry = std::make_shared<OpRegistry>();
    ops::add_core_ops(*registry);
    ops::add_elementwise_ops(*registry);
    ops::add_reduction_ops(*registry);
    ops::add_nn_ops(*registry);
    ops::add_image_ops(*registry);
    ops::add_rnn_ops(*registry);
    ops::add_shape_ops(*registry);
    ops::add_index_ops(*registry);
    ops::add_sequence_ops(*registry);
    ops::add_control_ops(*registry);
    ops::add_loom_ops(*registry);
    return registry;
}

void check_attributes(const Node& node, const OpSpec& spec) {
    for (const auto& a : spec.attrs) {
        const AttrValue* v = node.attrs.find(a.name);
        if (!v) {
            LOOM_REQUIRE(!a.required, "required attribute '{}' ({}) is missing", a.name,
                         to_string(a.kind));
            continue;
        }
        LOOM_REQUIRE(kind_of(*v) == a.kind, "attribute '{}' is {} but must be {}", a.name,
                     to_string(kind_of(*v)), to_string(a.kind));
    }
}

namespace {
void infer_node_unnamed(Node& node, const OpRegistry& registry) {
    const OpSpec* spec = registry.find(node.type, node.version);
    if (!spec)
        LOOM_THROW(ErrorKind::NOT_FOUND, "unknown operation {} (version {})", node.type,
                   node.version);
    LOOM_REQUIRE(node.inputs.size() >= spec->min_inputs && node.inputs.size() <= spec->max_inputs,
                 "has {} inputs; {}-{} takes {}..{}", node.inputs.size(), spec->type, spec->version,
                 spec->min_inputs,
                 spec->max_inputs == SIZE_MAX ? std::string("n")
                                              : std::to_string(spec->max_inputs));
    check_attributes(node, *spec);
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const auto& in = node.inputs[i];
        auto type = in.node->outputs[in.index].type;
        if (type == ElementType::STRING) require_supported(type, fmt::format("input {}", i));
    }
    for (auto& body : node.bodies) {
        LOOM_REQUIRE(body.model != nullptr, "body '{}' is missing", body.name);
    }
    if (spec->infer) {
        InferContext ctx(node, registry);
        spec->infer(ctx);
    }
}
} // namespace

void infer_node(Node& node, const OpRegistry& registry) {
    try {
        infer_node_unnamed(node, registry);
    } catch (const Error& e) {
        if (e.message().starts_with("node '")) throw;
        LOOM_THROW(e.kind(), "node '{}' ({}-{}): {}", node.name, node.type, node.version,
                   e.message());
    }
}

void infer_and_validate(Model& model, const OpRegistry& registry) {
    for (Node* node : model.topological_order())
        infer_node(*node, registry);
    for (auto* p : model.parameters())
        LOOM_REQUIRE(p->type == "Parameter", "model parameter '{}' is a {} node", p->name, p->type);
    for (auto* r : model.results())
        LOOM_REQUIRE(r->type == "Result", "model result '{}' is a {} node", r->name, r->type);
}

} // namespace loom::model
