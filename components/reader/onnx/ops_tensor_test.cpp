// Structural tests of the ONNX converters for shape and data movement (Reshape, Slice, Split, Pad,
// Gather, …): the native ops each ONNX node becomes, their key attributes, and the output types and
// shapes (computed by hand from the ONNX spec).
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/ops_test_util.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

TEST(OnnxOpsTensor, FlattenDynamicBatchUsesConstantTail) {
    auto m = read(single_node_model("Flatten", {{"x", F32, {-1, 3, 4, 5}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Reshape", 1}}));
    expect_output(*m, 0, ElementType::F32, "[?,60]");
}

TEST(OnnxOpsTensor, FlattenFullyDynamicComputesTheShape) {
    auto m = read(single_node_model("Flatten", {{"x", F32, {-1, 3, -1, 5}}}, {"y"},
                                    [](auto& n) { set_attr(n, "axis", std::int64_t{2}); }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["Reshape"], 1u);
    EXPECT_EQ(h["ShapeOf"], 1u);
    EXPECT_EQ(h["ReduceProd"], 2u);
    EXPECT_EQ(h["Concat"], 1u);
    EXPECT_EQ(out(*m).shape.rank(), 2);
}

TEST(OnnxOpsTensor, ExpandIsBidirectionalBroadcast) {
    auto m = read(single_node_model("Expand", {{"x", F32, {3, 1}}, {"shape", 7, {3}}}, {"y"}, {},
                                    17, {int64_tensor("shape", {2, 1, 6})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Broadcast", 1}}));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<std::string>("mode"), "bidirectional");
    expect_output(*m, 0, ElementType::F32, "[2,3,6]");
}

TEST(OnnxOpsTensor, GatherNegativeAxis) {
    auto m = read(single_node_model("Gather",
                                    {{"x", F32, {3, 4, 5}}, {"i", onnx::TensorProto::INT64, {2}}},
                                    {"y"}, [](auto& n) { set_attr(n, "axis", std::int64_t{-1}); }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Gather", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,4,2]");
}

TEST(OnnxOpsTensor, ConstantOfShapeBroadcastsTheValue) {
    auto m = read(single_node_model("ConstantOfShape", {{"s", 7, {2}}}, {"y"}, {}, 17,
                                    {int64_tensor("s", {2, 3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Broadcast", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsTensor, EyeLikeWithDtype) {
    auto m = read(single_node_model("EyeLike", {{"x", F32, {3, 4}}}, {"y"}, [](auto& n) {
        set_attr(n, "dtype", std::int64_t{onnx::TensorProto::INT32});
        set_attr(n, "k", std::int64_t{1});
    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Eye", 1}}));
    expect_output(*m, 0, ElementType::I32, "[3,4]");
}

TEST(OnnxOpsTensor, CompressWithoutAxisFlattens) {
    auto m = read(single_node_model("Compress", {{"x", F32, {2, 3}}, {"c", 9, {6}}}, {"y"}));
    auto h = ops_of(*m);
    EXPECT_EQ(h["NonZero"], 1u);
    EXPECT_EQ(h["Gather"], 1u);
    EXPECT_EQ(h["Reshape"], 1u);
    EXPECT_EQ(out(*m).shape.rank(), 1);
}

TEST(OnnxOpsTensor, DepthToSpaceModes) {
    auto m = read(single_node_model("DepthToSpace", {{"x", F32, {1, 8, 2, 3}}}, {"y"}, [](auto& n) {
        set_attr(n, "blocksize", std::int64_t{2});
        set_attr(n, "mode", std::string("CRD"));
    }));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<std::string>("mode"), "depth_first");
    expect_output(*m, 0, ElementType::F32, "[1,2,4,6]");
}

TEST(OnnxOpsTensor, GatherNDBatchDims) {
    auto m = read(single_node_model(
        "GatherND", {{"x", F32, {2, 3, 4}}, {"i", onnx::TensorProto::INT64, {2, 1}}}, {"y"},
        [](auto& n) { set_attr(n, "batch_dims", std::int64_t{1}); }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"GatherND", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,4]");
}

TEST(OnnxOpsTensor, ConcatNegativeAxis) {
    auto m = read(single_node_model("Concat", {{"a", F32, {2, 3}}, {"b", F32, {2, 5}}}, {"y"},
                                    [](auto& n) { set_attr(n, "axis", std::int64_t{-1}); }));
    expect_output(*m, 0, ElementType::F32, "[2,8]");
}

TEST(OnnxOpsTensor, PadOpset2Attributes) {
    // pads [begin0, begin1, end0, end1] = [0, 1, 2, 1]: [2,3] → [4,5].
    auto m = read(single_node_model(
        "Pad", {{"x", F32, {2, 3}}}, {"y"},
        [](auto& n) {
            set_attr(n, "pads", I64s{0, 1, 2, 1});
            set_attr(n, "value", 1.5f);
        },
        2));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}}));
    const auto& pad = only(*m, "Pad");
    EXPECT_EQ(pad.inputs.size(), 4u); // the pad value is passed
    EXPECT_EQ(pad.attrs.get<std::string>("pad_mode"), "constant");
    expect_output(*m, 0, ElementType::F32, "[4,5]");
}

// Found by fuzz_onnx: a float attribute stored into an integer constant out of its range (a cast
// with undefined behaviour) — saturated instead; NaN stores 0.
TEST(OnnxOpsTensor, PadValueOutOfAnIntegerTypesRangeSaturates) {
    const std::pair<float, std::int64_t> cases[] = {
        {-3.4e38f, std::numeric_limits<std::int64_t>::lowest()},
        {3.4e38f, std::numeric_limits<std::int64_t>::max()},
        {std::numeric_limits<float>::quiet_NaN(), 0},
        {-7.0f, -7}};
    for (const auto& [value, expected] : cases) {
        auto m = read(single_node_model(
            "Pad", {{"x", I64, {2, 3}}}, {"y"},
            [v = value](auto& n) {
                set_attr(n, "pads", I64s{0, 1, 2, 1});
                set_attr(n, "value", v);
            },
            2));
        const auto& pad = only(*m, "Pad");
        const auto* fill = pad.inputs.at(3).node;
        ASSERT_EQ(fill->type, "Constant");
        EXPECT_EQ(fill->value.to_i64().at(0), expected) << value;
    }
}

TEST(OnnxOpsTensor, PadOpset11InputsReflect) {
    auto m = read(single_node_model("Pad", {{"x", F32, {2, 3}}, {"pads", I64, {4}}}, {"y"},
                                    [](auto& n) { set_attr(n, "mode", std::string("reflect")); },
                                    11, {int64_tensor("pads", {0, 1, 1, 1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}}));
    const auto& pad = only(*m, "Pad");
    EXPECT_EQ(pad.inputs.size(), 3u);
    EXPECT_EQ(pad.attrs.get<std::string>("pad_mode"), "reflect");
    expect_output(*m, 0, ElementType::F32, "[3,5]");
}

TEST(OnnxOpsTensor, PadOpset11RuntimePadsAreSplit) {
    auto m =
        read(single_node_model("Pad", {{"x", F32, {2, 3}}, {"pads", I64, {4}}}, {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}, {"Split", 1}}));
    EXPECT_EQ(out(*m).type, ElementType::F32);
    EXPECT_EQ(out(*m).shape.rank(), 2);
}

TEST(OnnxOpsTensor, ReshapeCopiesZeroAndInfersMinusOne) {
    auto m = read(single_node_model("Reshape", {{"x", F32, {2, 3, 4}}, {"s", I64, {2}}}, {"y"}, {},
                                    13, {int64_tensor("s", {0, -1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Reshape", 1}}));
    EXPECT_TRUE(only(*m, "Reshape").attrs.get<bool>("special_zero"));
    expect_output(*m, 0, ElementType::F32, "[2,12]");
}

TEST(OnnxOpsTensor, ReshapeAllowZeroKeepsZero) {
    auto m = read(single_node_model("Reshape", {{"x", F32, {0, 3}}, {"s", I64, {2}}}, {"y"},
                                    [](auto& n) { set_attr(n, "allowzero", std::int64_t{1}); }, 14,
                                    {int64_tensor("s", {3, 0})}));
    EXPECT_FALSE(only(*m, "Reshape").attrs.get<bool>("special_zero"));
    expect_output(*m, 0, ElementType::F32, "[3,0]");
}

TEST(OnnxOpsTensor, ReshapeOpset1ShapeAttribute) {
    auto m = read(single_node_model(
        "Reshape", {{"x", F32, {2, 6}}}, {"y"},
        [](auto& n) {
            set_attr(n, "shape", I64s{3, -1});
        },
        1));
    expect_output(*m, 0, ElementType::F32, "[3,4]");
}

TEST(OnnxOpsTensor, Slice1Attributes) {
    auto m = read(single_node_model(
        "Slice", {{"x", F32, {5, 6}}}, {"y"},
        [](auto& n) {
            set_attr(n, "starts", I64s{1, 0});
            set_attr(n, "ends", I64s{3, -1});
        },
        1));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Slice", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,5]");
}

TEST(OnnxOpsTensor, Slice13NegativeStep) {
    // Axis 1 from the last element backwards with step -2: indices 5, 3, 1.
    auto m = read(single_node_model("Slice",
                                    {{"x", F32, {5, 6}},
                                     {"starts", I64, {1}},
                                     {"ends", I64, {1}},
                                     {"axes", I64, {1}},
                                     {"steps", I64, {1}}},
                                    {"y"}, {}, 13,
                                    {int64_tensor("starts", {-1}), int64_tensor("ends", {-1000}),
                                     int64_tensor("axes", {1}), int64_tensor("steps", {-2})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Slice", 1}}));
    EXPECT_EQ(only(*m, "Slice").inputs.size(), 5u);
    expect_output(*m, 0, ElementType::F32, "[5,3]");
}

TEST(OnnxOpsTensor, Split2AttributeLengths) {
    auto m = read(single_node_model(
        "Split", {{"x", F32, {3, 6}}}, {"a", "b"},
        [](auto& n) {
            set_attr(n, "axis", std::int64_t{1});
            set_attr(n, "split", I64s{2, 4});
        },
        2));
    EXPECT_EQ(ops_of(*m), (Histogram{{"VariadicSplit", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,2]");
    expect_output(*m, 1, ElementType::F32, "[3,4]");
}

// Found by fuzz_onnx: a Split naming two outputs with a one-element `split` made one output,
// and the reader named a second that did not exist (a write past the node's outputs).
TEST(OnnxOpsTensor, SplitNamingMoreOutputsThanItMakesIsRefused) {
    const auto bytes = single_node_model(
        "Split", {{"x", F32, {6}}}, {"a", "b"},
        [](auto& n) {
            set_attr(n, "axis", std::int64_t{0});
            set_attr(n, "split", I64s{6});
        },
        2);
    try {
        read(bytes);
        FAIL() << "a Split of one part named two outputs";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        EXPECT_NE(e.message().find("names 2 outputs; the operation makes 1"), std::string::npos)
            << e.what();
    }
}

TEST(OnnxOpsTensor, Split13EqualParts) {
    auto m = read(single_node_model("Split", {{"x", F32, {6, 3}}}, {"a", "b", "c"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Split", 1}}));
    EXPECT_EQ(only(*m, "Split").attrs.get<std::int64_t>("num_splits"), 3);
    for (std::size_t i = 0; i < 3; ++i)
        expect_output(*m, i, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsTensor, Split13InputLengths) {
    auto m = read(single_node_model("Split", {{"x", F32, {6, 3}}, {"s", I64, {2}}}, {"a", "b"}, {},
                                    13, {int64_tensor("s", {1, 5})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"VariadicSplit", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,3]");
    expect_output(*m, 1, ElementType::F32, "[5,3]");
}

TEST(OnnxOpsTensor, Squeeze11AxesAttribute) {
    auto m = read(single_node_model(
        "Squeeze", {{"x", F32, {1, 3, 1}}}, {"y"}, [](auto& n) { set_attr(n, "axes", I64s{0}); },
        11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Squeeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,1]");
}

TEST(OnnxOpsTensor, Squeeze13AxesInput) {
    auto m = read(single_node_model("Squeeze", {{"x", F32, {1, 3, 1}}, {"a", I64, {1}}}, {"y"}, {},
                                    13, {int64_tensor("a", {-1})}));
    expect_output(*m, 0, ElementType::F32, "[1,3]");
}

TEST(OnnxOpsTensor, Unsqueeze13NegativeAxes) {
    // Axes refer to the output rank 4: 0 and -1 → [1,3,4,1].
    auto m = read(single_node_model("Unsqueeze", {{"x", F32, {3, 4}}, {"a", I64, {2}}}, {"y"}, {},
                                    13, {int64_tensor("a", {0, -1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Unsqueeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,3,4,1]");
}

TEST(OnnxOpsTensor, TriluUpperMasksBelowDiagonal) {
    // Static matrix dims: the row/column index grids are constants.
    auto m = read(single_node_model("Trilu", {{"x", F32, {2, 3, 4}}}, {"y"}, {}, 14));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Add", 1}, {"GreaterEqual", 1}, {"Select", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsTensor, TriluDynamicDimsBuildIndexGrids) {
    auto m = read(single_node_model("Trilu", {{"x", F32, {2, -1, -1}}}, {"y"}, {}, 14));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ShapeOf", 1},
                                     {"Gather", 2},
                                     {"Range", 2},
                                     {"Unsqueeze", 1},
                                     {"Add", 1},
                                     {"GreaterEqual", 1},
                                     {"Select", 1}}));
    EXPECT_EQ(out(*m).shape.rank(), 3);
}

TEST(OnnxOpsTensor, TriluLowerWithK) {
    auto m = read(single_node_model("Trilu", {{"x", F32, {3, 3}}, {"k", I64, {}}}, {"y"},
                                    [](auto& n) { set_attr(n, "upper", std::int64_t{0}); }, 14,
                                    {int64_tensor("k", {-1}, {})}));
    EXPECT_EQ(ops_of(*m)["LessEqual"], 1u);
    expect_output(*m, 0, ElementType::F32, "[3,3]");
}

TEST(OnnxOpsTensor, ShapeWithStart) {
    auto m = read(single_node_model(
        "Shape", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "start", std::int64_t{1}); }, 15));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ShapeOf", 1}, {"Slice", 1}}));
    expect_output(*m, 0, ElementType::I64, "[2]");
}

TEST(OnnxOpsTensor, OneHotSplitsValues) {
    auto m = read(single_node_model("OneHot", {{"i", I64, {2, 3}}, {"d", I64, {}}, {"v", F32, {2}}},
                                    {"y"}, {}, 11,
                                    {int64_tensor("d", {5}, {}), float_tensor("v", {0.0f, 1.0f})}));
    EXPECT_EQ(ops_of(*m)["OneHot"], 1u);
    EXPECT_EQ(ops_of(*m)["Gather"], 2u);
    expect_output(*m, 0, ElementType::F32, "[2,3,5]");
}

TEST(OnnxOpsTensor, Split18NumOutputsLastChunkSmaller) {
    // ceil(7 / 3) = 3: parts 3, 3, 1.
    auto m = read(single_node_model(
        "Split", {{"x", F32, {7}}}, {"a", "b", "c"},
        [](auto& n) { set_attr(n, "num_outputs", std::int64_t{3}); }, 18));
    EXPECT_EQ(ops_of(*m), (Histogram{{"VariadicSplit", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3]");
    expect_output(*m, 1, ElementType::F32, "[3]");
    expect_output(*m, 2, ElementType::F32, "[1]");
}

} // namespace
} // namespace loom::reader::onnx_fe::test
