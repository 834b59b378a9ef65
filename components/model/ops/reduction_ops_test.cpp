// Shape/type inference of reductions, Softmax, TopK, CumSum and the normalizations: expected
// outputs computed by hand from OpenVINO's operation specification.
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

namespace {

const Attributes keep = attrs({{"keep_dims", true}});
const Attributes no_keep = attrs({{"keep_dims", false}});

} // namespace

TEST(ReductionOps, ReduceShapes) {
    auto registry = make_native_registry();
    const std::vector<Case> cases = {
        ok("one axis dropped", "ReduceSum", "opset1", {param(F32, {2, 3, 4}), ints({1})}, no_keep,
           F32, PartialShape{2, 4}),
        ok("keep_dims defaults to false", "ReduceSum", "opset1", {param(F32, {2, 3, 4}), ints({1})},
           {}, F32, PartialShape{2, 4}),
        ok("one axis kept", "ReduceMean", "opset1", {param(F32, {2, 3, 4}), ints({1})}, keep, F32,
           PartialShape{2, 1, 4}),
        ok("negative axes", "ReduceMax", "opset1", {param(F32, {2, 3, 4}), ints({-1, 0})}, no_keep,
           F32, PartialShape{3}),
        ok("negative axes kept", "ReduceMin", "opset1", {param(I32, {2, 3, 4}), ints({-1, 0})},
           keep, I32, PartialShape{1, 3, 1}),
        ok("scalar axis constant", "ReduceProd", "opset1", {param(F32, {2, 3, 4}), int_scalar(2)},
           no_keep, F32, PartialShape{2, 3}),
        ok("empty axes reduce nothing", "ReduceSum", "opset1", {param(F32, {2, 3, 4}), ints({})},
           no_keep, F32, PartialShape{2, 3, 4}),
        ok("all axes to scalar", "ReduceSum", "opset1", {param(F32, {2, 3}), ints({0, 1})}, no_keep,
           F32, scalar),
        ok("duplicate axes count once", "ReduceSum", "opset1", {param(F32, {2, 3}), ints({1, -1})},
           keep, F32, PartialShape{2, 1}),
        ok("dynamic dims pass through", "ReduceL1", "opset4",
           {param(F32, {dyn, 3, dyn}), ints({2})}, keep, F32, PartialShape{dyn, 3, 1}),
        ok("l2 from a later opset", "ReduceL2", "opset11", {param(F16, {4, 5}), ints({0})}, no_keep,
           F16, PartialShape{5}),
        ok("non-constant axes keep rank", "ReduceSum", "opset1",
           {param(F32, {2, 3, 4}), param(I64, {1})}, keep, F32, PartialShape::dynamic(3)),
        ok("one non-constant axis drops one dim", "ReduceSum", "opset1",
           {param(F32, {2, 3, 4}), param(I64, {1})}, no_keep, F32, PartialShape::dynamic(2)),
        ok("non-constant scalar axis drops one dim", "ReduceMax", "opset1",
           {param(F32, {2, 3, 4}), param(I32, scalar)}, no_keep, F32, PartialShape::dynamic(2)),
        ok("several non-constant axes without keep_dims", "ReduceSum", "opset1",
           {param(F32, {2, 3, 4}), param(I64, {2})}, no_keep, F32, PartialShape::dynamic()),
        ok("dynamic data rank", "ReduceSum", "opset1",
           {param(F32, PartialShape::dynamic()), ints({0})}, keep, F32, PartialShape::dynamic()),
        ok("logical reduction", "ReduceLogicalAnd", "opset1", {param(BOOL, {2, 3}), ints({1})},
           no_keep, BOOL, PartialShape{2}),
        ok("logical or kept", "ReduceLogicalOr", "opset1", {param(BOOL, {2, 3}), ints({0})}, keep,
           BOOL, PartialShape{1, 3}),
    };
    expect_outputs(*registry, cases);
}

