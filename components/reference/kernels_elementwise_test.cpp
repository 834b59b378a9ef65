// Elementwise reference kernels: expected values worked out by hand from OpenVINO's spec.

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::attrs;
using test::eval;
using test::f32;
using test::i32;
using test::i64;
using test::to_f32;
using test::to_i64;

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i]))
            EXPECT_TRUE(std::isnan(got[i])) << i;
        else if (std::isinf(want[i]))
            EXPECT_EQ(got[i], want[i]) << i;
        else
            EXPECT_NEAR(got[i], want[i], tol) << i;
    }
}

std::vector<float> unary(const char* type, const char* version, std::vector<float> x,
                         model::Attributes a = {}) {
    auto n = static_cast<std::int64_t>(x.size());
    return to_f32(eval(type, version, {f32({n}, x)}, std::move(a)).at(0));
}

TEST(ElementwiseKernels, BinaryBroadcastsNumpy) {
    auto out = eval("Add", "opset1", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3}, {10, 20, 30})});
    EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
    expect_near(to_f32(out[0]), {11, 22, 33, 14, 25, 36});
    out = eval("Subtract", "opset1", {f32({2, 1}, {1, 2}), f32({1, 3}, {1, 2, 3})});
    expect_near(to_f32(out[0]), {0, -1, -2, 1, 0, -1});
    out = eval("Multiply", "opset1", {f32({}, {2}), f32({2}, {3, 4})});
    expect_near(to_f32(out[0]), {6, 8});
}

TEST(ElementwiseKernels, BinaryBroadcastNoneNeedsEqualShapes) {
    auto a = attrs({{"auto_broadcast", std::string("none")}});
    EXPECT_THROW(eval("Add", "opset1", {f32({2}, {1, 2}), f32({1}, {1})}, a), Error);
    auto out = eval("Add", "opset1", {f32({2}, {1, 2}), f32({2}, {3, 4})}, a);
    expect_near(to_f32(out[0]), {4, 6});
}

TEST(ElementwiseKernels, BinaryBroadcastPdpdFromAxis) {
    // b of shape [2] lines up with dim 1 of a [1, 2, 3].
    auto out = eval("Add", "opset1", {f32({1, 2, 3}, {1, 2, 3, 4, 5, 6}), f32({2}, {10, 20})},
                    attrs({{"auto_broadcast", std::string("pdpd")}, {"axis", std::int64_t{1}}}));
    EXPECT_EQ(out[0].shape(), (Shape{1, 2, 3}));
    expect_near(to_f32(out[0]), {11, 12, 13, 24, 25, 26});
}

TEST(ElementwiseKernels, F16ComparisonsAndClasses) {
    auto a = test::typed(ElementType::F16, {3}, {1, 2, 3});
    auto b = test::typed(ElementType::F16, {1}, {2});
    auto out = eval("Greater", "opset1", {a, b});
    EXPECT_EQ(out[0].element_type(), ElementType::BOOLEAN);
    EXPECT_EQ(to_i64(out[0]), (std::vector<std::int64_t>{0, 0, 1}));
    auto nan = eval("IsNaN", "opset10", {test::typed(ElementType::F16, {2}, {NAN, 1})});
    EXPECT_EQ(to_i64(nan[0]), (std::vector<std::int64_t>{1, 0}));
}

