// Structural tests of the ONNX converters for reductions, ArgMax/ArgMin, TopK, CumSum and the
// softmax family: the native ops each ONNX node becomes, their key attributes, and the output types
// and shapes (computed by hand from the ONNX spec).
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/ops_test_util.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

TEST(OnnxOpsReduce, ArgMaxKeepDims) {
    auto keep = read(single_node_model("ArgMax", {{"x", F32, {2, 3, 4}}}, {"y"},
                                       [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }));
    EXPECT_EQ(ops_of(*keep), (Histogram{{"TopK", 1}}));
    expect_output(*keep, 0, ElementType::I64, "[2,1,4]");
    auto drop = read(single_node_model("ArgMax", {{"x", F32, {2, 3, 4}}}, {"y"}, [](auto& n) {
        set_attr(n, "axis", std::int64_t{1});
        set_attr(n, "keepdims", std::int64_t{0});
    }));
    EXPECT_EQ(ops_of(*drop), (Histogram{{"TopK", 1}, {"Squeeze", 1}}));
    expect_output(*drop, 0, ElementType::I64, "[2,4]");
}

TEST(OnnxOpsReduce, ArgMinSelectLastIndexReversesTheAxis) {
    auto m = read(single_node_model("ArgMin", {{"x", F32, {2, 3, 4}}}, {"y"}, [](auto& n) {
        set_attr(n, "axis", std::int64_t{-1});
        set_attr(n, "keepdims", std::int64_t{0});
        set_attr(n, "select_last_index", std::int64_t{1});
    }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["Slice"], 1u);
    EXPECT_EQ(h["TopK"], 1u);
    EXPECT_EQ(h["Subtract"], 2u);
    expect_output(*m, 0, ElementType::I64, "[2,3]");
}

TEST(OnnxOpsReduce, HardmaxOpset11FlattensAtAxis) {
    auto m = read(single_node_model("Hardmax", {{"x", F32, {2, 3, 4}}}, {"y"}, {}, 11));
    auto h = ops_of(*m);
    EXPECT_EQ(h["TopK"], 1u);
    EXPECT_EQ(h["OneHot"], 1u);
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsReduce, GlobalAveragePoolDynamicRank) {
    onnx::ModelProto proto = single_node_model("GlobalAveragePool", {{"x", F32, {1}}}, {"y"});
    proto.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->clear_shape();
    auto m = read(proto);
    auto h = ops_of(*m);
    EXPECT_EQ(h["ReduceMean"], 1u);
    EXPECT_EQ(h["Range"], 1u);
}

TEST(OnnxOpsReduce, GlobalLpPoolP2IsReduceL2) {
    auto m = read(single_node_model("GlobalLpPool", {{"x", F32, {1, 2, 4, 4}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceL2", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,2,1,1]");
}

TEST(OnnxOpsReduce, LogSoftmaxOpset11InnerAxisFlattens) {
    auto m = read(single_node_model("LogSoftmax", {{"x", F32, {2, 3, 4}}}, {"y"}, {}, 11));
    auto h = ops_of(*m);
    EXPECT_EQ(h["LogSoftmax"], 1u);
    EXPECT_EQ(h["Reshape"], 2u);
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
    auto last = read(single_node_model(
        "LogSoftmax", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{2}); }, 11));
    EXPECT_EQ(ops_of(*last), (Histogram{{"LogSoftmax", 1}}));
}

TEST(OnnxOpsReduce, CumSumWithOneElementAxisTensor) {
    auto m = read(single_node_model("CumSum", {{"x", F32, {2, 3}}, {"a", 7, {1}}}, {"y"},
                                    [](auto& n) { set_attr(n, "reverse", std::int64_t{1}); }, 14,
                                    {int64_tensor("a", {1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Squeeze", 1}, {"CumSum", 1}}));
    EXPECT_TRUE(producer_of(*m, "y")->attrs.get<bool>("reverse"));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsReduce, Softmax11FlattensToTwoDims) {
    auto m = read(single_node_model(
        "Softmax", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Reshape", 2}, {"Softmax", 1}}));
    EXPECT_EQ(only(*m, "Softmax").attrs.get<std::int64_t>("axis"), 1);
    EXPECT_EQ(only(*m, "Softmax").inputs[0].node->outputs[0].shape.to_string(), "[2,12]");
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsReduce, Softmax11OnLastAxisIsPlain) {
    auto m = read(single_node_model("Softmax", {{"x", F32, {2, 3}}}, {"y"}, {}, 11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Softmax", 1}}));
}

TEST(OnnxOpsReduce, Softmax13SingleAxis) {
    auto m = read(single_node_model(
        "Softmax", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Softmax", 1}}));
    const auto& sm = only(*m, "Softmax");
    EXPECT_EQ(sm.version, "opset8");
    EXPECT_EQ(sm.attrs.get<std::int64_t>("axis"), 1);
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsReduce, TopK1AttributeK) {
    auto m = read(single_node_model(
        "TopK", {{"x", F32, {3, 5}}}, {"v", "i"},
        [](auto& n) { set_attr(n, "k", std::int64_t{2}); }, 1));
    EXPECT_EQ(ops_of(*m), (Histogram{{"TopK", 1}}));
    const auto& topk = only(*m, "TopK");
    EXPECT_EQ(topk.attrs.get<std::string>("mode"), "max");
    EXPECT_EQ(topk.attrs.get<std::string>("sort"), "value");
    expect_output(*m, 0, ElementType::F32, "[3,2]");
    expect_output(*m, 1, ElementType::I64, "[3,2]");
}

TEST(OnnxOpsReduce, TopK11InputKSmallest) {
    auto m = read(single_node_model("TopK", {{"x", F32, {4, 5}}, {"k", I64, {1}}}, {"v", "i"},
                                    [](auto& n) {
                                        set_attr(n, "axis", std::int64_t{0});
                                        set_attr(n, "largest", std::int64_t{0});
                                    },
                                    11, {int64_tensor("k", {3})}));
    const auto& topk = only(*m, "TopK");
    EXPECT_EQ(topk.attrs.get<std::string>("mode"), "min");
    EXPECT_EQ(topk.attrs.get<std::int64_t>("axis"), 0);
    expect_output(*m, 0, ElementType::F32, "[3,5]");
    expect_output(*m, 1, ElementType::I64, "[3,5]");
}

TEST(OnnxOpsReduce, ReduceSum1AxesAttribute) {
    auto m = read(single_node_model(
        "ReduceSum", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) {
            set_attr(n, "axes", I64s{1});
            set_attr(n, "keepdims", std::int64_t{0});
        },
        1));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceSum", 1}}));
    EXPECT_FALSE(only(*m, "ReduceSum").attrs.get<bool>("keep_dims"));
    expect_output(*m, 0, ElementType::F32, "[2,4]");
}

TEST(OnnxOpsReduce, ReduceSum13AxesInput) {
    auto m = read(single_node_model("ReduceSum", {{"x", F32, {2, 3, 4}}, {"a", I64, {1}}}, {"y"},
                                    {}, 13, {int64_tensor("a", {-2})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceSum", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,1,4]");
}

TEST(OnnxOpsReduce, ReduceSum13WithoutAxesReducesAll) {
    auto m = read(single_node_model("ReduceSum", {{"x", F32, {2, 3, 4}}}, {"y"}, {}, 13));
    expect_output(*m, 0, ElementType::F32, "[1,1,1]");
}

TEST(OnnxOpsReduce, ReduceSum13NoopWithEmptyAxesPassesThrough) {
    auto m = read(single_node_model(
        "ReduceSum", {{"x", F32, {2, 3}}}, {"y"},
        [](auto& n) { set_attr(n, "noop_with_empty_axes", std::int64_t{1}); }, 13));
    EXPECT_EQ(ops_of(*m), Histogram{});
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsReduce, ReduceLogSumExpIsStable) {
    auto m = read(single_node_model(
        "ReduceLogSumExp", {{"x", F32, {2, 3}}}, {"y"},
        [](auto& n) {
            set_attr(n, "axes", I64s{1});
            set_attr(n, "keepdims", std::int64_t{0});
        },
        13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceMax", 1},
                                     {"Subtract", 1},
                                     {"Exp", 1},
                                     {"ReduceSum", 1},
                                     {"Log", 1},
                                     {"Add", 1},
                                     {"Squeeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2]");
}

TEST(OnnxOpsReduce, Softmax11DynamicShapeFlattensWithShapeOf) {
    auto m = read(single_node_model(
        "Softmax", {{"x", F32, {-1, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ShapeOf", 1},
                                     {"Slice", 1},
                                     {"ReduceProd", 1},
                                     {"Concat", 1},
                                     {"Reshape", 2},
                                     {"Softmax", 1}}));
    EXPECT_EQ(out(*m).type, ElementType::F32);
    EXPECT_EQ(out(*m).shape.rank(), 3);
}

} // namespace
} // namespace loom::reader::onnx_fe::test
