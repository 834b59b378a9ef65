#include "plugins/cpu/post_ops.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "plugins/cpu/dnnl_eltwise.hpp"
#include "plugins/cpu/dnnl_util.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

using A = dnnl::algorithm;

bool same_static_f32(const model::OutputInfo& a, const model::OutputInfo& b) {
    return a.type == model::ElementType::F32 && b.type == model::ElementType::F32 &&
           a.shape.is_static() && a.shape == b.shape;
}

// How `operand` (its shape) broadcasts onto `out` (rank ≥ 2): 0 scalar, 1 per channel, 2 the
// full shape, -1 otherwise.
int broadcast_kind(const model::Shape& operand, const model::Shape& out) {
    if (operand.size() > out.size()) return -1;
    std::int64_t elements = 1;
    for (auto d : operand)
        elements *= d;
    if (elements == 1) return 0;
    if (operand == out) return 2;
    // Right-aligned: every axis 1 except the channel axis (1), which is the output's.
    const std::size_t lead = out.size() - operand.size();
    for (std::size_t i = 0; i < operand.size(); ++i) {
        const auto axis = lead + i;
        if (operand[i] != (axis == 1 ? out[1] : 1)) return -1;
    }
    return lead <= 1 ? 1 : -1;
}

// BatchNormInference (opset5: data, gamma, beta, mean, variance; opset1: gamma, beta, data, …)
// with constant statistics as y·scale + shift per channel.
std::optional<PostOp> batch_norm(const model::Node& node, std::uint32_t port,
                                 const model::Shape& out) {
    const bool v5 = node.version != "opset1";
    const std::uint32_t data = v5 ? 0 : 2, gamma = v5 ? 1 : 0, beta = v5 ? 2 : 1;
    if (node.inputs.size() != 5 || port != data || out.size() < 2) return std::nullopt;
    const auto channels = static_cast<std::size_t>(out[1]);
    std::vector<std::vector<double>> stats;
    for (std::uint32_t i : {gamma, beta, std::uint32_t{3}, std::uint32_t{4}}) {
        const auto* c = constant_input(node, i);
        if (!c || static_cast<std::size_t>(c->value.size()) != channels) return std::nullopt;
        stats.push_back(c->value.to_f64());
    }
    const double epsilon = node.attrs.get_or<double>("epsilon", 1e-5);
    PostOp op;
    op.node = &node;
    for (std::size_t c = 0; c < channels; ++c) {
        const double k = stats[0][c] / std::sqrt(stats[3][c] + epsilon);
        op.scale.push_back(static_cast<float>(k));
        op.shift.push_back(static_cast<float>(stats[1][c] - stats[2][c] * k));
    }
    return op;
}

// The chain's next post-op: `node` reads the chain's current value at input `port`.
std::optional<PostOp> as_post_op(const model::Node& node, std::uint32_t port,
                                 const model::Shape& out) {
    PostOp op;
    op.node = &node;
    if (port == 0) {
        if (auto unary = dnnl_unary_op(node)) {
            op.eltwise.push_back({unary->algorithm, unary->alpha, unary->beta});
            if (unary->clip_01) op.eltwise.push_back({A::eltwise_clip, 0.0f, 1.0f});
            return op;
        }
    }
    if (node.type == "BatchNormInference") return batch_norm(node, port, out);
    const bool add = node.type == "Add", mul = node.type == "Multiply";
    const bool sub = node.type == "Subtract", div = node.type == "Divide";
    if (!(add || mul || sub || div) || node.inputs.size() != 2) return std::nullopt;
    if (node.attrs.get_or<std::string>("auto_broadcast", "numpy") != "numpy") return std::nullopt;
    const auto& other_info = input_info(node, 1 - port);
    if (other_info.type != model::ElementType::F32 || !other_info.shape.is_static())
        return std::nullopt;
    const auto other_shape = other_info.shape.to_shape();
    const int kind = broadcast_kind(other_shape, out);
    if (kind < 0) return std::nullopt;
    const auto* constant = constant_input(node, 1 - port);
    if (constant && kind == 0) {
        const auto linear = scalar_linear(node, port);
        if (!linear) return std::nullopt;
        op.eltwise.push_back(*linear);
        return op;
    }
    // Binary post-ops compute value ∘ operand: subtraction and division only with the chain's
    // value first.
    if ((sub || div) && port != 0) return std::nullopt;
    op.binary = add ? A::binary_add : mul ? A::binary_mul : sub ? A::binary_sub : A::binary_div;
    op.per_channel = kind == 1;
    if (constant) {
        model::Shape dims(out.size(), 1);
        if (kind == 1) dims[1] = out[1];
        if (kind == 2) dims = out;
        op.constant = constant->value.reshaped(dims);
    } else {
        // A runtime operand: the residual of the full shape, or a per-channel gate.
        if (!add && !mul) return std::nullopt;
        op.operand = node.inputs[1 - port];
    }
    return op;
}

} // namespace

