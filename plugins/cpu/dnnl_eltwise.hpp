#pragma once
// Elementwise ops on oneDNN (issue 13), f32 with static shapes:
//  - binary: Add, Subtract, Multiply, Divide, Maximum, Minimum with numpy (or no) broadcasting —
//    oneDNN broadcasts its second operand only, so a commutative op whose first input is the one
//    broadcast swaps them; others where the first input is not the output's shape are left to
//    the reference kernels;
//  - unary: Relu, Sigmoid, Tanh, HSwish, HSigmoid (linear + clip, oneDNN 2.6 has no
//    hard-sigmoid), Exp, Sqrt, Abs, Elu, Clamp, Gelu (erf/tanh), Mish, SoftPlus, Swish
//    (without a beta input).
// Threading: run() may be called from many threads at once (the scratchpad is allocated per
// run), each with its own stream.

#include <optional>
#include <string>

#include <dnnl.hpp>

#include "components/model/graph.hpp"

namespace loom::plugins::cpu {

// A unary op as a oneDNN eltwise (alpha, beta), followed by a clip to [0, 1] for the hard
// sigmoids (linear + clip); nullopt when oneDNN has no such op (or HardSigmoid's alpha/beta are
// not constants).
struct UnaryOp {
    dnnl::algorithm algorithm;
    float alpha = 0, beta = 0;
    bool clip_01 = false;
};
std::optional<UnaryOp> dnnl_unary_op(const model::Node& node);

bool dnnl_binary_applies(const model::Node& node) noexcept;
bool dnnl_unary_applies(const model::Node& node) noexcept;

class DnnlElementwise {
public:
    // `node` must satisfy dnnl_binary_applies or dnnl_unary_applies.
    DnnlElementwise(const dnnl::engine& engine, const model::Node& node);

    // dst = op(a) or op(a, b) (the node's inputs in port order, dense).
    void run(dnnl::stream& stream, const float* a, const float* b, float* dst) const;
    const std::string& implementation() const noexcept { return m_impl; }

private:
    dnnl::engine m_engine;
    dnnl::memory::desc m_src0, m_src1, m_dst, m_scratchpad;
    bool m_binary = false, m_swapped = false;
    dnnl::primitive m_primitive;
    std::string m_impl;
};

} // namespace loom::plugins::cpu
