// RNN-family reference kernels: expected values worked out by hand from OpenVINO's spec.

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::eval;
using test::f32;
using test::i64;
using test::to_f32;

TEST(RnnKernels, RnnCellIsTanhOfAffine) {
    model::Attributes a;
    a.set("hidden_size", std::int64_t{1});
    auto y = eval("RNNCell", "opset1",
                  {f32({1, 1}, {1}), f32({1, 1}, {0.25f}), f32({1, 1}, {0.5f}), f32({1, 1}, {2}),
                   f32({1}, {0.1f})},
                  a)[0];
    EXPECT_NEAR(to_f32(y)[0], std::tanh(0.5 + 0.5 + 0.1), 1e-6);
}

TEST(RnnKernels, RnnSequenceZeroesStepsPastLength) {
    model::Attributes a;
    a.set("hidden_size", std::int64_t{1});
    a.set("direction", std::string("forward"));
    a.set("activations", std::vector<std::string>{"relu"});
    // h_t = relu(x_t + h_{t-1}); batch 0 runs 1 step of 2.
    auto out = eval("RNNSequence", "opset5",
                    {f32({1, 2, 1}, {1, 2}), f32({1, 1, 1}, {0}), i64({1}, {1}),
                     f32({1, 1, 1}, {1}), f32({1, 1, 1}, {1}), f32({1, 1}, {0})},
                    a, 2);
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{1, 0}));
    EXPECT_EQ(to_f32(out[1]), (std::vector<float>{1}));
}

TEST(RnnKernels, DftOfImpulseIsFlat) {
    auto y = eval("DFT", "opset7", {f32({4, 2}, {1, 0, 0, 0, 0, 0, 0, 0}), i64({1}, {0})})[0];
    auto v = to_f32(y);
    for (std::size_t i = 0; i < v.size(); ++i)
        EXPECT_NEAR(v[i], i % 2 == 0 ? 1.0f : 0.0f, 1e-6) << i;
}

} // namespace
} // namespace loom::reference
