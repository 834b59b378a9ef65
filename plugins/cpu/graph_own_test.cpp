// The compiled CPU graph's steps on the device's own kernels (graph_own.cpp) against the
// reference Plan: depthwise convolutions with the chains after them.

#include <algorithm>

#include <gtest/gtest.h>

#include "plugins/cpu/graph_test_util.hpp"
#include "plugins/cpu/own_kernels.hpp"

namespace loom::plugins::cpu {
namespace {

using test::Attributes;
using test::conv_attributes;
using test::GraphCase;
using test::Output;

// PP-OCRv4 rec's block: 1×1 convolution, depthwise 5×5 with stride 2 down the rows, its bias as a
// per-channel Add and the learnable affine around an HSwish, then a Sigmoid (no epilogue step of
// the kernel: a step of its own), a 1×1 convolution; and a dilated depthwise convolution (not the
// kernel's: oneDNN's).
void expect_depthwise_on_own_kernel(bool bf16) {
    GraphCase g;
    const std::int64_t c = 40;
    auto y = g.conv(g.input({1, 16, 13, 21}), 16, c, 1);
    Depthwise2d shape;
    shape.kernel_h = shape.kernel_w = 5;
    shape.bf16 = bf16;
    const bool own = depthwise_nhwc_available(shape);
    auto dw =
        g.op("GroupConvolution", {y, g.constant({c, 1, 1, 5, 5}, 0.3f)}, conv_attributes(2, 1, 2));
    std::vector<const model::Node*> chain{dw.node}; // the nodes the depthwise step computes
    const auto then = [&](Output out) {
        chain.push_back(out.node);
        return out;
    };
    y = then(g.op("Add", {dw, g.constant({1, c, 1, 1})}));
    y = then(g.op("Add", {then(g.op("Multiply", {y, g.scalar(0.75f)})), g.scalar(0.5f)}));
    y = then(g.op("HSwish", {y}, {}, "opset4"));
    y = then(g.op("Add", {then(g.op("Multiply", {y, g.scalar(1.25f)})), g.scalar(-0.1f)}));
    y = g.op("Sigmoid", {y});
    y = g.conv(y, c, 16, 1);
    auto dilated =
        g.op("GroupConvolution", {y, g.constant({16, 1, 1, 3, 3})}, conv_attributes(1, 1, 2, 2));
    auto graph = g.expect_matches_reference({dilated}, bf16);
    ASSERT_TRUE(graph);
    const std::string want = std::string("loom_depthwise_nhwc:") + (bf16 ? "bf16" : "f32");
    for (const auto* n : g.model().nodes()) {
        const auto exec = graph->exec_type(*n);
        const bool fused = std::find(chain.begin(), chain.end(), n) != chain.end();
        if (fused && own) {
            EXPECT_EQ(exec, want) << n->name << " is fused into the depthwise step";
        }
        if (!fused || !own) {
            EXPECT_NE(exec, want) << n->name << " (" << n->type << ") is not the kernel's";
        }
    }
}

TEST(CpuGraph, RunsDepthwiseConvolutionsOnItsOwnKernelWithTheirChains) {
    expect_depthwise_on_own_kernel(false);
}

TEST(CpuGraphBf16, RunsDepthwiseConvolutionsOnItsOwnKernelWithTheirChains) {
    if (!test::bf16_native()) GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX";
    expect_depthwise_on_own_kernel(true);
}

// A feature pyramid's top-down step: the coarser level upsampled ×2 (nearest) and added to the
// finer one, made before it — one step of the device's own kernel; an upsampling whose sum's
// other operand is made after it stays oneDNN's resampling (and an Add of its own).
void expect_upsample_add(bool bf16) {
    GraphCase g;
    const auto fine = g.op("Relu", {g.conv(g.input({1, 8, 10, 12}), 8, 40, 1)});
    const auto coarse = g.op("Relu", {g.conv(g.input({1, 8, 5, 6}), 8, 40, 1)});
    const auto up = g.upsample_nearest(coarse, 2.0f);
    const auto sum = g.op("Add", {fine, up});
    // … and one whose other operand comes after: a convolution of the upsampled value's input.
    const auto up2 = g.upsample_nearest(coarse, 2.0f);
    const auto late = g.op("Relu", {g.conv(fine, 40, 40, 1)});
    const auto sum2 = g.op("Add", {up2, late});
    auto graph = g.expect_matches_reference({sum, sum2}, bf16);
    ASSERT_TRUE(graph);
    const std::string want = std::string("loom_upsample_add:") + (bf16 ? "bf16" : "f32");
    // Only where the finer level is channels last (oneDNN's brgemm layout on AVX-512; its
    // AVX2 kernels write nChw8c, which the own kernel does not read).
    const auto type = bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
    if (upsample_add_available(bf16) &&
        !test::channel_blocked(g.engine(), type, {1, 8, 10, 12}, 40)) {
        EXPECT_EQ(graph->exec_type(*up.node), want);
        EXPECT_EQ(graph->exec_type(*sum.node), want) << "the Add is the same step";
    } else {
        EXPECT_NE(graph->exec_type(*up.node), want);
    }
    EXPECT_NE(graph->exec_type(*up2.node), want);
    EXPECT_NE(graph->exec_type(*sum2.node), want);
}

TEST(CpuGraph, AddsUpsampledValuesInOneStep) {
    expect_upsample_add(false);
}

TEST(CpuGraphBf16, AddsUpsampledValuesInOneStep) {
    if (!test::bf16_native()) GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX";
    expect_upsample_add(true);
}

} // namespace
} // namespace loom::plugins::cpu
