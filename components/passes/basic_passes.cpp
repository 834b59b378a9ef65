// validate, constant_folding, dce, cse.
#include <cstring>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "components/passes/graph_util.hpp"
#include "components/passes/passes.hpp"
#include "schemas/error.hpp"

namespace loom::passes {
namespace {

using namespace detail;
using model::ElementType;
using model::Shape;

class ValidatePass final : public Pass {
public:
    std::string_view name() const override { return "validate"; }
    bool run(Model& model, PassContext& ctx) override {
        model::infer_and_validate(model, ctx.registry);
        return false;
    }
};

// ---- constant folding ----

// Writes integer values into a tensor of an integral type; false when one does not fit.
bool write_integers(Tensor& t, const std::vector<std::int64_t>& values) {
    auto type = t.element_type();
    std::size_t width = element_size(type);
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::int64_t v = values[i];
        if (type == ElementType::BOOLEAN) v = v != 0;
        bool fits = true;
        switch (type) {
        case ElementType::I8:
            fits = v >= INT8_MIN && v <= INT8_MAX;
            break;
        case ElementType::U8:
            fits = v >= 0 && v <= UINT8_MAX;
            break;
        case ElementType::I16:
            fits = v >= INT16_MIN && v <= INT16_MAX;
            break;
        case ElementType::U16:
            fits = v >= 0 && v <= UINT16_MAX;
            break;
        case ElementType::I32:
            fits = v >= INT32_MIN && v <= INT32_MAX;
            break;
        case ElementType::U32:
            fits = v >= 0 && v <= UINT32_MAX;
            break;
        case ElementType::U64:
            fits = v >= 0;
            break;
        default:
            break;
        }
        if (!fits) return false;
        // Little-endian: the low `width` bytes of v are the narrowed value.
        std::memcpy(t.mutable_data() + i * width, &v, width);
    }
    return true;
}

// Convert of a constant without the reference kernel: lossless integer conversions,
// anything → floating, anything → boolean. Float → integer (rounding rules belong to the
// reference kernel) and out-of-range integer narrowing return nullopt.
std::optional<Tensor> convert_constant(const Tensor& in, ElementType to) {
    auto from = in.element_type();
    if (!model::is_supported_value_type(to) || to == ElementType::STRING) return std::nullopt;
    Tensor out = Tensor::allocate(to, in.shape());
    if (to == ElementType::F32 || to == ElementType::F16 || to == ElementType::BF16 ||
        to == ElementType::F64) {
        auto values = in.to_f64();
        std::vector<float> f(values.begin(), values.end());
        if (to != ElementType::F64) return from_f32(to, in.shape(), f);
        std::memcpy(out.mutable_data(), values.data(), values.size() * sizeof(double));
        return out;
    }
    if (to == ElementType::BOOLEAN) {
        auto values = in.to_f64();
        for (std::size_t i = 0; i < values.size(); ++i)
            out.mutable_data()[i] = std::byte{values[i] != 0.0};
        return out;
    }
    if (!model::is_integral(from)) return std::nullopt;
    if (from == ElementType::U64) // values above INT64_MAX would read as negative
        for (auto v : in.to_i64())
            if (v < 0) return std::nullopt;
    if (!write_integers(out, in.to_i64())) return std::nullopt;
    return out;
}

// The structural folds (no evaluate needed); nullopt when `node` is not one of them.
std::optional<Tensor> fold_structurally(const Node& node) {
    const auto& out = node.outputs[0];
    if (node.type == "ShapeOf") {
        const auto& shape = info(node.inputs[0]).shape;
        if (!shape.is_static() || out.type == ElementType::UNDEFINED) return std::nullopt;
        auto dims = shape.to_shape();
        Tensor t = Tensor::allocate(out.type, {static_cast<std::int64_t>(dims.size())});
        if (!write_integers(t, dims)) return std::nullopt;
        return t;
    }
    const Tensor* data = node.inputs.empty() ? nullptr : constant_of(node.inputs[0]);
    if (!data) return std::nullopt;
    if (node.type == "Convert") {
        auto* to = node.attrs.find("destination_type");
        if (!to || !std::holds_alternative<ElementType>(*to)) return std::nullopt;
        return convert_constant(*data, std::get<ElementType>(*to));
    }
    if (node.type == "Reshape" || node.type == "Squeeze" || node.type == "Unsqueeze") {
        if (!out.shape.is_static() || out.type != data->element_type()) return std::nullopt;
        auto shape = out.shape.to_shape();
        if (model::shape_size(shape) != data->size()) return std::nullopt;
        return data->reshaped(std::move(shape));
    }
    return std::nullopt;
}

std::optional<std::vector<Tensor>> fold_node(const Node& node, const model::OpRegistry& registry) {
    if (node.outputs.size() == 1)
        if (auto t = fold_structurally(node)) return std::vector<Tensor>{std::move(*t)};
    if (node.type == "ShapeOf" || node.inputs.empty()) return std::nullopt;
    std::vector<Tensor> inputs;
    for (const auto& in : node.inputs) {
        const Tensor* t = constant_of(in);
        if (!t) return std::nullopt;
        inputs.push_back(*t);
    }
    const model::OpSpec* spec = registry.find(node.type, node.version);
    // Extension ops are not folded: their version may be swapped after compilation.
    if (!spec || !spec->evaluate || !spec->origin.empty()) return std::nullopt;
    auto outputs = spec->evaluate(node, inputs);
    if (outputs.size() != node.outputs.size())
        LOOM_THROW(ErrorKind::INTERNAL, "evaluating node '{}' ({}) gave {} outputs, expected {}",
                   node.name, node.type, outputs.size(), node.outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const auto& o = node.outputs[i];
        bool type_ok = o.type == ElementType::UNDEFINED || o.type == outputs[i].element_type();
        if (!type_ok || !o.shape.compatible(model::PartialShape(outputs[i].shape())))
            LOOM_THROW(ErrorKind::INTERNAL,
                       "evaluating node '{}' ({}) gave output {} as {} {}, inferred {} {}",
                       node.name, node.type, i, loom::to_string(outputs[i].element_type()),
                       model::to_string(outputs[i].shape()), loom::to_string(o.type),
                       o.shape.to_string());
    }
    return outputs;
}

class ConstantFoldingPass final : public GraphPass {
public:
    std::string_view name() const override { return "constant_folding"; }

protected:
    // Folding a shape computation can make the shapes after it static (a Reshape by a folded
    // target shape), and with them the next ShapeOf: rounds until nothing more folds (shape
    // inference between them), at most k_rounds.
    bool run_graph(Model& model, PassContext& ctx) override {
        static constexpr int k_rounds = 16;
        bool changed = false;
        std::unordered_set<const Node*> folded; // replaced already: not folded again
        for (int round = 0; round < k_rounds && fold_round(model, ctx, folded); ++round) {
            changed = true;
            model::infer_and_validate(model, ctx.registry);
        }
        return changed;
    }

