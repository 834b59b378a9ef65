// The compiled CPU graph (graph_compiler) against the reference Plan (the oracle) on the shapes of
// graph PP-OCR has: convolutions with chains of activations and arithmetic folded in as
// post-ops, depthwise convolutions with per-channel biases, squeeze-and-excitation gates,
// residual adds, reference-kernel nodes between blocked values, in-place reshapes; the memory
// plan; and the per-shape cache of dynamic models.

#include <gtest/gtest.h>

#include "plugins/cpu/graph_test_util.hpp"
#include "plugins/cpu/memory_plan.hpp"
#include "plugins/cpu/shape_cache.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {
namespace {

using model::Attributes;
using model::Output;
using model::Shape;
using model::Tensor;
using test::bf16_native;
using test::channel_blocked;
using test::GraphCase;
using ElementType = model::ElementType;

// A 3×3 stride-2 pooling window with `pad` on every side and `rounding` (ceil/floor).
Attributes pool_3x3_stride_2(const char* rounding, std::int64_t pad) {
    Attributes a;
    a.set("kernel", std::vector<std::int64_t>{3, 3});
    a.set("strides", std::vector<std::int64_t>{2, 2});
    a.set("pads_begin", std::vector<std::int64_t>{pad, pad});
    a.set("pads_end", std::vector<std::int64_t>{pad, pad});
    a.set("rounding_type", std::string(rounding));
    a.set("auto_pad", std::string("explicit"));
    return a;
}

// PP-OCRv4's "learnable affine" block after a convolution: ·a + b, activation, ·a + b.
TEST(CpuGraph, FoldsActivationsAndScalarArithmeticIntoTheConvolution) {
    GraphCase g;
    auto y = g.conv(g.input({1, 16, 20, 20}), 16, 16, 3);
    y = g.op("Add", {g.op("Multiply", {g.scalar(0.5f), y}), g.scalar(0.25f)});
    y = g.op("HSwish", {y}, {}, "opset4");
    y = g.op("Add", {g.op("Multiply", {y, g.scalar(1.5f)}), g.scalar(-0.1f)});
    auto graph = g.expect_matches_reference({y});
    ASSERT_TRUE(graph);
    // One convolution, a reorder in and out at most: the five nodes after it are post-ops.
    EXPECT_LE(graph->step_count(), 3u);
}

// A depthwise convolution with its bias as a separate per-channel Add (PP-OCRv4's), then the
// affine block and an activation: the bias and the leading arithmetic go into the weights.
TEST(CpuGraph, FoldsPerChannelBiasesIntoDepthwiseConvolutions) {
    GraphCase g;
    auto y = g.conv(g.input({1, 24, 17, 19}), 24, 24, 3, 24);
    y = g.op("Add", {y, g.constant({1, 24, 1, 1})});
    y = g.op("Add", {g.op("Multiply", {y, g.scalar(0.75f)}), g.scalar(0.5f)});
    y = g.op("Relu", {y});
    y = g.op("Multiply", {y, g.constant({24, 1, 1})}); // per channel, lower rank
    auto graph = g.expect_matches_reference({y});
    ASSERT_TRUE(graph);
    EXPECT_LE(graph->step_count(), 3u);
}

// Squeeze-and-excitation and a residual: the gate (mean, 1×1 convolutions, hard sigmoid)
// multiplies the block's value per channel, the block's output adds the input back.
TEST(CpuGraph, RunsSqueezeExcitationGatesAndResidualAdds) {
    GraphCase g;
    const auto x = g.input({1, 16, 12, 12});
    auto y = g.op("Relu", {g.conv(x, 16, 16, 3)});
    Attributes keep;
    keep.set("keep_dims", true);
    auto& axes = g.model().add_constant(model::Tensor::copy_of(
        ElementType::I64, {2}, std::as_bytes(std::span<const std::int64_t>({2, 3}))));
    auto gate = g.op("ReduceMean", {y, axes.output()}, keep);
    gate = g.op("Relu", {g.conv(gate, 16, 4, 1)});
    gate = g.op("HardSigmoid", {g.conv(gate, 4, 16, 1), g.scalar(0.2f), g.scalar(0.5f)});
    y = g.op("Multiply", {y, gate});
    y = g.op("Add", {g.conv(y, 16, 16, 1), x}); // the residual: a runtime operand, full shape
    y = g.op("Sigmoid", {y});
    g.expect_matches_reference({y, gate});
}

// Concat, softmax and transpose on oneDNN, Reshape as a view of the bytes it reshapes, a
// reference kernel between blocked values.
TEST(CpuGraph, MixesOneDnnPrimitivesViewsAndReferenceKernels) {
    GraphCase g;
    const auto x = g.input({1, 8, 10, 10});
    auto a = g.op("Relu", {g.conv(x, 8, 8, 3)});
    auto b = g.conv(x, 8, 8, 1);
    Attributes axis;
    axis.set("axis", std::int64_t{1});
    auto c = g.op("Concat", {a, b}, axis);
    auto& shape = g.model().add_constant(model::Tensor::copy_of(
        ElementType::I64, {2}, std::as_bytes(std::span<const std::int64_t>({16, 100}))));
    Attributes special;
    special.set("special_zero", false);
    auto flat = g.op("Reshape", {c, shape.output()}, special);
    auto soft = g.op("Softmax", {flat}, axis);
    auto& order = g.model().add_constant(model::Tensor::copy_of(
        ElementType::I64, {4}, std::as_bytes(std::span<const std::int64_t>({0, 2, 3, 1}))));
    auto nhwc = g.op("Transpose", {c, order.output()}); // a reorder of permuted axes
    // Floor has no oneDNN primitive: its reference kernel runs on a plain copy of a blocked
    // value, and its plain result is reordered for the convolution after it.
    auto floor = g.op("Floor", {g.op("Multiply", {b, g.scalar(4.0f)})});
    auto graph =
        g.expect_matches_reference({soft, g.conv(c, 16, 4, 3), nhwc, g.conv(floor, 8, 8, 3)});
    ASSERT_TRUE(graph);
    for (const auto* n : g.model().nodes()) {
        if (n->type == "Reshape") {
            EXPECT_EQ(graph->exec_type(*n), "view");
        }
    }
}

// PP-OCR's FPN: nearest upsampling by integer factors (asymmetric, floor) between blocked values
// (with the Add after it: oneDNN's resampling, or the device's upsample-add step where the lateral
// value is channels last).
TEST(CpuGraph, UpsamplesByIntegerFactorsOnOneDnn) {
    for (const float factor : {2.0f, 4.0f}) {
        GraphCase g;
        // 24 channels: three blocks of 8 (one block hid oneDNN's offsets of a blocked operand).
        const auto side = static_cast<std::int64_t>(factor);
        const auto lateral = g.conv(g.input({1, 96, 20 * side, 20 * side}), 96, 96, 1); // first
        auto y = g.conv(g.input({1, 96, 20, 20}), 96, 96, 3);
        y = g.upsample_nearest(y, factor);
        // FPN: the upsampled value plus the lateral one (a post-op of the resampling, or not)
        y = g.op("Add", {lateral, y});
        auto graph = g.expect_matches_reference({g.conv(y, 96, 8, 3)});
        ASSERT_TRUE(graph);
        for (const auto* n : g.model().nodes()) {
            if (n->type == "Interpolate") {
                EXPECT_NE(graph->exec_type(*n), "ref");
            }
        }
    }
}

// PP-OCRv4 det's head: a stride-2 deconvolution, batch normalisation (folded into its weights
// and a bias), an activation; then a second one to one channel and a sigmoid.
TEST(CpuGraph, FoldsBatchNormalisationIntoDeconvolutions) {
    GraphCase g;
    Attributes a;
    a.set("strides", std::vector<std::int64_t>{2, 2});
    a.set("dilations", std::vector<std::int64_t>{1, 1});
    a.set("pads_begin", std::vector<std::int64_t>{0, 0});
    a.set("pads_end", std::vector<std::int64_t>{0, 0});
    auto y = g.conv(g.input({1, 16, 6, 7}), 16, 16, 3);
    y = g.op("ConvolutionBackpropData", {y, g.constant({16, 8, 2, 2}, 0.5f)}, a);
    auto positive = test::random_f32({8}, 77);
    for (std::int64_t i = 0; i < positive.size(); ++i)
        test::f32_data(positive)[i] = std::fabs(test::f32_data(positive)[i]) + 0.5f;
    const auto variance = g.model().add_constant(positive).output();
    Attributes eps;
    eps.set("epsilon", 1e-5);
    y = g.op("BatchNormInference", {y, g.constant({8}), g.constant({8}), g.constant({8}), variance},
             eps, "opset5");
    y = g.op("Relu", {y});
    y = g.op("ConvolutionBackpropData", {y, g.constant({8, 1, 2, 2})}, a);
    auto graph = g.expect_matches_reference({g.op("Sigmoid", {y})});
    ASSERT_TRUE(graph);
    // Folded: the normalisation reports its deconvolution's primitive.
    std::string deconv, norm;
    for (const auto* n : g.model().nodes()) {
        if (n->type == "ConvolutionBackpropData" && deconv.empty()) deconv = graph->exec_type(*n);
        if (n->type == "BatchNormInference") norm = graph->exec_type(*n);
    }
    EXPECT_TRUE(deconv.ends_with(":f32")) << deconv;
    EXPECT_EQ(norm, deconv);
}

// A deconvolution whose windows do not overlap (stride = kernel, here 3×2 from 5 to 3 channels)
// runs as a 1×1 convolution and a depth-to-space reorder, the Relu after it a post-op; in f32 and
// in bf16. One with overlapping windows (stride 1) keeps oneDNN's deconvolution.
TEST(CpuGraph, RunsNonOverlappingDeconvolutionsAsPointwiseConvolutions) {
    for (const bool bf16 : {false, true}) {
        if (bf16 && !bf16_native()) continue;
        GraphCase g;
        auto attrs = [](std::int64_t sh, std::int64_t sw) {
            Attributes a;
            a.set("strides", std::vector<std::int64_t>{sh, sw});
            a.set("dilations", std::vector<std::int64_t>{1, 1});
            a.set("pads_begin", std::vector<std::int64_t>{0, 0});
            a.set("pads_end", std::vector<std::int64_t>{0, 0});
            return a;
        };
        const auto x = g.conv(g.input({2, 5, 7, 6}), 5, 5, 3);
        auto y = g.op("Relu", {g.op("ConvolutionBackpropData", {x, g.constant({5, 3, 3, 2}, 0.5f)},
                                    attrs(3, 2))});
        auto overlapping =
            g.op("ConvolutionBackpropData", {x, g.constant({5, 2, 3, 3}, 0.5f)}, attrs(1, 1));
        auto graph = g.expect_matches_reference({y, overlapping}, bf16);
        ASSERT_TRUE(graph);
        loom::reference::Profile profile;
        const loom::reference::RunState run{&g.registry(), &g.kernels()};
        graph->run(g.inputs(), run, &profile);
        int shuffles = 0;
        for (const auto& p : profile)
            shuffles += p.type == "DepthToSpace" ? 1 : 0;
        EXPECT_EQ(shuffles, 1) << (bf16 ? "bf16" : "f32");
        for (const auto* n : g.model().nodes()) {
            if (n->type == "Relu") {
                EXPECT_EQ(graph->exec_type(*n), graph->exec_type(*n->inputs[0].node))
                    << "the Relu is the 1×1 convolution's post-op";
            }
        }
    }
}

// SqueezeNet's max pooling (3×3 stride 2, ceil rounding: the last window hangs over the edge)
// and average pooling with and without the padding counted.
TEST(CpuGraph, PoolsWithCeilRoundingAndPadding) {
    GraphCase g;
    const auto x = g.conv(g.input({2, 16, 13, 11}), 16, 16, 3);
    auto pool = [&](const char* type, const char* rounding, std::int64_t pad, bool exclude) {
        auto a = pool_3x3_stride_2(rounding, pad);
        if (std::string(type) == "AvgPool") a.set("exclude-pad", exclude);
        return g.op(type, {x}, a);
    };
    auto graph = g.expect_matches_reference(
        {pool("MaxPool", "ceil", 0, false), pool("MaxPool", "floor", 1, false),
         pool("AvgPool", "floor", 1, true), pool("AvgPool", "floor", 1, false),
         pool("AvgPool", "ceil", 0, true)});
    ASSERT_TRUE(graph);
    for (const auto* n : g.model().nodes()) {
        if (n->type == "MaxPool") {
            EXPECT_NE(graph->exec_type(*n), "ref") << "max pooling is a compiled step";
        }
    }
}

// SqueezeNet's fire modules: two convolutions concatenated along channels (whole blocks of 8
// or 16) are written straight into the concatenation's bytes — no concat step runs (where oneDNN
// lays channels last, as its brgemm convolutions on AVX-512 do, the device's own channels-last
// concat copies each pixel's channels).
TEST(CpuGraph, ConcatenatesInPlace) {
    GraphCase g;
    const auto cat = g.fire_module();
    auto graph = g.expect_matches_reference({g.conv(cat, 48, 8, 3)});
    ASSERT_TRUE(graph);
    const bool blocked =
        channel_blocked(g.engine(), dnnl::memory::data_type::f32, {1, 16, 9, 10}, 32);
    for (const auto* n : g.model().nodes()) {
        if (n->type == "Concat" && blocked) {
            EXPECT_EQ(graph->exec_type(*n), "in place");
        } else if (n->type == "Concat") {
            EXPECT_EQ(graph->exec_type(*n), "loom_concat_channels_last:f32");
        }
    }
}

// A transformer block's layer normalisation (MVN over the last axis, then γ and β), on oneDNN.
TEST(CpuGraph, NormalisesTheLastAxisOnOneDnn) {
    GraphCase g;
    const auto x = g.input({2, 40, 96});
    auto& axes = g.model().add_constant(model::Tensor::copy_of(
        ElementType::I64, {1}, std::as_bytes(std::span<const std::int64_t>({-1}))));
    Attributes a;
    a.set("normalize_variance", true);
    a.set("eps", 1e-5);
    a.set("eps_mode", std::string("inside_sqrt"));
    auto y = g.op("MVN", {x, axes.output()}, a, "opset6");
    y = g.op("Add", {g.op("Multiply", {y, g.constant({96})}), g.constant({96})});
    auto graph = g.expect_matches_reference({y});
    ASSERT_TRUE(graph);
    for (const auto* n : g.model().nodes()) {
        if (n->type == "MVN") {
            EXPECT_TRUE(graph->exec_type(*n).ends_with(":f32")) << graph->exec_type(*n);
        }
    }
}

// A transformer block's attention as rec has it: a MatMul to q, k and v, Slices of it, the query
// scaled by a scalar, q·kᵀ (a runtime B, transposed), softmax, ·v, a residual add and a
// projection — every step a oneDNN primitive, in bf16 where asked (the softmax reads bf16 and
// writes f32).
void attention_block(bool bf16) {
    GraphCase g;
    const auto x = g.input({1, 40, 24});
    auto qkv = g.op("MatMul", {x, g.constant({24, 72}, 0.2f)});
    const auto i64 = [&](std::vector<std::int64_t> v) {
        return g.model()
            .add_constant(model::Tensor::copy_of(ElementType::I64,
                                                 {static_cast<std::int64_t>(v.size())},
                                                 std::as_bytes(std::span<const std::int64_t>(v))))
            .output();
    };
    const auto part = [&](std::int64_t k) {
        return g.op("Slice", {qkv, i64({24 * k}), i64({24 * k + 24}), i64({1}), i64({-1})}, {},
                    "opset8");
    };
    auto q = g.op("Multiply", {part(0), g.scalar(0.25f)});
    Attributes tb;
    tb.set("transpose_b", true);
    auto scores = g.op("MatMul", {q, part(1)}, tb);
    Attributes last;
    last.set("axis", std::int64_t{-1});
    auto weights = g.op("Softmax", {scores}, last, "opset8");
    auto y = g.op("Add", {g.op("MatMul", {weights, part(2)}), x});
    // A projection with the residual add fused as a post-op (the qkv MatMul above, read by three
    // slices, runs as one 2-D matmul of all rows).
    auto projected = g.op("Add", {g.op("MatMul", {y, g.constant({24, 24}, 0.2f)}), y});
    auto graph = g.expect_matches_reference({projected, weights}, bf16);
    ASSERT_TRUE(graph);
    for (const auto* n : g.model().nodes()) {
        if (n->type == "Parameter" || n->type == "Constant" || n->type == "Result") continue;
        const auto exec = graph->exec_type(*n);
        EXPECT_NE(exec, "ref") << n->name << " (" << n->type << ") runs its reference kernel";
        if (n->type == "MatMul") {
            EXPECT_TRUE(exec.ends_with(bf16 ? ":bf16" : ":f32")) << exec;
        }
    }
}

TEST(CpuGraph, RunsAttentionMatMulsSlicesAndScalarArithmeticOnOneDnn) {
    attention_block(false);
}

TEST(CpuGraphBf16, RunsAttentionMatMulsInBf16) {
    if (!bf16_native()) GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX";
    attention_block(true);
}

TEST(CpuGraph, RunsBatchesOfFewChannels) {
    GraphCase g;
    g.expect_matches_reference({g.conv(g.input({2, 3, 7, 5}), 3, 4, 3)});
}

TEST(CpuGraph, AnInputOfAnotherShapeIsATypedError) {
    GraphCase g;
    auto graph =
        g.expect_matches_reference({g.op("Relu", {g.conv(g.input({1, 4, 6, 6}), 4, 4, 3)})});
    ASSERT_TRUE(graph);
    const std::vector<Tensor> wrong{test::random_f32({1, 4, 6, 7}, 1)};
    const loom::reference::RunState run{&g.registry(), &g.kernels()};
    try {
        graph->run(wrong, run, nullptr);
        FAIL() << "a [1,4,6,7] input ran a graph compiled for [1,4,6,6]";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
    }
}

TEST(MemoryPlan, ValuesAliveTogetherNeverShareBytesAndTheOthersDo) {
    const std::vector<Lifetime> values{{1000, 0, 2}, {500, 1, 3}, {1000, 3, 5},
                                       {64, 4, 4},   {0, 0, 9},   {2000, 6, 7}};
    const auto plan = plan_memory(values);
    ASSERT_EQ(plan.offsets.size(), values.size());
    for (std::size_t a = 0; a < values.size(); ++a) {
        EXPECT_EQ(plan.offsets[a] % 64, 0u);
        EXPECT_LE(plan.offsets[a] + values[a].bytes, plan.total);
        for (std::size_t b = a + 1; b < values.size(); ++b) {
            const bool alive_together =
                values[a].first <= values[b].last && values[b].first <= values[a].last;
            const bool disjoint = plan.offsets[a] + values[a].bytes <= plan.offsets[b] ||
                                  plan.offsets[b] + values[b].bytes <= plan.offsets[a];
            if (alive_together && values[a].bytes && values[b].bytes) {
                EXPECT_TRUE(disjoint) << a << " and " << b;
            }
        }
    }
    // 1000 + 500 + 64 alive at once at most, aligned: far less than the 4564 of no reuse.
    EXPECT_LE(plan.total, 2048u + 512u);
}

TEST(ShapeCache, CompilesEachInputShapeOnceAndEvictsTheLeastRecentlyUsed) {
    GraphCase g;
    auto& x = g.model().add_parameter(
        ElementType::F32, model::PartialShape{model::Dimension::dynamic(), 4, 5, 5}, "x");
    auto y = g.op("Relu", {g.conv(x.output(), 4, 4, 3)});
    g.model().add_result(y);
    model::infer_and_validate(g.model(), g.registry());
    int compiles = 0;
    ShapeCache cache(
        g.model(), g.registry(), nullptr,
        [&](const model::Model& m) -> std::shared_ptr<const loom::reference::Executable> {
            ++compiles;
            return compile_graph(m, g.registry(), g.kernels(), {}, g.engine());
        },
        2);
    loom::reference::Plan plan(g.model(), g.registry(), g.kernels());
    const loom::reference::RunState run{&g.registry(), &g.kernels()};
    for (std::int64_t batch : {1, 2, 1, 3, 1, 2}) {
        const std::vector<Tensor> in{test::random_f32({batch, 4, 5, 5}, 9)};
        const auto got = cache.run(in, run, nullptr);
        test::expect_close(got.at(0), plan.run(in, run, nullptr).at(0));
    }
    // 1, 2, (1), 3 evicts 2, (1), 2 again: four compiles, two kept.
    EXPECT_EQ(compiles, 4);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_TRUE(cache.exec_type(*g.model().nodes()[0]).size() > 0);
    try {
        const std::vector<Tensor> three{test::random_f32({1, 3, 5, 5}, 1)};
        cache.run(three, run, nullptr);
        FAIL() << "three channels ran a model of four";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
    }
}

// PP-OCR cls/rec's flattening: Reshape to [batch, -1] by a target computed from ShapeOf → Slice →
// Concat. Reshaped to a concrete batch, that arithmetic folds (Slice by its reference kernel as
// evaluator) and the copy compiles into a graph — not left to the reference interpreter.
TEST(ShapeCache, FoldsShapeArithmeticSoReshapedCopiesCompile) {
    GraphCase g;
    auto& x = g.model().add_parameter(
        ElementType::F32, model::PartialShape{model::Dimension::dynamic(), 4, 5, 5}, "x");
    auto y = g.op("Relu", {g.conv(x.output(), 4, 4, 3)});
    auto i64 = [&](std::vector<std::int64_t> v) {
        return g.model()
            .add_constant(model::Tensor::copy_of(ElementType::I64,
                                                 {static_cast<std::int64_t>(v.size())},
                                                 std::as_bytes(std::span(v))))
            .output();
    };
    Attributes type;
    type.set("output_type", ElementType::I64);
    auto shape = g.op("ShapeOf", {y}, type, "opset3");
    auto batch = g.op("Slice", {shape, i64({0}), i64({1}), i64({1}), i64({0})}, {}, "opset8");
    Attributes axis;
    axis.set("axis", std::int64_t{0});
    auto target = g.op("Concat", {batch, i64({-1})}, axis);
    Attributes special;
    special.set("special_zero", false);
    g.model().add_result(g.op("Reshape", {y, target}, special));
    model::infer_and_validate(g.model(), g.registry());
    std::vector<bool> graphs;
    auto kernels = loom::reference::make_reference_kernels();
    ShapeCache cache(
        g.model(), g.registry(), kernels,
        [&](const model::Model& m) -> std::shared_ptr<const loom::reference::Executable> {
            auto graph = compile_graph(m, g.registry(), g.kernels(), {}, g.engine());
            graphs.push_back(graph != nullptr);
            if (graph) return graph;
            return std::make_shared<const loom::reference::Plan>(m, g.registry(), g.kernels());
        });
    loom::reference::Plan plan(g.model(), g.registry(), g.kernels());
    const loom::reference::RunState run{&g.registry(), &g.kernels()};
    for (std::int64_t b : {1, 3}) {
        const std::vector<Tensor> in{test::random_f32({b, 4, 5, 5}, 9)};
        const auto got = cache.run(in, run, nullptr);
        EXPECT_EQ(got.at(0).shape(), (Shape{b, 100}));
        test::expect_close(got.at(0), plan.run(in, run, nullptr).at(0));
    }
    EXPECT_EQ(graphs, (std::vector<bool>{true, true}));
}

} // namespace
} // namespace loom::plugins::cpu

