#include "components/passes/graph_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "schemas/error.hpp"

namespace loom::passes::detail {

using model::ElementType;

bool GraphPass::run(Model& model, PassContext& ctx) {
    bool changed = run_graph(model, ctx);
    for (Node* node : model.nodes())
        for (auto& body : node->bodies)
            if (body.model) changed = run(*body.model, ctx) || changed;
    return changed;
}

Uses::Uses(const Model& model) {
    // Only live nodes (those a result or sink needs) count as consumers: a rewrite leaves the
    // replaced nodes in place until DCE, and they must not block later matches.
    auto live = model.needed(false);
    for (Node* n : model.nodes()) {
        if (!live.count(n)) continue;
        for (std::uint32_t i = 0; i < n->inputs.size(); ++i) {
            const Output& in = n->inputs[i];
            auto& per_node = m_uses[in.node];
            if (per_node.size() <= in.index) per_node.resize(in.index + 1);
            per_node[in.index].emplace_back(n, i);
        }
    }
}

std::span<const std::pair<Node*, std::uint32_t>> Uses::of(Output value) const {
    auto it = m_uses.find(value.node);
    if (it == m_uses.end() || it->second.size() <= value.index) return {};
    return it->second[value.index];
}

bool Uses::only_by(Output value, const Node* consumer) const {
    auto uses = of(value);
    return !uses.empty() && std::all_of(uses.begin(), uses.end(),
                                        [&](const auto& u) { return u.first == consumer; });
}

bool has_side_effects(const Node& node) noexcept {
    static constexpr std::string_view k_types[] = {
        "ReadValue",   "Assign",    "RandomUniform",     "RandomNormal",
        "Multinomial", "Bernoulli", "RandomUniformLike", "RandomNormalLike"};
    if (node.outputs.empty()) return true;
    return std::find(std::begin(k_types), std::end(k_types), node.type) != std::end(k_types);
}

Node* producer_if(Output value, std::string_view op_type) noexcept {
    return value.node && value.node->type == op_type ? value.node : nullptr;
}

const Tensor* constant_of(Output value) noexcept {
    if (!value.node || value.node->type != "Constant" || value.node->value.empty()) return nullptr;
    return &value.node->value;
}

std::optional<double> splat_value(Output value) {
    const Tensor* t = constant_of(value);
    if (!t || t->size() < 1 || t->element_type() == ElementType::STRING) return std::nullopt;
    // Byte-wise check first: weights are large and almost never splats.
    std::size_t width = element_size(t->element_type());
    auto bytes = t->bytes();
    for (std::size_t off = width; off < bytes.size(); off += width)
        if (std::memcmp(bytes.data(), bytes.data() + off, width) != 0) return std::nullopt;
    return Tensor::view(t->element_type(), {}, bytes.first(width), t->owner()).to_f64()[0];
}

bool near(double value, double expected, double rel_tolerance) noexcept {
    return std::fabs(value - expected) <= rel_tolerance * std::max(1e-12, std::fabs(expected));
}

bool const_near(Output value, double expected, double rel_tolerance) {
    auto s = splat_value(value);
    return s && near(*s, expected, rel_tolerance);
}

const model::OutputInfo& info(Output value) noexcept {
    return value.node->outputs[value.index];
}

bool same_type_and_shape(Output a, Output b) noexcept {
    const auto &x = info(a), &y = info(b);
    return x.type == y.type && x.type != ElementType::UNDEFINED && x.shape == y.shape;
}

void replace_output(Model& model, Output from, Output to) {
    model.replace_uses(from, to);
    auto& names = from.node->outputs[from.index].names;
    auto& target = to.node->outputs[to.index].names;
    for (auto& n : names)
        if (std::find(target.begin(), target.end(), n) == target.end()) target.push_back(n);
    names.clear();
}

Node& add_replacement(Model& model, const Node& root, std::string type, std::string version,
                      std::vector<Output> inputs, model::Attributes attrs) {
    Node& n = model.add(std::move(type), std::move(version), std::move(inputs), std::move(attrs), 1,
                        root.name);
    n.outputs[0].type = root.outputs[0].type;
    n.outputs[0].shape = root.outputs[0].shape;
    return n;
}

bool is_float_weight_type(ElementType type) noexcept {
    return type == ElementType::F32 || type == ElementType::F16 || type == ElementType::BF16;
}

std::vector<float> to_f32(const Tensor& t) {
    std::vector<float> out(static_cast<std::size_t>(t.size()));
    switch (t.element_type()) {
    case ElementType::F32:
        std::memcpy(out.data(), t.bytes().data(), out.size() * sizeof(float));
        break;
    case ElementType::F16:
    case ElementType::BF16: {
        bool half = t.element_type() == ElementType::F16;
        for (std::size_t i = 0; i < out.size(); ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, t.bytes().data() + 2 * i, 2);
            out[i] = half ? model::f16_to_f32(bits) : model::bf16_to_f32(bits);
        }
        break;
    }
    default: {
        auto values = t.to_f64();
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<float>(values[i]);
    }
    }
    return out;
}

Tensor from_f32(ElementType type, model::Shape shape, std::span<const float> values) {
    Tensor t = Tensor::allocate(type, std::move(shape));
    LOOM_ASSERT(static_cast<std::size_t>(t.size()) == values.size(), "value count mismatch");
    std::byte* out = t.mutable_data();
    for (std::size_t i = 0; i < values.size(); ++i) {
        switch (type) {
        case ElementType::F32:
            std::memcpy(out + 4 * i, &values[i], 4);
            break;
        case ElementType::F64: {
            double d = values[i];
            std::memcpy(out + 8 * i, &d, 8);
            break;
        }
        case ElementType::F16:
        case ElementType::BF16: {
            std::uint16_t bits = type == ElementType::F16 ? model::f32_to_f16(values[i])
                                                          : model::f32_to_bf16(values[i]);
            std::memcpy(out + 2 * i, &bits, 2);
            break;
        }
        default:
            LOOM_THROW(ErrorKind::INTERNAL, "from_f32: {} is not a floating type",
                       loom::to_string(type));
        }
    }
    return t;
}

} // namespace loom::passes::detail
