// Adaptive pooling and deformable convolution reference kernels: expected values worked out by
// hand from OpenVINO's specs (AdaptiveAvgPool-8, AdaptiveMaxPool-8, DeformableConvolution-1/8).

#include <cmath>
#include <initializer_list>
#include <utility>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::attrs;
using test::eval;
using test::f32;
using test::i64;
using test::to_f32;
using test::to_i64;

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

// ---- DeformableConvolution ------------------------------------------------------------------

model::Attributes deform_attrs(std::vector<std::int64_t> strides, std::vector<std::int64_t> pads,
                               std::int64_t group = 1, std::int64_t deformable_group = 1) {
    return attrs({{"strides", strides},
                  {"dilations", std::vector<std::int64_t>{1, 1}},
                  {"pads_begin", pads},
                  {"pads_end", pads},
                  {"auto_pad", std::string("explicit")},
                  {"group", group},
                  {"deformable_group", deformable_group}});
}

// 1..9 as one 3x3 channel.
Tensor nine() {
    return f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST(DeformableKernels, ZeroOffsetsAreAPlainConvolution) {
    // Hand value: 2x2 kernel of ones over 1..9: window sums 1+2+4+5 = 12, 2+3+5+6 = 16,
    // 4+5+7+8 = 24, 5+6+8+9 = 28.
    auto ones = f32({1, 1, 2, 2}, {1, 1, 1, 1});
    auto zero8 = f32({1, 8, 2, 2}, std::vector<float>(32, 0.0f));
    auto d1 = eval("DeformableConvolution", "opset1", {nine(), zero8, ones},
                   deform_attrs({1, 1}, {0, 0}));
    EXPECT_EQ(d1[0].shape(), (Shape{1, 1, 2, 2}));
    EXPECT_EQ(to_f32(d1[0]), (std::vector<float>{12, 16, 24, 28}));

    // Two input and two output channels, stride 2, padding 1 (output 2x2): equal to Convolution.
    std::vector<float> data(18), w(16);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<float>(i % 7) - 2.0f;
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = static_cast<float>(i % 5) - 1.5f;
    auto x = f32({1, 2, 3, 3}, data);
    auto filters = f32({2, 2, 2, 2}, w);
    auto conv = eval("Convolution", "opset1", {x, filters},
                     attrs({{"strides", std::vector<std::int64_t>{2, 2}},
                            {"dilations", std::vector<std::int64_t>{1, 1}},
                            {"pads_begin", std::vector<std::int64_t>{1, 1}},
                            {"pads_end", std::vector<std::int64_t>{1, 1}},
                            {"auto_pad", std::string("explicit")}}));
    for (const char* version : {"opset1", "opset8"}) {
        auto d = eval("DeformableConvolution", version, {x, zero8, filters},
                      deform_attrs({2, 2}, {1, 1}));
        EXPECT_EQ(d[0].shape(), conv[0].shape()) << version;
        auto got = to_f32(d[0]);
        auto want = to_f32(conv[0]);
        ASSERT_EQ(got.size(), want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            EXPECT_NEAR(got[i], want[i], 1e-5f) << version << " at " << i;
    }
}

TEST(DeformableKernels, IntegerOffsetShiftsByOneRow) {
    // 1x1 kernel of weight 1, dy = 1, dx = 0 everywhere: output (oy, ox) = data(oy + 1, ox);
    // the last row samples y = 3, outside [0, 3) → 0.
    std::vector<float> off(18, 0.0f);
    for (int i = 0; i < 9; ++i)
        off[static_cast<std::size_t>(i)] = 1.0f; // channel 0 = dy
    auto out = eval("DeformableConvolution", "opset1",
                    {nine(), f32({1, 2, 3, 3}, off), f32({1, 1, 1, 1}, {1})},
                    deform_attrs({1, 1}, {0, 0}));
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{4, 5, 6, 7, 8, 9, 0, 0, 0}));
}

