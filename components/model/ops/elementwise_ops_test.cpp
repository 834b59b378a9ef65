// Shape/type inference of the element-wise ops: expected outputs computed by hand from
// OpenVINO's operation specification.
#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"
#include "components/model/ops/ops_test_util.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using namespace loom::model::op_test;
using loom::ElementType;
using loom::ErrorKind;

TEST(ElementwiseOps, InferTypesAndShapes) {
    auto registry = make_native_registry();
    const std::vector<Case> cases = {
        ok("add trailing broadcast", "Add", "opset1", {param(F32, {2, 3}), param(F32, {3})}, {},
           F32, PartialShape{2, 3}),
        ok("add both sides broadcast with dynamic dim", "Add", "opset1",
           {param(F32, {dyn, 1, 4}), param(F32, {3, 1})}, {}, F32, PartialShape{dyn, 3, 4}),
        ok("dynamic dim against static", "Subtract", "opset1",
           {param(F32, {dyn, 3}), param(F32, {4, 1})}, {}, F32, PartialShape{4, 3}),
        ok("dynamic rank", "Multiply", "opset1",
           {param(F32, PartialShape::dynamic()), param(F32, {3})}, {}, F32,
           PartialShape::dynamic()),
        ok("int outer product", "Multiply", "opset1", {param(I32, {2, 1}), param(I32, {1, 5})}, {},
           I32, PartialShape{2, 5}),
        ok("scalar operand", "Power", "opset1", {param(F32, {4, 2}), param(F32, scalar)}, {}, F32,
           PartialShape{4, 2}),
        ok("auto_broadcast none", "Add", "opset1", {param(F32, {2, 3}), param(F32, {2, 3})},
           attrs({{"auto_broadcast", str("none")}}), F32, PartialShape{2, 3}),
        ok("divide pythondiv", "Divide", "opset1", {param(I64, {3}), param(I64, {1})},
           attrs({{"m_pythondiv", true}}), I64, PartialShape{3}),
        ok("maximum", "Maximum", "opset1", {param(F16, {1, 3}), param(F16, {2, 1})}, {}, F16,
           PartialShape{2, 3}),
        ok("floor mod", "FloorMod", "opset1", {param(I32, {5}), param(I32, {5})}, {}, I32,
           PartialShape{5}),
        ok("squared difference", "SquaredDifference", "opset1",
           {param(F32, {2, 2}), param(F32, {2})}, {}, F32, PartialShape{2, 2}),
        ok("equal gives boolean", "Equal", "opset1", {param(F32, {2, 3}), param(F32, {3})}, {},
           BOOL, PartialShape{2, 3}),
        ok("less on ints", "Less", "opset1", {param(I64, {dyn}), param(I64, {1})}, {}, BOOL,
           PartialShape{dyn}),
        ok("logical and", "LogicalAnd", "opset1", {param(BOOL, {4}), param(BOOL, {1})}, {}, BOOL,
           PartialShape{4}),
        ok("logical not", "LogicalNot", "opset1", {param(BOOL, {2, 2})}, {}, BOOL,
           PartialShape{2, 2}),
        ok("bitwise xor", "BitwiseXor", "opset13", {param(U8, {2, 1}), param(U8, {2})}, {}, U8,
           PartialShape{2, 2}),
        ok("bitwise not", "BitwiseNot", "opset13", {param(I32, {7})}, {}, I32, PartialShape{7}),
        ok("select broadcasts all three", "Select", "opset1",
           {param(BOOL, {2, 1}), param(F32, {1, 3}), param(F32, {3})}, {}, F32, PartialShape{2, 3}),
        ok("fake quantize per channel", "FakeQuantize", "opset1",
           {param(F32, {1, 3, 4, 4}), param(F32, {1, 3, 1, 1}), param(F32, {1, 3, 1, 1}),
            param(F32, scalar), param(F32, scalar)},
           attrs({{"levels", std::int64_t{256}}}), F32, PartialShape{1, 3, 4, 4}),
        ok("relu keeps shape", "Relu", "opset1", {param(F16, {dyn, 8})}, {}, F16,
           PartialShape{dyn, 8}),
        ok("sqrt", "Sqrt", "opset1", {param(F32, {3})}, {}, F32, PartialShape{3}),
        ok("acosh is opset3", "Acosh", "opset3", {param(F32, {3})}, {}, F32, PartialShape{3}),
        ok("gelu opset2 found from opset5", "Gelu", "opset5", {param(F32, {2})}, {}, F32,
           PartialShape{2}),
        ok("gelu7 tanh", "Gelu", "opset7", {param(F32, {2})},
           attrs({{"approximation_mode", str("tanh")}}), F32, PartialShape{2}),
        ok("swish with beta", "Swish", "opset4", {param(F32, {2, 5}), param(F32, scalar)}, {}, F32,
           PartialShape{2, 5}),
        ok("swish without beta", "Swish", "opset4", {param(F32, {2, 5})}, {}, F32,
           PartialShape{2, 5}),
        ok("elu", "Elu", "opset1", {param(F32, {4})}, attrs({{"alpha", 1.0}}), F32,
           PartialShape{4}),
        ok("clamp", "Clamp", "opset1", {param(F32, {4})}, attrs({{"min", 0.0}, {"max", 6.0}}), F32,
           PartialShape{4}),
        ok("selu", "Selu", "opset1", {param(F32, {2, 3}), param(F32, {1}), param(F32, {1})}, {},
           F32, PartialShape{2, 3}),
        ok("hard sigmoid", "HardSigmoid", "opset1",
           {param(F32, {2}), param(F32, scalar), param(F32, scalar)}, {}, F32, PartialShape{2}),
        ok("prelu slope broadcast on the last dim", "PRelu", "opset1",
           {param(F32, {2, 3, 4}), param(F32, {4})}, {}, F32, PartialShape{2, 3, 4}),
        ok("prelu per channel", "PRelu", "opset1", {param(F32, {1, 3, 4, 4}), param(F32, {3})}, {},
           F32, PartialShape{1, 3, 4, 4}),
        ok("round", "Round", "opset5", {param(F32, {3})}, attrs({{"mode", str("half_to_even")}}),
           F32, PartialShape{3}),
        ok("is inf gives boolean", "IsInf", "opset10", {param(F32, {2, dyn})},
           attrs({{"detect_negative", false}}), BOOL, PartialShape{2, dyn}),
        ok("is nan", "IsNaN", "opset10", {param(F16, {2})}, {}, BOOL, PartialShape{2}),
        ok("hswish", "HSwish", "opset4", {param(F32, {2})}, {}, F32, PartialShape{2}),
        ok("soft sign", "SoftSign", "opset9", {param(F32, {2})}, {}, F32, PartialShape{2}),
    };
    expect_outputs(*registry, cases);
}

