#include <gtest/gtest.h>

#include "components/passes/passes.hpp"
#include "components/passes/test_util.hpp"
#include "schemas/error.hpp"

using namespace loom::passes;
using namespace loom::passes::test;

namespace {

// A stand-in for the reference kernel: elementwise sum of same-shaped f32 inputs.
std::vector<Tensor> fake_add(const Node&, std::span<const Tensor> in) {
    auto a = values_f32(in[0]), b = values_f32(in[1]);
    for (std::size_t i = 0; i < a.size(); ++i)
        a[i] += b[i];
    return {f32(in[0].shape(), a)};
}

} // namespace

TEST(ConstantFolding, UsesEvaluateAndKeepsTheValues) {
    auto reg = registry();
    int calls = 0;
    reg->set_evaluate("Add", "opset1", [&](const Node& n, std::span<const Tensor> in) {
        ++calls;
        return fake_add(n, in);
    });
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({2}), "x").output();
    auto c1 = m.add_constant(f32({2}, {1, 2})).output();
    auto c2 = m.add_constant(f32({2}, {10, 20})).output();
    auto sum = binary(m, "Add", c1, c2);
    sum.node->outputs[0].names = {"sum"};
    auto sum2 = binary(m, "Add", sum, c1); // folds too: its inputs become constants
    m.add_result(binary(m, "Multiply", x, sum2));
    EXPECT_EQ(run_pass(m, make_constant_folding_pass(), *reg), 2u);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(count(m, "Add"), 0u);
    Node* mul = result_input(m);
    ASSERT_EQ(mul->inputs[1].node->type, "Constant");
    EXPECT_EQ(values_f32(mul->inputs[1].node->value), (std::vector<float>{12, 24}));
}

TEST(ConstantFolding, SkipsOpsWithoutEvaluateAndRandomOps) {
    auto reg = registry();
    reg->set_evaluate("RandomUniform", reg->find("RandomUniform", "opset8")->version,
                      [](const Node&, std::span<const Tensor>) -> std::vector<Tensor> {
                          ADD_FAILURE() << "RandomUniform must not be folded";
                          return {};
                      });
    Model m;
    auto c1 = m.add_constant(f32({2}, {1, 2})).output();
    m.add_result(binary(m, "Multiply", c1, c1)); // Multiply has no evaluate yet
    Attributes attrs;
    attrs.set("output_type", ElementType::F32);
    attrs.set("global_seed", std::int64_t{0});
    attrs.set("op_seed", std::int64_t{0});
    auto rnd = m.add("RandomUniform", "opset8", {ints(m, {3}), scalar(m, 0), scalar(m, 1)}, attrs)
                   .output();
    m.add_result(rnd);
    EXPECT_EQ(run_pass(m, make_constant_folding_pass(), *reg), 0u);
    EXPECT_EQ(count(m, "Multiply"), 1u);
    EXPECT_EQ(count(m, "RandomUniform"), 1u);
}

TEST(ConstantFolding, ShapeOfFoldsOnlyStaticShapes) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({1, 3, 4}), "x").output();
    auto y = m.add_parameter(ElementType::F32, PartialShape({Dimension(), 3}), "y").output();
    Attributes i32;
    i32.set("output_type", ElementType::I32);
    m.add_result(m.add("ShapeOf", "opset3", {x}, i32, 1, "sx").output());
    m.add_result(m.add("ShapeOf", "opset1", {y}, {}, 1, "sy").output());
    EXPECT_EQ(run_pass(m, make_constant_folding_pass(), *reg), 1u);
    Node* folded = result_input(m, 0);
    ASSERT_EQ(folded->type, "Constant");
    EXPECT_EQ(folded->name, "sx");
    EXPECT_EQ(folded->value.element_type(), ElementType::I32);
    EXPECT_EQ(folded->value.to_i64(), (std::vector<std::int64_t>{1, 3, 4}));
    EXPECT_EQ(result_input(m, 1)->type, "ShapeOf");
}