    bool fold_round(Model& model, PassContext& ctx, std::unordered_set<const Node*>& folded) {
        bool changed = false;
        for (Node* node : model.topological_order()) {
            if (node->type == "Constant" || node->type == "Parameter" || node->type == "Result" ||
                !node->bodies.empty() || has_side_effects(*node) || folded.contains(node))
                continue;
            auto values = fold_node(*node, ctx.registry);
            if (!values) continue;
            for (std::size_t i = 0; i < values->size(); ++i) {
                // (fmt, not `+= "." + to_string(i)`: GCC 12 warns falsely on that here.)
                std::string const_name =
                    values->size() > 1 ? fmt::format("{}.{}", node->name, i) : node->name;
                Node& c = model.add_constant(std::move((*values)[i]), std::move(const_name));
                replace_output(model, node->output(static_cast<std::uint32_t>(i)), c.output());
            }
            folded.insert(node);
            ctx.count();
            ctx.note(fmt::format("folded '{}' ({})", node->name, node->type));
            changed = true;
        }
        return changed;
    }
};

// ---- dead-node elimination ----

class DcePass final : public GraphPass {
public:
    std::string_view name() const override { return "dce"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        std::size_t removed = model.remove_unused();
        if (removed) ctx.count(removed);
        return removed > 0;
    }
};

// ---- common-subexpression elimination ----

std::string cse_key(const Node& node) {
    std::string key = node.type + '|' + node.version + '|';
    for (const auto& [k, v] : node.attrs.entries())
        key += k + '=' + model::to_text(v) + ';';
    key += '|';
    for (const auto& in : node.inputs)
        key += std::to_string(in.node->id()) + ':' + std::to_string(in.index) + ',';
    if (node.type == "Constant") {
        auto bytes = node.value.bytes();
        std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        key += std::string(loom::to_string(node.value.element_type())) +
               model::to_string(node.value.shape()) +
               std::to_string(std::hash<std::string_view>{}(view));
    }
    return key;
}

bool cse_equal(const Node& a, const Node& b) {
    if (a.type != b.type || a.version != b.version || !(a.attrs == b.attrs) ||
        a.inputs != b.inputs || a.outputs.size() != b.outputs.size())
        return false;
    return a.type != "Constant" || a.value.same_as(b.value);
}

class CsePass final : public GraphPass {
public:
    std::string_view name() const override { return "cse"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        std::unordered_map<std::string, std::vector<Node*>> seen;
        bool changed = false;
        for (Node* node : model.topological_order()) {
            if (node->type == "Parameter" || node->type == "Result" || !node->bodies.empty() ||
                has_side_effects(*node) || (node->type == "Constant" && node->value.empty()) ||
                !ctx.registry.find(node->type, node->version)) // unknown ops may be stateful
                continue;
            auto& bucket = seen[cse_key(*node)];
            Node* same = nullptr;
            for (Node* candidate : bucket)
                if (cse_equal(*candidate, *node)) same = candidate;
            if (!same) {
                bucket.push_back(node);
                continue;
            }
            for (std::uint32_t i = 0; i < node->outputs.size(); ++i)
                replace_output(model, node->output(i), same->output(i));
            ctx.count();
            ctx.note(fmt::format("merged '{}' into '{}' ({})", node->name, same->name, node->type));
            changed = true;
        }
        return changed;
    }
};

} // namespace

std::unique_ptr<Pass> make_validate_pass() {
    return std::make_unique<ValidatePass>();
}
std::unique_ptr<Pass> make_constant_folding_pass() {
    return std::make_unique<ConstantFoldingPass>();
}
std::unique_ptr<Pass> make_dce_pass() {
    return std::make_unique<DcePass>();
}
std::unique_ptr<Pass> make_cse_pass() {
    return std::make_unique<CsePass>();
}

} // namespace loom::passes