TEST(ElementwiseOps, ErrorsNameTheProblem) {
    auto registry = make_native_registry();
    const std::vector<ErrorCase> cases = {
        bad("incompatible broadcast", "Add", "opset1", {param(F32, {2, 3}), param(F32, {4})}, {},
            "do not broadcast"),
        bad("mismatched types", "Add", "opset1", {param(F32, {3}), param(I32, {3})}, {},
            "different element types"),
        bad("boolean arithmetic", "Multiply", "opset1", {param(BOOL, {3}), param(BOOL, {3})}, {},
            "boolean"),
        bad("none broadcast with different shapes", "Add", "opset1",
            {param(F32, {2, 3}), param(F32, {3})}, attrs({{"auto_broadcast", str("none")}}),
            "auto_broadcast is none"),
        bad("unknown auto_broadcast", "Add", "opset1", {param(F32, {3}), param(F32, {3})},
            attrs({{"auto_broadcast", str("sideways")}}), "sideways"),
        bad("comparison of different types", "Greater", "opset1",
            {param(F32, {3}), param(F16, {3})}, {}, "different element types"),
        bad("logical op on floats", "LogicalOr", "opset1", {param(F32, {3}), param(BOOL, {3})}, {},
            "boolean"),
        bad("logical not on ints", "LogicalNot", "opset1", {param(I32, {3})}, {}, "boolean"),
        bad("bitwise op on floats", "BitwiseAnd", "opset13", {param(F32, {3}), param(F32, {3})}, {},
            "integer"),
        bad("select condition not boolean", "Select", "opset1",
            {param(F32, {3}), param(F32, {3}), param(F32, {3})}, {}, "boolean"),
        bad("select branches differ", "Select", "opset1",
            {param(BOOL, {3}), param(F32, {3}), param(I32, {3})}, {}, "different element types"),
        bad("fake quantize range does not broadcast", "FakeQuantize", "opset1",
            {param(F32, {1, 3, 4}), param(F32, {1, 2, 1}), param(F32, {1}), param(F32, {1}),
             param(F32, {1})},
            attrs({{"levels", std::int64_t{256}}}), "do not broadcast"),
        bad("fake quantize with one level", "FakeQuantize", "opset1",
            {param(F32, {3}), param(F32, {1}), param(F32, {1}), param(F32, {1}), param(F32, {1})},
            attrs({{"levels", std::int64_t{1}}}), "'levels'"),
        bad("missing required alpha", "Elu", "opset1", {param(F32, {3})}, {}, "'alpha'"),
        bad("missing required levels", "FakeQuantize", "opset1",
            {param(F32, {3}), param(F32, {1}), param(F32, {1}), param(F32, {1}), param(F32, {1})},
            {}, "'levels'"),
        bad("attribute of the wrong kind", "Clamp", "opset1", {param(F32, {3})},
            attrs({{"min", str("zero")}, {"max", 6.0}}), "'min'"),
        bad("clamp min above max", "Clamp", "opset1", {param(F32, {3})},
            attrs({{"min", 2.0}, {"max", 1.0}}), "'min'"),
        bad("bad round mode", "Round", "opset5", {param(F32, {3})}, attrs({{"mode", str("up")}}),
            "'mode'"),
        bad("bad gelu mode", "Gelu", "opset7", {param(F32, {3})},
            attrs({{"approximation_mode", str("cubic")}}), "approximation_mode"),
        bad("activation on ints", "Mish", "opset4", {param(I32, {3})}, {}, "floating-point"),
        bad("is nan on ints", "IsNaN", "opset10", {param(I32, {3})}, {}, "floating-point"),
        bad("swish beta not a scalar", "Swish", "opset4", {param(F32, {3}), param(F32, {2})}, {},
            "one value"),
        bad("prelu slope would grow the data", "PRelu", "opset1",
            {param(F32, {1, 3}), param(F32, {2, 3})}, {}, "does not broadcast onto data"),
        bad("prelu slope does not fit", "PRelu", "opset1",
            {param(F32, {1, 3, 4}), param(F32, {2, 5})}, {}, "broadcast"),
        bad("too few inputs", "Add", "opset1", {param(F32, {3})}, {}, "inputs"),
        bad("op not in this opset yet", "BitwiseAnd", "opset12", {param(I32, {3}), param(I32, {3})},
            {}, "unknown operation"),
    };
    expect_errors(*registry, cases);
}

