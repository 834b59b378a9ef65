#include <cmath>

#include <gtest/gtest.h>

#include "components/passes/passes.hpp"
#include "components/passes/test_util.hpp"

using namespace loom::passes;
using namespace loom::passes::test;

namespace {

Output clamp(Model& m, Output v, double lo, double hi) {
    Attributes a;
    a.set("min", lo);
    a.set("max", hi);
    return m.add("Clamp", "opset1", {v}, a, 1, "clamp").output();
}

Output param(Model& m) {
    return m.add_parameter(ElementType::F32, PartialShape({2, 8}), "x").output();
}

// Runs fuse_hswish on a model whose only result is `out(x)`; returns the result's producer.
template <class Build>
Node* hswish_of(Model& m, Build&& build, std::size_t expected_rewrites) {
    auto reg = registry();
    auto x = param(m);
    m.add_result(build(m, x));
    EXPECT_EQ(run_pass(m, make_hswish_fusion_pass(), *reg), expected_rewrites);
    return result_input(m, m.results().size() - 1);
}

Output hard_sigmoid(Model& m, Output x, float alpha, float beta) {
    return m.add("HardSigmoid", "opset1", {x, scalar(m, alpha), scalar(m, beta)}).output();
}

} // namespace

TEST(HSwishFusion, HardSigmoidProductInEitherOrder) {
    Model a, b;
    Node* n = hswish_of(
        a,
        [](Model& m, Output x) {
            return binary(m, "Multiply", x, hard_sigmoid(m, x, 1.0f / 6, 0.5f));
        },
        1);
    EXPECT_EQ(n->type, "HSwish");
    EXPECT_EQ(n->version, "opset4");
    EXPECT_EQ(n->inputs[0], a.parameters()[0]->output());
    EXPECT_EQ(count(a, "HardSigmoid") + count(a, "Multiply"), 0u);
    n = hswish_of(
        b,
        [](Model& m, Output x) {
            return binary(m, "Multiply", hard_sigmoid(m, x, 0.1666667f, 0.5f), x);
        },
        1);
    EXPECT_EQ(n->type, "HSwish");
}

TEST(HSwishFusion, ClampFormsWithDivideOrMultiply) {
    Model a, b;
    Node* n = hswish_of(
        a,
        [](Model& m, Output x) {
            auto r6 = clamp(m, binary(m, "Add", x, scalar(m, 3)), 0, 6);
            return binary(m, "Divide", binary(m, "Multiply", x, r6), scalar(m, 6));
        },
        1);
    EXPECT_EQ(n->type, "HSwish");
    EXPECT_EQ(count(a, "Clamp"), 0u);
    n = hswish_of(
        b,
        [](Model& m, Output x) {
            auto r6 = clamp(m, binary(m, "Add", scalar(m, 3), x), 0, 6);
            return binary(m, "Multiply", binary(m, "Multiply", r6, scalar(m, 1.0f / 6)), x);
        },
        1);
    EXPECT_EQ(n->type, "HSwish");
}

TEST(HSwishFusion, KeepsOtherAlphaAndSharedIntermediates) {
    Model a, b, c;
    Node* n = hswish_of(
        a,
        [](Model& m, Output x) { return binary(m, "Multiply", x, hard_sigmoid(m, x, 0.2f, 0.5f)); },
        0);
    EXPECT_EQ(n->type, "Multiply");
    n = hswish_of(
        b,
        [](Model& m, Output x) {
            auto h = hard_sigmoid(m, x, 1.0f / 6, 0.5f);
            m.add_result(h); // the HardSigmoid is observable
            return binary(m, "Multiply", x, h);
        },
        0);
    EXPECT_EQ(n->type, "Multiply");
    n = hswish_of(
        c,
        [](Model& m, Output x) { // x * Clamp(y + 3) with y ≠ x
            auto y = m.add_parameter(ElementType::F32, PartialShape({2, 8}), "y").output();
            auto r6 = clamp(m, binary(m, "Add", y, scalar(m, 3)), 0, 6);
            return binary(m, "Divide", binary(m, "Multiply", x, r6), scalar(m, 6));
        },
        0);
    EXPECT_EQ(n->type, "Divide");
}