// A Reshape whose target shape is a ShapeOf has a dynamic output until that ShapeOf folds; the
// ShapeOf of its output folds in the next round (PP-OCRv4 rec's attention reshapes).
TEST(ConstantFolding, FoldsUntilShapesThatBecameStaticAreFoldedToo) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({2, 6}), "x").output();
    Attributes rs;
    rs.set("special_zero", false);
    auto r = m.add("Reshape", "opset1", {x, m.add("ShapeOf", "opset1", {x}, {}, 1, "s1").output()},
                   rs, 1, "r")
                 .output();
    loom::model::infer_and_validate(m, *reg);
    ASSERT_FALSE(r.node->outputs[0].shape.is_static()) << r.node->outputs[0].shape.to_string();
    m.add_result(m.add("ShapeOf", "opset1", {r}, {}, 1, "s2").output());
    EXPECT_EQ(run_pass(m, make_constant_folding_pass(), *reg), 2u);
    Node* folded = result_input(m, 0);
    ASSERT_EQ(folded->type, "Constant");
    EXPECT_EQ(folded->value.to_i64(), (std::vector<std::int64_t>{2, 6}));
}

TEST(ConstantFolding, ReshapeAndConvertOfConstantsFoldWithoutEvaluate) {
    auto reg = registry();
    Model m;
    auto c = m.add_constant(f32({2, 3}, {1, 2, 3, 4, 5, 6})).output();
    Attributes rs;
    rs.set("special_zero", false);
    m.add_result(m.add("Reshape", "opset1", {c, ints(m, {3, 2})}, rs, 1, "r").output());
    auto ci = m.add_constant(i64({2}, {7, -1})).output();
    Attributes to_f32;
    to_f32.set("destination_type", ElementType::F32);
    m.add_result(m.add("Convert", "opset1", {ci}, to_f32, 1, "cf").output());
    Attributes to_i32;
    to_i32.set("destination_type", ElementType::I32);
    m.add_result(m.add("Convert", "opset1", {c}, to_i32, 1, "ci").output()); // needs the kernel
    EXPECT_EQ(run_pass(m, make_constant_folding_pass(), *reg), 2u);
    Node* r = result_input(m, 0);
    ASSERT_EQ(r->type, "Constant");
    EXPECT_EQ(r->value.shape(), (Shape{3, 2}));
    EXPECT_EQ(r->value.bytes().data(), c.node->value.bytes().data()); // same bytes, new shape
    Node* cf = result_input(m, 1);
    ASSERT_EQ(cf->type, "Constant");
    EXPECT_EQ(values_f32(cf->value), (std::vector<float>{7, -1}));
    EXPECT_EQ(result_input(m, 2)->type, "Convert");
}

TEST(Dce, RemovesDeadNodesButKeepsParametersAndSinks) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({2}), "x").output();
    m.add_parameter(ElementType::F32, PartialShape({2}), "unused");
    unary(m, "Relu", unary(m, "Tanh", x)); // dead chain
    Attributes var;
    var.set("variable_id", std::string("v"));
    auto rv = m.add("ReadValue", "opset3", {x}, var, 1, "rv").output();
    m.add_sink(m.add("Assign", "opset3", {rv}, var, 1, "assign"));
    m.add_result(x);
    EXPECT_EQ(run_pass(m, make_dce_pass(), *reg), 2u);
    EXPECT_EQ(m.parameters().size(), 2u);
    EXPECT_EQ(count(m, "Assign"), 1u);
    EXPECT_EQ(count(m, "ReadValue"), 1u);
    EXPECT_EQ(count(m, "Tanh"), 0u);
}

TEST(Cse, MergesEqualNodesAndConstants) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({2}), "x").output();
    auto a = m.add_constant(f32({2}, {1, 2})).output();
    auto b = m.add_constant(f32({2}, {1, 2})).output();
    auto c = m.add_constant(f32({2}, {1, 3})).output();
    auto s1 = binary(m, "Add", x, a);
    auto s2 = binary(m, "Add", x, b);
    s2.node->outputs[0].names = {"s2"};
    auto s3 = binary(m, "Add", x, c);
    m.add_result(s1);
    m.add_result(s2);
    m.add_result(s3);
    // constant b into a, then s2 into s1
    EXPECT_EQ(run_pass(m, make_cse_pass(), *reg), 2u);
    EXPECT_EQ(result_input(m, 0), result_input(m, 1));
    EXPECT_NE(result_input(m, 0), result_input(m, 2));
    EXPECT_EQ(count(m, "Add"), 2u);
    EXPECT_EQ(count(m, "Constant"), 2u);
    EXPECT_EQ(result_input(m, 0)->outputs[0].names, std::vector<std::string>{"s2"});
}