TEST(ElementwiseOps, EveryOpIsRegisteredAtItsOpset) {
    auto registry = make_native_registry();
    const std::vector<std::pair<const char*, const char*>> ops = {
        {"Abs", "opset1"},         {"Acos", "opset1"},
        {"Acosh", "opset3"},       {"Asin", "opset1"},
        {"Asinh", "opset3"},       {"Atan", "opset1"},
        {"Atanh", "opset3"},       {"Ceiling", "opset1"},
        {"Cos", "opset1"},         {"Cosh", "opset1"},
        {"Erf", "opset1"},         {"Exp", "opset1"},
        {"Floor", "opset1"},       {"Log", "opset1"},
        {"Negative", "opset1"},    {"Sign", "opset1"},
        {"Sin", "opset1"},         {"Sinh", "opset1"},
        {"Sqrt", "opset1"},        {"Tan", "opset1"},
        {"Tanh", "opset1"},        {"Relu", "opset1"},
        {"Sigmoid", "opset1"},     {"SoftPlus", "opset4"},
        {"SoftSign", "opset9"},    {"HSwish", "opset4"},
        {"HSigmoid", "opset5"},    {"Mish", "opset4"},
        {"Swish", "opset4"},       {"Gelu", "opset2"},
        {"Gelu", "opset7"},        {"Elu", "opset1"},
        {"Selu", "opset1"},        {"Clamp", "opset1"},
        {"HardSigmoid", "opset1"}, {"PRelu", "opset1"},
        {"LogicalNot", "opset1"},  {"Round", "opset5"},
        {"IsFinite", "opset10"},   {"IsInf", "opset10"},
        {"IsNaN", "opset10"},      {"BitwiseNot", "opset13"},
        {"Add", "opset1"},         {"Subtract", "opset1"},
        {"Multiply", "opset1"},    {"Divide", "opset1"},
        {"Power", "opset1"},       {"Maximum", "opset1"},
        {"Minimum", "opset1"},     {"Mod", "opset1"},
        {"FloorMod", "opset1"},    {"SquaredDifference", "opset1"},
        {"Equal", "opset1"},       {"NotEqual", "opset1"},
        {"Less", "opset1"},        {"LessEqual", "opset1"},
        {"Greater", "opset1"},     {"GreaterEqual", "opset1"},
        {"LogicalAnd", "opset1"},  {"LogicalOr", "opset1"},
        {"LogicalXor", "opset1"},  {"BitwiseAnd", "opset13"},
        {"BitwiseOr", "opset13"},  {"BitwiseXor", "opset13"},
        {"Select", "opset1"},      {"FakeQuantize", "opset1"},
    };
    for (const auto& [type, version] : ops) {
        const OpSpec* spec = registry->find(type, version);
        ASSERT_NE(spec, nullptr) << type << "-" << version;
        EXPECT_EQ(spec->version, version) << type;
        EXPECT_NE(spec->infer, nullptr) << type;
        // Found from the newest opset too.
        EXPECT_NE(registry->find(type, "opset13"), nullptr) << type;
    }
    // Attribute schema of the versioned ops.
    EXPECT_EQ(registry->find("Gelu", "opset2")->find_attr("approximation_mode"), nullptr);
    ASSERT_NE(registry->find("Gelu", "opset7")->find_attr("approximation_mode"), nullptr);
    EXPECT_FALSE(registry->find("Add", "opset1")->find_attr("auto_broadcast")->required);
    EXPECT_TRUE(registry->find("FakeQuantize", "opset1")->find_attr("levels")->required);
    EXPECT_EQ(registry->find("Divide", "opset1")->find_attr("m_pythondiv")->kind, AttrKind::Bool);
    EXPECT_EQ(registry->find("Clamp", "opset1")->find_attr("min")->kind, AttrKind::Float);
}
