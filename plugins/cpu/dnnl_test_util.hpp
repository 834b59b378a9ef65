#pragma once
// Helpers of the oneDNN building blocks' tests: random tensors and comparison with the reference.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "components/model/tensor.hpp"

namespace loom::plugins::cpu::test {

inline model::Tensor random_f32(const model::Shape& shape, std::uint32_t seed) {
    auto t = model::Tensor::allocate(model::ElementType::F32, shape);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::int64_t i = 0; i < t.size(); ++i)
        reinterpret_cast<float*>(t.mutable_data())[i] = dist(rng);
    return t;
}

inline float* f32_data(const model::Tensor& t) {
    return reinterpret_cast<float*>(t.mutable_data());
}

// Same shape, and every value within 1e-4 (absolute and relative) of the reference's.
inline void expect_close(const model::Tensor& got, const model::Tensor& want) {
    ASSERT_EQ(got.shape(), want.shape());
    for (std::int64_t i = 0; i < got.size(); ++i) {
        const float w = want.data<float>()[i], g = got.data<float>()[i];
        ASSERT_NEAR(g, w, 1e-4f + 1e-4f * std::fabs(w)) << "element " << i;
    }
}

} // namespace loom::plugins::cpu::test
