// Structural tests of the ONNX quantization converters (QuantizeLinear, DequantizeLinear, QLinear*,
// *Integer): the native ops each ONNX node becomes, their key attributes, and the output types and
// shapes (computed by hand from the ONNX spec).
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/ops_test_util.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

TEST(OnnxOpsQuant, DequantizeLinearPerAxis) {
    auto m = read(single_node_model("DequantizeLinear",
                                    {{"x", onnx::TensorProto::UINT8, {2, 3, 4}},
                                     {"scale", F32, {3}},
                                     {"zp", onnx::TensorProto::UINT8, {3}}},
                                    {"y"}, {}, 13));
    // scale and zero point [3] → [3,1] so they align with axis 1.
    EXPECT_EQ(ops_of(*m),
              (Histogram{{"Convert", 2}, {"Unsqueeze", 2}, {"Subtract", 1}, {"Multiply", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsQuant, DequantizeLinearPerTensor) {
    auto m = read(single_node_model("DequantizeLinear",
                                    {{"x", onnx::TensorProto::INT8, {5}}, {"scale", F32, {}}},
                                    {"y"}, {}, 10));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Convert", 1}, {"Multiply", 1}}));
    expect_output(*m, 0, ElementType::F32, "[5]");
}

TEST(OnnxOpsQuant, ConvIntegerShiftsByZeroPointsInI32) {
    auto m = read(single_node_model("ConvInteger",
                                    {{"x", onnx::TensorProto::UINT8, {1, 1, 3, 3}},
                                     {"w", onnx::TensorProto::UINT8, {2, 1, 2, 2}},
                                     {"xz", onnx::TensorProto::UINT8, {}},
                                     {"wz", onnx::TensorProto::UINT8, {2}}},
                                    {"y"}));
    EXPECT_EQ(ops_of(*m),
              (Histogram{{"Convert", 4}, {"Subtract", 2}, {"Reshape", 1}, {"Convolution", 1}}));
    expect_output(*m, 0, ElementType::I32, "[1,2,2,2]");
}

TEST(OnnxOpsQuant, QuantizeLinear13PerAxis) {
    auto m = read(single_node_model(
        "QuantizeLinear", {{"x", F32, {2, 3, 4}}, {"s", F32, {3}}, {"zp", U8, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 13,
        {float_tensor("s", {0.5f, 1.0f, 2.0f}), u8_tensor("zp", {0, 128, 255}, {3})}));
    // scale and zero point [3] become [3,1] to broadcast along axis 1 of [2,3,4].
    EXPECT_EQ(ops_of(*m), (Histogram{{"Divide", 1},
                                     {"Round", 1},
                                     {"Add", 1},
                                     {"Clamp", 1},
                                     {"Convert", 2},
                                     {"Unsqueeze", 2}}));
    EXPECT_EQ(only(*m, "Round").attrs.get<std::string>("mode"), "half_to_even");
    const auto& clamp = only(*m, "Clamp");
    EXPECT_EQ(clamp.attrs.get<double>("min"), 0.0);
    EXPECT_EQ(clamp.attrs.get<double>("max"), 255.0);
    expect_output(*m, 0, ElementType::U8, "[2,3,4]");
}

TEST(OnnxOpsQuant, QuantizeLinear10WithoutZeroPointIsU8) {
    auto m = read(single_node_model("QuantizeLinear", {{"x", F32, {4}}, {"s", F32, {}}}, {"y"}, {},
                                    10, {float_tensor("s", {0.1f}, {})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Divide", 1}, {"Round", 1}, {"Clamp", 1}, {"Convert", 1}}));
    expect_output(*m, 0, ElementType::U8, "[4]");
}

TEST(OnnxOpsQuant, MatMulIntegerComputesInI32) {
    auto m = read(single_node_model("MatMulInteger",
                                    {{"a", U8, {2, 3}}, {"b", U8, {3, 4}}, {"azp", U8, {}}}, {"y"},
                                    {}, 10, {u8_tensor("azp", {12}, {})}));
    expect_output(*m, 0, ElementType::I32, "[2,4]");
    EXPECT_EQ(ops_of(*m)["MatMul"], 1u);
    EXPECT_EQ(ops_of(*m)["Subtract"], 1u);
}

TEST(OnnxOpsQuant, QLinearConvPerChannelWeights) {
    auto m = read(single_node_model("QLinearConv",
                                    {{"x", U8, {1, 1, 5, 5}},
                                     {"xs", F32, {}},
                                     {"xz", U8, {}},
                                     {"w", U8, {2, 1, 3, 3}},
                                     {"ws", F32, {2}},
                                     {"wz", U8, {2}},
                                     {"ys", F32, {}},
                                     {"yz", U8, {}}},
                                    {"y"}, {}, 10,
                                    {float_tensor("xs", {0.5f}, {}), u8_tensor("xz", {10}, {}),
                                     float_tensor("ws", {0.1f, 0.2f}), u8_tensor("wz", {0, 3}, {2}),
                                     float_tensor("ys", {0.25f}, {}), u8_tensor("yz", {7}, {})}));
    EXPECT_EQ(ops_of(*m)["Convolution"], 1u);
    EXPECT_EQ(ops_of(*m)["Unsqueeze"], 2u); // w scale and zero point → [2,1,1,1]
    expect_output(*m, 0, ElementType::U8, "[1,2,3,3]");
}

} // namespace
} // namespace loom::reader::onnx_fe::test
