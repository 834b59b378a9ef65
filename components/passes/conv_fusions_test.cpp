#include <cmath>

#include <gtest/gtest.h>

#include "components/passes/passes.hpp"
#include "components/passes/test_util.hpp"

using namespace loom::passes;
using namespace loom::passes::test;

namespace {

Output constant(Model& m, std::vector<float> v) {
    auto n = static_cast<std::int64_t>(v.size());
    return m.add_constant(f32({n}, std::move(v))).output();
}

// x [1,1,3,3] → Convolution (w [2,1,1,1] = {2, 3}) → BatchNormInference-5 → Result.
// γ {1, 2}, β {0.5, -1}, μ {1, 0}, σ² {3, 0.25}, ε 1: scale {0.5, 2/√1.25}, shift {0, -1}.
struct ConvBn {
    Model m;
    Node* conv = nullptr;
    Node* bn = nullptr;
};

std::unique_ptr<ConvBn> conv_bn(std::string bn_version = "opset5", bool gamma_constant = true) {
    auto g = std::make_unique<ConvBn>();
    Model& m = g->m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({1, 1, 3, 3}), "x").output();
    auto w = m.add_constant(f32({2, 1, 1, 1}, {2, 3}), "w").output();
    g->conv = &m.add("Convolution", "opset1", {x, w}, conv_attrs(), 1, "conv");
    Output gamma = gamma_constant
                       ? constant(m, {1, 2})
                       : m.add_parameter(ElementType::F32, PartialShape({2}), "gamma").output();
    Output beta = constant(m, {0.5, -1}), mean = constant(m, {1, 0}), var = constant(m, {3, 0.25});
    Attributes attrs;
    attrs.set("epsilon", 1.0);
    std::vector<Output> in = {g->conv->output(), gamma, beta, mean, var};
    if (bn_version == "opset1") in = {gamma, beta, g->conv->output(), mean, var};
    g->bn = &m.add("BatchNormInference", bn_version, in, attrs, 1, "bn");
    g->bn->outputs[0].names = {"bn_out"};
    m.add_result(g->bn->output(), "y");
    return g;
}

void expect_folded(ConvBn& g) {
    EXPECT_EQ(count(g.m, "BatchNormInference"), 0u);
    Node* add = result_input(g.m);
    ASSERT_EQ(add->type, "Add");
    EXPECT_EQ(add->name, "bn");
    EXPECT_EQ(add->outputs[0].names, std::vector<std::string>{"bn_out"});
    EXPECT_EQ(add->inputs[0].node, g.conv);
    EXPECT_EQ(add->outputs[0].shape, PartialShape({1, 2, 3, 3}));
    auto w = values_f32(g.conv->inputs[1].node->value);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_FLOAT_EQ(w[0], 1.0f);                                        // 2 · 0.5
    EXPECT_FLOAT_EQ(w[1], static_cast<float>(3 * 2 / std::sqrt(1.25))); // 3 · 2/√1.25
    const Tensor& bias = add->inputs[1].node->value;
    EXPECT_EQ(bias.shape(), (Shape{1, 2, 1, 1}));
    EXPECT_EQ(values_f32(bias), (std::vector<float>{0, -1}));
}

} // namespace

TEST(ConvBatchNormFusion, FoldsBn5IntoTheWeights) {
    auto reg = registry();
    auto g = conv_bn();
    EXPECT_EQ(run_pass(g->m, make_conv_batchnorm_fusion_pass(), *reg), 1u);
    expect_folded(*g);
}

TEST(ConvBatchNormFusion, FoldsBn1WithItsInputOrder) {
    auto reg = registry();
    auto g = conv_bn("opset1");
    EXPECT_EQ(run_pass(g->m, make_conv_batchnorm_fusion_pass(), *reg), 1u);
    expect_folded(*g);
}

TEST(ConvBatchNormFusion, KeepsBnWithNonConstantParams) {
    auto reg = registry();
    auto g = conv_bn("opset5", false);
    EXPECT_EQ(run_pass(g->m, make_conv_batchnorm_fusion_pass(), *reg), 0u);
    EXPECT_EQ(count(g->m, "BatchNormInference"), 1u);
}

