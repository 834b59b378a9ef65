// The oneDNN convolution (dnnl_conv) against the reference kernels (the oracle): plain and grouped
// (depthwise) convolutions in 1-D, 2-D and 3-D with strides, dilations, explicit and automatic
// padding, and FusedConvolution with a bias and every activation.

#include <gtest/gtest.h>

#include <thread>

#include "components/model/op_registry.hpp"
#include "components/reference/kernel_test_util.hpp"
#include "plugins/cpu/dnnl_conv.hpp"
#include "plugins/cpu/dnnl_test_util.hpp"

namespace loom::plugins::cpu {
namespace {

using model::Attributes;
using model::Shape;
using model::Tensor;
using ElementType = model::ElementType;
using test::random_f32;

struct Case {
    std::string type, version;
    Shape x, w;
    Attributes attrs;
    bool bias = false;
};

Attributes conv_attrs(std::vector<std::int64_t> strides, std::vector<std::int64_t> dilations,
                      std::vector<std::int64_t> pads_begin, std::vector<std::int64_t> pads_end,
                      std::string auto_pad = "explicit") {
    Attributes a;
    a.set("strides", strides);
    a.set("dilations", dilations);
    a.set("pads_begin", pads_begin);
    a.set("pads_end", pads_end);
    a.set("auto_pad", auto_pad);
    return a;
}

// Runs `c` on oneDNN and on the reference kernel; expects the same values.
void expect_matches_reference(const Case& c) {
    SCOPED_TRACE(c.type + " x" + model::to_string(c.x) + " w" + model::to_string(c.w));
    const auto x = random_f32(c.x, 1);
    const auto w = random_f32(c.w, 2);
    const auto b = random_f32({c.w[0]}, 3);
    std::vector<Tensor> inputs{x, w};
    if (c.bias) inputs.push_back(b);
    const auto expected = reference::test::eval(c.type, c.version, inputs, c.attrs);

    auto registry = model::make_native_registry();
    model::Model m;
    auto& param = m.add_parameter(ElementType::F32, model::PartialShape(c.x), "x");
    std::vector<model::Output> node_inputs{param.output(), m.add_constant(w).output()};
    if (c.bias) node_inputs.push_back(m.add_constant(b).output());
    auto& node = m.add(c.type, c.version, node_inputs, c.attrs, 1, "conv");
    model::infer_node(node, *registry);
    ASSERT_TRUE(dnnl_conv_applies(node));

    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    DnnlConv conv(engine, node);
    EXPECT_FALSE(conv.implementation().empty());
    Tensor y = Tensor::allocate(ElementType::F32, expected[0].shape());
    ASSERT_EQ(node.outputs[0].shape.to_shape(), expected[0].shape());
    conv.run(stream, x.data<float>(), test::f32_data(y));
    test::expect_close(y, expected[0]);
}

TEST(DnnlConv, MatchesTheReferenceOnPlainConvolutions) {
    expect_matches_reference({"Convolution",
                              "opset1",
                              {1, 8, 10, 12},
                              {16, 8, 3, 3},
                              conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1})});
    expect_matches_reference({"Convolution",
                              "opset1",
                              {2, 3, 11, 9},
                              {4, 3, 3, 2},
                              conv_attrs({2, 1}, {2, 1}, {1, 0}, {0, 2})});
    expect_matches_reference({"Convolution",
                              "opset1",
                              {1, 16, 7, 7},
                              {8, 16, 1, 1},
                              conv_attrs({1, 1}, {1, 1}, {0, 0}, {0, 0})});
    expect_matches_reference(
        {"Convolution", "opset1", {1, 4, 20}, {6, 4, 5}, conv_attrs({3}, {1}, {2}, {1})});
    expect_matches_reference({"Convolution",
                              "opset1",
                              {1, 2, 5, 6, 7},
                              {3, 2, 3, 3, 3},
                              conv_attrs({1, 2, 1}, {1, 1, 2}, {1, 1, 0}, {1, 0, 2})});
}

TEST(DnnlConv, MatchesTheReferenceWithAutomaticPadding) {
    for (const char* pad : {"same_upper", "same_lower", "valid"})
        expect_matches_reference({"Convolution",
                                  "opset1",
                                  {1, 3, 9, 8},
                                  {5, 3, 4, 3},
                                  conv_attrs({2, 2}, {1, 1}, {0, 0}, {0, 0}, pad)});
}