std::optional<PostOp::Eltwise> scalar_linear(const model::Node& node, std::uint32_t port) {
    const bool mul = node.type == "Multiply", add = node.type == "Add";
    const bool sub = node.type == "Subtract", div = node.type == "Divide";
    if (!(mul || add || sub || div) || node.inputs.size() != 2 || port > 1) return std::nullopt;
    const auto* constant = constant_input(node, 1 - port);
    if (!constant || constant->value.size() != 1) return std::nullopt;
    const auto c = static_cast<float>(constant->value.to_f64()[0]);
    if (mul) return PostOp::Eltwise{A::eltwise_linear, c, 0.0f};
    if (add) return PostOp::Eltwise{A::eltwise_linear, 1.0f, c};
    if (sub)
        return PostOp::Eltwise{A::eltwise_linear, port == 0 ? 1.0f : -1.0f, port == 0 ? -c : c};
    if (port != 0 || c == 0.0f) return std::nullopt;
    return PostOp::Eltwise{A::eltwise_linear, 1.0f / c, 0.0f};
}

std::vector<PostOp> fusible_chain(const model::Model& model, const model::Node& anchor) {
    std::vector<PostOp> chain;
    if (anchor.outputs.size() != 1 || !anchor.outputs[0].shape.is_static()) return chain;
    const auto& info = anchor.outputs[0];
    if (info.type != model::ElementType::F32 || info.shape.rank() < 3) return chain;
    const auto out = info.shape.to_shape();
    auto* current = const_cast<model::Node*>(&anchor);
    for (;;) {
        const auto consumers = model.consumers(current->output(0));
        if (consumers.size() != 1) break;
        const auto& [next, port] = consumers[0];
        if (next->type == "Result" || next->outputs.size() != 1 ||
            !same_static_f32(next->outputs[0], info))
            break;
        auto op = as_post_op(*next, port, out);
        if (!op) break;

        chain.push_back(std::move(*op));
        current = next;
    }
    return chain;
}

std::optional<std::vector<float>> per_channel_constant(const PostOp& p, std::size_t channels) {
    const auto size = static_cast<std::size_t>(p.constant.size());
    if (p.binary == A::undef || p.constant.empty() || (size != 1 && size != channels))
        return std::nullopt;
    const auto* v = p.constant.data<float>();
    std::vector<float> out(channels);
    for (std::size_t c = 0; c < channels; ++c)
        out[c] = v[size == 1 ? 0 : c];
    return out;
}

