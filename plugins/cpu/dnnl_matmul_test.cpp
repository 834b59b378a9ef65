// The oneDNN matmul (dnnl_matmul) against the reference kernels: transposes, broadcast batch
// dimensions, constant (packed) and runtime B, and FusedMatMul with a bias and activations.

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reference/kernel_test_util.hpp"
#include "plugins/cpu/dnnl_matmul.hpp"
#include "plugins/cpu/dnnl_test_util.hpp"

namespace loom::plugins::cpu {
namespace {

using model::Attributes;
using model::Shape;
using model::Tensor;
using ElementType = model::ElementType;
using test::random_f32;

struct Case {
    Shape a, b;
    bool transpose_a = false, transpose_b = false;
    bool constant_b = false;
    std::string activation; // non-empty: FusedMatMul with a bias
    double alpha = 0, beta = 0;
};

void expect_matches_reference(const Case& c) {
    SCOPED_TRACE("a" + model::to_string(c.a) + " b" + model::to_string(c.b) +
                 (c.transpose_a ? " ta" : "") + (c.transpose_b ? " tb" : "") +
                 (c.constant_b ? " constant b" : "") + " " + c.activation);
    const bool fused = !c.activation.empty();
    const std::string type = fused ? "FusedMatMul" : "MatMul";
    const std::string version = fused ? "loom1" : "opset1";
    Attributes attrs;
    attrs.set("transpose_a", c.transpose_a);
    attrs.set("transpose_b", c.transpose_b);
    if (fused) {
        attrs.set("activation", c.activation);
        if (c.activation == "clamp" || c.activation == "swish" || c.activation == "elu")
            attrs.set("activation_alpha", c.alpha);
        if (c.activation == "clamp") attrs.set("activation_beta", c.beta);
    }
    const auto a = random_f32(c.a, 1), b = random_f32(c.b, 2);
    std::vector<Tensor> inputs{a, b};
    auto registry = model::make_native_registry();
    model::Model m;
    auto& pa = m.add_parameter(ElementType::F32, model::PartialShape(c.a), "a");
    auto& pb = c.constant_b ? m.add_constant(b)
                            : m.add_parameter(ElementType::F32, model::PartialShape(c.b), "b");
    std::vector<model::Output> node_inputs{pa.output(), pb.output()};
    model::Node* bias = nullptr;
    if (fused) {
        // The bias has N elements: the last dimension of the output.
        auto& probe = m.add("MatMul", "opset1", {pa.output(), pb.output()}, attrs, 1, "probe");
        Attributes plain;
        plain.set("transpose_a", c.transpose_a);
        plain.set("transpose_b", c.transpose_b);
        probe.attrs = plain;
        model::infer_node(probe, *registry);
        const auto n = probe.outputs[0].shape.to_shape().back();
        inputs.push_back(random_f32({n}, 3));
        bias = &m.add_constant(inputs.back());
        node_inputs.push_back(bias->output());
    }
    const auto expected = reference::test::eval(type, version, inputs, attrs);
    auto& node = m.add(type, version, node_inputs, attrs, 1, "matmul");
    model::infer_node(node, *registry);
    ASSERT_TRUE(dnnl_matmul_applies(node));
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    DnnlMatMul mm(engine, node);
    EXPECT_EQ(mm.constant_b(), c.constant_b);
    EXPECT_FALSE(mm.implementation().empty());
    Tensor y = Tensor::allocate(ElementType::F32, expected[0].shape());
    ASSERT_EQ(node.outputs[0].shape.to_shape(), expected[0].shape());
    mm.run(stream, a.data<float>(), c.constant_b ? nullptr : b.data<float>(), test::f32_data(y));
    test::expect_close(y, expected[0]);
}

TEST(DnnlMatMul, MatchesTheReferenceWithEveryTransposeAndConstantOrRuntimeB) {
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (bool constant : {false, true})
                expect_matches_reference({ta ? Shape{7, 5} : Shape{5, 7},
                                          tb ? Shape{3, 7} : Shape{7, 3}, ta, tb, constant});
}

TEST(DnnlMatMul, BroadcastsBatchDimensionsAsMatMulDoes) {
    expect_matches_reference({{2, 1, 4, 5}, {3, 5, 6}});
    expect_matches_reference({{4, 5}, {2, 3, 5, 6}, false, false, true});
    expect_matches_reference({{2, 3, 4, 5}, {2, 3, 6, 5}, false, true});
}

TEST(DnnlMatMul, MatchesTheReferenceOnFusedMatMulWithBiasAndActivations) {
    expect_matches_reference({{6, 16}, {16, 10}, false, false, true, "none"});
    expect_matches_reference({{2, 6, 16}, {10, 16}, false, true, true, "relu"});
    expect_matches_reference({{6, 16}, {16, 10}, false, false, true, "gelu_erf"});
    expect_matches_reference({{6, 16}, {16, 10}, false, false, false, "clamp", -0.3, 0.4});
    expect_matches_reference({{6, 16}, {16, 10}, false, false, true, "swish", 1.5});
}

TEST(DnnlMatMul, VectorsAndDynamicShapesAreLeftToOtherKernels) {
    auto registry = model::make_native_registry();
    model::Model m;
    auto& v = m.add_parameter(ElementType::F32, model::PartialShape(Shape{5}), "v");
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape(Shape{3, 5}), "x");
    auto& d = m.add_parameter(ElementType::F32, model::PartialShape::dynamic(), "d");
    auto& vec = m.add("MatMul", "opset1", {x.output(), v.output()}, {}, 1, "vec");
    auto& dyn = m.add("MatMul", "opset1", {d.output(), x.output()}, {}, 1, "dyn");
    auto& ok = m.add("MatMul", "opset1",
                     {x.output(), m.add_constant(random_f32({5, 2}, 4)).output()}, {}, 1, "ok");
    for (auto* n : {&vec, &dyn, &ok})
        model::infer_node(*n, *registry);
    EXPECT_FALSE(dnnl_matmul_applies(vec));
    EXPECT_FALSE(dnnl_matmul_applies(dyn));
    EXPECT_TRUE(dnnl_matmul_applies(ok));
}

} // namespace
} // namespace loom::plugins::cpu
