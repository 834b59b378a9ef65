// fuse_hswish, fuse_swish and fuse_gelu.
#include <cmath>

#include <fmt/format.h>

#include "components/passes/graph_util.hpp"
#include "components/passes/passes.hpp"

namespace loom::passes {
namespace {

using namespace detail;

constexpr double k_tolerance = 1e-3; // relative, for constants written with few digits

// For a commutative binary node `n` of `type`: calls f(a, b) with both operand orders; returns
// the first non-null result.
template <class F>
auto either_order(const Node* n, std::string_view type, F&& f) -> decltype(f(Output{}, Output{})) {
    if (!n || n->type != type || n->inputs.size() != 2) return {};
    if (auto r = f(n->inputs[0], n->inputs[1])) return r;
    return f(n->inputs[1], n->inputs[0]);
}

// v = a * k (either order) or a / (1/k), used only by `consumer` → a.
std::optional<Output> match_scaled(Output v, double k, const Uses& uses, const Node* consumer) {
    if (!uses.only_by(v, consumer)) return std::nullopt;
    const Node* n = v.node;
    if (n->type == "Divide" && n->inputs.size() == 2 && const_near(n->inputs[1], 1.0 / k))
        return n->inputs[0];
    return either_order(n, "Multiply", [&](Output a, Output c) -> std::optional<Output> {
        if (const_near(c, k) && !constant_of(a)) return a;
        return std::nullopt;
    });
}

// ---- HSwish ----

// v = Clamp(x + 3, 0, 6) with single-use intermediates, used only by `consumer` → x.
std::optional<Output> match_relu6_x_plus_3(Output v, const Uses& uses, const Node* consumer) {
    Node* clamp = producer_if(v, "Clamp");
    if (!clamp || clamp->inputs.size() != 1 || !uses.only_by(v, consumer) ||
        !near(clamp->attrs.get_or<double>("min", -1), 0.0, 1e-6) ||
        !near(clamp->attrs.get_or<double>("max", -1), 6.0, 1e-6))
        return std::nullopt;
    Output sum = clamp->inputs[0];
    if (!uses.only_by(sum, clamp)) return std::nullopt;
    return either_order(sum.node, "Add", [&](Output x, Output c) -> std::optional<Output> {
        if (const_near(c, 3.0, 1e-6) && !constant_of(x)) return x;
        return std::nullopt;
    });
}

// x * HardSigmoid(x, 1/6, 0.5) or x * (Clamp(x + 3, 0, 6) / 6) → x.
std::optional<Output> match_hswish_product(const Node& mul, const Uses& uses) {
    return either_order(&mul, "Multiply", [&](Output x, Output h) -> std::optional<Output> {
        if (Node* hs = producer_if(h, "HardSigmoid")) {
            if (hs->inputs.size() == 3 && hs->inputs[0] == x && uses.only_by(h, &mul) &&
                const_near(hs->inputs[1], 1.0 / 6.0, 1e-4) && const_near(hs->inputs[2], 0.5, 1e-4))
                return x;
            return std::nullopt;
        }
        auto clamped = match_scaled(h, 1.0 / 6.0, uses, &mul);
        if (!clamped) return std::nullopt;
        auto inner = match_relu6_x_plus_3(*clamped, uses, h.node);
        if (inner && *inner == x) return x;
        return std::nullopt;
    });
}

std::optional<Output> match_hswish(Node& root, const Uses& uses) {
    if (auto x = match_hswish_product(root, uses)) return x;
    // (x * Clamp(x + 3, 0, 6)) / 6, or * 1/6.
    const Node* n = &root;
    std::optional<Output> m;
    if (n->type == "Divide" && n->inputs.size() == 2 && const_near(n->inputs[1], 6.0))
        m = n->inputs[0];
    else
        m = either_order(n, "Multiply", [&](Output a, Output c) -> std::optional<Output> {
            if (const_near(c, 1.0 / 6.0, 1e-4) && !constant_of(a)) return a;
            return std::nullopt;
        });
    if (!m || !uses.only_by(*m, &root) || m->node->type != "Multiply") return std::nullopt;
    const Node* mul = m->node;
    return either_order(mul, "Multiply", [&](Output x, Output c) -> std::optional<Output> {
        auto inner = match_relu6_x_plus_3(c, uses, mul);
        if (inner && *inner == x) return x;
        return std::nullopt;
    });
}

// ---- Swish ----

// x * Sigmoid(x), either order, Sigmoid used only here → x.
std::optional<Output> match_swish(const Node& mul, const Uses& uses) {
    return either_order(&mul, "Multiply", [&](Output x, Output s) -> std::optional<Output> {
        Node* sig = producer_if(s, "Sigmoid");
        if (sig && sig->inputs.size() == 1 && sig->inputs[0] == x && uses.only_by(s, &mul))
            return x;
        return std::nullopt;
    });
}

// ---- GELU ----

// Leaves of a product tree rooted at `root`: non-constant factors and the product of scalar
// constant factors (Divide by a constant counts as a factor). Inner nodes must be used only
// inside the tree.
struct Product {
    std::vector<Output> factors;
    double scale = 1.0;
};

void collect_product(Output v, const Node* consumer, const Uses& uses, Product& p, int depth) {
    const Node* n = v.node;
    bool inner = consumer == nullptr || uses.only_by(v, consumer);
    if (auto s = splat_value(v); s && constant_of(v)->size() == 1) {
        p.scale *= *s;
    } else if (inner && depth < 4 && n->type == "Multiply" && n->inputs.size() == 2) {
        collect_product(n->inputs[0], n, uses, p, depth + 1);
        collect_product(n->inputs[1], n, uses, p, depth + 1);
    } else if (inner && depth < 4 && n->type == "Divide" && n->inputs.size() == 2 &&
               splat_value(n->inputs[1]) && constant_of(n->inputs[1])->size() == 1 &&
               *splat_value(n->inputs[1]) != 0.0) {
        p.scale /= *splat_value(n->inputs[1]);
        collect_product(n->inputs[0], n, uses, p, depth + 1);
    } else {
        p.factors.push_back(v);
    }
}

// v = x³ as Power(x, 3) or x*x*x, single-use → x.
std::optional<Output> match_cube(Output v, const Uses& uses) {
    if (uses.count(v) != 1) return std::nullopt;
    if (Node* pw = producer_if(v, "Power"); pw && pw->inputs.size() == 2)
        return const_near(pw->inputs[1], 3.0, 1e-6) ? std::optional(pw->inputs[0]) : std::nullopt;
    Product p;
    collect_product(v, nullptr, uses, p, 1);
    if (p.factors.size() == 3 && p.scale == 1.0 && p.factors[0] == p.factors[1] &&
        p.factors[1] == p.factors[2])
        return p.factors[0];
    return std::nullopt;
}

// v = Tanh-argument √(2/π)·(x + 0.044715·x³) → x.
std::optional<Output> match_tanh_arg(Output v, const Uses& uses) {
    Product outer;
    if (uses.count(v) != 1) return std::nullopt;
    collect_product(v, nullptr, uses, outer, 2);
    if (outer.factors.size() != 1 || !near(outer.scale, std::sqrt(2.0 / M_PI), k_tolerance) ||
        uses.count(outer.factors[0]) != 1)
        return std::nullopt;
    return either_order(outer.factors[0].node, "Add",
                        [&](Output x, Output cubic) -> std::optional<Output> {
                            Product c;
                            if (uses.count(cubic) != 1) return std::nullopt;
                            collect_product(cubic, nullptr, uses, c, 2);
                            if (c.factors.size() != 1 || !near(c.scale, 0.044715, k_tolerance))
                                return std::nullopt;
                            auto base = match_cube(c.factors[0], uses);
                            if (base && *base == x) return x;
                            return std::nullopt;
                        });
}

// p = 1 + Erf(x/√2) or 1 + Tanh(...) (single-use) → (x, "ERF"|"TANH").
std::optional<std::pair<Output, std::string>> match_gelu_sum(Output p, const Uses& uses) {
    if (uses.count(p) != 1) return std::nullopt;
    return either_order(
        p.node, "Add", [&](Output f, Output one) -> std::optional<std::pair<Output, std::string>> {
            if (!const_near(one, 1.0, 1e-6) || uses.count(f) != 1) return std::nullopt;
            if (Node* erf = producer_if(f, "Erf"); erf && erf->inputs.size() == 1)
                if (auto x = match_scaled(erf->inputs[0], 1.0 / std::sqrt(2.0), uses, erf))
                    return std::make_pair(*x, std::string("ERF"));
            if (Node* th = producer_if(f, "Tanh"); th && th->inputs.size() == 1)
                if (auto x = match_tanh_arg(th->inputs[0], uses))
                    return std::make_pair(*x, std::string("TANH"));
            return std::nullopt;
        });
}

std::optional<std::pair<Output, std::string>> match_gelu(Node& root, const Uses& uses) {
    if (root.type != "Multiply" && root.type != "Divide") return std::nullopt;
    Product p;
    collect_product(root.output(), nullptr, uses, p, 0);
    if (p.factors.size() != 2 || !near(p.scale, 0.5, 1e-6)) return std::nullopt;
    for (int i = 0; i < 2; ++i) {
        Output x = p.factors[static_cast<std::size_t>(i)];
        auto m = match_gelu_sum(p.factors[static_cast<std::size_t>(1 - i)], uses);
        if (m && m->first == x) return m;
    }
    return std::nullopt;
}

// ---- the passes ----

// Runs `match` on every node of `types`; on a match replaces the node's output by a new
// `op` (opset `version`) of the matched input with `attrs`.
template <class Match>
bool rewrite_each(Model& model, PassContext& ctx, std::string_view op, std::string_view version,
                  Match&& match) {
    if (!ctx.registry.find(op, version)) return false;
    bool changed = false;
    std::optional<Uses> uses;
    for (Node* node : model.topological_order()) {
        if ((node->type != "Multiply" && node->type != "Divide") || node->outputs.size() != 1)
            continue;
        if (!uses) uses.emplace(model);
        if (!uses->used(node->output())) continue;
        std::optional<std::pair<Output, model::Attributes>> m = match(*node, *uses);
        if (!m || !same_type_and_shape(m->first, node->output()) ||
            !model::is_floating(info(node->output()).type))
            continue;
        Node& n = add_replacement(model, *node, std::string(op), std::string(version), {m->first},
                                  std::move(m->second));
        replace_output(model, node->output(), n.output());
        uses.reset();
        ctx.count();
        ctx.note(fmt::format("'{}' → {}", node->name, op));
        changed = true;
    }
    return changed;
}

class HSwishFusion final : public GraphPass {
public:
    std::string_view name() const override { return "fuse_hswish"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        return rewrite_each(model, ctx, "HSwish", "opset4", [](Node& n, const Uses& uses) {
            auto x = match_hswish(n, uses);
            return x ? std::optional(std::make_pair(*x, model::Attributes{})) : std::nullopt;
        });
    }
};

class SwishFusion final : public GraphPass {
public:
    std::string_view name() const override { return "fuse_swish"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        return rewrite_each(model, ctx, "Swish", "opset4", [](Node& n, const Uses& uses) {
            auto x = match_swish(n, uses);
            return x ? std::optional(std::make_pair(*x, model::Attributes{})) : std::nullopt;
        });
    }
};

class GeluFusion final : public GraphPass {
public:
    std::string_view name() const override { return "fuse_gelu"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        return rewrite_each(model, ctx, "Gelu", "opset7", [](Node& n, const Uses& uses) {
            std::optional<std::pair<Output, model::Attributes>> out;
            if (auto m = match_gelu(n, uses)) {
                model::Attributes attrs;
                attrs.set("approximation_mode", m->second);
                out.emplace(m->first, std::move(attrs));
            }
            return out;
        });
    }
};

} // namespace

std::unique_ptr<Pass> make_hswish_fusion_pass() {
    return std::make_unique<HSwishFusion>();
}
std::unique_ptr<Pass> make_swish_fusion_pass() {
    return std::make_unique<SwishFusion>();
}
std::unique_ptr<Pass> make_gelu_fusion_pass() {
    return std::make_unique<GeluFusion>();
}

} // namespace loom::passes