TEST(ReductionOps, SoftmaxCumSumAndNormalizations) {
    auto registry = make_native_registry();
    const std::vector<Case> cases = {
        ok("softmax-1", "Softmax", "opset1", {param(F32, {2, 5})},
           attrs({{"axis", std::int64_t{1}}}), F32, PartialShape{2, 5}),
        ok("softmax-8 negative axis", "Softmax", "opset8", {param(F32, {dyn, 5})},
           attrs({{"axis", std::int64_t{-1}}}), F32, PartialShape{dyn, 5}),
        ok("softmax default axis", "Softmax", "opset8", {param(F16, {2, 5})}, {}, F16,
           PartialShape{2, 5}),
        ok("log softmax", "LogSoftmax", "opset5", {param(F32, {3, 4})},
           attrs({{"axis", std::int64_t{-2}}}), F32, PartialShape{3, 4}),
        ok("cumsum with axis", "CumSum", "opset3", {param(F32, {3, 4}), int_scalar(-1)},
           attrs({{"exclusive", true}, {"reverse", false}}), F32, PartialShape{3, 4}),
        ok("cumsum without axis", "CumSum", "opset3", {param(I32, {6})}, {}, I32, PartialShape{6}),
        ok("mvn-1 at opset2", "MVN", "opset2", {param(F32, {1, 3, 8, 8})},
           attrs({{"eps", 1e-9}, {"across_channels", true}, {"normalize_variance", true}}), F32,
           PartialShape{1, 3, 8, 8}),
        ok("mvn-6 negative axes", "MVN", "opset6", {param(F32, {1, 3, dyn, 8}), ints({-2, -1})},
           attrs({{"eps", 1e-5}, {"normalize_variance", true}, {"eps_mode", str("inside_sqrt")}}),
           F32, PartialShape{1, 3, dyn, 8}),
        ok("normalize l2", "NormalizeL2", "opset1", {param(F32, {2, 16}), ints({1})},
           attrs({{"eps", 1e-10}, {"eps_mode", str("add")}}), F32, PartialShape{2, 16}),
        ok("batch norm v1 takes data third", "BatchNormInference", "opset1",
           {param(F32, {3}), param(F32, {3}), param(F32, {2, dyn, 4, 4}), param(F32, {3}),
            param(F32, {3})},
           attrs({{"epsilon", 1e-5}}), F32, PartialShape{2, 3, 4, 4}),
        ok("batch norm v5 takes data first", "BatchNormInference", "opset5",
           {param(F32, {2, dyn, 4, 4}), param(F32, {3}), param(F32, {dyn}), param(F32, {3}),
            param(F32, {3})},
           attrs({{"epsilon", 1e-5}}), F32, PartialShape{2, 3, 4, 4}),
        ok("lrn", "LRN", "opset1", {param(F32, {1, 8, 5, 5}), ints({1})},
           attrs({{"alpha", 1e-4}, {"beta", 0.75}, {"bias", 1.0}, {"size", std::int64_t{5}}}), F32,
           PartialShape{1, 8, 5, 5}),
        ok("group normalization", "GroupNormalization", "opset12",
           {param(F32, {2, dyn, 4}), param(F32, {6}), param(F32, {6})},
           attrs({{"num_groups", std::int64_t{3}}, {"epsilon", 1e-5}}), F32, PartialShape{2, 6, 4}),
    };
    expect_outputs(*registry, cases);
}