// f32 → f16 → f32 through Convert (8 at a time with F16C, the tail one by one): each value
// rounds to the nearest f16, ties to even, as the scalar conversion does; overflow is infinity,
// NaN stays NaN, f16's subnormals survive.
TEST(ElementwiseKernels, ConvertF32ToF16RoundsToNearestEvenInBulk) {
    std::vector<float> x;
    for (int i = 0; i < 1000; ++i)
        x.push_back(std::ldexp(static_cast<float>(i % 97) - 48.5f, i % 40 - 30));
    x.push_back(1.0f + std::ldexp(1.0f, -11));     // a tie: to 1 (even)
    x.push_back(1.0f + 3 * std::ldexp(1.0f, -11)); // a tie: up to 1 + 2^-9
    x.push_back(70000.0f);
    x.push_back(std::numeric_limits<float>::quiet_NaN());
    x.push_back(std::ldexp(1.0f, -20)); // an f16 subnormal
    const auto n = static_cast<std::int64_t>(x.size());
    model::Attributes to16, to32;
    to16.set("destination_type", model::ElementType::F16);
    to32.set("destination_type", model::ElementType::F32);
    const auto half = eval("Convert", "opset1", {f32({n}, x)}, to16).at(0);
    ASSERT_EQ(half.element_type(), model::ElementType::F16);
    for (std::int64_t i = 0; i < n; ++i)
        EXPECT_EQ(half.data<std::uint16_t>()[i], model::f32_to_f16(x[static_cast<std::size_t>(i)]))
            << "element " << i << " = " << x[static_cast<std::size_t>(i)];
    const auto back = to_f32(eval("Convert", "opset1", {half}, to32).at(0));
    EXPECT_EQ(back[1000], 1.0f);
    EXPECT_EQ(back[1001], 1.0f + std::ldexp(1.0f, -9));
    EXPECT_TRUE(std::isinf(back[1002]));
    EXPECT_TRUE(std::isnan(back[1003]));
    EXPECT_EQ(back[1004], std::ldexp(1.0f, -20));
}

TEST(ElementwiseKernels, IntegerArithmeticWraps) {
    auto out = eval("Add", "opset1",
                    {test::typed(ElementType::I8, {2}, {100, -100}),
                     test::typed(ElementType::I8, {2}, {100, -100})});
    EXPECT_EQ(to_i64(out[0]), (std::vector<std::int64_t>{-56, 56}));
    out = eval(
        "Multiply", "opset1",
        {test::typed(ElementType::U16, {1}, {65535}), test::typed(ElementType::U16, {1}, {65535})});
    EXPECT_EQ(to_i64(out[0]), (std::vector<std::int64_t>{1}));
}

TEST(ElementwiseKernels, DivideIntegerFloorsOrTruncates) {
    auto x = i32({4}, {7, -7, 7, -7});
    auto y = i32({4}, {2, 2, -2, -2});
    auto floor = eval("Divide", "opset1", {x, y});
    EXPECT_EQ(to_i64(floor[0]), (std::vector<std::int64_t>{3, -4, -4, 3}));
    auto trunc = eval("Divide", "opset1", {x, y}, attrs({{"m_pythondiv", false}}));
    EXPECT_EQ(to_i64(trunc[0]), (std::vector<std::int64_t>{3, -3, -3, 3}));
    try {
        eval("Divide", "opset1", {i32({1}, {1}), i32({1}, {0})});
        ADD_FAILURE() << "integer division by zero did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
    }
    auto f = eval("Divide", "opset1", {f32({2}, {1, -1}), f32({2}, {0, 4})});
    EXPECT_TRUE(std::isinf(to_f32(f[0])[0]));
    EXPECT_FLOAT_EQ(to_f32(f[0])[1], -0.25f);
}

TEST(ElementwiseKernels, ModAndFloorModSigns) {
    auto x = i64({4}, {7, -7, 7, -7});
    auto y = i64({4}, {3, 3, -3, -3});
    EXPECT_EQ(to_i64(eval("Mod", "opset1", {x, y})[0]), (std::vector<std::int64_t>{1, -1, 1, -1}));
    EXPECT_EQ(to_i64(eval("FloorMod", "opset1", {x, y})[0]),
              (std::vector<std::int64_t>{1, 2, -2, -1}));
    expect_near(to_f32(eval("FloorMod", "opset1", {f32({2}, {-7.5f, 7.5f}), f32({2}, {2, -2})})[0]),
                {0.5f, -0.5f});
    EXPECT_THROW(eval("Mod", "opset1", {i64({1}, {1}), i64({1}, {0})}), Error);
}

