// Structural tests of the ONNX converters for DFT, STFT, MelWeightMatrix, Det, Einsum, NMS,
// RoiAlign, … and refused ops: the native ops each ONNX node becomes, their key attributes, and the
// output types and shapes (computed by hand from the ONNX spec).
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/ops_test_util.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

// Found by fuzz_onnx: a Bernoulli with seed 1.2e27 (a float attribute) was cast to int64 —
// undefined; refused instead, as is a NaN seed. An ordinary seed still reads.
TEST(OnnxOpsMisc, ARandomSeedOutsideTheIntegersIsRefused) {
    for (const float seed : {1.18684e27f, -1e19f, std::numeric_limits<float>::quiet_NaN()}) {
        const auto bytes = single_node_model(
            "Bernoulli", {{"x", F32, {10}}}, {"y"}, [seed](auto& n) { set_attr(n, "seed", seed); },
            15);
        try {
            read(bytes);
            ADD_FAILURE() << "seed " << seed << " was read";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
            EXPECT_NE(e.message().find("seed"), std::string::npos) << e.what();
        }
    }
    auto m = read(single_node_model(
        "Bernoulli", {{"x", F32, {10}}}, {"y"}, [](auto& n) { set_attr(n, "seed", 7.0f); }, 15));
    EXPECT_EQ(only(*m, "RandomUniform").attrs.get<std::int64_t>("op_seed"), 7);
}

// Found by fuzz_onnx: an STFT with a scalar window (no length) threw std::out_of_range.
TEST(OnnxOpsMisc, StftWithAWindowThatIsNot1DIsRefused) {
    const auto bytes = single_node_model(
        "STFT", {{"signal", F32, {1, 128, 1}}, {"frame_step", I64, {}}, {"window", F32, {}}}, {"y"},
        {}, 17, {int64_tensor("frame_step", {8}, {})});
    try {
        read(bytes);
        FAIL() << "a scalar window was read";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        EXPECT_NE(e.message().find("window must be 1-D"), std::string::npos) << e.what();
    }
}

// Found by fuzz_onnx: a DFT of a scalar indexed its shape at -1.
TEST(OnnxOpsMisc, DftOfAScalarIsRefused) {
    const auto bytes = single_node_model("DFT", {{"x", F32, {}}}, {"y"}, {}, 17);
    try {
        read(bytes);
        FAIL() << "a DFT of a scalar was read";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        EXPECT_NE(e.message().find("last dim of 1 or 2"), std::string::npos) << e.what();
    }
}

TEST(OnnxOpsMisc, DetOfSmallStaticMatricesByPermutations) {
    auto m = read(single_node_model("Det", {{"x", F32, {4, 3, 3}}}, {"y"}));
    EXPECT_EQ(
        ops_of(*m),
        (Histogram{
            {"Reshape", 2}, {"Gather", 1}, {"ReduceProd", 1}, {"Multiply", 1}, {"ReduceSum", 1}}));
    expect_output(*m, 0, ElementType::F32, "[4]");
    auto one = read(single_node_model("Det", {{"x", F32, {2, 2}}}, {"y"}));
    expect_output(*one, 0, ElementType::F32, "[]");
}

TEST(OnnxOpsMisc, DetOfLargeOrDynamicMatricesIsUnsupported) {
    expect_error(single_node_model("Det", {{"x", F32, {7, 7}}}, {"y"}), ErrorKind::UNSUPPORTED,
                 "7x7");
    expect_error(single_node_model("Det", {{"x", F32, {-1, 3}}}, {"y"}), ErrorKind::UNSUPPORTED,
                 "static size");
    expect_error(single_node_model("Det", {{"x", F32, {2, 3}}}, {"y"}), ErrorKind::INVALID_ARGUMENT,
                 "2x3");
}

