// Image-family reference kernels: expected values worked out by hand from OpenVINO's spec.

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::attrs;
using test::eval;
using test::f32;
using test::i64;
using test::to_f32;

model::Attributes interp(const std::string& mode, const std::string& calc,
                         const std::string& transform, const std::string& nearest) {
    return attrs({{"mode", mode},
                  {"shape_calculation_mode", calc},
                  {"coordinate_transformation_mode", transform},
                  {"nearest_mode", nearest}});
}

TEST(ImageKernels, InterpolateNearestScalesAsymmetricFloor) {
    auto x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    auto y = eval("Interpolate", "opset11", {x, f32({2}, {2, 2}), i64({2}, {2, 3})},
                  interp("nearest", "scales", "asymmetric", "floor"))[0];
    EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
    EXPECT_EQ(to_f32(y), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(ImageKernels, InterpolateLinearOnnxSizesHalfPixel) {
    // Output x → (x + 0.5) / 2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
    auto x = f32({1, 1, 1, 2}, {0, 10});
    auto y = eval("Interpolate", "opset11", {x, i64({1}, {4}), i64({1}, {3})},
                  interp("linear_onnx", "sizes", "half_pixel", "round_prefer_floor"))[0];
    EXPECT_EQ(to_f32(y), (std::vector<float>{0, 2.5f, 7.5f, 10}));
}

TEST(ImageKernels, DepthToSpaceModes) {
    auto x = f32({1, 8, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
    auto bf =
        eval("DepthToSpace", "opset1", {x},
             attrs({{"mode", std::string("blocks_first")}, {"block_size", std::int64_t{2}}}))[0];
    EXPECT_EQ(bf.shape(), (Shape{1, 2, 2, 2}));
    EXPECT_EQ(to_f32(bf), (std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7}));
    auto df =
        eval("DepthToSpace", "opset1", {x},
             attrs({{"mode", std::string("depth_first")}, {"block_size", std::int64_t{2}}}))[0];
    EXPECT_EQ(to_f32(df), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(ImageKernels, RoiAlignRejectsBadBatchIndex) {
    auto x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    try {
        eval("ROIAlign", "opset3", {x, f32({1, 4}, {0, 0, 1, 1}), i64({1}, {3})},
             attrs({{"pooled_h", std::int64_t{1}},
                    {"pooled_w", std::int64_t{1}},
                    {"sampling_ratio", std::int64_t{1}},
                    {"spatial_scale", 1.0},
                    {"mode", std::string("avg")}}));
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
    }
}

} // namespace
} // namespace loom::reference

namespace loom::reference {
namespace {

TEST(ImageKernels, InterpolateLargeFeatureMapIsFast) {
    // PP-OCR-sized upsampling: [1, 64, 160, 160] × 2, nearest and linear_onnx.
    std::vector<float> v(64 * 160 * 160, 1.5f);
    auto x = test::f32({1, 64, 160, 160}, v);
    for (const char* mode : {"nearest", "linear_onnx"}) {
        auto y = test::eval("Interpolate", "opset11",
                            {x, test::f32({2}, {2, 2}), test::i64({2}, {2, 3})},
                            interp(mode, "scales", "asymmetric", "floor"))[0];
        ASSERT_EQ(y.shape(), (Shape{1, 64, 320, 320}));
        EXPECT_EQ(test::to_f32(y)[12345], 1.5f);
    }
}

} // namespace
} // namespace loom::reference