TEST(ElementwiseKernels, PowerOnIntegersAndFloats) {
    EXPECT_EQ(
        to_i64(eval("Power", "opset1", {i64({4}, {2, 3, -2, 2}), i64({4}, {10, 3, 3, -1})})[0]),
        (std::vector<std::int64_t>{1024, 27, -8, 0}));
    expect_near(to_f32(eval("Power", "opset1", {f32({2}, {4, 2}), f32({2}, {0.5f, -1})})[0]),
                {2, 0.5f});
}

TEST(ElementwiseKernels, MaxMinSquaredDifference) {
    auto a = f32({3}, {1, 5, NAN});
    auto b = f32({3}, {2, 3, 1});
    expect_near(to_f32(eval("Maximum", "opset1", {a, b})[0]), {2, 5, NAN});
    expect_near(to_f32(eval("Minimum", "opset1", {a, b})[0]), {1, 3, NAN});
    expect_near(to_f32(eval("SquaredDifference", "opset1", {a, b})[0]), {1, 4, NAN});
}

TEST(ElementwiseKernels, ComparisonsGiveBoolean) {
    auto a = i32({3}, {1, 2, 3});
    auto b = i32({1}, {2});
    auto out = eval("Less", "opset1", {a, b});
    EXPECT_EQ(out[0].element_type(), ElementType::BOOLEAN);
    EXPECT_EQ(to_i64(out[0]), (std::vector<std::int64_t>{1, 0, 0}));
    EXPECT_EQ(to_i64(eval("GreaterEqual", "opset1", {a, b})[0]),
              (std::vector<std::int64_t>{0, 1, 1}));
    EXPECT_EQ(to_i64(eval("NotEqual", "opset1", {a, b})[0]), (std::vector<std::int64_t>{1, 0, 1}));
    auto nan = eval("Equal", "opset1", {f32({1}, {NAN}), f32({1}, {NAN})});
    EXPECT_EQ(to_i64(nan[0]), (std::vector<std::int64_t>{0}));
}

TEST(ElementwiseKernels, LogicalAndBitwise) {
    auto a = test::boolean({4}, {false, false, true, true});
    auto b = test::boolean({4}, {false, true, false, true});
    EXPECT_EQ(to_i64(eval("LogicalAnd", "opset1", {a, b})[0]),
              (std::vector<std::int64_t>{0, 0, 0, 1}));
    EXPECT_EQ(to_i64(eval("LogicalOr", "opset1", {a, b})[0]),
              (std::vector<std::int64_t>{0, 1, 1, 1}));
    EXPECT_EQ(to_i64(eval("LogicalXor", "opset1", {a, b})[0]),
              (std::vector<std::int64_t>{0, 1, 1, 0}));
    EXPECT_EQ(to_i64(eval("LogicalNot", "opset1", {a})[0]),
              (std::vector<std::int64_t>{1, 1, 0, 0}));
    auto x = i32({2}, {12, -1});
    auto y = i32({2}, {10, 5});
    EXPECT_EQ(to_i64(eval("BitwiseAnd", "opset13", {x, y})[0]), (std::vector<std::int64_t>{8, 5}));
    EXPECT_EQ(to_i64(eval("BitwiseOr", "opset13", {x, y})[0]), (std::vector<std::int64_t>{14, -1}));
    EXPECT_EQ(to_i64(eval("BitwiseXor", "opset13", {x, y})[0]), (std::vector<std::int64_t>{6, -6}));
    EXPECT_EQ(to_i64(eval("BitwiseNot", "opset13", {x})[0]), (std::vector<std::int64_t>{-13, 0}));
    EXPECT_EQ(to_i64(eval("BitwiseXor", "opset13", {a, b})[0]),
              (std::vector<std::int64_t>{0, 1, 1, 0}));
}

TEST(ElementwiseKernels, Select) {
    auto cond = test::boolean({2, 1}, {true, false});
    auto out = eval("Select", "opset1", {cond, f32({2, 2}, {1, 2, 3, 4}), f32({2}, {-1, -2})});
    EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
    expect_near(to_f32(out[0]), {1, 2, -1, -2});
    auto ints = eval("Select", "opset1",
                     {test::boolean({3}, {true, false, true}), i64({3}, {1, 2, 3}), i64({}, {0})});
    EXPECT_EQ(to_i64(ints[0]), (std::vector<std::int64_t>{1, 0, 3}));
}

