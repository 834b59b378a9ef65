#pragma once
// Which nodes after a oneDNN convolution fold into it as post-ops (issue 13's fusions): the chain
// of single-consumer nodes of the convolution's output shape that oneDNN applies on the fly —
// activations (eltwise), arithmetic with a scalar constant (linear), with a per-channel
// constant (binary, broadcast per channel) and Add/Multiply with a runtime value of the full
// shape or per channel (binary). PP-OCRv4's "learnable affine" blocks (x·a + b after each
// activation), its unfused depthwise biases and its residual adds are such chains.

#include <optional>
#include <vector>

#include <dnnl.hpp>

#include "components/model/graph.hpp"

namespace loom::plugins::cpu {

struct PostOp {
    const model::Node* node = nullptr; // the node folded
    // eltwise (activations, scalar arithmetic as linear) …
    struct Eltwise {
        dnnl::algorithm algorithm;
        float alpha = 0, beta = 0;
    };
    std::vector<Eltwise> eltwise;
    // … or a binary op with a second operand: a constant (dims: 1 everywhere but the channel
    // axis, as many as the output's rank) or the runtime value `operand` (an input of `node`).
    dnnl::algorithm binary = dnnl::algorithm::undef;
    model::Tensor constant;
    model::Output operand;
    bool per_channel = false; // the operand is broadcast along all but the channel axis
    // … or BatchNormInference with constant statistics: y·scale[c] + shift[c] (foldable into a
    // convolution's weights only — leading_affine).
    std::vector<float> scale, shift;
};

// Add/Multiply/Subtract/Divide of the value at input `port` and a constant c of one element
// (the other input) as α·x + β; nullopt for other ops and for x / 0 or c / x.
std::optional<PostOp::Eltwise> scalar_linear(const model::Node& node, std::uint32_t port);

// The post-ops that can follow `anchor`'s output 0 (f32, static, rank ≥ 3), in order; the last
// one's node produces the fused output. Stops at a value with several consumers or a Result.
std::vector<PostOp> fusible_chain(const model::Model& model, const model::Node& anchor);

// The constant operand of binary post-op `p` as one value per channel (a one-element constant
// repeated); nullopt for an eltwise entry, a runtime operand or a constant of another size.
std::optional<std::vector<float>> per_channel_constant(const PostOp& p, std::size_t channels);

// y·scale[c] + shift[c] per output channel c: what a convolution without an activation folds
// into its weights and bias (dnnl_conv.hpp make_conv).
struct Affine {
    std::vector<float> scale, shift;
};

// How many leading entries of `chain` are arithmetic with scalar or per-channel constants, and
// the affine map they make (`channels` of them).
std::size_t leading_affine(const std::vector<PostOp>& chain, std::int64_t channels, Affine& out);

// A primitive's post-ops: `own` (the anchor's own, e.g. FusedConvolution's activation), then
// `chain` with its binary operands described by `operand_descs` (one per chain entry; empty for
// eltwise entries). Consecutive linear steps are merged into one; an eltwise algorithm that would
// still appear twice is unsupported — oneDNN 2.6's jit kernels keep one set of parameters per
// eltwise algorithm, so a second linear post-op silently computes with the first one's
// (measured: conv + linear + linear on jit_1x1:avx2 and jit:avx2 off by up to 1.9).
struct BuiltPostOps {
    dnnl::post_ops ops;
    std::vector<int> index; // per chain entry: its binary post-op's index, or -1
};
BuiltPostOps build_post_ops(const dnnl::post_ops& own, const std::vector<PostOp>& chain,
                            const std::vector<dnnl::memory::desc>& operand_descs);

} // namespace loom::plugins::cpu
