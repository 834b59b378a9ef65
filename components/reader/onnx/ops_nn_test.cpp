// Structural tests of the ONNX converters for convolutions, pooling, MatMul/Gemm, normalizations
// and Resize: the native ops each ONNX node becomes, their key attributes, and the output types and
// shapes (computed by hand from the ONNX spec).
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/ops_test_util.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

TEST(OnnxOpsNn, ConvGroupBiasSameUpper) {
    auto m = read(single_node_model(
        "Conv", {{"x", F32, {1, 4, 5, 5}}, {"w", F32, {6, 2, 3, 3}}, {"b", F32, {6}}}, {"y"},
        [](auto& n) {
            set_attr(n, "group", std::int64_t{2});
            set_attr(n, "auto_pad", std::string("SAME_UPPER"));
            set_attr(n, "strides", I64s{2, 2});
        }));
    // Weights [6,2,3,3] → [2,3,2,3,3]; bias [6] → [1,6,1,1]; SAME: ceil(5/2) = 3.
    EXPECT_EQ(ops_of(*m), (Histogram{{"GroupConvolution", 1}, {"Reshape", 2}, {"Add", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,6,3,3]");
    const auto* conv = m->results()[0]->inputs[0].node->inputs[0].node;
    ASSERT_TRUE(conv->is("GroupConvolution"));
    EXPECT_EQ(conv->attrs.get<std::string>("auto_pad"), "same_upper");
    EXPECT_EQ(conv->inputs[1].node->outputs[0].shape.to_string(), "[2,3,2,3,3]");
}

TEST(OnnxOpsNn, ConvDefaultsExplicitPads) {
    auto m = read(single_node_model("Conv", {{"x", F32, {1, 3, 7, 7}}, {"w", F32, {8, 3, 3, 3}}},
                                    {"y"}, [](auto& n) {
                                        set_attr(n, "pads", I64s{1, 1, 1, 1});
                                    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Convolution", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,8,7,7]");
}

TEST(OnnxOpsNn, ConvTransposeOutputPadding) {
    // (3-1)*3 + 1 + 3 = 10 and (3-1)*2 + 1 + 3 = 8.
    auto m = read(single_node_model(
        "ConvTranspose", {{"x", F32, {1, 1, 3, 3}}, {"w", F32, {1, 2, 3, 3}}}, {"y"}, [](auto& n) {
            set_attr(n, "strides", I64s{3, 2});
            set_attr(n, "output_padding", I64s{1, 1});
        }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ConvolutionBackpropData", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,2,10,8]");
}

TEST(OnnxOpsNn, ConvTransposeOutputShapeBecomesExplicitPads) {
    auto m = read(single_node_model(
        "ConvTranspose", {{"x", F32, {1, 1, 3, 3}}, {"w", F32, {1, 2, 3, 3}}}, {"y"}, [](auto& n) {
            set_attr(n, "strides", I64s{3, 2});
            set_attr(n, "output_shape", I64s{10, 8});
        }));
    expect_output(*m, 0, ElementType::F32, "[1,2,10,8]");
    const auto* node = producer_of(*m, "y");
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->attrs.get<std::string>("auto_pad"), "explicit");
    EXPECT_EQ(node->inputs.size(), 2u);
    // 3*(3-1) + 3 = 9 < 10: the missing row comes from output_padding, as in ONNX's examples.
    EXPECT_EQ(node->attrs.get<I64s>("output_padding"), (I64s{1, 1}));
}

TEST(OnnxOpsNn, ConvTransposeGroupedWithBiasAndDynamicSpatialSame) {
    auto m = read(single_node_model(
        "ConvTranspose", {{"x", F32, {1, 4, -1, -1}}, {"w", F32, {4, 3, 3, 3}}, {"b", F32, {6}}},
        {"y"}, [](auto& n) {
            set_attr(n, "group", std::int64_t{2});
            set_attr(n, "strides", I64s{2, 2});
            set_attr(n, "auto_pad", std::string("SAME_UPPER"));
        }));
    // Spatial sizes unknown: the output shape (input × strides) is computed in the graph.
    auto h = ops_of(*m);
    EXPECT_EQ(h["GroupConvolutionBackpropData"], 1u);
    EXPECT_EQ(h["ShapeOf"], 1u);
    EXPECT_EQ(h["Add"], 1u);
    EXPECT_EQ(out(*m).type, ElementType::F32);
    ASSERT_TRUE(out(*m).shape.rank_is_static());
    EXPECT_EQ(out(*m).shape.rank(), 4);
    EXPECT_EQ(out(*m).shape[1], model::Dimension(6));
}

TEST(OnnxOpsNn, GemmTransAAlphaBetaC) {
    auto m = read(single_node_model(
        "Gemm", {{"a", F32, {4, 3}}, {"b", F32, {4, 5}}, {"c", F32, {1, 5}}}, {"y"}, [](auto& n) {
            set_attr(n, "transA", std::int64_t{1});
            set_attr(n, "alpha", 0.5f);
            set_attr(n, "beta", 2.0f);
        }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MatMul", 1}, {"Multiply", 2}, {"Add", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,5]");
}

TEST(OnnxOpsNn, BatchNormalizationInference) {
    auto m = read(single_node_model("BatchNormalization",
                                    {{"x", F32, {2, 3, 4, 4}},
                                     {"s", F32, {3}},
                                     {"b", F32, {3}},
                                     {"mean", F32, {3}},
                                     {"var", F32, {3}}},
                                    {"y"}, {}, 15));
    EXPECT_EQ(ops_of(*m), (Histogram{{"BatchNormInference", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4,4]");
    EXPECT_EQ(producer_of(*m, "y")->version, "opset5");
}

TEST(OnnxOpsNn, BatchNormalizationOpset6NonSpatialIsDecomposed) {
    auto m = read(single_node_model(
        "BatchNormalization",
        {{"x", F32, {2, 3, 4}},
         {"s", F32, {3, 4}},
         {"b", F32, {3, 4}},
         {"mean", F32, {3, 4}},
         {"var", F32, {3, 4}}},
        {"y"},
        [](auto& n) {
            set_attr(n, "spatial", std::int64_t{0});
            set_attr(n, "is_test", std::int64_t{1});
        },
        6));
    EXPECT_EQ(
        ops_of(*m),
        (Histogram{{"Add", 2}, {"Sqrt", 1}, {"Subtract", 1}, {"Divide", 1}, {"Multiply", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

// training_mode=1 normalises with the batch's statistics and returns the updated running ones.
TEST(OnnxOpsNn, BatchNormalizationTrainingModeUsesBatchStatistics) {
    auto m = read(single_node_model(
        "BatchNormalization",
        {{"x", F32, {2, 3, 4, 4}},
         {"s", F32, {3}},
         {"b", F32, {3}},
         {"mean", F32, {3}},
         {"var", F32, {3}}},
        {"y", "rm", "rv"}, [](auto& n) { set_attr(n, "training_mode", std::int64_t{1}); }, 15));
    EXPECT_EQ(ops_of(*m).count("BatchNormInference"), 0u);
    EXPECT_EQ(ops_of(*m).at("ReduceMean"), 2u);
    expect_output(*m, 0, ElementType::F32, "[2,3,4,4]");
    expect_output(*m, 1, ElementType::F32, "[3]");
    expect_output(*m, 2, ElementType::F32, "[3]");
}

TEST(OnnxOpsNn, InstanceNormalization) {
    auto m = read(single_node_model("InstanceNormalization",
                                    {{"x", F32, {2, 3, 4, 5}}, {"s", F32, {3}}, {"b", F32, {3}}},
                                    {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MVN", 1}, {"Multiply", 1}, {"Add", 1}, {"Reshape", 2}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4,5]");
    for (auto* n : m->nodes())
        if (n->is("MVN")) {
            ASSERT_NE(n->inputs[1].node->value.size(), 0);
            EXPECT_EQ(n->inputs[1].node->value.to_i64(), (I64s{2, 3}));
            EXPECT_EQ(n->attrs.get<std::string>("eps_mode"), "inside_sqrt");
        }
}

TEST(OnnxOpsNn, LayerNormalizationFusedForm) {
    auto m = read(single_node_model(
        "LayerNormalization", {{"x", F32, {2, 3, 4}}, {"s", F32, {4}}, {"b", F32, {4}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MVN", 1}, {"Multiply", 1}, {"Add", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsNn, LayerNormalizationStatisticsOutputs) {
    auto m = read(single_node_model(
        "LayerNormalization", {{"x", F32, {2, 3, 4}}, {"s", F32, {3, 4}}}, {"y", "mean", "inv"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
    expect_output(*m, 1, ElementType::F32, "[2,1,1]");
    expect_output(*m, 2, ElementType::F32, "[2,1,1]");
}

TEST(OnnxOpsNn, LayerNormalizationAbsurdAxisIsAnError) {
    // Found by tests/fuzz: a corrupted axis once made the converter build ~10^10 axes.
    for (std::int64_t axis : {std::int64_t{-11811160067}, std::int64_t{3}, std::int64_t{-4}})
        expect_error(single_node_model("LayerNormalization",
                                       {{"x", F32, {2, 3, 4}}, {"s", F32, {4}}}, {"y"},
                                       [axis](auto& n) { set_attr(n, "axis", axis); }),
                     ErrorKind::INVALID_ARGUMENT, "out of range");
}

TEST(OnnxOpsNn, AveragePoolCeilAndPadding) {
    auto m = read(single_node_model("AveragePool", {{"x", F32, {1, 1, 5, 5}}}, {"y"}, [](auto& n) {
        set_attr(n, "kernel_shape", I64s{2, 2});
        set_attr(n, "strides", I64s{2, 2});
        set_attr(n, "ceil_mode", std::int64_t{1});
    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"AvgPool", 1}}));
    EXPECT_TRUE(producer_of(*m, "y")->attrs.get<bool>("exclude-pad"));
    expect_output(*m, 0, ElementType::F32, "[1,1,3,3]");
}

TEST(OnnxOpsNn, LpPoolIsWindowSumOfPowers) {
    auto m = read(single_node_model("LpPool", {{"x", F32, {1, 2, 4, 4}}}, {"y"}, [](auto& n) {
        set_attr(n, "kernel_shape", I64s{2, 2});
        set_attr(n, "p", std::int64_t{3});
    }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["AvgPool"], 1u);
    EXPECT_EQ(h["Power"], 2u);
    EXPECT_FALSE(
        producer_of(*m, "y")->inputs[0].node->inputs[0].node->attrs.get<bool>("exclude-pad"));
    expect_output(*m, 0, ElementType::F32, "[1,2,3,3]");
}

TEST(OnnxOpsNn, MatMulBatchBroadcast) {
    // [2,1,3,4] x [5,4,6]: batch dims broadcast to [2,5], matrix [3,6].
    auto m = read(single_node_model("MatMul", {{"a", F32, {2, 1, 3, 4}}, {"b", F32, {5, 4, 6}}},
                                    {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MatMul", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,5,3,6]");
}

TEST(OnnxOpsNn, MaxPoolWithIndices) {
    auto m = read(single_node_model(
        "MaxPool", {{"x", F32, {1, 2, 5, 5}}}, {"y", "i"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2, 2});
            set_attr(n, "strides", I64s{2, 2});
            set_attr(n, "ceil_mode", std::int64_t{1});
        },
        12));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MaxPool", 1}}));
    const auto& pool = only(*m, "MaxPool");
    EXPECT_EQ(pool.version, "opset8");
    EXPECT_EQ(pool.attrs.get<std::string>("rounding_type"), "ceil");
    EXPECT_EQ(pool.attrs.get<I64s>("kernel"), (I64s{2, 2}));
    EXPECT_EQ(pool.attrs.get<std::int64_t>("axis"), 0);
    // ceil((5 - 2) / 2) + 1 = 3
    expect_output(*m, 0, ElementType::F32, "[1,2,3,3]");
    expect_output(*m, 1, ElementType::I64, "[1,2,3,3]");
}

TEST(OnnxOpsNn, MaxPool2dColumnMajorIndicesAreRemapped) {
    auto m = read(single_node_model(
        "MaxPool", {{"x", F32, {1, 1, 4, 4}}}, {"y", "i"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2, 2});
            set_attr(n, "storage_order", std::int64_t{1});
        },
        12));
    // index - in_plane + (in_plane mod W) * H + in_plane / W, in_plane = index mod (H * W)
    EXPECT_EQ(ops_of(*m), (Histogram{{"MaxPool", 1},
                                     {"FloorMod", 2},
                                     {"Multiply", 2},
                                     {"Divide", 1},
                                     {"Subtract", 1},
                                     {"Add", 2}}));
    expect_output(*m, 1, ElementType::I64, "[1,1,3,3]");
}

TEST(OnnxOpsNn, MaxPool1dColumnMajorIndicesAreUnsupported) {
    auto proto = single_node_model(
        "MaxPool", {{"x", F32, {1, 1, 4}}}, {"y", "i"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2});
            set_attr(n, "storage_order", std::int64_t{1});
        },
        12);
    expect_error(proto, ErrorKind::UNSUPPORTED, "storage_order");
}

TEST(OnnxOpsNn, Resize13Scales) {
    auto m = read(
        single_node_model("Resize", {{"x", F32, {1, 1, 2, 2}}, {"", F32, {}}, {"scales", F32, {4}}},
                          {"y"}, [](auto& n) { set_attr(n, "mode", std::string("linear")); }, 13,
                          {float_tensor("scales", {1, 1, 2, 3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Interpolate", 1}}));
    const auto& node = only(*m, "Interpolate");
    EXPECT_EQ(node.version, "opset11");
    EXPECT_EQ(node.attrs.get<std::string>("mode"), "linear_onnx");
    EXPECT_EQ(node.attrs.get<std::string>("shape_calculation_mode"), "scales");
    EXPECT_EQ(node.attrs.get<std::string>("coordinate_transformation_mode"), "half_pixel");
    expect_output(*m, 0, ElementType::F32, "[1,1,4,6]");
}

TEST(OnnxOpsNn, Resize13Sizes) {
    auto m = read(single_node_model(
        "Resize", {{"x", F32, {1, 1, 4, 4}}, {"", F32, {}}, {"", F32, {}}, {"sizes", I64, {4}}},
        {"y"},
        [](auto& n) {
            set_attr(n, "mode", std::string("nearest"));
            set_attr(n, "nearest_mode", std::string("floor"));
            set_attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
        },
        13, {int64_tensor("sizes", {1, 1, 2, 3})}));
    const auto& node = only(*m, "Interpolate");
    EXPECT_EQ(node.attrs.get<std::string>("shape_calculation_mode"), "sizes");
    EXPECT_EQ(node.attrs.get<std::string>("nearest_mode"), "floor");
    EXPECT_EQ(node.attrs.get<std::string>("coordinate_transformation_mode"), "asymmetric");
    expect_output(*m, 0, ElementType::F32, "[1,1,2,3]");
}

TEST(OnnxOpsNn, ResizeTfCropAndResizeIsUnsupported) {
    auto proto = single_node_model(
        "Resize", {{"x", F32, {1, 1, 2, 2}}, {"roi", F32, {8}}, {"scales", F32, {4}}}, {"y"},
        [](auto& n) {
            set_attr(n, "coordinate_transformation_mode", std::string("tf_crop_and_resize"));
        },
        13, {float_tensor("scales", {1, 1, 2, 2})});
    expect_error(proto, ErrorKind::UNSUPPORTED, "tf_crop_and_resize");
}

TEST(OnnxOpsNn, Upsample9NearestIsAsymmetricSimple) {
    auto m = read(single_node_model("Upsample", {{"x", F32, {1, 1, 2, 2}}, {"s", F32, {4}}}, {"y"},
                                    {}, 9, {float_tensor("s", {1, 1, 2, 3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Interpolate", 1}}));
    const auto& node = only(*m, "Interpolate");
    EXPECT_EQ(node.attrs.get<std::string>("mode"), "nearest");
    EXPECT_EQ(node.attrs.get<std::string>("nearest_mode"), "simple");
    EXPECT_EQ(node.attrs.get<std::string>("coordinate_transformation_mode"), "asymmetric");
    expect_output(*m, 0, ElementType::F32, "[1,1,4,6]");
}

TEST(OnnxOpsNn, MaxUnpoolScattersIntoZeros) {
    // Default output: (2 - 1) * 2 + 2 = 4 per spatial dim.
    auto m = read(single_node_model(
        "MaxUnpool", {{"x", F32, {1, 1, 2, 2}}, {"i", I64, {1, 1, 2, 2}}}, {"y"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2, 2});
            set_attr(n, "strides", I64s{2, 2});
        },
        11));
    EXPECT_EQ(
        ops_of(*m),
        (Histogram{
            {"ReduceProd", 1}, {"Broadcast", 1}, {"Reshape", 3}, {"ScatterElementsUpdate", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,1,4,4]");
}

// With output_shape the indices still count positions of the default shape; zeros pad the end.
TEST(OnnxOpsNn, MaxUnpoolWithOutputShapePadsTheDefaultShape) {
    auto m = read(single_node_model(
        "MaxUnpool", {{"x", F32, {1, 1, 2, 2}}, {"i", I64, {1, 1, 2, 2}}, {"shape", I64, {4}}},
        {"y"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2, 2});
            set_attr(n, "strides", I64s{2, 2});
        },
        11));
    EXPECT_EQ(ops_of(*m).at("Pad"), 1u);
    EXPECT_EQ(ops_of(*m).at("ScatterElementsUpdate"), 1u);
}

} // namespace
} // namespace loom::reader::onnx_fe::test