TEST(DnnlConv, MatchesTheReferenceOnGroupedAndDepthwiseConvolutions) {
    expect_matches_reference({"GroupConvolution",
                              "opset1",
                              {1, 8, 9, 9},
                              {8, 1, 1, 3, 3},
                              conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1})});
    expect_matches_reference({"GroupConvolution",
                              "opset1",
                              {1, 8, 10, 10},
                              {2, 6, 4, 3, 3},
                              conv_attrs({2, 2}, {1, 1}, {1, 1}, {0, 0})});
}

TEST(DnnlConv, MatchesTheReferenceOnFusedConvolutionWithEveryActivation) {
    for (const char* act : {"none", "relu", "sigmoid", "tanh", "hswish", "gelu_erf", "gelu_tanh",
                            "clamp", "swish", "elu"}) {
        SCOPED_TRACE(act);
        auto attrs = conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1});
        attrs.set("activation", std::string(act));
        if (std::string(act) == "clamp") {
            attrs.set("activation_alpha", -0.5);
            attrs.set("activation_beta", 0.7);
        } else if (std::string(act) == "swish") {
            attrs.set("activation_alpha", 1.3);
        } else if (std::string(act) == "elu") {
            attrs.set("activation_alpha", 0.8);
        }
        expect_matches_reference(
            {"FusedConvolution", "loom1", {1, 6, 8, 8}, {10, 6, 3, 3}, attrs, true});
    }
}

// Found by `loom check -d CPU --timeout`: the inference ran on a request thread, the primitive was
// made on the compiling one, and oneDNN's own scratchpad (sized per thread at creation) was
// written through a null pointer.
TEST(DnnlConv, RunsOnThreadsOtherThanTheOneThatMadeIt) {
    auto registry = model::make_native_registry();
    model::Model m;
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape(Shape{4, 4, 15}), "x");
    auto& w = m.add_constant(random_f32({6, 4, 3}, 7));
    auto attrs = conv_attrs({1}, {1}, {0}, {0});
    auto& node = m.add("Convolution", "opset1", {x.output(), w.output()}, attrs, 1, "conv1d");
    model::infer_node(node, *registry);
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    DnnlConv conv(engine, node);
    const auto input = random_f32({4, 4, 15}, 8);
    const auto expected = reference::test::eval("Convolution", "opset1", {input, w.value}, attrs);
    for (int t = 0; t < 3; ++t) {
        Tensor y = Tensor::allocate(ElementType::F32, expected[0].shape());
        std::thread([&] {
            dnnl::stream stream(engine);
            conv.run(stream, input.data<float>(), test::f32_data(y));
        }).join();
        test::expect_close(y, expected[0]);
    }
}

TEST(DnnlConv, AppliesOnlyToStaticF32NodesWithConstantWeights) {
    auto registry = model::make_native_registry();
    model::Model m;
    auto attrs = conv_attrs({1, 1}, {1, 1}, {0, 0}, {0, 0});
    auto& dynamic = m.add_parameter(ElementType::F32, model::PartialShape::dynamic(), "d");
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape(Shape{1, 2, 4, 4}), "x");
    auto& w_param = m.add_parameter(ElementType::F32, model::PartialShape(Shape{3, 2, 1, 1}), "w");
    auto& w = m.add_constant(random_f32({3, 2, 1, 1}, 4));
    auto& ok = m.add("Convolution", "opset1", {x.output(), w.output()}, attrs, 1, "ok");
    auto& dyn = m.add("Convolution", "opset1", {dynamic.output(), w.output()}, attrs, 1, "dyn");
    auto& var = m.add("Convolution", "opset1", {x.output(), w_param.output()}, attrs, 1, "var");
    for (auto* n : {&ok, &dyn, &var})
        model::infer_node(*n, *registry);
    EXPECT_TRUE(dnnl_conv_applies(ok));
    EXPECT_FALSE(dnnl_conv_applies(dyn)) << "dynamic shapes";
    EXPECT_FALSE(dnnl_conv_applies(var)) << "weights that are not a Constant";
    auto& relu = m.add("Relu", "opset1", {x.output()}, {}, 1, "relu");
    EXPECT_FALSE(dnnl_conv_applies(relu));
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    try {
        DnnlConv conv(engine, dyn);
        FAIL() << "a dynamic convolution was built";
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("'dyn'"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace loom::plugins::cpu