TEST(ElementwiseKernels, FakeQuantize) {
    // levels 5 over [0, 4] → steps of 1; output range [0, 8].
    auto out = eval("FakeQuantize", "opset1",
                    {f32({6}, {-1, 0, 1.4f, 2.5f, 3.6f, 5}), f32({}, {0}), f32({}, {4}),
                     f32({}, {0}), f32({}, {8})},
                    attrs({{"levels", std::int64_t{5}}}));
    expect_near(to_f32(out[0]), {0, 0, 2, 4, 8, 8});
    // Per-channel ranges broadcast onto [1, 2, 1].
    out = eval("FakeQuantize", "opset1",
               {f32({1, 2, 1}, {0.5f, 0.5f}), f32({1, 2, 1}, {0, 0}), f32({1, 2, 1}, {1, 2}),
                f32({1, 2, 1}, {0, 0}), f32({1, 2, 1}, {1, 2})},
               attrs({{"levels", std::int64_t{3}}}));
    expect_near(to_f32(out[0]), {0.5f, 0});
}

TEST(ElementwiseKernels, UnaryMath) {
    expect_near(unary("Abs", "opset1", {-1.5f, 2}), {1.5f, 2});
    expect_near(unary("Negative", "opset1", {-1.5f, 2}), {1.5f, -2});
    expect_near(unary("Sign", "opset1", {-3, 0, 2}), {-1, 0, 1});
    expect_near(unary("Ceiling", "opset1", {-1.5f, 1.2f}), {-1, 2});
    expect_near(unary("Floor", "opset1", {-1.5f, 1.2f}), {-2, 1});
    expect_near(unary("Sqrt", "opset1", {4, 2.25f}), {2, 1.5f});
    expect_near(unary("Exp", "opset1", {0, 1}), {1, 2.7182818f});
    expect_near(unary("Log", "opset1", {1, 0}), {0, -INFINITY});
    expect_near(unary("Erf", "opset1", {0, 1}), {0, 0.8427008f});
    expect_near(unary("Acosh", "opset3", {1}), {0});
    expect_near(unary("Atanh", "opset3", {0.5f}), {0.5493061f});
    EXPECT_EQ(to_i64(eval("Abs", "opset1", {i32({2}, {-3, 4})})[0]),
              (std::vector<std::int64_t>{3, 4}));
    // Integer math rounds: sqrt(8) = 2.83 → 3.
    EXPECT_EQ(to_i64(eval("Sqrt", "opset1", {i32({2}, {8, 9})})[0]),
              (std::vector<std::int64_t>{3, 3}));
}

TEST(ElementwiseKernels, Activations) {
    expect_near(unary("Relu", "opset1", {-1, 2}), {0, 2});
    expect_near(unary("Sigmoid", "opset1", {0}), {0.5f});
    expect_near(unary("SoftPlus", "opset4", {0, 100}), {0.6931472f, 100});
    expect_near(unary("HSwish", "opset4", {-4, 1, 4}), {0, 4.f / 6, 4});
    expect_near(unary("HSigmoid", "opset5", {-4, 0, 4}), {0, 0.5f, 1});
    expect_near(unary("SoftSign", "opset9", {-3, 1}), {-0.75f, 0.5f});
    expect_near(unary("Mish", "opset4", {0, 1}), {0, 0.8650984f});
    expect_near(unary("Gelu", "opset2", {0, 1}), {0, 0.8413447f});
    expect_near(unary("Gelu", "opset7", {1}, attrs({{"approximation_mode", std::string("tanh")}})),
                {0.8411920f});
    expect_near(unary("Elu", "opset1", {-1, 2}, attrs({{"alpha", 2.0}})),
                {2 * (std::exp(-1.f) - 1), 2});
    expect_near(unary("Clamp", "opset1", {-5, 0.5f, 5}, attrs({{"min", -1.0}, {"max", 1.0}})),
                {-1, 0.5f, 1});
    EXPECT_EQ(to_i64(eval("Clamp", "opset1", {i32({3}, {-5, 0, 5})},
                          attrs({{"min", -1.5}, {"max", 2.5}}))[0]),
              (std::vector<std::int64_t>{-1, 0, 2}));
}

