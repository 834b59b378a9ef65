// Structural tests of the ONNX converters Abs … LpPool: the native ops each ONNX node becomes
// and the output types and shapes (computed by hand from the ONNX spec).
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/onnx_test_builder.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

using Histogram = std::map<std::string, std::size_t>;
using I64s = std::vector<std::int64_t>;
constexpr auto F32 = onnx::TensorProto::FLOAT;

// Node counts per type, without the interface and constants.
Histogram ops_of(const model::Model& m) {
    Histogram h;
    for (const auto& [type, n] : m.histogram())
        if (type != "Parameter" && type != "Result" && type != "Constant") h[type] = n;
    return h;
}

// Type and shape of graph output `i`.
const model::OutputInfo& out(const model::Model& m, std::size_t i = 0) {
    const auto& v = m.results().at(i)->inputs.at(0);
    return v.node->outputs.at(v.index);
}

void expect_output(const model::Model& m, std::size_t i, ElementType type, const char* shape) {
    EXPECT_EQ(out(m, i).type, type) << "output " << i;
    EXPECT_EQ(out(m, i).shape.to_string(), shape) << "output " << i;
}

void expect_error(const onnx::ModelProto& proto, ErrorKind kind, const std::string& needle) {
    try {
        read(proto);
        FAIL() << "expected an error mentioning '" << needle << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(e.message().find(needle), std::string::npos) << e.what();
    }
}

void set_strings(onnx::NodeProto& node, const std::string& name,
                 const std::vector<std::string>& values) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& v : values)
        a->add_strings(v);
}