TEST(ReductionOps, TopKGivesValuesAndIndices) {
    auto registry = make_native_registry();
    struct TopKCase {
        const char* label;
        const char* version;
        std::vector<In> inputs;
        Attributes attrs;
        ElementType index_type;
        PartialShape shape;
    };
    auto topk_case = [](const char* label, const char* version, std::vector<In> inputs,
                        Attributes a, ElementType index_type, PartialShape shape) {
        return TopKCase{label, version, std::move(inputs), std::move(a), index_type, shape};
    };
    auto topk_attrs = [](std::int64_t axis) {
        return attrs({{"axis", axis}, {"mode", str("max")}, {"sort", str("value")}});
    };
    auto with = [](Attributes a, std::string name, AttrValue v) {
        a.set(std::move(name), std::move(v));
        return a;
    };
    const std::vector<TopKCase> cases = {
        topk_case("constant k", "opset1", {param(F32, {2, 10, 3}), int_scalar(4)}, topk_attrs(1),
                  I32, PartialShape{2, 4, 3}),
        topk_case("negative axis and i64 indices", "opset3",
                  {param(F32, {2, 10, 3}), int_scalar(2)},
                  with(topk_attrs(-1), "index_element_type", I64), I64, PartialShape{2, 10, 2}),
        topk_case("constant k on a dynamic dim", "opset11", {param(F32, {dyn, 7}), int_scalar(3)},
                  with(topk_attrs(0), "stable", true), I32, PartialShape{3, 7}),
        topk_case("non-constant k", "opset11", {param(F32, {2, 10, 3}), param(I32, scalar)},
                  topk_attrs(1), I32, PartialShape{2, Dimension(0, 10), 3}),
        topk_case("dynamic rank", "opset3", {param(F32, PartialShape::dynamic()), int_scalar(1)},
                  topk_attrs(0), I32, PartialShape::dynamic()),
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.label);
        Model m;
        auto& op = build(m, "TopK", c.version, c.inputs, c.attrs, 2);
        ASSERT_NO_THROW(infer_and_validate(m, *registry));
        ASSERT_EQ(op.outputs.size(), 2u);
        EXPECT_EQ(op.outputs[0].type, F32);
        EXPECT_EQ(op.outputs[0].shape, c.shape) << op.outputs[0].shape.to_string();
        EXPECT_EQ(op.outputs[1].type, c.index_type) << loom::to_string(op.outputs[1].type);
        EXPECT_EQ(op.outputs[1].shape, c.shape) << op.outputs[1].shape.to_string();
    }
    EXPECT_EQ(registry->find("TopK", "opset1")->find_attr("stable"), nullptr);
    EXPECT_EQ(registry->find("TopK", "opset13")->find_attr("stable")->kind, AttrKind::Bool);
}

TEST(ReductionOps, ErrorsNameTheProblem) {
    auto registry = make_native_registry();
    auto topk = attrs({{"axis", std::int64_t{0}}, {"mode", str("max")}, {"sort", str("value")}});
    const std::vector<ErrorCase> cases = {
        bad("axis out of range", "ReduceSum", "opset1", {param(F32, {2, 3, 4}), ints({3})}, {},
            "out of range"),
        bad("negative axis out of range", "ReduceMean", "opset1",
            {param(F32, {2, 3, 4}), ints({-4})}, keep, "out of range"),
        bad("float axes", "ReduceSum", "opset1", {param(F32, {2, 3}), param(F32, {1})}, {},
            "integer"),
        bad("2-D axes", "ReduceSum", "opset1", {param(F32, {2, 3}), param(I64, {1, 1})}, {}, "1-D"),
        bad("boolean data to an arithmetic reduction", "ReduceSum", "opset1",
            {param(BOOL, {2, 3}), ints({0})}, {}, "boolean"),
        bad("float data to a logical reduction", "ReduceLogicalAnd", "opset1",
            {param(F32, {2, 3}), ints({0})}, {}, "boolean"),
        bad("keep_dims of the wrong kind", "ReduceSum", "opset1", {param(F32, {2, 3}), ints({0})},
            attrs({{"keep_dims", std::int64_t{1}}}), "'keep_dims'"),
        bad("softmax-1 refuses negative axis", "Softmax", "opset1", {param(F32, {2, 5})},
            attrs({{"axis", std::int64_t{-1}}}), "negative"),
        bad("softmax-8 axis out of range", "Softmax", "opset8", {param(F32, {2, 5})},
            attrs({{"axis", std::int64_t{2}}}), "out of range"),
        bad("topk missing mode", "TopK", "opset3", {param(F32, {5}), int_scalar(2)},
            attrs({{"axis", std::int64_t{0}}, {"sort", str("value")}}), "'mode'"),
        bad("topk bad sort", "TopK", "opset3", {param(F32, {5}), int_scalar(2)},
            attrs({{"axis", std::int64_t{0}}, {"mode", str("max")}, {"sort", str("random")}}),
            "'sort'"),
        bad("topk k not a scalar", "TopK", "opset11", {param(F32, {5}), param(I64, {2})}, topk,
            "scalar"),
        bad("topk negative k", "TopK", "opset11", {param(F32, {5}), int_scalar(-1)}, topk,
            "negative"),
        bad("topk axis out of range", "TopK", "opset1", {param(F32, {5}), int_scalar(1)},
            attrs({{"axis", std::int64_t{1}}, {"mode", str("min")}, {"sort", str("none")}}),
            "out of range"),
        bad("topk bad index type", "TopK", "opset3", {param(F32, {5}), int_scalar(1)},
            attrs({{"axis", std::int64_t{0}},
                   {"mode", str("min")},
                   {"sort", str("none")},
                   {"index_element_type", F32}}),
            "index_element_type"),
        bad("cumsum axis out of range", "CumSum", "opset3", {param(F32, {3, 4}), int_scalar(2)}, {},
            "out of range"),
        bad("mvn-6 bad eps_mode", "MVN", "opset6", {param(F32, {1, 3, 4}), ints({2})},
            attrs({{"eps", 1e-5}, {"normalize_variance", true}, {"eps_mode", str("sideways")}}),
            "eps_mode"),
        bad("mvn-6 axes out of range", "MVN", "opset6", {param(F32, {1, 3, 4}), ints({3})},
            attrs({{"eps", 1e-5}, {"normalize_variance", true}, {"eps_mode", str("inside_sqrt")}}),
            "out of range"),
        bad("mvn-1 reduction_axes out of range", "MVN", "opset2", {param(F32, {1, 3, 4})},
            attrs({{"eps", 1e-9}, {"reduction_axes", std::vector<std::int64_t>{1, 3}}}),
            "reduction_axes"),
        bad("normalize l2 missing eps_mode", "NormalizeL2", "opset1",
            {param(F32, {2, 4}), ints({1})}, attrs({{"eps", 1e-5}}), "'eps_mode'"),
        bad("batch norm channel mismatch", "BatchNormInference", "opset5",
            {param(F32, {2, 3, 4}), param(F32, {3}), param(F32, {4}), param(F32, {3}),
             param(F32, {3})},
            attrs({{"epsilon", 1e-5}}), "beta"),
        bad("batch norm mixed types", "BatchNormInference", "opset5",
            {param(F32, {2, 3, 4}), param(F16, {3}), param(F32, {3}), param(F32, {3}),
             param(F32, {3})},
            attrs({{"epsilon", 1e-5}}), "different element types"),
        bad("lrn missing size", "LRN", "opset1", {param(F32, {1, 3, 4, 4}), ints({1})},
            attrs({{"alpha", 1e-4}, {"beta", 0.75}, {"bias", 1.0}}), "'size'"),
        bad("groups do not divide channels", "GroupNormalization", "opset12",
            {param(F32, {2, 6, 4}), param(F32, {6}), param(F32, {6})},
            attrs({{"num_groups", std::int64_t{4}}, {"epsilon", 1e-5}}), "num_groups"),
    };
    expect_errors(*registry, cases);
}