std::size_t leading_affine(const std::vector<PostOp>& chain, std::int64_t channels, Affine& out) {
    const auto n = static_cast<std::size_t>(channels);
    out.scale.assign(n, 1.0f);
    out.shift.assign(n, 0.0f);
    std::size_t k = 0;
    for (; k < chain.size(); ++k) {
        const auto& p = chain[k];
        if (!p.scale.empty()) {
            for (std::size_t c = 0; c < n; ++c) {
                out.scale[c] *= p.scale[c];
                out.shift[c] = p.scale[c] * out.shift[c] + p.shift[c];
            }
            continue;
        }
        if (p.binary == A::undef) {
            const bool linear = std::all_of(p.eltwise.begin(), p.eltwise.end(), [](const auto& e) {
                return e.algorithm == A::eltwise_linear;
            });
            if (!linear) break;
            for (const auto& e : p.eltwise)
                for (std::size_t c = 0; c < n; ++c) {
                    out.scale[c] *= e.alpha;
                    out.shift[c] = e.alpha * out.shift[c] + e.beta;
                }
            continue;
        }
        const auto v = per_channel_constant(p, n);
        if (!v) break;
        if (p.binary == A::binary_div && std::find(v->begin(), v->end(), 0.0f) != v->end())
            return k;
        for (std::size_t c = 0; c < n; ++c) {
            const float x = (*v)[c];
            if (p.binary == A::binary_add) out.shift[c] += x;
            if (p.binary == A::binary_sub) out.shift[c] -= x;
            if (p.binary == A::binary_mul || p.binary == A::binary_div) {
                const float m = p.binary == A::binary_mul ? x : 1.0f / x;
                out.scale[c] *= m;
                out.shift[c] *= m;
            }
        }
    }
    return k;
}

BuiltPostOps build_post_ops(const dnnl::post_ops& own, const std::vector<PostOp>& chain,
                            const std::vector<dnnl::memory::desc>& operand_descs) {
    struct Entry {
        bool binary = false;
        A algorithm = A::undef;
        float alpha = 0, beta = 0;
        dnnl::memory::desc desc;
        std::size_t chain_index = static_cast<std::size_t>(-1);
    };
    std::vector<Entry> entries;
    const auto add_eltwise = [&](A algorithm, float alpha, float beta) {
        auto* last = entries.empty() ? nullptr : &entries.back();
        if (algorithm == A::eltwise_linear && last && !last->binary &&
            last->algorithm == A::eltwise_linear) {
            // a·(c·x + d) + b = (a·c)·x + (a·d + b)
            last->beta = alpha * last->beta + beta;
            last->alpha *= alpha;
            return;
        }
        entries.push_back({false, algorithm, alpha, beta, {}, static_cast<std::size_t>(-1)});
    };
    for (int i = 0; i < own.len(); ++i) {
        LOOM_REQUIRE(own.kind(i) == dnnl::primitive::kind::eltwise, "own post-op {} is not eltwise",
                     i);
        float scale = 0, alpha = 0, beta = 0;
        A algorithm = A::undef;
        own.get_params_eltwise(i, scale, algorithm, alpha, beta);
        add_eltwise(algorithm, alpha, beta);
    }
    for (std::size_t k = 0; k < chain.size(); ++k) {
        if (!chain[k].scale.empty())
            LOOM_THROW(ErrorKind::UNSUPPORTED, "a batch normalisation as a post-op");
        for (const auto& e : chain[k].eltwise)
            add_eltwise(e.algorithm, e.alpha, e.beta);
        if (chain[k].binary != A::undef)
            entries.push_back({true, chain[k].binary, 0, 0, operand_descs.at(k), k});
    }
    BuiltPostOps built;
    built.index.assign(chain.size(), -1);
    std::vector<A> used;
    for (const auto& e : entries) {
        if (e.binary) {
            built.index[e.chain_index] = built.ops.len();
            built.ops.append_binary(e.algorithm, e.desc);
            continue;
        }
        if (std::find(used.begin(), used.end(), e.algorithm) != used.end())
            LOOM_THROW(ErrorKind::UNSUPPORTED, "eltwise post-op algorithm used twice");
        used.push_back(e.algorithm);
        built.ops.append_eltwise(1.0f, e.algorithm, e.alpha, e.beta);
    }
    return built;
}

} // namespace loom::plugins::cpu
