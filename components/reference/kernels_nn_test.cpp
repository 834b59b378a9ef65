// nn reference kernels: expected values worked out by hand from OpenVINO's spec.

#include <cmath>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::eval;
using test::f32;
using test::i32;
using test::to_f32;
using test::to_i64;

model::Attributes transposes(bool a, bool b) {
    model::Attributes attrs;
    attrs.set("transpose_a", a);
    attrs.set("transpose_b", b);
    return attrs;
}

TEST(NnKernels, MatMulPlain) {
    // [[1,2,3],[4,5,6]] x [[1,0],[0,1],[1,1]] = [[4,5],[10,11]]
    auto out =
        eval("MatMul", "opset1", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3, 2}, {1, 0, 0, 1, 1, 1})},
             transposes(false, false));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{4, 5, 10, 11}));
}

TEST(NnKernels, MatMulTransposeB) {
    // B^T of [[1,0,1],[0,1,1]] is the matrix above.
    auto out =
        eval("MatMul", "opset1", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2, 3}, {1, 0, 1, 0, 1, 1})},
             transposes(false, true));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{4, 5, 10, 11}));
}

TEST(NnKernels, MatMulVectorsAndBatchBroadcast) {
    auto dot = eval("MatMul", "opset1", {f32({3}, {1, 2, 3}), f32({3}, {4, 5, 6})},
                    transposes(false, false));
    EXPECT_EQ(to_f32(dot[0]), (std::vector<float>{32}));
    // [2,1,2] x [2,1]: each batch row dotted with [1,1].
    auto out = eval("MatMul", "opset1", {f32({2, 1, 2}, {1, 2, 3, 4}), f32({2, 1}, {1, 1})},
                    transposes(false, false));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{3, 7}));
    auto ints = eval("MatMul", "opset1", {i32({1, 2}, {2, 3}), i32({2, 1}, {4, 5})},
                     transposes(false, false));
    EXPECT_EQ(to_i64(ints[0]), (std::vector<std::int64_t>{23}));
}

TEST(NnKernels, SoftmaxAndLogSoftmax) {
    model::Attributes attrs;
    attrs.set("axis", std::int64_t{1});
    auto out = eval("Softmax", "opset8", {f32({1, 2}, {0, std::log(3.0f)})}, attrs);
    auto v = to_f32(out[0]);
    EXPECT_NEAR(v[0], 0.25f, 1e-6f);
    EXPECT_NEAR(v[1], 0.75f, 1e-6f);
    auto log = eval("LogSoftmax", "opset5", {f32({1, 2}, {0, std::log(3.0f)})}, attrs);
    auto lv = to_f32(log[0]);
    EXPECT_NEAR(lv[0], std::log(0.25f), 1e-6f);
    EXPECT_NEAR(lv[1], std::log(0.75f), 1e-6f);
}

model::Attributes conv(std::vector<std::int64_t> pads, std::string auto_pad = "explicit") {
    model::Attributes attrs;
    attrs.set("strides", std::vector<std::int64_t>{1, 1});
    attrs.set("dilations", std::vector<std::int64_t>{1, 1});
    attrs.set("pads_begin", pads);
    attrs.set("pads_end", pads);
    attrs.set("auto_pad", auto_pad);
    return attrs;
}

TEST(NnKernels, Convolution2x2) {
    // 3x3 input 1..9, 2x2 kernel of ones: sums of each 2x2 window.
    auto out =
        eval("Convolution", "opset1",
             {f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), f32({1, 1, 2, 2}, {1, 1, 1, 1})},
             conv({0, 0}));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{12, 16, 24, 28}));
    // Padding 1: the corner sees only the input's corner.
    auto padded =
        eval("Convolution", "opset1",
             {f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), f32({1, 1, 2, 2}, {1, 1, 1, 1})},
             conv({1, 1}));
    EXPECT_EQ(to_f32(padded[0])[0], 1.0f);
    EXPECT_EQ(to_f32(padded[0]).size(), 16u);
}

TEST(NnKernels, GroupConvolutionDepthwise) {
    auto out = eval("GroupConvolution", "opset1",
                    {f32({1, 2, 1, 2}, {1, 2, 3, 4}), f32({2, 1, 1, 1, 1}, {2, 3})}, conv({0, 0}));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{2, 4, 9, 12}));
}

TEST(NnKernels, BatchNormInferenceBothOrders) {
    model::Attributes attrs;
    attrs.set("epsilon", 1.0);
    // ch0: (1 - 1) / sqrt(3 + 1) * 2 + 0 = 0; ch1: (2 - 0) / sqrt(0 + 1) * 1 + 1 = 3.
    auto data = f32({1, 2, 1, 1}, {1, 2});
    auto gamma = f32({2}, {2, 1});
    auto beta = f32({2}, {0, 1});
    auto mean = f32({2}, {1, 0});
    auto var = f32({2}, {3, 0});
    auto v5 = eval("BatchNormInference", "opset5", {data, gamma, beta, mean, var}, attrs);
    EXPECT_EQ(to_f32(v5[0]), (std::vector<float>{0, 3}));
    auto v1 = eval("BatchNormInference", "opset1", {gamma, beta, data, mean, var}, attrs);
    EXPECT_EQ(to_f32(v1[0]), (std::vector<float>{0, 3}));
}