TEST(DeformableKernels, HalfPixelOffsetInterpolatesAndPadModes) {
    // Row {2,4,6}, 1x1 kernel of weight 1, dy = 0.
    auto data = f32({1, 1, 1, 3}, {2, 4, 6});
    auto w = f32({1, 1, 1, 1}, {1});
    auto offsets = [](float dx) { return f32({1, 2, 1, 3}, {0, 0, 0, dx, dx, dx}); };
    auto run = [&](float dx, bool pad) {
        auto a = deform_attrs({1, 1}, {0, 0});
        a.set("bilinear_interpolation_pad", pad);
        return to_f32(eval("DeformableConvolution", "opset8", {data, offsets(dx), w}, a)[0]);
    };
    // dx = +0.5: x = 0.5 → (2+4)/2 = 3, x = 1.5 → (4+6)/2 = 5, x = 2.5:
    //   pad=false: neighbours clamped to x = 2 → 6;  pad=true: 0.5·6 + 0.5·0 = 3.
    EXPECT_EQ(run(0.5f, false), (std::vector<float>{3, 5, 6}));
    EXPECT_EQ(run(0.5f, true), (std::vector<float>{3, 5, 3}));
    // dx = −0.5: x = −0.5:
    //   pad=false: outside [0, W) → 0;  pad=true: 0.5·0 + 0.5·2 = 1. Then 3 and 5 as above.
    EXPECT_EQ(run(-0.5f, false), (std::vector<float>{0, 3, 5}));
    EXPECT_EQ(run(-0.5f, true), (std::vector<float>{1, 3, 5}));
    // dx = −1.5 with pad=true: x = −1.5, −0.5, 0.5 → beyond one pixel → 0, then 1, 3.
    EXPECT_EQ(run(-1.5f, true), (std::vector<float>{0, 1, 3}));
    // Opset1 interpolates like pad=false.
    auto v1 = eval("DeformableConvolution", "opset1", {data, offsets(0.5f), w},
                   deform_attrs({1, 1}, {0, 0}));
    EXPECT_EQ(to_f32(v1[0]), (std::vector<float>{3, 5, 6}));
}

TEST(DeformableKernels, MaskScalesEachTap) {
    auto ones = f32({1, 1, 2, 2}, {1, 1, 1, 1});
    auto zero8 = f32({1, 8, 2, 2}, std::vector<float>(32, 0.0f));
    auto a = deform_attrs({1, 1}, {0, 0});
    // Mask 0.5 everywhere: half the window sums {12,16,24,28} → {6,8,12,14}.
    auto half = eval("DeformableConvolution", "opset8",
                     {nine(), zero8, ones, f32({1, 4, 2, 2}, std::vector<float>(16, 0.5f))}, a);
    EXPECT_EQ(to_f32(half[0]), (std::vector<float>{6, 8, 12, 14}));
    // Tap 0 (top-left) mask 1, tap 3 (bottom-right) mask 0.5, taps 1, 2 mask 0:
    // windows' top-left + 0.5 · bottom-right: 1 + 2.5, 2 + 3, 4 + 4, 5 + 4.5.
    std::vector<float> m(16, 0.0f);
    for (int i = 0; i < 4; ++i) {
        m[static_cast<std::size_t>(i)] = 1.0f;
        m[static_cast<std::size_t>(12 + i)] = 0.5f;
    }
    auto taps =
        eval("DeformableConvolution", "opset8", {nine(), zero8, ones, f32({1, 4, 2, 2}, m)}, a);
    EXPECT_EQ(to_f32(taps[0]), (std::vector<float>{3.5f, 5, 8, 9.5f}));
}

TEST(DeformableKernels, DeformableGroupsAndGroups) {
    // Channel 0 = [[1,2],[3,4]], channel 1 = [[10,20],[30,40]].
    auto data = f32({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
    // deformable_group 2, 1x1 kernel, weights {1, 1}: group 0 (channel 0) offsets 0, group 1
    // (channel 1) dy = 1. Out = ch0(y, x) + ch1(y + 1, x): 1+30, 2+40, 3+0, 4+0.
    auto off = f32({1, 4, 2, 2}, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0});
    auto dg = eval("DeformableConvolution", "opset1", {data, off, f32({1, 2, 1, 1}, {1, 1})},
                   deform_attrs({1, 1}, {0, 0}, 1, 2));
    EXPECT_EQ(to_f32(dg[0]), (std::vector<float>{31, 42, 3, 4}));
    // group 2, zero offsets, weights {1} and {2}: out 0 = ch0, out 1 = 2 · ch1.
    auto g = eval("DeformableConvolution", "opset8",
                  {data, f32({1, 2, 2, 2}, std::vector<float>(8, 0.0f)), f32({2, 1, 1, 1}, {1, 2})},
                  deform_attrs({1, 1}, {0, 0}, 2, 1));
    EXPECT_EQ(g[0].shape(), (Shape{1, 2, 2, 2}));
    EXPECT_EQ(to_f32(g[0]), (std::vector<float>{1, 2, 3, 4, 20, 40, 60, 80}));
}

} // namespace
} // namespace loom::reference
