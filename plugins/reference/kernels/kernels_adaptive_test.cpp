// Adaptive pooling and deformable convolution reference kernels: expected values worked out by
// hand from OpenVINO's specs (AdaptiveAvgPool-8, AdaptiveMaxPool-8, DeformableConvolution-1/8).

#include <cmath>
#include <initializer_list>
#include <utility>

#include <gtest/gtest.h>

#include "plugins/reference/kernels/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::eval;
using test::f32;
using test::i64;
using test::to_f32;
using test::to_i64;

model::Attributes attrs(std::initializer_list<std::pair<const char*, model::AttrValue>> list) {
    model::Attributes a;
    for (const auto& [k, v] : list)
        a.set(k, v);
    return a;
}

// ---- AdaptiveAvgPool / AdaptiveMaxPool ------------------------------------------------------

TEST(AdaptiveKernels, AvgPool1dOverlappingBins) {
    // L=5, O=3: bin i = [floor(5i/3), ceil(5(i+1)/3)) = [0,2), [1,4), [3,5).
    // Means: (1+2)/2 = 1.5, (2+3+4)/3 = 3, (4+5)/2 = 4.5.
    auto out = eval("AdaptiveAvgPool", "opset8", {f32({1, 1, 5}, {1, 2, 3, 4, 5}), i64({1}, {3})});
    EXPECT_EQ(out[0].shape(), (Shape{1, 1, 3}));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{1.5f, 3, 4.5f}));
}

TEST(AdaptiveKernels, AvgPool1dUpsampling) {
    // L=2, O=3: bins [0, ceil(2/3)=1), [floor(2/3)=0, ceil(4/3)=2), [floor(4/3)=1, 2)
    // → {2}, {2,4}, {4} → 2, 3, 4.
    auto out = eval("AdaptiveAvgPool", "opset8", {f32({1, 1, 2}, {2, 4}), i64({1}, {3})});
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{2, 3, 4}));
}

TEST(AdaptiveKernels, AvgPool2dPerChannel) {
    // 3x3 → 2x2, bins per axis [0,2) and [1,3). Channel 0 = 1..9:
    // (0,0) {1,2,4,5} = 3, (0,1) {2,3,5,6} = 4, (1,0) {4,5,7,8} = 6, (1,1) {5,6,8,9} = 7.
    // Channel 1 = 10 × channel 0 → 30, 40, 60, 70.
    auto out =
        eval("AdaptiveAvgPool", "opset8",
             {f32({1, 2, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90}),
              i64({2}, {2, 2})});
    EXPECT_EQ(out[0].shape(), (Shape{1, 2, 2, 2}));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{3, 4, 6, 7, 30, 40, 60, 70}));
}

TEST(AdaptiveKernels, AvgPool3d) {
    // [2,2,2] = 0..7 (d-major). Output [2,1,1]: d bins [0,1), [1,2), h and w whole:
    // mean(0..3) = 1.5, mean(4..7) = 5.5.
    auto data = f32({1, 1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
    auto d = eval("AdaptiveAvgPool", "opset8", {data, i64({3}, {2, 1, 1})});
    EXPECT_EQ(d[0].shape(), (Shape{1, 1, 2, 1, 1}));
    EXPECT_EQ(to_f32(d[0]), (std::vector<float>{1.5f, 5.5f}));
    // Output [1,2,2]: each (h,w) averaged over d: (0+4)/2, (1+5)/2, (2+6)/2, (3+7)/2.
    auto hw = eval("AdaptiveAvgPool", "opset8", {data, i64({3}, {1, 2, 2})});
    EXPECT_EQ(to_f32(hw[0]), (std::vector<float>{2, 3, 4, 5}));
    // Output [1,1,1]: mean(0..7) = 28/8 = 3.5.
    auto all = eval("AdaptiveAvgPool", "opset8", {data, i64({3}, {1, 1, 1})});
    EXPECT_EQ(to_f32(all[0]), (std::vector<float>{3.5f}));
}

TEST(AdaptiveKernels, MaxPool2dValuesAndPlaneIndices) {
    // Channel 0 = [[1,5,2],[7,3,7],[0,9,4]], 3x3 → 2x2, bins [0,2) and [1,3):
    // (0,0) rows 0-1 cols 0-1 {1,5,7,3}: 7 at (1,0) = flat 3
    // (0,1) rows 0-1 cols 1-2 {5,2,3,7}: 7 at (1,2) = flat 5
    // (1,0) rows 1-2 cols 0-1 {7,3,0,9}: 9 at (2,1) = flat 7
    // (1,1) rows 1-2 cols 1-2 {3,7,9,4}: 9 at (2,1) = flat 7
    // Channel 1 = 1..9: each bin's max is its bottom-right: 5@4, 6@5, 8@7, 9@8 — indices are
    // within the channel's own plane (not offset by 9).
    auto out = eval("AdaptiveMaxPool", "opset8",
                    {f32({1, 2, 3, 3}, {1, 5, 2, 7, 3, 7, 0, 9, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9}),
                     i64({2}, {2, 2})},
                    {}, 2);
    EXPECT_EQ(out[0].shape(), (Shape{1, 2, 2, 2}));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{7, 7, 9, 9, 5, 6, 8, 9}));
    EXPECT_EQ(out[1].element_type(), ElementType::I64);
    EXPECT_EQ(to_i64(out[1]), (std::vector<std::int64_t>{3, 5, 7, 7, 4, 5, 7, 8}));
}

TEST(AdaptiveKernels, MaxPool1dFirstOnTiesAndI32Indices) {
    // Two batches. L=4, O=2: bins [0,2), [2,4).
    // n=0 {2,2,1,2}: bin 0 max 2 first at 0; bin 1 {1,2} max 2 at 3.
    // n=1 {-1,-3,-2,-5}: bin 0 max -1 at 0; bin 1 {-2,-5} max -2 at 2.
    auto out = eval("AdaptiveMaxPool", "opset8",
                    {f32({2, 1, 4}, {2, 2, 1, 2, -1, -3, -2, -5}), i64({1}, {2})},
                    attrs({{"index_element_type", ElementType::I32}}), 2);
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{2, 2, -1, -2}));
    EXPECT_EQ(out[1].element_type(), ElementType::I32);
    EXPECT_EQ(to_i64(out[1]), (std::vector<std::int64_t>{0, 3, 0, 2}));
}

TEST(AdaptiveKernels, MaxPool3d) {
    // [2,2,2] = {0,7,2,3, 4,5,6,1} (d, h, w). Output [1,1,2] (w bins [0,1), [1,2)):
    // w=0 values {0,2,4,6}: 6 at (1,1,0) = flat 6; w=1 values {7,3,5,1}: 7 at (0,0,1) = flat 1.
    auto out = eval("AdaptiveMaxPool", "opset8",
                    {f32({1, 1, 2, 2, 2}, {0, 7, 2, 3, 4, 5, 6, 1}), i64({3}, {1, 1, 2})}, {}, 2);
    EXPECT_EQ(out[0].shape(), (Shape{1, 1, 1, 1, 2}));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{6, 7}));
    EXPECT_EQ(to_i64(out[1]), (std::vector<std::int64_t>{6, 1}));
}

} // namespace
} // namespace loom::reference
