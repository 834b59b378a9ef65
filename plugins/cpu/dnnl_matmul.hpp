#pragma once
// MatMul on oneDNN (issue 13): MatMul-1 and Loom's FusedMatMul (bias on the last axis and the
// activation as post-ops) as one oneDNN matmul primitive for static shapes: transposes become
// strides (no copy), batch dimensions broadcast as MatMul-1 does (missing leading ones added),
// and a constant B (the weights of a fully connected layer) is reordered once, at construction,
// into the layout the primitive chose. Inputs of rank 1 (vectors) are not handled here.
// Threading: run() may be called from many threads at once (any thread, not only the one that
// made the primitive: the scratchpad is allocated per run), each with its own stream.

#include <string>

#include <dnnl.hpp>

#include "components/model/graph.hpp"

namespace loom::plugins::cpu {

// Whether `node` runs here: a MatMul or FusedMatMul on f32 with static shapes, both inputs of
// rank 2 to 12, (FusedMatMul) a constant bias, and an activation oneDNN has.
bool dnnl_matmul_applies(const model::Node& node) noexcept;

class DnnlMatMul {
public:
    // `node` must satisfy dnnl_matmul_applies. unsupported when oneDNN has no implementation.
    DnnlMatMul(const dnnl::engine& engine, const model::Node& node);

    // dst = a × b (dense tensors of the node's input and output shapes); `b` is ignored when B is
    // a constant (packed at construction).
    void run(dnnl::stream& stream, const float* a, const float* b, float* dst) const;

    bool constant_b() const noexcept { return m_constant_b; }
    const std::string& implementation() const noexcept { return m_impl; }

private:
    dnnl::engine m_engine;
    dnnl::memory::desc m_a, m_b, m_dst;
    dnnl::memory m_packed_b, m_bias;
    bool m_constant_b = false;
    dnnl::matmul m_primitive;
    std::string m_impl;
    dnnl::memory::desc m_scratchpad; // allocated per run (user scratchpad mode)
};

} // namespace loom::plugins::cpu