TEST(ConvBatchNormFusion, KeepsBnWhenTheConvOutputIsUsedElsewhere) {
    auto reg = registry();
    auto g = conv_bn();
    g->m.add_result(g->conv->output(), "raw");
    EXPECT_EQ(run_pass(g->m, make_conv_batchnorm_fusion_pass(), *reg), 0u);
    EXPECT_EQ(count(g->m, "BatchNormInference"), 1u);
    EXPECT_EQ(values_f32(g->conv->inputs[1].node->value), (std::vector<float>{2, 3}));
}

TEST(ConvBatchNormFusion, FoldsGroupConvolutionPerOutputChannel) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({1, 2, 3, 3}), "x").output();
    // G = 2 groups of one output channel each, 1×1 kernels.
    auto w = m.add_constant(f32({2, 1, 1, 1, 1}, {2, 3})).output();
    Node& conv = m.add("GroupConvolution", "opset1", {x, w}, conv_attrs(), 1, "gconv");
    Attributes attrs;
    attrs.set("epsilon", 0.0);
    auto& bn = m.add("BatchNormInference", "opset5",
                     {conv.output(), constant(m, {4, 1}), constant(m, {0, 0}), constant(m, {1, 2}),
                      constant(m, {4, 1})},
                     attrs, 1, "bn");
    m.add_result(bn.output());
    EXPECT_EQ(run_pass(m, make_conv_batchnorm_fusion_pass(), *reg), 1u);
    // scale {4/2, 1/1} = {2, 1}; shift {-1·2, -2·1}
    EXPECT_EQ(values_f32(conv.inputs[1].node->value), (std::vector<float>{4, 3}));
    EXPECT_EQ(values_f32(result_input(m)->inputs[1].node->value), (std::vector<float>{-2, -2}));
}

TEST(BiasActivationFusion, ConvBiasReluBecomesFusedConvolution) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({1, 1, 3, 3}), "x").output();
    auto w = m.add_constant(f32({2, 1, 1, 1}, {2, 3})).output();
    auto conv = m.add("Convolution", "opset1", {x, w}, conv_attrs(), 1, "conv").output();
    auto bias = m.add_constant(f32({1, 2, 1, 1}, {0.5, -0.5})).output();
    auto relu = unary(m, "Relu", binary(m, "Add", conv, bias));
    relu.node->outputs[0].names = {"out"};
    m.add_result(relu);
    EXPECT_EQ(run_pass(m, make_bias_activation_fusion_pass(), *reg), 1u);
    Node* fused = result_input(m);
    ASSERT_EQ(fused->type, "FusedConvolution");
    EXPECT_EQ(fused->version, "loom1");
    EXPECT_EQ(fused->name, "Relu");
    EXPECT_EQ(fused->outputs[0].names, std::vector<std::string>{"out"});
    EXPECT_EQ(fused->attrs.get<std::string>("activation"), "relu");
    EXPECT_EQ(fused->attrs.get<std::vector<std::int64_t>>("strides"),
              (std::vector<std::int64_t>{1, 1}));
    EXPECT_EQ(fused->inputs[2].node->value.shape(), (Shape{2}));
    EXPECT_EQ(values_f32(fused->inputs[2].node->value), (std::vector<float>{0.5, -0.5}));
    EXPECT_EQ(fused->outputs[0].shape, PartialShape({1, 2, 3, 3}));
    EXPECT_EQ(m.size(), 5u); // x, w, bias, fused, result
}