TEST(OnnxOpsMisc, DftOfRealInputPadsAnImaginaryPart) {
    auto m = read(single_node_model("DFT", {{"x", F32, {2, 8, 1}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}, {"DFT", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,8,2]");
}

TEST(OnnxOpsMisc, DftOnesidedIsRdft) {
    auto m = read(single_node_model("DFT", {{"x", F32, {2, 8, 1}}}, {"y"},
                                    [](auto& n) { set_attr(n, "onesided", std::int64_t{1}); }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Squeeze", 1}, {"RDFT", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,5,2]");
}

TEST(OnnxOpsMisc, EinsumEquationWithoutSpaces) {
    auto m = read(
        single_node_model("Einsum", {{"a", F32, {2, 3}}, {"b", F32, {3, 4}}}, {"y"},
                          [](auto& n) { set_attr(n, "equation", std::string("ij, jk -> ik")); }));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<std::string>("equation"), "ij,jk->ik");
    expect_output(*m, 0, ElementType::F32, "[2,4]");
}

TEST(OnnxOpsMisc, NonMaxSuppressionIsTrimmedToValidRows) {
    auto m = read(single_node_model(
        "NonMaxSuppression", {{"b", F32, {1, 6, 4}}, {"s", F32, {1, 1, 6}}, {"n", I64, {1}}}, {"y"},
        [](auto& n) { set_attr(n, "center_point_box", std::int64_t{1}); }, 11,
        {int64_tensor("n", {3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"NonMaxSuppression", 1}, {"Slice", 1}}));
    EXPECT_EQ(only(*m, "NonMaxSuppression").attrs.get<std::string>("box_encoding"), "center");
    // iou_threshold 0 and no score threshold (lowest float) are passed explicitly.
    EXPECT_EQ(only(*m, "NonMaxSuppression").inputs.size(), 5u);
    EXPECT_EQ(out(*m).type, ElementType::I64);
    ASSERT_TRUE(out(*m).shape.rank_is_static());
    EXPECT_EQ(out(*m).shape.rank(), 2);
    EXPECT_EQ(out(*m).shape[1], model::Dimension(3));
}

TEST(OnnxOpsMisc, MelWeightMatrixWithConstantInputsIsConstant) {
    auto m = read(single_node_model(
        "MelWeightMatrix",
        {{"n", I64, {}}, {"dft", I64, {}}, {"sr", I64, {}}, {"lo", F32, {}}, {"hi", F32, {}}},
        {"y"}, {}, 17,
        {int64_tensor("n", {8}, {}), int64_tensor("dft", {16}, {}), int64_tensor("sr", {8192}, {}),
         float_tensor("lo", {0.0f}, {}), float_tensor("hi", {4096.0f}, {})}));
    EXPECT_EQ(ops_of(*m), Histogram{});
    expect_output(*m, 0, ElementType::F32, "[9,8]");
}

TEST(OnnxOpsMisc, StftRealOnesidedIsFramedRdft) {
    // 128 samples, frames of 16 every 8: (128 - 16) / 8 + 1 = 15 frames, 16 / 2 + 1 = 9 bins.
    auto m = read(single_node_model(
        "STFT", {{"x", F32, {1, 128, 1}}, {"step", I64, {}}, {"", F32, {}}, {"len", I64, {}}},
        {"y"}, {}, 17, {int64_tensor("step", {8}, {}), int64_tensor("len", {16}, {})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Gather", 1}, {"Squeeze", 1}, {"RDFT", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,15,9,2]");
}

TEST(OnnxOpsMisc, RoiAlign16HalfPixelShiftsByHalf) {
    auto m = read(single_node_model(
        "RoiAlign", {{"x", F32, {1, 3, 8, 8}}, {"r", F32, {4, 4}}, {"b", I64, {4}}}, {"y"},
        [](auto& n) {
            set_attr(n, "output_height", std::int64_t{2});
            set_attr(n, "output_width", std::int64_t{3});
        },
        16));
    const auto& roi = only(*m, "ROIAlign");
    EXPECT_EQ(roi.attrs.get<std::string>("aligned_mode"), "half_pixel_for_nn");
    EXPECT_EQ(roi.attrs.get<std::int64_t>("sampling_ratio"), 0);
    expect_output(*m, 0, ElementType::F32, "[4,3,2,3]");
}

TEST(OnnxOpsMisc, MaxRoiPoolIsRoiPoolingMax) {
    auto m = read(single_node_model(
        "MaxRoiPool", {{"x", F32, {1, 3, 8, 8}}, {"r", F32, {4, 5}}}, {"y"},
        [](auto& n) {
            set_attr(n, "pooled_shape", I64s{2, 3});
        },
        1));
    EXPECT_EQ(only(*m, "ROIPooling").attrs.get<std::string>("method"), "max");
    expect_output(*m, 0, ElementType::F32, "[4,3,2,3]");
}

TEST(OnnxOpsMisc, MelWeightMatrixValuesMatchTheOnnxDefinition) {
    // 4 mel bins between 100 and 8000 Hz, dft_length 64 at 16 kHz: triangles over spectrogram
    // rows 1..19 (expected values from the ONNX reference implementation).
    auto m = read(single_node_model(
        "MelWeightMatrix",
        {{"n", I64, {}}, {"dft", I64, {}}, {"sr", I64, {}}, {"lo", F32, {}}, {"hi", F32, {}}},
        {"y"}, {}, 17,
        {int64_tensor("n", {4}, {}), int64_tensor("dft", {64}, {}), int64_tensor("sr", {16000}, {}),
         float_tensor("lo", {100.0f}, {}), float_tensor("hi", {8000.0f}, {})}));
    const auto* c = producer_of(*m, "y");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->type, "Constant");
    ASSERT_EQ(c->value.shape(), (model::Shape{33, 4}));
    std::vector<float> want(33 * 4, 0.0f);
    const struct {
        int row, col;
        float v;
    } nonzero[] = {{1, 0, 1.0f},      {2, 0, 2.0f / 3},  {2, 1, 1.0f / 3},  {3, 0, 1.0f / 3},
                   {3, 1, 2.0f / 3},  {4, 1, 1.0f},      {5, 1, 2.0f / 3},  {5, 2, 1.0f / 3},
                   {6, 1, 1.0f / 3},  {6, 2, 2.0f / 3},  {7, 2, 1.0f},      {8, 2, 5.0f / 6},
                   {8, 3, 1.0f / 6},  {9, 2, 4.0f / 6},  {9, 3, 2.0f / 6},  {10, 2, 0.5f},
                   {10, 3, 0.5f},     {11, 2, 2.0f / 6}, {11, 3, 4.0f / 6}, {12, 2, 1.0f / 6},
                   {12, 3, 5.0f / 6}, {13, 3, 1.0f},     {14, 3, 6.0f / 7}, {15, 3, 5.0f / 7},
                   {16, 3, 4.0f / 7}, {17, 3, 3.0f / 7}, {18, 3, 2.0f / 7}, {19, 3, 1.0f / 7}};
    for (const auto& e : nonzero)
        want[static_cast<std::size_t>(e.row * 4 + e.col)] = e.v;
    const float* got = c->value.data<float>();
    for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(got[i], want[i], 1e-6) << "row " << i / 4 << " col " << i % 4;
}

TEST(OnnxOpsMisc, SequenceOpsAreRefused) {
    auto proto = single_node_model("SequenceEmpty", {}, {"y"}, {}, 17);
    expect_error(proto, ErrorKind::UNSUPPORTED, "sequence types are not supported");
}

} // namespace
} // namespace loom::reader::onnx_fe::test
