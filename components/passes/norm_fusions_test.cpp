#include <gtest/gtest.h>

#include "components/passes/passes.hpp"
#include "components/passes/test_util.hpp"

using namespace loom::passes;
using namespace loom::passes::test;

namespace {

Output reduce_mean(Model& m, Output v, std::vector<std::int64_t> axes) {
    Attributes a;
    a.set("keep_dims", true);
    return m.add("ReduceMean", "opset1", {v, ints(m, std::move(axes))}, a, 1, "mean").output();
}

enum class Den { divide, reciprocal, rsqrt };

struct LayerNorm {
    Model m;
    Output x, mean, normalized;
};

// (x − mean) / √(mean((x − mean)²) + 1e-5) · γ + β over the last axis.
std::unique_ptr<LayerNorm> layer_norm(Den den, bool square_by_mul = false) {
    auto g = std::make_unique<LayerNorm>();
    Model& m = g->m;
    g->x = m.add_parameter(ElementType::F32, PartialShape({2, 5, 8}), "x").output();
    g->mean = reduce_mean(m, g->x, {-1});
    auto d = binary(m, "Subtract", g->x, g->mean);
    auto sq = square_by_mul ? binary(m, "Multiply", d, d) : binary(m, "Power", d, scalar(m, 2));
    auto ve = binary(m, "Add", reduce_mean(m, sq, {2}), scalar(m, 1e-5f));
    if (den == Den::divide)
        g->normalized = binary(m, "Divide", d, unary(m, "Sqrt", ve));
    else if (den == Den::reciprocal)
        g->normalized =
            binary(m, "Multiply", d, binary(m, "Divide", scalar(m, 1), unary(m, "Sqrt", ve)));
    else
        g->normalized = binary(m, "Multiply", binary(m, "Power", ve, scalar(m, -0.5f)), d);
    auto gamma = m.add_constant(f32({8}, std::vector<float>(8, 2.0f))).output();
    auto beta = m.add_constant(f32({8}, std::vector<float>(8, 1.0f))).output();
    m.add_result(binary(m, "Add", binary(m, "Multiply", g->normalized, gamma), beta));
    return g;
}

void expect_mvn(const LayerNorm& g) {
    EXPECT_EQ(count(g.m, "MVN"), 1u);
    EXPECT_EQ(count(g.m, "ReduceMean") + count(g.m, "Sqrt") + count(g.m, "Subtract"), 0u);
    EXPECT_EQ(count(g.m, "Multiply"), 1u); // γ stays
    EXPECT_EQ(count(g.m, "Add"), 1u);      // β stays
    Node* mul = result_input(g.m)->inputs[0].node;
    Node* mvn = mul->inputs[0].node;
    ASSERT_EQ(mvn->type, "MVN");
    EXPECT_EQ(mvn->version, "opset6");
    EXPECT_EQ(mvn->inputs[0], g.x);
    EXPECT_EQ(mvn->inputs[1].node->value.to_i64(), std::vector<std::int64_t>{-1});
    EXPECT_TRUE(mvn->attrs.get<bool>("normalize_variance"));
    EXPECT_NEAR(mvn->attrs.get<double>("eps"), 1e-5, 1e-9);
    EXPECT_EQ(mvn->attrs.get<std::string>("eps_mode"), "inside_sqrt");
    EXPECT_EQ(mvn->outputs[0].shape, PartialShape({2, 5, 8}));
}

} // namespace

TEST(LayerNormFusion, DivideBySqrt) {
    auto reg = registry();
    auto g = layer_norm(Den::divide);
    EXPECT_EQ(run_pass(g->m, make_layer_norm_fusion_pass(), *reg), 1u);
    expect_mvn(*g);
}

TEST(LayerNormFusion, MultiplyByReciprocalOrRsqrt) {
    auto reg = registry();
    auto a = layer_norm(Den::reciprocal, true);
    EXPECT_EQ(run_pass(a->m, make_layer_norm_fusion_pass(), *reg), 1u);
    expect_mvn(*a);
    auto b = layer_norm(Den::rsqrt);
    EXPECT_EQ(run_pass(b->m, make_layer_norm_fusion_pass(), *reg), 1u);
    expect_mvn(*b);
}

TEST(LayerNormFusion, KeepsMeanUsedElsewhere) {
    auto reg = registry();
    auto g = layer_norm(Den::divide);
    g->m.add_result(g->mean, "mean");
    EXPECT_EQ(run_pass(g->m, make_layer_norm_fusion_pass(), *reg), 0u);
    EXPECT_EQ(count(g->m, "MVN"), 0u);
    EXPECT_EQ(count(g->m, "ReduceMean"), 2u);
}

TEST(LayerNormFusion, KeepsDifferentAxes) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({2, 5, 8}), "x").output();
    auto d = binary(m, "Subtract", x, reduce_mean(m, x, {1}));
    auto sq = binary(m, "Power", d, scalar(m, 2));
    auto ve = binary(m, "Add", reduce_mean(m, sq, {2}), scalar(m, 1e-5f));
    m.add_result(binary(m, "Divide", d, unary(m, "Sqrt", ve)));
    EXPECT_EQ(run_pass(m, make_layer_norm_fusion_pass(), *reg), 0u);
    EXPECT_EQ(count(m, "MVN"), 0u);
}