TEST(OnnxOpsAL, AddOpset6LegacyBroadcastWithAxis) {
    // B [3,4] aligned at axis 1 of A [2,3,4,5]: B gets a trailing 1-dim.
    auto m = read(single_node_model(
        "Add", {{"a", F32, {2, 3, 4, 5}}, {"b", F32, {3, 4}}}, {"y"},
        [](auto& n) {
            set_attr(n, "broadcast", std::int64_t{1});
            set_attr(n, "axis", std::int64_t{1});
        },
        6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Add", 1}, {"Unsqueeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4,5]");
}

TEST(OnnxOpsAL, AddOpset6SuffixBroadcastNeedsNoReshape) {
    auto m = read(single_node_model(
        "Add", {{"a", F32, {2, 3}}, {"b", F32, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "broadcast", std::int64_t{1}); }, 6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Add", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsAL, ConvGroupBiasSameUpper) {
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

TEST(OnnxOpsAL, ConvDefaultsExplicitPads) {
    auto m = read(single_node_model("Conv", {{"x", F32, {1, 3, 7, 7}}, {"w", F32, {8, 3, 3, 3}}},
                                    {"y"}, [](auto& n) {
                                        set_attr(n, "pads", I64s{1, 1, 1, 1});
                                    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Convolution", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,8,7,7]");
}

TEST(OnnxOpsAL, ConvTransposeOutputPadding) {
    // (3-1)*3 + 1 + 3 = 10 and (3-1)*2 + 1 + 3 = 8.
    auto m = read(single_node_model(
        "ConvTranspose", {{"x", F32, {1, 1, 3, 3}}, {"w", F32, {1, 2, 3, 3}}}, {"y"}, [](auto& n) {
            set_attr(n, "strides", I64s{3, 2});
            set_attr(n, "output_padding", I64s{1, 1});
        }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ConvolutionBackpropData", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,2,10,8]");
}

TEST(OnnxOpsAL, ConvTransposeOutputShapeBecomesExplicitPads) {
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

TEST(OnnxOpsAL, ConvTransposeGroupedWithBiasAndDynamicSpatialSame) {
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

TEST(OnnxOpsAL, GemmTransAAlphaBetaC) {
    auto m = read(single_node_model(
        "Gemm", {{"a", F32, {4, 3}}, {"b", F32, {4, 5}}, {"c", F32, {1, 5}}}, {"y"}, [](auto& n) {
            set_attr(n, "transA", std::int64_t{1});
            set_attr(n, "alpha", 0.5f);
            set_attr(n, "beta", 2.0f);
        }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MatMul", 1}, {"Multiply", 2}, {"Add", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,5]");
}

TEST(OnnxOpsAL, FlattenDynamicBatchUsesConstantTail) {
    auto m = read(single_node_model("Flatten", {{"x", F32, {-1, 3, 4, 5}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Reshape", 1}}));
    expect_output(*m, 0, ElementType::F32, "[?,60]");
}

TEST(OnnxOpsAL, FlattenFullyDynamicComputesTheShape) {
    auto m = read(single_node_model("Flatten", {{"x", F32, {-1, 3, -1, 5}}}, {"y"},
                                    [](auto& n) { set_attr(n, "axis", std::int64_t{2}); }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["Reshape"], 1u);
    EXPECT_EQ(h["ShapeOf"], 1u);
    EXPECT_EQ(h["ReduceProd"], 2u);
    EXPECT_EQ(h["Concat"], 1u);
    EXPECT_EQ(out(*m).shape.rank(), 2);
}

TEST(OnnxOpsAL, BatchNormalizationInference) {
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

TEST(OnnxOpsAL, BatchNormalizationOpset6NonSpatialIsDecomposed) {
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

TEST(OnnxOpsAL, BatchNormalizationTrainingModeIsUnsupported) {
    expect_error(single_node_model(
                     "BatchNormalization",
                     {{"x", F32, {2, 3, 4, 4}},
                      {"s", F32, {3}},
                      {"b", F32, {3}},
                      {"mean", F32, {3}},
                      {"var", F32, {3}}},
                     {"y", "rm", "rv"},
                     [](auto& n) { set_attr(n, "training_mode", std::int64_t{1}); }, 15),
                 ErrorKind::UNSUPPORTED, "training_mode");
}

TEST(OnnxOpsAL, LstmForward) {
    // seq 5, batch 2, input 4, hidden 3.
    auto m = read(single_node_model("LSTM",
                                    {{"x", F32, {5, 2, 4}},
                                     {"w", F32, {1, 12, 4}},
                                     {"r", F32, {1, 12, 3}},
                                     {"b", F32, {1, 24}}},
                                    {"y", "y_h", "y_c"},
                                    [](auto& n) { set_attr(n, "hidden_size", std::int64_t{3}); }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["LSTMSequence"], 1u);
    EXPECT_EQ(h["Split"], 4u);  // W, R, B gates; B halves
    EXPECT_EQ(h["Concat"], 5u); // W, R, B gate reorder; two zero-state shapes
    EXPECT_EQ(h["Transpose"], 4u);
    expect_output(*m, 0, ElementType::F32, "[5,1,2,3]");
    expect_output(*m, 1, ElementType::F32, "[1,2,3]");
    expect_output(*m, 2, ElementType::F32, "[1,2,3]");
    const model::Node* seq = nullptr;
    for (auto* n : m->nodes())
        if (n->is("LSTMSequence")) seq = n;
    ASSERT_NE(seq, nullptr);
    EXPECT_EQ(seq->attrs.get<std::string>("direction"), "forward");
    EXPECT_EQ(seq->attrs.get<std::int64_t>("hidden_size"), 3);
}

TEST(OnnxOpsAL, LstmNonZeroPeepholesAreUnsupported) {
    expect_error(single_node_model("LSTM",
                                   {{"x", F32, {5, 2, 4}},
                                    {"w", F32, {1, 12, 4}},
                                    {"r", F32, {1, 12, 3}},
                                    {"", F32, {}},
                                    {"", F32, {}},
                                    {"", F32, {}},
                                    {"", F32, {}},
                                    {"p", F32, {1, 9}}},
                                   {"y"},
                                   [](auto& n) { set_attr(n, "hidden_size", std::int64_t{3}); }),
                 ErrorKind::UNSUPPORTED, "peephole");
}

TEST(OnnxOpsAL, GruBidirectionalLinearBeforeReset) {
    auto m = read(single_node_model(
        "GRU",
        {{"x", F32, {5, 2, 4}}, {"w", F32, {2, 9, 4}}, {"r", F32, {2, 9, 3}}, {"b", F32, {2, 18}}},
        {"y", "y_h"}, [](auto& n) {
            set_attr(n, "hidden_size", std::int64_t{3});
            set_attr(n, "direction", std::string("bidirectional"));
            set_attr(n, "linear_before_reset", std::int64_t{1});
            set_strings(n, "activations", {"Sigmoid", "Tanh", "Sigmoid", "Tanh"});
        }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["GRUSequence"], 1u);
    expect_output(*m, 0, ElementType::F32, "[5,2,2,3]");
    expect_output(*m, 1, ElementType::F32, "[2,2,3]");
    for (auto* n : m->nodes())
        if (n->is("GRUSequence")) {
            EXPECT_TRUE(n->attrs.get<bool>("linear_before_reset"));
            // Bias [2, 4*hidden]: z and r summed, Wb_h and Rb_h apart.
            EXPECT_EQ(n->inputs[5].node->outputs[n->inputs[5].index].shape.to_string(), "[2,12]");
            EXPECT_EQ(n->attrs.get<std::vector<std::string>>("activations"),
                      (std::vector<std::string>{"sigmoid", "tanh"}));
        }
}

TEST(OnnxOpsAL, GruBatchMajorLayout) {
    auto m = read(single_node_model(
        "GRU", {{"x", F32, {2, 5, 4}}, {"w", F32, {1, 9, 4}}, {"r", F32, {1, 9, 3}}}, {"y", "y_h"},
        [](auto& n) {
            set_attr(n, "hidden_size", std::int64_t{3});
            set_attr(n, "layout", std::int64_t{1});
        },
        14));
    expect_output(*m, 0, ElementType::F32, "[2,5,1,3]");
    expect_output(*m, 1, ElementType::F32, "[2,1,3]");
}

TEST(OnnxOpsAL, GruUnsupportedActivation) {
    expect_error(single_node_model(
                     "GRU", {{"x", F32, {5, 2, 4}}, {"w", F32, {1, 9, 4}}, {"r", F32, {1, 9, 3}}},
                     {"y"},
                     [](auto& n) {
                         set_attr(n, "hidden_size", std::int64_t{3});
                         set_strings(n, "activations", {"HardSigmoid", "Tanh"});
                     }),
                 ErrorKind::UNSUPPORTED, "HardSigmoid");
}

TEST(OnnxOpsAL, ClipOpset6AttributesBecomeClamp) {
    auto m = read(single_node_model(
        "Clip", {{"x", F32, {2, 3}}}, {"y"},
        [](auto& n) {
            set_attr(n, "min", -1.0f);
            set_attr(n, "max", 1.0f);
        },
        6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Clamp", 1}}));
    const auto* clamp = producer_of(*m, "y");
    EXPECT_EQ(clamp->attrs.get<double>("min"), -1.0);
    EXPECT_EQ(clamp->attrs.get<double>("max"), 1.0);
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsAL, ClipOpset13ConstantBoundsBecomeClamp) {
    auto m = read(
        single_node_model("Clip", {{"x", F32, {2, 3}}, {"lo", F32, {}}, {"hi", F32, {}}}, {"y"}, {},
                          13, {float_tensor("lo", {-2.0f}, {}), float_tensor("hi", {3.0f}, {})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Clamp", 1}}));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<double>("max"), 3.0);
}

TEST(OnnxOpsAL, ClipOpset13RuntimeBoundsBecomeMaximumMinimum) {
    auto m = read(single_node_model("Clip", {{"x", F32, {2, 3}}, {"lo", F32, {}}, {"hi", F32, {}}},
                                    {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Maximum", 1}, {"Minimum", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsAL, ArgMaxKeepDims) {
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

TEST(OnnxOpsAL, ArgMinSelectLastIndexReversesTheAxis) {
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

TEST(OnnxOpsAL, CastToInt32) {
    auto m = read(single_node_model("Cast", {{"x", F32, {2, -1}}}, {"y"}, [](auto& n) {
        set_attr(n, "to", std::int64_t{onnx::TensorProto::INT32});
    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Convert", 1}}));
    expect_output(*m, 0, ElementType::I32, "[2,?]");
}

TEST(OnnxOpsAL, CastOpset1TypeName) {
    auto m = read(single_node_model(
        "Cast", {{"x", F32, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "to", std::string("FLOAT16")); }, 1));
    expect_output(*m, 0, ElementType::F16, "[3]");
}

TEST(OnnxOpsAL, CastToStringIsUnsupported) {
    expect_error(single_node_model(
                     "Cast", {{"x", F32, {3}}}, {"y"},
                     [](auto& n) { set_attr(n, "to", std::int64_t{onnx::TensorProto::STRING}); }),
                 ErrorKind::UNSUPPORTED, "string");
}

TEST(OnnxOpsAL, InstanceNormalization) {
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

TEST(OnnxOpsAL, LayerNormalizationFusedForm) {
    auto m = read(single_node_model(
        "LayerNormalization", {{"x", F32, {2, 3, 4}}, {"s", F32, {4}}, {"b", F32, {4}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MVN", 1}, {"Multiply", 1}, {"Add", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsAL, LayerNormalizationStatisticsOutputs) {
    auto m = read(single_node_model(
        "LayerNormalization", {{"x", F32, {2, 3, 4}}, {"s", F32, {3, 4}}}, {"y", "mean", "inv"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
    expect_output(*m, 1, ElementType::F32, "[2,1,1]");
    expect_output(*m, 2, ElementType::F32, "[2,1,1]");
}

TEST(OnnxOpsAL, ExpandIsBidirectionalBroadcast) {
    auto m = read(single_node_model("Expand", {{"x", F32, {3, 1}}, {"shape", 7, {3}}}, {"y"}, {},
                                    17, {int64_tensor("shape", {2, 1, 6})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Broadcast", 1}}));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<std::string>("mode"), "bidirectional");
    expect_output(*m, 0, ElementType::F32, "[2,3,6]");
}

TEST(OnnxOpsAL, GatherNegativeAxis) {
    auto m = read(single_node_model("Gather",
                                    {{"x", F32, {3, 4, 5}}, {"i", onnx::TensorProto::INT64, {2}}},
                                    {"y"}, [](auto& n) { set_attr(n, "axis", std::int64_t{-1}); }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Gather", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,4,2]");
}

TEST(OnnxOpsAL, DequantizeLinearPerAxis) {
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

TEST(OnnxOpsAL, DequantizeLinearPerTensor) {
    auto m = read(single_node_model("DequantizeLinear",
                                    {{"x", onnx::TensorProto::INT8, {5}}, {"scale", F32, {}}},
                                    {"y"}, {}, 10));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Convert", 1}, {"Multiply", 1}}));
    expect_output(*m, 0, ElementType::F32, "[5]");
}

TEST(OnnxOpsAL, HardmaxOpset11FlattensAtAxis) {
    auto m = read(single_node_model("Hardmax", {{"x", F32, {2, 3, 4}}}, {"y"}, {}, 11));
    auto h = ops_of(*m);
    EXPECT_EQ(h["TopK"], 1u);
    EXPECT_EQ(h["OneHot"], 1u);
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsAL, GlobalAveragePoolDynamicRank) {
    onnx::ModelProto proto = single_node_model("GlobalAveragePool", {{"x", F32, {1}}}, {"y"});
    proto.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->clear_shape();
    auto m = read(proto);
    auto h = ops_of(*m);
    EXPECT_EQ(h["ReduceMean"], 1u);
    EXPECT_EQ(h["Range"], 1u);
}

TEST(OnnxOpsAL, AveragePoolCeilAndPadding) {
    auto m = read(single_node_model("AveragePool", {{"x", F32, {1, 1, 5, 5}}}, {"y"}, [](auto& n) {
        set_attr(n, "kernel_shape", I64s{2, 2});
        set_attr(n, "strides", I64s{2, 2});
        set_attr(n, "ceil_mode", std::int64_t{1});
    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"AvgPool", 1}}));
    EXPECT_TRUE(producer_of(*m, "y")->attrs.get<bool>("exclude-pad"));
    expect_output(*m, 0, ElementType::F32, "[1,1,3,3]");
}

TEST(OnnxOpsAL, DetOfSmallStaticMatricesByPermutations) {
    auto m = read(single_node_model("Det", {{"x", F32, {4, 3, 3}}}, {"y"}));
    EXPECT_EQ(
        ops_of(*m),
        (Histogram{
            {"Reshape", 2}, {"Gather", 1}, {"ReduceProd", 1}, {"Multiply", 1}, {"ReduceSum", 1}}));
    expect_output(*m, 0, ElementType::F32, "[4]");
    auto one = read(single_node_model("Det", {{"x", F32, {2, 2}}}, {"y"}));
    expect_output(*one, 0, ElementType::F32, "[]");
}

TEST(OnnxOpsAL, DetOfLargeOrDynamicMatricesIsUnsupported) {
    expect_error(single_node_model("Det", {{"x", F32, {7, 7}}}, {"y"}), ErrorKind::UNSUPPORTED,
                 "7x7");
    expect_error(single_node_model("Det", {{"x", F32, {-1, 3}}}, {"y"}), ErrorKind::UNSUPPORTED,
                 "static size");
    expect_error(single_node_model("Det", {{"x", F32, {2, 3}}}, {"y"}), ErrorKind::INVALID_ARGUMENT,
                 "2x3");
}

TEST(OnnxOpsAL, ConvIntegerShiftsByZeroPointsInI32) {
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

TEST(OnnxOpsAL, LpPoolIsWindowSumOfPowers) {
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

TEST(OnnxOpsAL, GlobalLpPoolP2IsReduceL2) {
    auto m = read(single_node_model("GlobalLpPool", {{"x", F32, {1, 2, 4, 4}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceL2", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,2,1,1]");
}

TEST(OnnxOpsAL, DropoutPassesThroughWithAllTrueMask) {
    auto m = read(single_node_model("Dropout", {{"x", F32, {2, 3}}}, {"y", "mask"}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
    expect_output(*m, 1, ElementType::BOOLEAN, "[2,3]");
    EXPECT_EQ(ops_of(*m), (Histogram{{"Broadcast", 1}}));
}

TEST(OnnxOpsAL, DropoutTrainingModeIsUnsupported) {
    auto proto = single_node_model("Dropout", {{"x", F32, {2, 3}}, {"r", F32, {}}, {"t", 9, {}}},
                                   {"y"}, {}, 13, {float_tensor("r", {0.5f}, {})});
    onnx::TensorProto t;
    t.set_name("t");
    t.set_data_type(onnx::TensorProto::BOOL);
    t.add_int32_data(1);
    *proto.mutable_graph()->add_initializer() = t;
    proto.mutable_graph()->mutable_input()->RemoveLast();
    expect_error(proto, ErrorKind::UNSUPPORTED, "training_mode");
}

TEST(OnnxOpsAL, ConstantOfShapeBroadcastsTheValue) {
    auto m = read(single_node_model("ConstantOfShape", {{"s", 7, {2}}}, {"y"}, {}, 17,
                                    {int64_tensor("s", {2, 3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Broadcast", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsAL, EyeLikeWithDtype) {
    auto m = read(single_node_model("EyeLike", {{"x", F32, {3, 4}}}, {"y"}, [](auto& n) {
        set_attr(n, "dtype", std::int64_t{onnx::TensorProto::INT32});
        set_attr(n, "k", std::int64_t{1});
    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Eye", 1}}));
    expect_output(*m, 0, ElementType::I32, "[3,4]");
}

TEST(OnnxOpsAL, DftOfRealInputPadsAnImaginaryPart) {
    auto m = read(single_node_model("DFT", {{"x", F32, {2, 8, 1}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}, {"DFT", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,8,2]");
}

TEST(OnnxOpsAL, DftOnesidedIsRdft) {
    auto m = read(single_node_model("DFT", {{"x", F32, {2, 8, 1}}}, {"y"},
                                    [](auto& n) { set_attr(n, "onesided", std::int64_t{1}); }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Squeeze", 1}, {"RDFT", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,5,2]");
}

TEST(OnnxOpsAL, LogSoftmaxOpset11InnerAxisFlattens) {
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

TEST(OnnxOpsAL, CompressWithoutAxisFlattens) {
    auto m = read(single_node_model("Compress", {{"x", F32, {2, 3}}, {"c", 9, {6}}}, {"y"}));
    auto h = ops_of(*m);
    EXPECT_EQ(h["NonZero"], 1u);
    EXPECT_EQ(h["Gather"], 1u);
    EXPECT_EQ(h["Reshape"], 1u);
    EXPECT_EQ(out(*m).shape.rank(), 1);
}

TEST(OnnxOpsAL, DepthToSpaceModes) {
    auto m = read(single_node_model("DepthToSpace", {{"x", F32, {1, 8, 2, 3}}}, {"y"}, [](auto& n) {
        set_attr(n, "blocksize", std::int64_t{2});
        set_attr(n, "mode", std::string("CRD"));
    }));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<std::string>("mode"), "depth_first");
    expect_output(*m, 0, ElementType::F32, "[1,2,4,6]");
}

TEST(OnnxOpsAL, IntegerDivTruncates) {
    auto m = read(single_node_model("Div", {{"a", 6, {3}}, {"b", 6, {3}}}, {"y"}));
    EXPECT_FALSE(producer_of(*m, "y")->attrs.get<bool>("m_pythondiv"));
    expect_output(*m, 0, ElementType::I32, "[3]");
}

TEST(OnnxOpsAL, LeakyReluAndHardSigmoidTakeScalarParameters) {
    auto m = read(single_node_model("LeakyRelu", {{"x", F32, {2, 3}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"PRelu", 1}}));
    auto hs = read(single_node_model("HardSigmoid", {{"x", F32, {2, 3}}}, {"y"}));
    EXPECT_EQ(ops_of(*hs), (Histogram{{"HardSigmoid", 1}}));
    expect_output(*hs, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsAL, BitShiftMultipliesOrDividesByPowersOfTwo) {
    constexpr auto U8 = onnx::TensorProto::UINT8;
    auto left =
        read(single_node_model("BitShift", {{"x", U8, {3}}, {"s", U8, {3}}}, {"y"},
                               [](auto& n) { set_attr(n, "direction", std::string("LEFT")); }));
    EXPECT_EQ(ops_of(*left), (Histogram{{"Power", 1}, {"Multiply", 1}}));
    expect_output(*left, 0, ElementType::U8, "[3]");
    auto right =
        read(single_node_model("BitShift", {{"x", U8, {3}}, {"s", U8, {3}}}, {"y"},
                               [](auto& n) { set_attr(n, "direction", std::string("RIGHT")); }));
    EXPECT_EQ(ops_of(*right), (Histogram{{"Power", 1}, {"Divide", 1}}));
    expect_error(single_node_model("BitShift", {{"x", U8, {3}}, {"s", U8, {3}}}, {"y"},
                                   [](auto& n) { set_attr(n, "direction", std::string("UP")); }),
                 ErrorKind::INVALID_ARGUMENT, "direction");
}

TEST(OnnxOpsAL, CumSumWithOneElementAxisTensor) {
    auto m = read(single_node_model("CumSum", {{"x", F32, {2, 3}}, {"a", 7, {1}}}, {"y"},
                                    [](auto& n) { set_attr(n, "reverse", std::int64_t{1}); }, 14,
                                    {int64_tensor("a", {1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Squeeze", 1}, {"CumSum", 1}}));
    EXPECT_TRUE(producer_of(*m, "y")->attrs.get<bool>("reverse"));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsAL, EinsumEquationWithoutSpaces) {
    auto m = read(
        single_node_model("Einsum", {{"a", F32, {2, 3}}, {"b", F32, {3, 4}}}, {"y"},
                          [](auto& n) { set_attr(n, "equation", std::string("ij, jk -> ik")); }));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<std::string>("equation"), "ij,jk->ik");
    expect_output(*m, 0, ElementType::F32, "[2,4]");
}

TEST(OnnxOpsAL, GatherNDBatchDims) {
    auto m = read(single_node_model(
        "GatherND", {{"x", F32, {2, 3, 4}}, {"i", onnx::TensorProto::INT64, {2, 1}}}, {"y"},
        [](auto& n) { set_attr(n, "batch_dims", std::int64_t{1}); }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"GatherND", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,4]");
}

TEST(OnnxOpsAL, IsInfDetectsOnlyRequestedSigns) {
    auto m = read(single_node_model("IsInf", {{"x", F32, {4}}}, {"y"}, [](auto& n) {
        set_attr(n, "detect_negative", std::int64_t{0});
    }));
    const auto* node = producer_of(*m, "y");
    EXPECT_FALSE(node->attrs.get<bool>("detect_negative"));
    EXPECT_TRUE(node->attrs.get<bool>("detect_positive"));
    expect_output(*m, 0, ElementType::BOOLEAN, "[4]");
}

TEST(OnnxOpsAL, ConcatNegativeAxis) {
    auto m = read(single_node_model("Concat", {{"a", F32, {2, 3}}, {"b", F32, {2, 5}}}, {"y"},
                                    [](auto& n) { set_attr(n, "axis", std::int64_t{-1}); }));
    expect_output(*m, 0, ElementType::F32, "[2,8]");
}

} // namespace
} // namespace loom::reader::onnx_fe::test