TEST(ElementwiseKernels, ParametricActivations) {
    auto x = f32({2}, {-1, 2});
    auto swish = eval("Swish", "opset4", {x, f32({}, {2})});
    expect_near(to_f32(swish[0]), {-1 / (1 + std::exp(2.f)), 2 / (1 + std::exp(-4.f))});
    auto selu = eval("Selu", "opset1", {x, f32({1}, {2}), f32({1}, {3})});
    expect_near(to_f32(selu[0]), {3 * 2 * (std::exp(-1.f) - 1), 6});
    auto hs =
        eval("HardSigmoid", "opset1", {f32({3}, {-10, 0, 10}), f32({}, {0.2f}), f32({}, {0.5f})});
    expect_near(to_f32(hs[0]), {0, 0.5f, 1});
}

TEST(ElementwiseKernels, PReluPerChannelAndBroadcast) {
    // Per-channel slope on axis 1 of [1, 2, 2].
    auto out = eval("PRelu", "opset1", {f32({1, 2, 2}, {-1, 1, -1, 1}), f32({2}, {0.1f, 0.2f})});
    expect_near(to_f32(out[0]), {-0.1f, 1, -0.2f, 1});
    // A scalar slope.
    out = eval("PRelu", "opset1", {f32({3}, {-2, 0, 2}), f32({1}, {0.5f})});
    expect_near(to_f32(out[0]), {-1, 0, 2});
}

TEST(ElementwiseKernels, RoundModes) {
    std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 2.4f};
    expect_near(unary("Round", "opset5", x, attrs({{"mode", std::string("half_to_even")}})),
                {0, 2, 2, 0, -2, 2});
    expect_near(unary("Round", "opset5", x, attrs({{"mode", std::string("half_away_from_zero")}})),
                {1, 2, 3, -1, -3, 2});
}

TEST(ElementwiseKernels, FloatClasses) {
    auto x = f32({4}, {1, INFINITY, -INFINITY, NAN});
    EXPECT_EQ(to_i64(eval("IsFinite", "opset10", {x})[0]), (std::vector<std::int64_t>{1, 0, 0, 0}));
    EXPECT_EQ(to_i64(eval("IsNaN", "opset10", {x})[0]), (std::vector<std::int64_t>{0, 0, 0, 1}));
    EXPECT_EQ(to_i64(eval("IsInf", "opset10", {x})[0]), (std::vector<std::int64_t>{0, 1, 1, 0}));
    EXPECT_EQ(to_i64(eval("IsInf", "opset10", {x}, attrs({{"detect_positive", false}}))[0]),
              (std::vector<std::int64_t>{0, 0, 1, 0}));
}

TEST(ElementwiseKernels, HalfTypesGoThroughF32) {
    auto a = test::typed(ElementType::F16, {2}, {1.5, -2});
    auto out = eval("Multiply", "opset1", {a, a});
    EXPECT_EQ(out[0].element_type(), ElementType::F16);
    expect_near(to_f32(out[0]), {2.25f, 4});
    auto sel = eval("Select", "opset1", {test::boolean({2}, {false, true}), a, a});
    EXPECT_EQ(sel[0].element_type(), ElementType::F16);
    expect_near(to_f32(sel[0]), {1.5f, -2});
}

TEST(ElementwiseKernels, LargeTensorsRunInParallel) {
    const std::int64_t n = 1 << 18;
    std::vector<float> x(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>(i % 7);
    auto out = eval("Add", "opset1", {f32({4, n / 4}, x), f32({4, 1}, {0, 1, 2, 3})});
    auto got = to_f32(out[0]);
    for (std::size_t i = 0; i < x.size(); i += 997)
        ASSERT_EQ(got[i], x[i] + static_cast<float>(i / static_cast<std::size_t>(n / 4))) << i;
}

} // namespace
} // namespace loom::reference
