// fuse_conv_batchnorm and fuse_bias_activation.
#include <cctype>
#include <cmath>
#include <cstring>

#include "components/passes/graph_util.hpp"
#include "components/passes/passes.hpp"
#include "schemas/error.hpp"

namespace loom::passes {
namespace {

using namespace detail;
using model::ElementType;
using model::Shape;

// ---- Convolution + BatchNormInference ----

struct BnInputs {
    Output data, gamma, beta, mean, variance;
};

BnInputs bn_inputs(const Node& bn) {
    // BatchNormInference-1 takes (gamma, beta, data, mean, variance); -5 takes data first.
    auto n = model::opset_number(bn.version);
    bool v5 = n && *n >= 5;
    const auto& in = bn.inputs;
    if (v5) return {in[0], in[1], in[2], in[3], in[4]};
    return {in[2], in[0], in[1], in[3], in[4]};
}

// Per-channel scale γ/√(σ²+ε) and shift β − μ·scale; nullopt unless all four are constants of
// `channels` elements.
std::optional<std::pair<std::vector<float>, std::vector<float>>>
bn_scale_shift(const BnInputs& in, double eps, std::int64_t channels) {
    const Tensor *g = constant_of(in.gamma), *b = constant_of(in.beta), *m = constant_of(in.mean),
                 *v = constant_of(in.variance);
    for (const Tensor* t : {g, b, m, v})
        if (!t || t->size() != channels || !model::is_floating(t->element_type()))
            return std::nullopt;
    auto gamma = to_f32(*g), beta = to_f32(*b), mean = to_f32(*m), var = to_f32(*v);
    std::vector<float> scale(gamma.size()), shift(gamma.size());
    for (std::size_t c = 0; c < gamma.size(); ++c) {
        scale[c] = static_cast<float>(gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps));
        shift[c] = beta[c] - mean[c] * scale[c];
    }
    return std::make_pair(std::move(scale), std::move(shift));
}

bool fuse_conv_bn(Model& model, Node& bn, const Uses& uses) {
    if (bn.inputs.size() != 5) return false;
    auto* eps = bn.attrs.find("epsilon");
    if (!eps || !std::holds_alternative<double>(*eps)) return false;
    BnInputs in = bn_inputs(bn);
    Node* conv = in.data.node;
    if (conv->type != "Convolution" && conv->type != "GroupConvolution") return false;
    if (conv->inputs.size() != 2 || conv->outputs.size() != 1 || !uses.only_by(in.data, &bn))
        return false;
    const Tensor* w = constant_of(conv->inputs[1]);
    const auto& out = info(in.data);
    if (!w || !is_float_weight_type(w->element_type()) || !out.shape.rank_is_static() ||
        out.shape.rank() < 3 || !out.shape[1].is_static() || out.type != bn.outputs[0].type ||
        !is_float_weight_type(out.type))
        return false;
    if (w->shape().size() < (conv->type == "GroupConvolution" ? 4u : 3u)) return false;
    std::int64_t channels = out.shape[1].length();
    if (channels <= 0 || w->size() % channels != 0) return false;
    if (w->shape()[0] * (conv->type == "GroupConvolution" ? w->shape()[1] : 1) != channels)
        return false;
    auto ss = bn_scale_shift(in, std::get<double>(*eps), channels);
    if (!ss) return false;
    const auto& [scale, shift] = *ss;
    // Output channel c owns one contiguous block of weights (for GroupConvolution [G, C/G, ...]
    // the first two axes flatten to c).
    auto weights = to_f32(*w);
    std::size_t block = weights.size() / static_cast<std::size_t>(channels);
    for (std::size_t i = 0; i < weights.size(); ++i)
        weights[i] *= scale[i / block];
    Node& new_w = model.add_constant(from_f32(w->element_type(), w->shape(), weights),
                                     conv->inputs[1].node->name + "/bn_folded");
    conv->inputs[1] = new_w.output();
    Shape bias_shape(static_cast<std::size_t>(out.shape.rank()), 1);
    bias_shape[1] = channels;
    Node& bias = model.add_constant(from_f32(out.type, bias_shape, shift), bn.name + "/bias");
    model::Attributes attrs;
    attrs.set("auto_broadcast", std::string("numpy"));
    Node& add = add_replacement(model, bn, "Add", "opset1", {in.data, bias.output()}, attrs);
    replace_output(model, bn.output(), add.output());
    return true;
}

class ConvBatchNormFusion final : public GraphPass {
public:
    std::string_view name() const override { return "fuse_conv_batchnorm"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        if (!ctx.registry.find("Add", "opset1")) return false;
        bool changed = false;
        std::optional<Uses> uses;
        for (Node* node : model.topological_order()) {
            if (node->type != "BatchNormInference") continue;
            if (!uses) uses.emplace(model);
            if (!fuse_conv_bn(model, *node, *uses)) continue;
            uses.reset();
            ctx.count();
            ctx.note(
                fmt::format("folded BatchNormInference '{}' into its convolution", node->name));
            changed = true;
        }
        return changed;
    }
};

// ---- Convolution / MatMul + bias + activation ----

// Bias as a 1-D tensor of `channels` values when `bias` (right-aligned against an output of
// rank `rank`) is all ones except `axis`, which is `channels` or 1.
std::optional<Tensor> channel_bias(const Tensor& bias, std::int64_t rank, std::int64_t axis,
                                   std::int64_t channels) {
    auto brank = static_cast<std::int64_t>(bias.shape().size());
    if (brank > rank) return std::nullopt;
    for (std::int64_t i = 0; i < brank; ++i) {
        std::int64_t out_axis = rank - brank + i;
        std::int64_t d = bias.shape()[static_cast<std::size_t>(i)];
        if (d != 1 && !(out_axis == axis && d == channels)) return std::nullopt;
    }
    if (bias.size() == channels) return bias.reshaped({channels});
    Tensor t = Tensor::allocate(bias.element_type(), {channels});
    std::size_t width = element_size(bias.element_type());
    for (std::int64_t c = 0; c < channels; ++c)
        std::memcpy(t.mutable_data() + static_cast<std::size_t>(c) * width, bias.bytes().data(),
                    width);
    return t;
}

struct Activation {
    std::string name;
    std::optional<double> alpha, beta;
};

std::optional<Activation> activation_of(const Node& n) {
    static constexpr std::pair<std::string_view, std::string_view> k_simple[] = {
        {"Relu", "relu"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"}, {"HSwish", "hswish"}};
    for (auto [type, act] : k_simple)
        if (n.type == type && n.inputs.size() == 1) return Activation{std::string(act), {}, {}};
    if (n.type == "Clamp" && n.inputs.size() == 1)
        return Activation{"clamp", n.attrs.get_or<double>("min", 0.0),
                          n.attrs.get_or<double>("max", 0.0)};
    if (n.type == "Elu" && n.inputs.size() == 1)
        return Activation{"elu", n.attrs.get_or<double>("alpha", 1.0), {}};
    if (n.type == "Swish") {
        if (n.inputs.size() == 1) return Activation{"swish", 1.0, {}};
        auto beta = splat_value(n.inputs[1]);
        if (n.inputs.size() == 2 && beta && constant_of(n.inputs[1])->size() == 1)
            return Activation{"swish", *beta, {}};
        return std::nullopt;
    }
    if (n.type == "Gelu" && n.inputs.size() == 1) {
        std::string mode = n.attrs.get_or<std::string>("approximation_mode", "ERF");
        for (auto& ch : mode)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (mode == "erf" || mode == "tanh") return Activation{"gelu_" + mode, {}, {}};
    }
    return std::nullopt;
}

bool fuse_bias_activation(Model& model, Node& add, const Uses& uses) {
    if (add.inputs.size() != 2) return false;
    for (int side = 0; side < 2; ++side) {
        Output op_out = add.inputs[static_cast<std::size_t>(side)];
        const Tensor* bias = constant_of(add.inputs[static_cast<std::size_t>(1 - side)]);
        Node* op = op_out.node;
        bool conv = op->type == "Convolution";
        if (!bias || (!conv && op->type != "MatMul") || op->inputs.size() != 2 ||
            !uses.only_by(op_out, &add) || !same_type_and_shape(op_out, add.output()) ||
            bias->element_type() != info(op_out).type)
            continue;
        const auto& shape = info(op_out).shape;
        if (!shape.rank_is_static() || shape.rank() < (conv ? 3 : 1)) continue;
        std::int64_t axis = conv ? 1 : shape.rank() - 1;
        const auto& dim = shape[static_cast<std::size_t>(axis)];
        if (!dim.is_static()) continue;
        auto b = channel_bias(*bias, shape.rank(), axis, dim.length());
        if (!b) continue;
        Node* root = &add;
        Activation act{"none", {}, {}};
        if (auto u = uses.of(add.output()); u.size() == 1 && u[0].second == 0)
            if (auto a = activation_of(*u[0].first)) {
                root = u[0].first;
                act = *a;
            }
        model::Attributes attrs = op->attrs;
        attrs.set("activation", act.name);
        if (act.alpha) attrs.set("activation_alpha", *act.alpha);
        if (act.beta) attrs.set("activation_beta", *act.beta);
        Node& c = model.add_constant(std::move(*b), add.name + "/bias");
        Node& fused = add_replacement(model, *root, conv ? "FusedConvolution" : "FusedMatMul",
                                      "loom1", {op->inputs[0], op->inputs[1], c.output()}, attrs);
        replace_output(model, root->output(), fused.output());
        return true;
    }
    return false;
}

class BiasActivationFusion final : public GraphPass {
public:
    std::string_view name() const override { return "fuse_bias_activation"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        if (!ctx.registry.find("FusedConvolution", "loom1") ||
            !ctx.registry.find("FusedMatMul", "loom1"))
            return false;
        bool changed = false;
        std::optional<Uses> uses;
        for (Node* node : model.topological_order()) {
            if (node->type != "Add") continue;
            if (!uses) uses.emplace(model);
            if (!uses->used(node->output()) || !fuse_bias_activation(model, *node, *uses)) continue;
            uses.reset();
            ctx.count();
            ctx.note(fmt::format("fused bias '{}' into its producer", node->name));
            changed = true;
        }
        return changed;
    }
};

} // namespace

std::unique_ptr<Pass> make_conv_batchnorm_fusion_pass() {
    return std::make_unique<ConvBatchNormFusion>();
}
std::unique_ptr<Pass> make_bias_activation_fusion_pass() {
    return std::make_unique<BiasActivationFusion>();
}

} // namespace loom::passes
