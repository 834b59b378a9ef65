// Structural tests of the element-wise ONNX converters (math, logic, casts, activations): the
// native ops each ONNX node becomes, their key attributes, and the output types and shapes
// (computed by hand from the ONNX spec).
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/ops_test_util.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

TEST(OnnxOpsElementwise, AddOpset6LegacyBroadcastWithAxis) {
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

TEST(OnnxOpsElementwise, AddOpset6SuffixBroadcastNeedsNoReshape) {
    auto m = read(single_node_model(
        "Add", {{"a", F32, {2, 3}}, {"b", F32, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "broadcast", std::int64_t{1}); }, 6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Add", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsElementwise, ClipOpset6AttributesBecomeClamp) {
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

TEST(OnnxOpsElementwise, ClipOpset13ConstantBoundsBecomeClamp) {
    auto m = read(
        single_node_model("Clip", {{"x", F32, {2, 3}}, {"lo", F32, {}}, {"hi", F32, {}}}, {"y"}, {},
                          13, {float_tensor("lo", {-2.0f}, {}), float_tensor("hi", {3.0f}, {})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Clamp", 1}}));
    EXPECT_EQ(producer_of(*m, "y")->attrs.get<double>("max"), 3.0);
}

TEST(OnnxOpsElementwise, ClipOpset13RuntimeBoundsBecomeMaximumMinimum) {
    auto m = read(single_node_model("Clip", {{"x", F32, {2, 3}}, {"lo", F32, {}}, {"hi", F32, {}}},
                                    {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Maximum", 1}, {"Minimum", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsElementwise, CastToInt32) {
    auto m = read(single_node_model("Cast", {{"x", F32, {2, -1}}}, {"y"}, [](auto& n) {
        set_attr(n, "to", std::int64_t{onnx::TensorProto::INT32});
    }));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Convert", 1}}));
    expect_output(*m, 0, ElementType::I32, "[2,?]");
}

TEST(OnnxOpsElementwise, CastOpset1TypeName) {
    auto m = read(single_node_model(
        "Cast", {{"x", F32, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "to", std::string("FLOAT16")); }, 1));
    expect_output(*m, 0, ElementType::F16, "[3]");
}

TEST(OnnxOpsElementwise, CastToStringIsUnsupported) {
    expect_error(single_node_model(
                     "Cast", {{"x", F32, {3}}}, {"y"},
                     [](auto& n) { set_attr(n, "to", std::int64_t{onnx::TensorProto::STRING}); }),
                 ErrorKind::UNSUPPORTED, "string");
}

TEST(OnnxOpsElementwise, DropoutPassesThroughWithAllTrueMask) {
    auto m = read(single_node_model("Dropout", {{"x", F32, {2, 3}}}, {"y", "mask"}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
    expect_output(*m, 1, ElementType::BOOLEAN, "[2,3]");
    EXPECT_EQ(ops_of(*m), (Histogram{{"Broadcast", 1}}));
}

// training_mode true (here a constant) drops at random: RandomUniform compared with the ratio.
TEST(OnnxOpsElementwise, DropoutTrainingModeDropsWithRandomUniform) {
    auto proto = single_node_model("Dropout", {{"x", F32, {2, 3}}, {"r", F32, {}}, {"t", 9, {}}},
                                   {"y"}, {}, 13, {float_tensor("r", {0.5f}, {})});
    onnx::TensorProto t;
    t.set_name("t");
    t.set_data_type(onnx::TensorProto::BOOL);
    t.add_int32_data(1);
    *proto.mutable_graph()->add_initializer() = t;
    proto.mutable_graph()->mutable_input()->RemoveLast();
    auto m = read(proto);
    EXPECT_EQ(ops_of(*m).at("RandomUniform"), 1u);
    EXPECT_EQ(ops_of(*m).at("GreaterEqual"), 1u);
    expect_output(*m, 0, ElementType::F32, "[2,3]");
    // A non-floating input cannot be scaled by 1 / (1 - ratio): refused, naming the reason.
    auto ints = single_node_model("Dropout", {{"x", 6, {2, 3}}, {"r", F32, {}}, {"t", 9, {}}},
                                  {"y"}, {}, 13);
    expect_error(ints, ErrorKind::UNSUPPORTED, "floating");
}

TEST(OnnxOpsElementwise, IntegerDivTruncates) {
    auto m = read(single_node_model("Div", {{"a", 6, {3}}, {"b", 6, {3}}}, {"y"}));
    EXPECT_FALSE(producer_of(*m, "y")->attrs.get<bool>("m_pythondiv"));
    expect_output(*m, 0, ElementType::I32, "[3]");
}

TEST(OnnxOpsElementwise, LeakyReluAndHardSigmoidTakeScalarParameters) {
    auto m = read(single_node_model("LeakyRelu", {{"x", F32, {2, 3}}}, {"y"}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"PRelu", 1}}));
    auto hs = read(single_node_model("HardSigmoid", {{"x", F32, {2, 3}}}, {"y"}));
    EXPECT_EQ(ops_of(*hs), (Histogram{{"HardSigmoid", 1}}));
    expect_output(*hs, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsElementwise, BitShiftMultipliesOrDividesByPowersOfTwo) {
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

TEST(OnnxOpsElementwise, IsInfDetectsOnlyRequestedSigns) {
    auto m = read(single_node_model("IsInf", {{"x", F32, {4}}}, {"y"}, [](auto& n) {
        set_attr(n, "detect_negative", std::int64_t{0});
    }));
    const auto* node = producer_of(*m, "y");
    EXPECT_FALSE(node->attrs.get<bool>("detect_negative"));
    EXPECT_TRUE(node->attrs.get<bool>("detect_positive"));
    expect_output(*m, 0, ElementType::BOOLEAN, "[4]");
}

TEST(OnnxOpsElementwise, MulOpset6LegacyBroadcastWithAxis) {
    auto m = read(single_node_model(
        "Mul", {{"a", F32, {2, 3, 4, 5}}, {"b", F32, {3}}}, {"y"},
        [](auto& n) {
            set_attr(n, "broadcast", std::int64_t{1});
            set_attr(n, "axis", std::int64_t{1});
        },
        6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Multiply", 1}, {"Unsqueeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4,5]");
}

TEST(OnnxOpsElementwise, WhereIsSelect) {
    auto m = read(single_node_model(
        "Where", {{"c", BOOL, {2, 1}}, {"x", F32, {1, 3}}, {"y", F32, {2, 3}}}, {"z"}, {}, 16));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Select", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsElementwise, ModFloorsUnlessFmod) {
    auto floor_mod = read(single_node_model(
        "Mod", {{"a", onnx::TensorProto::INT32, {3}}, {"b", onnx::TensorProto::INT32, {3}}}, {"y"},
        {}, 13));
    EXPECT_EQ(ops_of(*floor_mod), (Histogram{{"FloorMod", 1}}));
    auto fmod = read(single_node_model(
        "Mod", {{"a", F32, {3}}, {"b", F32, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "fmod", std::int64_t{1}); }, 13));
    EXPECT_EQ(ops_of(*fmod), (Histogram{{"Mod", 1}}));
}

TEST(OnnxOpsElementwise, PRelu16SlopeBroadcastsFromTrailingDims) {
    // Slope [5] applies along the last axis of [2,3,5]: it becomes [1,1,5] (OpenVINO would read a
    // bare 1-D slope as per-channel).
    auto m =
        read(single_node_model("PRelu", {{"x", F32, {2, 3, 5}}, {"s", F32, {5}}}, {"y"}, {}, 16));
    EXPECT_EQ(ops_of(*m), (Histogram{{"PRelu", 1}, {"Unsqueeze", 1}}));
    EXPECT_EQ(only(*m, "PRelu").inputs[1].node->outputs[0].shape.to_string(), "[1,1,5]");
    expect_output(*m, 0, ElementType::F32, "[2,3,5]");
}

TEST(OnnxOpsElementwise, PRelu6SlopeIsPerChannel) {
    auto m =
        read(single_node_model("PRelu", {{"x", F32, {2, 3, 5}}, {"s", F32, {3}}}, {"y"}, {}, 6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"PRelu", 1}}));
}

TEST(OnnxOpsElementwise, MeanIsSumOverCount) {
    auto m = read(single_node_model(
        "Mean", {{"a", F32, {2, 3}}, {"b", F32, {3}}, {"c", F32, {1, 3}}}, {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Add", 2}, {"Divide", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

} // namespace
} // namespace loom::reader::onnx_fe::test
