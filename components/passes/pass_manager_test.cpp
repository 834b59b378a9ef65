#include <gtest/gtest.h>

#include "components/passes/pass_manager.hpp"
#include "components/passes/passes.hpp"
#include "components/passes/test_util.hpp"
#include "schemas/error.hpp"

using namespace loom::passes;
using namespace loom::passes::test;

namespace {

// Adds an untyped Relu after the parameter once; counts one rewrite.
class AddRelu final : public Pass {
public:
    std::string_view name() const override { return "add_relu"; }
    bool run(Model& m, PassContext& ctx) override {
        if (count(m, "Relu")) return false;
        Node* p = m.parameters()[0];
        Output relu = m.add("Relu", "opset1", {p->output()}, {}, 1, "relu").output();
        m.results()[0]->inputs[0] = relu;
        ctx.count();
        ctx.note("added relu");
        return true;
    }
};

class Throws final : public Pass {
public:
    std::string_view name() const override { return "broken"; }
    bool run(Model&, PassContext&) override {
        LOOM_THROW(loom::ErrorKind::INVALID_ARGUMENT, "bad graph");
    }
};

} // namespace

TEST(PassManager, ReinfersAfterAChangeAndReports) {
    auto reg = registry();
    Model m;
    auto& x = m.add_parameter(ElementType::F32, PartialShape({2, 3}), "x");
    m.add_result(x.output());
    PassManager pm;
    pm.add(std::make_unique<AddRelu>()).add(std::make_unique<AddRelu>());
    std::vector<std::string> log;
    PassContext ctx(*reg);
    ctx.log = [&](std::string_view pass, std::string_view msg) {
        log.push_back(std::string(pass) + ": " + std::string(msg));
    };
    auto report = pm.run(m, ctx);
    ASSERT_EQ(report.passes.size(), 2u);
    EXPECT_TRUE(report.passes[0].changed);
    EXPECT_EQ(report.passes[0].rewrites, 1u);
    EXPECT_EQ(report.passes[0].nodes_before, 2u);
    EXPECT_EQ(report.passes[0].nodes_after, 3u);
    EXPECT_FALSE(report.passes[1].changed);
    EXPECT_EQ(report.passes[1].rewrites, 0u);
    EXPECT_EQ(ctx.rewrites.at("add_relu"), 1u);
    EXPECT_EQ(log, std::vector<std::string>{"add_relu: added relu"});
    // The new node was typed by the re-inference.
    Node* relu = result_input(m);
    EXPECT_EQ(relu->outputs[0].type, ElementType::F32);
    EXPECT_EQ(relu->outputs[0].shape, PartialShape({2, 3}));
    EXPECT_NE(report.to_string().find("add_relu"), std::string::npos);
}

TEST(PassManager, ErrorsNameThePass) {
    auto reg = registry();
    Model m;
    m.add_result(m.add_parameter(ElementType::F32, PartialShape({2}), "x").output());
    PassManager pm;
    pm.add(std::make_unique<Throws>());
    try {
        pm.run(m, *reg);
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("pass 'broken'"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("bad graph"), std::string::npos);
    }
    EXPECT_THROW(pm.add(nullptr), loom::Error);
}

TEST(PipelineRegistry, UnknownPipelineListsKnownOnes) {
    auto pipelines = make_default_pipelines();
    EXPECT_TRUE(pipelines.contains("common"));
    pipelines.add("cpu", [] {
        PassManager pm;
        pm.add(make_dce_pass());
        return pm;
    });
    EXPECT_EQ(pipelines.make("cpu").size(), 1u);
    try {
        pipelines.make("gpu");
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::NOT_FOUND);
        EXPECT_NE(e.message().find("'gpu'"), std::string::npos);
        EXPECT_NE(e.message().find("common, cpu"), std::string::npos) << e.message();
    }
    EXPECT_THROW(pipelines.add("common", make_common_pipeline), loom::Error);
}