namespace loom::plugins::cpu {
namespace {

// With the bf16 hint: PP-OCR's blocks — convolutions with post-ops, a squeeze-and-excitation
// gate, a residual add, nearest upsampling, a deconvolution, a concat of a bf16 value with an f32
// one (a reference kernel's), softmax on a plain f32 copy — within bf16's precision of the
// reference, every convolution computing in bf16.
TEST(CpuGraphBf16, RunsPpOcrBlocksInBf16) {
    if (!bf16_native()) GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX";
    GraphCase g;
    const auto x = g.input({1, 16, 12, 12});
    auto y = g.op("HSwish", {g.conv(x, 16, 16, 3)}, {}, "opset4");
    Attributes keep;
    keep.set("keep_dims", true);
    auto& axes = g.model().add_constant(model::Tensor::copy_of(
        ElementType::I64, {2}, std::as_bytes(std::span<const std::int64_t>({2, 3}))));
    auto gate = g.op("ReduceMean", {y, axes.output()}, keep);
    gate = g.op("HardSigmoid", {g.conv(gate, 16, 16, 1), g.scalar(0.2f), g.scalar(0.5f)});
    y = g.op("Add", {g.conv(g.op("Multiply", {y, gate}), 16, 16, 1), x});
    auto up = g.upsample_nearest(y, 2.0f);
    Attributes d;
    d.set("strides", std::vector<std::int64_t>{2, 2});
    d.set("dilations", std::vector<std::int64_t>{1, 1});
    d.set("pads_begin", std::vector<std::int64_t>{0, 0});
    d.set("pads_end", std::vector<std::int64_t>{0, 0});
    auto deconv = g.op("ConvolutionBackpropData", {y, g.constant({16, 8, 2, 2}, 0.5f)}, d);
    auto sine = g.op("Sin", {deconv}); // on its reference kernel, in f32
    Attributes axis;
    axis.set("axis", std::int64_t{1});
    auto cat = g.op("Concat", {g.conv(up, 16, 8, 3), sine}, axis);
    auto logits = g.conv(cat, 16, 4, 3);
    // Softmax turns the logits' absolute error into a relative one: on logits scaled small.
    auto soft = g.op("Softmax", {g.op("Multiply", {logits, g.scalar(0.05f)})}, axis);
    auto& order = g.model().add_constant(model::Tensor::copy_of(
        ElementType::I64, {4}, std::as_bytes(std::span<const std::int64_t>({0, 2, 3, 1}))));
    auto permuted = g.op("Transpose", {up, order.output()}); // of a bf16 value, in bf16
    auto graph = g.expect_matches_reference({logits, soft, up, permuted}, true);
    ASSERT_TRUE(graph);
    for (const auto* n : g.model().nodes()) {
        if (n->type == "Convolution") {
            EXPECT_TRUE(graph->exec_type(*n).ends_with(":bf16")) << graph->exec_type(*n);
        }
        if (n->type == "Concat" || n->type == "Interpolate") {
            EXPECT_NE(graph->exec_type(*n), "ref") << n->type;
        }
        if (n->type == "Transpose") {
            EXPECT_TRUE(graph->exec_type(*n).ends_with(":bf16")) << graph->exec_type(*n);
        }
    }
}

// A network's first convolution on an RGB image in bf16: the f32 planar input interleaved into
// bf16 channels last on the way in (the device's own reorder where the CPU has AVX-512 bf16).
TEST(CpuGraphBf16, ConvolvesAnRgbImageInBf16) {
    if (!bf16_native()) GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX";
    GraphCase g;
    const auto x = g.input({2, 3, 17, 19});
    g.expect_matches_reference({g.op("Relu", {g.conv(x, 3, 16, 3)})}, true);
}

// A concatenation of bf16 values: in place in channel blocks (offsets in 2-byte elements), else
// the device's own channels-last concat in bf16.
TEST(CpuGraphBf16, ConcatenatesBf16ValuesInPlace) {
    if (!bf16_native()) GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX";
    GraphCase g;
    const auto cat = g.fire_module();
    auto graph = g.expect_matches_reference({g.conv(cat, 48, 8, 3), cat}, true);
    ASSERT_TRUE(graph);
    const bool blocked =
        channel_blocked(g.engine(), dnnl::memory::data_type::bf16, {1, 16, 9, 10}, 32);
    bool seen = false;
    for (const auto* n : g.model().nodes()) {
        if (n->type == "Concat") {
            seen = true;
            const auto exec = graph->exec_type(*n);
            EXPECT_EQ(exec, blocked ? "in place" : "loom_concat_channels_last:bf16");
        }
    }
    EXPECT_TRUE(seen);
}

// Max pooling of bf16 values with negative ones among them, ceil rounding and padding: the
// device's own kernel where the convolution before it writes channels last (AMX/AVX-512
// brgemm), oneDNN's otherwise.
TEST(CpuGraphBf16, MaxPoolsBf16ValuesWithPaddingAndCeilRounding) {
    if (!bf16_native()) GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX";
    GraphCase g;
    const auto x = g.conv(g.input({2, 40, 13, 11}), 40, 40, 3); // values of both signs
    auto pool = [&](const char* rounding, std::int64_t pad) {
        return g.op("MaxPool", {x}, pool_3x3_stride_2(rounding, pad));
    };
    auto graph = g.expect_matches_reference({pool("ceil", 0), pool("floor", 1)}, true);
    ASSERT_TRUE(graph);
    const bool blocked =
        channel_blocked(g.engine(), dnnl::memory::data_type::bf16, {2, 40, 13, 11}, 40);
    for (const auto* n : g.model().nodes()) {
        if (n->type == "MaxPool") {
            const auto exec = graph->exec_type(*n);
            if (blocked) {
                EXPECT_TRUE(exec.starts_with("jit") && exec.ends_with(":bf16")) << exec;
            } else {
                EXPECT_EQ(exec, "loom_max_pool_nhwc:bf16");
            }
        }
    }
}

} // namespace
} // namespace loom::plugins::cpu