TEST(Cse, NeverMergesRandomOrStatefulNodes) {
    auto reg = registry();
    Model m;
    auto shape = ints(m, {3});
    auto lo = scalar(m, 0), hi = scalar(m, 1);
    Attributes attrs;
    attrs.set("output_type", ElementType::F32);
    attrs.set("global_seed", std::int64_t{0});
    attrs.set("op_seed", std::int64_t{0});
    m.add_result(m.add("RandomUniform", "opset8", {shape, lo, hi}, attrs).output());
    m.add_result(m.add("RandomUniform", "opset8", {shape, lo, hi}, attrs).output());
    EXPECT_EQ(run_pass(m, make_cse_pass(), *reg), 0u);
    EXPECT_EQ(count(m, "RandomUniform"), 2u);
}

TEST(IdentityElimination, RemovesNeutralOpsAndCancellingPairs) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({2, 3}), "x").output();
    auto one = binary(m, "Multiply", scalar(m, 1), x);
    auto zero = binary(m, "Add", one, scalar(m, 0));
    auto t1 = m.add("Transpose", "opset1", {zero, ints(m, {1, 0})}).output();
    auto t2 = m.add("Transpose", "opset1", {t1, ints(m, {1, 0})}).output();
    Attributes rs;
    rs.set("special_zero", false);
    auto r1 = m.add("Reshape", "opset1", {t2, ints(m, {6})}, rs).output();
    auto r2 = m.add("Reshape", "opset1", {r1, ints(m, {2, 3})}, rs).output();
    m.add_result(unary(m, "Relu", r2));
    EXPECT_EQ(run_pass(m, make_identity_elimination_pass(), *reg), 4u);
    EXPECT_EQ(result_input(m)->inputs[0], x);
    EXPECT_EQ(count(m, "Transpose") + count(m, "Reshape") + count(m, "Multiply"), 0u);
}

TEST(IdentityElimination, KeepsBroadcastingAndResultFeedingOps) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({3}), "x").output();
    auto grow = binary(m, "Add", x, m.add_constant(f32({2, 3}, {0, 0, 0, 0, 0, 0})).output());
    m.add_result(unary(m, "Relu", grow));
    m.add_result(binary(m, "Multiply", x, scalar(m, 1)));
    auto half = binary(m, "Multiply", x, scalar(m, 0.5));
    m.add_result(unary(m, "Relu", half));
    EXPECT_EQ(run_pass(m, make_identity_elimination_pass(), *reg), 0u);
    EXPECT_EQ(count(m, "Multiply"), 2u);
    EXPECT_EQ(count(m, "Add"), 1u);
}

TEST(F16ToF32, WidensTheGraphAndKeepsTheInterface) {
    auto reg = registry();
    Model m;
    auto& x = m.add_parameter(ElementType::F16, PartialShape({2}), "x");
    x.outputs[0].names = {"x"};
    auto half = loom::model::Tensor::allocate(ElementType::F16, {2});
    auto* bits = reinterpret_cast<std::uint16_t*>(half.mutable_data());
    bits[0] = loom::model::f32_to_f16(0.5f);
    bits[1] = loom::model::f32_to_f16(-2.f);
    auto c = m.add_constant(half).output();
    auto sum = binary(m, "Add", x.output(), c);
    sum.node->outputs[0].names = {"y"};
    m.add_result(sum);
    loom::model::infer_and_validate(m, *reg);
    EXPECT_EQ(run_pass(m, make_f16_to_f32_pass(), *reg), 1u);
    // The interface: x is still f16; the result reads f16 through a Convert that took "y".
    EXPECT_EQ(x.outputs[0].type, ElementType::F16);
    Node* back = result_input(m);
    ASSERT_EQ(back->type, "Convert");
    EXPECT_EQ(back->outputs[0].type, ElementType::F16);
    EXPECT_EQ(back->outputs[0].names, std::vector<std::string>{"y"});
    // Inside: the Add computes in f32 on a widened constant with the same values.
    Node* add = back->inputs[0].node;
    ASSERT_EQ(add->type, "Add");
    EXPECT_EQ(add->outputs[0].type, ElementType::F32);
    EXPECT_EQ(add->inputs[0].node->type, "Convert"); // x → f32
    const auto& widened = add->inputs[1].node->value;
    ASSERT_EQ(widened.element_type(), ElementType::F32);
    EXPECT_EQ(values_f32(widened), (std::vector<float>{0.5f, -2.f}));
    // An f32 model is left alone.
    Model f;
    f.add_result(binary(f, "Add",
                        f.add_parameter(ElementType::F32, PartialShape({2}), "p").output(),
                        f.add_constant(test::f32({2}, {1, 2})).output()));
    loom::model::infer_and_validate(f, *reg);
    EXPECT_EQ(run_pass(f, make_f16_to_f32_pass(), *reg), 0u);
}