TEST(BiasActivationFusion, MatMulBiasClampBecomesFusedMatMul) {
    auto reg = registry();
    Model m;
    auto a = m.add_parameter(ElementType::F32, PartialShape({2, 3}), "a").output();
    auto b = m.add_constant(f32({4, 3}, std::vector<float>(12, 1.0f))).output();
    Attributes mm;
    mm.set("transpose_a", false);
    mm.set("transpose_b", true);
    auto prod = m.add("MatMul", "opset1", {a, b}, mm, 1, "mm").output();
    auto sum = binary(m, "Add", m.add_constant(f32({4}, {1, 2, 3, 4})).output(), prod);
    Attributes clamp;
    clamp.set("min", 0.0);
    clamp.set("max", 6.0);
    m.add_result(m.add("Clamp", "opset1", {sum}, clamp, 1, "clamp").output());
    EXPECT_EQ(run_pass(m, make_bias_activation_fusion_pass(), *reg), 1u);
    Node* fused = result_input(m);
    ASSERT_EQ(fused->type, "FusedMatMul");
    EXPECT_EQ(fused->attrs.get<std::string>("activation"), "clamp");
    EXPECT_EQ(fused->attrs.get<double>("activation_alpha"), 0.0);
    EXPECT_EQ(fused->attrs.get<double>("activation_beta"), 6.0);
    EXPECT_TRUE(fused->attrs.get<bool>("transpose_b"));
    EXPECT_EQ(fused->outputs[0].shape, PartialShape({2, 4}));
}

TEST(BiasActivationFusion, KeepsNonChannelBiasSharedOutputsAndGroupConvolution) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({1, 2, 3, 3}), "x").output();
    auto w = m.add_constant(f32({2, 2, 1, 1}, {1, 2, 3, 4})).output();
    // 1: bias varies along the spatial axes
    auto c1 = m.add("Convolution", "opset1", {x, w}, conv_attrs(), 1, "c1").output();
    m.add_result(binary(m, "Add", c1, m.add_constant(f32({1, 1, 1, 3}, {1, 2, 3})).output()));
    // 2: the convolution's output is also a model output
    auto c2 = m.add("Convolution", "opset1", {x, w}, conv_attrs(), 1, "c2").output();
    m.add_result(binary(m, "Add", c2, m.add_constant(f32({1, 2, 1, 1}, {1, 2})).output()));
    m.add_result(c2);
    // 3: GroupConvolution is not fused
    auto gw = m.add_constant(f32({2, 1, 1, 1, 1}, {1, 2})).output();
    auto c3 = m.add("GroupConvolution", "opset1", {x, gw}, conv_attrs(), 1, "c3").output();
    m.add_result(binary(m, "Add", c3, m.add_constant(f32({1, 2, 1, 1}, {1, 2})).output()));
    EXPECT_EQ(run_pass(m, make_bias_activation_fusion_pass(), *reg), 0u);
    EXPECT_EQ(count(m, "Add"), 3u);
}

TEST(ConvBatchNormFusion, F16WeightsAreComputedInF32AndWrittenBackAsF16) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F16, PartialShape({1, 1, 2, 2}), "x").output();
    auto half = [&](std::vector<float> v) {
        std::vector<std::uint16_t> bits;
        for (float f : v)
            bits.push_back(f32_to_f16(f));
        auto n = static_cast<std::int64_t>(v.size());
        return Tensor::copy_of(ElementType::F16, {n}, std::as_bytes(std::span(bits)));
    };
    auto w = m.add_constant(half({2, 3}).reshaped({2, 1, 1, 1})).output();
    Node& conv = m.add("Convolution", "opset1", {x, w}, conv_attrs(), 1, "conv");
    Attributes attrs;
    attrs.set("epsilon", 0.0);
    auto& bn = m.add("BatchNormInference", "opset5",
                     {conv.output(), m.add_constant(half({1, 3})).output(),
                      m.add_constant(half({1, 1})).output(), m.add_constant(half({0, 1})).output(),
                      m.add_constant(half({4, 9})).output()},
                     attrs, 1, "bn");
    m.add_result(bn.output());
    EXPECT_EQ(run_pass(m, make_conv_batchnorm_fusion_pass(), *reg), 1u);
    const Tensor& nw = conv.inputs[1].node->value;
    ASSERT_EQ(nw.element_type(), ElementType::F16);
    EXPECT_EQ(nw.to_f64(), (std::vector<double>{1, 3})); // scale {1/2, 3/3}
    const Tensor& bias = result_input(m)->inputs[1].node->value;
    ASSERT_EQ(bias.element_type(), ElementType::F16);
    EXPECT_EQ(bias.to_f64(), (std::vector<double>{1, 0})); // {1 − 0, 1 − 1·1}
}