model::Attributes pool2x2() {
    model::Attributes attrs;
    attrs.set("strides", std::vector<std::int64_t>{1, 1});
    attrs.set("pads_begin", std::vector<std::int64_t>{0, 0});
    attrs.set("pads_end", std::vector<std::int64_t>{0, 0});
    attrs.set("kernel", std::vector<std::int64_t>{2, 2});
    return attrs;
}

TEST(NnKernels, MaxPoolAndAvgPool) {
    auto x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    auto mx = eval("MaxPool", "opset1", {x}, pool2x2());
    EXPECT_EQ(to_f32(mx[0]), (std::vector<float>{5, 6, 8, 9}));
    auto attrs = pool2x2();
    attrs.set("exclude-pad", true);
    auto avg = eval("AvgPool", "opset1", {x}, attrs);
    EXPECT_EQ(to_f32(avg[0]), (std::vector<float>{3, 4, 6, 7}));
}

TEST(NnKernels, FusedMatMulBiasRelu) {
    auto attrs = transposes(false, false);
    attrs.set("activation", std::string("relu"));
    // [1,2] x [[1,0],[0,1]] + [-2, 1] = [-1, 3] -> relu [0, 3].
    auto out = eval("FusedMatMul", "loom1",
                    {f32({1, 2}, {1, 2}), f32({2, 2}, {1, 0, 0, 1}), f32({2}, {-2, 1})}, attrs);
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{0, 3}));
}

TEST(NnKernels, IntegerConvolutionAccumulatesInI32) {
    // As ONNX ConvInteger after its zero points: i32 data and weights, exact integer sums.
    auto out =
        eval("Convolution", "opset1",
             {i32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), i32({1, 1, 2, 2}, {1, -1, 2, 0})},
             conv({0, 0}));
    ASSERT_EQ(out[0].element_type(), ElementType::I32);
    // Window [[1,2],[4,5]]: 1 - 2 + 8 = 7; then 2 - 3 + 10 = 9; 4 - 5 + 14 = 13; 5 - 6 + 16 = 15.
    EXPECT_EQ(to_i64(out[0]), (std::vector<std::int64_t>{7, 9, 13, 15}));
}

TEST(NnKernels, LrnAcrossChannels) {
    model::Attributes attrs;
    attrs.set("alpha", 3.0); // alpha / size = 1
    attrs.set("beta", 1.0);
    attrs.set("bias", 1.0);
    attrs.set("size", std::int64_t{3});
    auto out = eval("LRN", "opset1", {f32({1, 3, 1, 1}, {1, 2, 3}), test::i64({1}, {1})}, attrs);
    auto v = to_f32(out[0]);
    // Windows: {1,2} → 1/(1+5); {1,2,3} → 2/(1+14); {2,3} → 3/(1+13).
    EXPECT_NEAR(v[0], 1.f / 6.f, 1e-6f);
    EXPECT_NEAR(v[1], 2.f / 15.f, 1e-6f);
    EXPECT_NEAR(v[2], 3.f / 14.f, 1e-6f);
}

TEST(NnKernels, NormalizeL2AddAndMaxModes) {
    model::Attributes add;
    add.set("eps", 1e-12);
    add.set("eps_mode", std::string("add"));
    auto out = eval("NormalizeL2", "opset1", {f32({2, 2}, {3, 4, 6, 8}), test::i64({1}, {1})}, add);
    auto v = to_f32(out[0]);
    EXPECT_NEAR(v[0], 0.6f, 1e-6f);
    EXPECT_NEAR(v[3], 0.8f, 1e-6f);
    model::Attributes max = add;
    max.set("eps_mode", std::string("max"));
    max.set("eps", 100.0); // row 0: Σx² = 25 < 100, so it is divided by 10
    auto m = to_f32(
        eval("NormalizeL2", "opset1", {f32({2, 2}, {3, 4, 6, 8}), test::i64({1}, {1})}, max)[0]);
    EXPECT_NEAR(m[0], 0.3f, 1e-6f);
    EXPECT_NEAR(m[1], 0.4f, 1e-6f);
    EXPECT_NEAR(m[2], 0.6f, 1e-6f);
}

TEST(NnKernels, GroupNormalizationPerGroupThenScaleAndBias) {
    model::Attributes attrs;
    attrs.set("num_groups", std::int64_t{2});
    attrs.set("epsilon", 0.0);
    // Group 0 holds channels {1, 3} (mean 2, var 1), group 1 holds {2, 6} (mean 4, var 4):
    // both normalise to {-1, 1}; then scale {1,2,3,4} and bias {0,0,0,1}.
    auto out = eval(
        "GroupNormalization", "opset12",
        {f32({1, 4, 1, 1}, {1, 3, 2, 6}), f32({4}, {1, 2, 3, 4}), f32({4}, {0, 0, 0, 1})}, attrs);
    auto v = to_f32(out[0]);
    EXPECT_NEAR(v[0], -1.f, 1e-6f);
    EXPECT_NEAR(v[1], 2.f, 1e-6f);
    EXPECT_NEAR(v[2], -3.f, 1e-6f);
    EXPECT_NEAR(v[3], 5.f, 1e-6f);
}

} // namespace
} // namespace loom::reference