TEST(PipelineRegistry, CommonRunsItsPassesInOrder) {
    auto pm = make_default_pipelines().make("common");
    auto names = pm.pass_names();
    ASSERT_GE(names.size(), 6u);
    EXPECT_EQ(names.front(), "validate");
    EXPECT_EQ(names[1], "constant_folding");
    EXPECT_EQ(names[2], "dce");
    EXPECT_EQ(names[3], "cse");
    EXPECT_EQ(names[names.size() - 2], "dce");
    EXPECT_EQ(names.back(), "validate");
}

TEST(PipelineRegistry, CommonFusesAndCleansAModel) {
    auto reg = registry();
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({1, 2, 4, 4}), "x").output();
    auto w = m.add_constant(f32({2, 2, 1, 1}, {1, 0, 0, 1})).output();
    auto conv = m.add("Convolution", "opset1", {x, w}, conv_attrs(), 1, "conv").output();
    Attributes bn_attrs;
    bn_attrs.set("epsilon", 0.0);
    auto bn =
        m.add("BatchNormInference", "opset5",
              {conv, m.add_constant(f32({2}, {2, 2})).output(),
               m.add_constant(f32({2}, {1, 1})).output(), m.add_constant(f32({2}, {0, 0})).output(),
               m.add_constant(f32({2}, {1, 1})).output()},
              bn_attrs, 1, "bn")
            .output();
    auto relu = unary(m, "Relu", bn);
    // Two identical branches (CSE) and a dead one (DCE).
    auto a = binary(m, "Multiply", relu, scalar(m, 1.0f)); // identity
    auto s1 = unary(m, "Sigmoid", a);
    auto s2 = unary(m, "Sigmoid", a);
    unary(m, "Tanh", x);
    m.add_result(binary(m, "Add", s1, s2), "y");
    auto report = make_default_pipelines().make("common").run(m, *reg);
    EXPECT_EQ(count(m, "BatchNormInference"), 0u);
    EXPECT_EQ(count(m, "Relu"), 0u);
    EXPECT_EQ(count(m, "FusedConvolution"), 1u);
    EXPECT_EQ(count(m, "Sigmoid"), 1u);
    EXPECT_EQ(count(m, "Tanh"), 0u);
    EXPECT_EQ(count(m, "Multiply"), 0u);
    Node* fused = nullptr;
    for (Node* n : m.nodes())
        if (n->type == "FusedConvolution") fused = n;
    ASSERT_NE(fused, nullptr);
    EXPECT_EQ(fused->attrs.get<std::string>("activation"), "relu");
    EXPECT_EQ(fused->outputs[0].shape, PartialShape({1, 2, 4, 4}));
    EXPECT_EQ(values_f32(fused->inputs[1].node->value), (std::vector<float>{2, 0, 0, 2}));
    EXPECT_EQ(values_f32(fused->inputs[2].node->value), (std::vector<float>{1, 1}));
    ASSERT_EQ(report.passes.size(), make_common_pipeline().size());
    EXPECT_GT(report.passes.front().nodes_before, report.passes.back().nodes_after);
    std::size_t rewrites = 0;
    for (const auto& p : report.passes)
        rewrites += p.rewrites;
    EXPECT_GT(rewrites, 4u);
}

TEST(PassManager, PassesRecurseIntoBodies) {
    auto reg = registry();
    auto body = std::make_shared<Model>();
    auto bp = body->add_parameter(ElementType::F32, PartialShape({2}), "bp").output();
    unary(*body, "Relu", bp); // dead inside the body
    body->add_result(unary(*body, "Tanh", bp));
    Model m;
    auto x = m.add_parameter(ElementType::F32, PartialShape({2}), "x").output();
    Node& loop = m.add("Loop", "opset5", {x}, {}, 1, "loop");
    loop.bodies.push_back(Body{"body", body, {}, {}, {}});
    m.add_result(loop.output());
    PassContext ctx(*reg);
    ctx.current_pass = "dce";
    EXPECT_TRUE(make_dce_pass()->run(m, ctx));
    EXPECT_EQ(body->size(), 3u);
    EXPECT_EQ(count(*body, "Relu"), 0u);
    EXPECT_EQ(count_nodes(m), 6u);
}