TEST(ReductionOps, EveryOpIsRegisteredAtItsOpset) {
    auto registry = make_native_registry();
    const std::vector<std::pair<const char*, const char*>> ops = {
        {"ReduceSum", "opset1"},
        {"ReduceMean", "opset1"},
        {"ReduceMax", "opset1"},
        {"ReduceMin", "opset1"},
        {"ReduceProd", "opset1"},
        {"ReduceL1", "opset4"},
        {"ReduceL2", "opset4"},
        {"ReduceLogicalAnd", "opset1"},
        {"ReduceLogicalOr", "opset1"},
        {"Softmax", "opset1"},
        {"Softmax", "opset8"},
        {"LogSoftmax", "opset5"},
        {"TopK", "opset1"},
        {"TopK", "opset3"},
        {"TopK", "opset11"},
        {"CumSum", "opset3"},
        {"MVN", "opset2"},
        {"MVN", "opset6"},
        {"NormalizeL2", "opset1"},
        {"BatchNormInference", "opset1"},
        {"BatchNormInference", "opset5"},
        {"LRN", "opset1"},
        {"GroupNormalization", "opset12"},
    };
    for (const auto& [type, version] : ops) {
        const OpSpec* spec = registry->find(type, version);
        ASSERT_NE(spec, nullptr) << type << "-" << version;
        EXPECT_EQ(spec->version, version) << type;
        EXPECT_NE(spec->infer, nullptr) << type;
    }
    EXPECT_EQ(registry->find("ReduceL1", "opset3"), nullptr); // introduced in opset4
    EXPECT_EQ(registry->find("MVN", "opset5")->version, "opset2");
    EXPECT_FALSE(registry->find("ReduceSum", "opset1")->find_attr("keep_dims")->required);
}
