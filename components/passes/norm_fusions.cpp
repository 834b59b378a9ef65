// fuse_layer_norm and eliminate_identity.
#include <algorithm>

#include <fmt/format.h>

#include "components/passes/graph_util.hpp"
#include "components/passes/passes.hpp"

namespace loom::passes {
namespace {

using namespace detail;

// Normalized, sorted axes of a constant input for a tensor of rank `rank`.
std::optional<std::vector<std::int64_t>> const_axes(Output v, std::int64_t rank) {
    const Tensor* t = constant_of(v);
    if (!t || !model::is_integral(t->element_type())) return std::nullopt;
    auto axes = t->to_i64();
    for (auto& a : axes) {
        if (a < -rank || a >= rank) return std::nullopt;
        if (a < 0) a += rank;
    }
    std::sort(axes.begin(), axes.end());
    return axes;
}

struct LayerNormMatch {
    Output x, axes;
    double eps = 0;
};

// ReduceMean(v, axes, keep_dims=true) → (v, axes input).
std::optional<std::pair<Output, Output>> reduce_mean(Output v) {
    Node* r = producer_if(v, "ReduceMean");
    if (!r || r->inputs.size() != 2 || !r->attrs.get_or<bool>("keep_dims", false))
        return std::nullopt;
    return std::make_pair(r->inputs[0], r->inputs[1]);
}

// The denominator of root: Divide(d, Sqrt(ve)), or d * (1 / Sqrt(ve)), d * Sqrt(ve)^-1,
// d * ve^-0.5 → (d, ve).
std::optional<std::pair<Output, Output>> layer_norm_denominator(const Node& root,
                                                                const Uses& uses) {
    auto sqrt_arg = [&](Output s, const Node* consumer) -> std::optional<Output> {
        Node* sq = producer_if(s, "Sqrt");
        if (!sq || !uses.only_by(s, consumer)) return std::nullopt;
        return sq->inputs[0];
    };
    if (root.type == "Divide" && root.inputs.size() == 2)
        if (auto ve = sqrt_arg(root.inputs[1], &root)) return std::make_pair(root.inputs[0], *ve);
    if (root.type != "Multiply" || root.inputs.size() != 2) return std::nullopt;
    for (int side = 0; side < 2; ++side) {
        Output d = root.inputs[static_cast<std::size_t>(side)];
        Output r = root.inputs[static_cast<std::size_t>(1 - side)];
        const Node* rn = r.node;
        if (!uses.only_by(r, &root) || rn->inputs.size() != 2) continue;
        if (rn->type == "Divide" && const_near(rn->inputs[0], 1.0, 1e-6))
            if (auto ve = sqrt_arg(rn->inputs[1], rn)) return std::make_pair(d, *ve);
        if (rn->type == "Power") {
            auto e = splat_value(rn->inputs[1]);
            if (e && near(*e, -1.0, 1e-6))
                if (auto ve = sqrt_arg(rn->inputs[0], rn)) return std::make_pair(d, *ve);
            if (e && near(*e, -0.5, 1e-6)) return std::make_pair(d, rn->inputs[0]);
        }
    }
    return std::nullopt;
}

std::optional<LayerNormMatch> match_layer_norm(const Node& root, const Uses& uses) {
    auto den = layer_norm_denominator(root, uses);
    if (!den) return std::nullopt;
    auto [d, ve] = *den;
    // ve = var + eps
    Node* add = producer_if(ve, "Add");
    if (!add || add->inputs.size() != 2 || uses.count(ve) != 1) return std::nullopt;
    int eps_side = splat_value(add->inputs[1]) ? 1 : 0;
    Output eps_in = add->inputs[static_cast<std::size_t>(eps_side)];
    Output var = add->inputs[static_cast<std::size_t>(1 - eps_side)];
    auto eps = splat_value(eps_in);
    if (!eps || constant_of(eps_in)->size() != 1 || !uses.only_by(var, add)) return std::nullopt;
    // var = ReduceMean(d², axes); d = x − ReduceMean(x, axes)
    auto var_mean = reduce_mean(var);
    if (!var_mean || !uses.only_by(var_mean->first, var.node)) return std::nullopt;
    const Node* sq = var_mean->first.node;
    bool squares_d = (sq->type == "Power" && sq->inputs.size() == 2 && sq->inputs[0] == d &&
                      const_near(sq->inputs[1], 2.0, 1e-6)) ||
                     (sq->type == "Multiply" && sq->inputs.size() == 2 && sq->inputs[0] == d &&
                      sq->inputs[1] == d);
    Node* sub = producer_if(d, "Subtract");
    if (!squares_d || !sub || sub->inputs.size() != 2) return std::nullopt;
    for (const auto& [consumer, port] : uses.of(d))
        if (consumer != sq && consumer != &root) return std::nullopt;
    Output x = sub->inputs[0];
    auto mean = reduce_mean(sub->inputs[1]);
    if (!mean || mean->first != x || !uses.only_by(sub->inputs[1], sub)) return std::nullopt;
    const auto& shape = info(x).shape;
    if (!shape.rank_is_static()) return std::nullopt;
    auto a1 = const_axes(mean->second, shape.rank()),
         a2 = const_axes(var_mean->second, shape.rank());
    if (!a1 || !a2 || *a1 != *a2 || a1->empty()) return std::nullopt;
    return LayerNormMatch{x, mean->second, *eps};
}

class LayerNormFusion final : public GraphPass {
public:
    std::string_view name() const override { return "fuse_layer_norm"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        if (!ctx.registry.find("MVN", "opset6")) return false;
        bool changed = false;
        std::optional<Uses> uses;
        for (Node* node : model.topological_order()) {
            if (node->type != "Divide" && node->type != "Multiply") continue;
            if (!uses) uses.emplace(model);
            if (!uses->used(node->output())) continue;
            auto m = match_layer_norm(*node, *uses);
            if (!m || !same_type_and_shape(m->x, node->output()) ||
                !model::is_floating(info(m->x).type))
                continue;
            model::Attributes attrs;
            attrs.set("normalize_variance", true);
            attrs.set("eps", m->eps);
            attrs.set("eps_mode", std::string("inside_sqrt"));
            Node& mvn = add_replacement(model, *node, "MVN", "opset6", {m->x, m->axes}, attrs);
            replace_output(model, node->output(), mvn.output());
            uses.reset();
            ctx.count();
            ctx.note(fmt::format("'{}' → MVN", node->name));
            changed = true;
        }
        return changed;
    }
};

// ---- identity elimination ----

// The value `node` merely forwards, if any.
std::optional<Output> identity_source(const Node& node) {
    const auto& in = node.inputs;
    auto binary_identity = [&](std::string_view type, double neutral, bool commutative) {
        std::optional<Output> out;
        if (node.type != type || in.size() != 2) return out;
        if (const_near(in[1], neutral, 0.0))
            out = in[0];
        else if (commutative && const_near(in[0], neutral, 0.0))
            out = in[1];
        return out;
    };
    for (auto [type, neutral, commutative] :
         {std::tuple{"Multiply", 1.0, true}, std::tuple{"Divide", 1.0, false},
          std::tuple{"Add", 0.0, true}, std::tuple{"Subtract", 0.0, false}})
        if (auto x = binary_identity(type, neutral, commutative)) return x;
    if (node.type == "Convert" && in.size() == 1) return in[0];
    if (node.type == "Transpose" && in.size() == 2 && in[0].node->type == "Transpose" &&
        in[0].node->inputs.size() == 2) {
        const Tensor *p2 = constant_of(in[1]), *p1 = constant_of(in[0].node->inputs[1]);
        if (!p1 || !p2 || p1->size() != p2->size() || !model::is_integral(p1->element_type()) ||
            !model::is_integral(p2->element_type()))
            return std::nullopt;
        auto a = p1->to_i64(), b = p2->to_i64();
        for (std::size_t i = 0; i < b.size(); ++i)
            if (b[i] < 0 || static_cast<std::size_t>(b[i]) >= a.size() ||
                a[static_cast<std::size_t>(b[i])] != static_cast<std::int64_t>(i))
                return std::nullopt;
        return in[0].node->inputs[0];
    }
    if ((node.type == "Reshape" || node.type == "Squeeze" || node.type == "Unsqueeze") &&
        !in.empty() && node.outputs[0].shape.is_static()) {
        // Walk back through the reshape chain to a value of the same static shape.
        for (Output src = in[0];; src = src.node->inputs[0]) {
            if (info(src).shape == node.outputs[0].shape) return src;
            const auto& t = src.node->type;
            if ((t != "Reshape" && t != "Squeeze" && t != "Unsqueeze") || src.node->inputs.empty())
                break;
        }
    }
    return std::nullopt;
}

class IdentityElimination final : public GraphPass {
public:
    std::string_view name() const override { return "eliminate_identity"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        bool changed = false;
        std::optional<Uses> uses;
        for (Node* node : model.topological_order()) {
            if (node->outputs.size() != 1 || has_side_effects(*node)) continue;
            auto src = identity_source(*node);
            if (!src || !same_type_and_shape(*src, node->output())) continue;
            if (!uses) uses.emplace(model);
            auto consumers = uses->of(node->output());
            if (consumers.empty() ||
                std::any_of(consumers.begin(), consumers.end(),
                            [](const auto& c) { return c.first->type == "Result"; }))
                continue;
            replace_output(model, node->output(), *src);
            uses.reset();
            ctx.count();
            ctx.note(fmt::format("removed '{}' ({})", node->name, node->type));
            changed = true;
        }
        return changed;
    }
};

} // namespace

std::unique_ptr<Pass> make_layer_norm_fusion_pass() {
    return std::make_unique<LayerNormFusion>();
}
std::unique_ptr<Pass> make_identity_elimination_pass() {
    return std::make_unique<IdentityElimination>();
}

} // namespace loom::passes