namespace {

template <class Build>
Node* gelu_of(Model& m, Build&& build, std::size_t expected_rewrites) {
    auto reg = registry();
    auto x = param(m);
    m.add_result(build(m, x));
    EXPECT_EQ(run_pass(m, make_gelu_fusion_pass(), *reg), expected_rewrites);
    return result_input(m, m.results().size() - 1);
}

Output erf_sum(Model& m, Output x, bool divide) {
    auto scaled = divide ? binary(m, "Divide", x, scalar(m, 1.4142f))
                         : binary(m, "Multiply", scalar(m, 0.70710678f), x);
    return binary(m, "Add", unary(m, "Erf", scaled), scalar(m, 1));
}

} // namespace

TEST(GeluFusion, ErfFormsInAnyOrder) {
    Model a, b, c;
    Node* n = gelu_of(
        a,
        [](Model& m, Output x) { // (x · 0.5) · (1 + erf(x / 1.4142))
            return binary(m, "Multiply", binary(m, "Multiply", x, scalar(m, 0.5)),
                          erf_sum(m, x, true));
        },
        1);
    ASSERT_EQ(n->type, "Gelu");
    EXPECT_EQ(n->version, "opset7");
    EXPECT_EQ(n->attrs.get<std::string>("approximation_mode"), "ERF");
    EXPECT_EQ(n->inputs[0], a.parameters()[0]->output());
    EXPECT_EQ(count(a, "Erf") + count(a, "Multiply") + count(a, "Add"), 0u);
    n = gelu_of(
        b,
        [](Model& m, Output x) { // 0.5 · (x · (1 + erf(0.7071 · x)))
            return binary(m, "Multiply", scalar(m, 0.5),
                          binary(m, "Multiply", erf_sum(m, x, false), x));
        },
        1);
    EXPECT_EQ(n->type, "Gelu");
    n = gelu_of(
        c,
        [](Model& m, Output x) { // x · (1 + erf(x / √2)) / 2
            return binary(m, "Divide", binary(m, "Multiply", x, erf_sum(m, x, true)), scalar(m, 2));
        },
        1);
    EXPECT_EQ(n->type, "Gelu");
}

TEST(GeluFusion, TanhForm) {
    Model a;
    Node* n = gelu_of(
        a,
        [](Model& m, Output x) {
            auto cube = binary(m, "Power", x, scalar(m, 3));
            auto inner = binary(m, "Add", x, binary(m, "Multiply", scalar(m, 0.044715f), cube));
            auto t = unary(m, "Tanh", binary(m, "Multiply", inner, scalar(m, 0.7978845608f)));
            return binary(m, "Multiply", binary(m, "Multiply", scalar(m, 0.5), x),
                          binary(m, "Add", scalar(m, 1), t));
        },
        1);
    ASSERT_EQ(n->type, "Gelu");
    EXPECT_EQ(n->attrs.get<std::string>("approximation_mode"), "TANH");
    EXPECT_EQ(count(a, "Tanh") + count(a, "Power"), 0u);
}

TEST(GeluFusion, KeepsWrongConstantsAndSharedErf) {
    Model a, b;
    Node* n = gelu_of(
        a,
        [](Model& m, Output x) { // 0.6 instead of 0.5
            return binary(m, "Multiply", binary(m, "Multiply", x, scalar(m, 0.6f)),
                          erf_sum(m, x, true));
        },
        0);
    EXPECT_EQ(n->type, "Multiply");
    n = gelu_of(
        b,
        [](Model& m, Output x) {
            auto s = erf_sum(m, x, true);
            m.add_result(s.node->inputs[0]); // the Erf is observable
            return binary(m, "Multiply", binary(m, "Multiply", x, scalar(m, 0.5)), s);
        },
        0);
    EXPECT_EQ(n->type, "Multiply");
    EXPECT_EQ(count(b, "Erf"), 1u);
}

TEST(SwishFusion, XTimesSigmoidX) {
    auto reg = registry();
    Model m;
    auto x = param(m);
    auto y = param(m);
    m.add_result(binary(m, "Multiply", unary(m, "Sigmoid", x), x));
    m.add_result(binary(m, "Multiply", x, unary(m, "Sigmoid", y))); // a gate, not Swish
    EXPECT_EQ(run_pass(m, make_swish_fusion_pass(), *reg), 1u);
    EXPECT_EQ(result_input(m, 0)->type, "Swish");
    EXPECT_EQ(result_input(m, 0)->inputs, std::vector<Output>{x});
    EXPECT_EQ(result_input(m, 1)->type, "Multiply");
}
