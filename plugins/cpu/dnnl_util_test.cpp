// What the oneDNN building blocks share (dnnl_util.hpp): denormal constants flushed to zero
// when the device packs weights, and only those.

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/graph_test_util.hpp"

namespace loom::plugins::cpu {
namespace {

constexpr float k_min = std::numeric_limits<float>::min(); // the smallest normal
constexpr float k_denormal = std::numeric_limits<float>::denorm_min();

TEST(Denormals, OnlyDenormalValuesBecomeZero) {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> v{k_denormal, -k_min / 2, k_min, -k_min, 0.0f,         -0.0f,
                         1.0f,       1e-30f,     -inf,  inf,    std::nanf("")};
    EXPECT_EQ(flush_denormals(v), 2u);
    EXPECT_EQ(v[0], 0.0f);
    EXPECT_EQ(v[1], 0.0f);
    EXPECT_EQ(v[2], k_min);
    EXPECT_EQ(v[3], -k_min);
    EXPECT_TRUE(v[5] == 0.0f && std::signbit(v[5])) << "a zero keeps its sign";
    EXPECT_EQ(v[7], 1e-30f);
    EXPECT_EQ(v[8], -inf);
    EXPECT_TRUE(std::isnan(v[10]));
}

TEST(Denormals, ATensorWithoutAnyIsUsedAsItIsAndOneWithSomeIsCopied) {
    auto clean = test::random_f32({4, 5}, 3);
    EXPECT_EQ(without_denormals(clean).data<float>(), clean.data<float>());
    auto dirty = test::random_f32({4, 5}, 3);
    test::f32_data(dirty)[7] = -k_denormal;
    const auto flushed = without_denormals(dirty);
    ASSERT_NE(flushed.data<float>(), dirty.data<float>());
    EXPECT_EQ(test::f32_data(dirty)[7], -k_denormal) << "the model's constant is not changed";
    for (std::int64_t i = 0; i < flushed.size(); ++i)
        EXPECT_EQ(flushed.data<float>()[i], i == 7 ? 0.0f : dirty.data<float>()[i]) << i;
}

// `shape` random, every `every`-th value a denormal (of either sign).
model::Tensor with_denormals(const model::Shape& shape, std::int64_t every, std::uint32_t seed) {
    auto t = test::random_f32(shape, seed);
    for (std::int64_t i = 0; i < t.size(); i += every)
        test::f32_data(t)[i] = (i % 2 ? 1.0f : -1.0f) * k_min / static_cast<float>(2 + i % 5);
    return t;
}

// Weights with denormals among them (PP-OCRv4 det's and rec's have some): the compiled graph's
// depthwise, pointwise and MatMul steps still match the reference, which computes with them.
TEST(Denormals, WeightsWithDenormalsStillComputeTheModel) {
    test::GraphCase g;
    auto& dw = g.model().add_constant(with_denormals({24, 1, 1, 3, 3}, 7, 5));
    auto& pw = g.model().add_constant(with_denormals({16, 24, 1, 1}, 5, 6));
    auto& fc = g.model().add_constant(with_denormals({11, 6}, 3, 7));
    auto y = g.op("GroupConvolution", {g.input({1, 24, 9, 11}), dw.output()},
                  test::conv_attributes(1, 1, 1));
    y = g.op("Convolution", {y, pw.output()}, test::conv_attributes(1, 1, 0));
    y = g.op("MatMul", {y, fc.output()});
    g.expect_matches_reference({y});
}

} // namespace
} // namespace loom::plugins::cpu
