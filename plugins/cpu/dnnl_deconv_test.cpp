// The oneDNN deconvolution (dnnl_deconv) against the reference kernels: strides, paddings
// explicit and automatic, output_padding, an output_shape input, groups, 1-D to 3-D.

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reference/kernel_test_util.hpp"
#include "plugins/cpu/dnnl_deconv.hpp"
#include "plugins/cpu/dnnl_test_util.hpp"

namespace loom::plugins::cpu {
namespace {

using model::Attributes;
using model::Shape;
using model::Tensor;
using ElementType = model::ElementType;
using test::random_f32;

Attributes deconv_attrs(std::vector<std::int64_t> strides, std::vector<std::int64_t> pads_begin,
                        std::vector<std::int64_t> pads_end, std::string auto_pad = "explicit",
                        std::vector<std::int64_t> output_padding = {}) {
    Attributes a;
    const auto n = strides.size();
    a.set("strides", strides);
    a.set("dilations", std::vector<std::int64_t>(n, 1));
    a.set("pads_begin", pads_begin);
    a.set("pads_end", pads_end);
    a.set("auto_pad", auto_pad);
    a.set("output_padding",
          output_padding.empty() ? std::vector<std::int64_t>(n, 0) : output_padding);
    return a;
}

// oneDNN's result equals the reference's — or, when `may_be_unsupported`, oneDNN declines.
void expect_matches_reference(const std::string& type, const Shape& x_shape, const Shape& w_shape,
                              const Attributes& attrs,
                              std::vector<std::int64_t> output_shape = {}) {
    SCOPED_TRACE(type + " x" + model::to_string(x_shape) + " w" + model::to_string(w_shape));
    const auto x = random_f32(x_shape, 1);
    const auto w = random_f32(w_shape, 2);
    std::vector<Tensor> inputs{x, w};
    std::vector<bool> constant{false, true};
    if (!output_shape.empty()) {
        inputs.push_back(
            reference::test::i64({static_cast<std::int64_t>(output_shape.size())}, output_shape));
        constant.push_back(true);
    }
    const auto expected =
        reference::test::run_op(type, "opset1", inputs, attrs, 1, constant).outputs;

    auto registry = model::make_native_registry();
    model::Model m;
    auto& param = m.add_parameter(ElementType::F32, model::PartialShape(x_shape), "x");
    std::vector<model::Output> node_inputs{param.output(), m.add_constant(w).output()};
    if (!output_shape.empty()) node_inputs.push_back(m.add_constant(inputs[2]).output());
    auto& node = m.add(type, "opset1", node_inputs, attrs, 1, "deconv");
    model::infer_node(node, *registry);
    ASSERT_TRUE(dnnl_deconv_applies(node));
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    DnnlDeconv deconv(engine, node);
    EXPECT_FALSE(deconv.implementation().empty());
    Tensor y = Tensor::allocate(ElementType::F32, expected[0].shape());
    ASSERT_EQ(node.outputs[0].shape.to_shape(), expected[0].shape());
    deconv.run(stream, x.data<float>(), test::f32_data(y));
    test::expect_close(y, expected[0]);
}

TEST(DnnlDeconv, MatchesTheReferenceOnTransposedConvolutions) {
    const std::string t = "ConvolutionBackpropData";
    // PP-OCR det's upsampling: 2×2, stride 2.
    expect_matches_reference(t, {1, 8, 5, 6}, {8, 4, 2, 2}, deconv_attrs({2, 2}, {0, 0}, {0, 0}));
    expect_matches_reference(t, {2, 3, 7, 5}, {3, 6, 3, 3}, deconv_attrs({2, 1}, {1, 0}, {1, 1}));
    expect_matches_reference(t, {1, 4, 9}, {4, 2, 4}, deconv_attrs({3}, {1}, {2}));
    expect_matches_reference(t, {1, 2, 3, 4, 3}, {2, 3, 2, 3, 2},
                             deconv_attrs({2, 1, 2}, {0, 1, 0}, {0, 1, 1}));
}

TEST(DnnlDeconv, MatchesTheReferenceWithAutomaticPaddingAndAnOutputShape) {
    const std::string t = "ConvolutionBackpropData";
    for (const char* pad : {"same_upper", "same_lower", "valid"})
        expect_matches_reference(t, {1, 3, 5, 5}, {3, 4, 3, 3},
                                 deconv_attrs({2, 2}, {0, 0}, {0, 0}, pad));
    expect_matches_reference(t, {1, 3, 5, 5}, {3, 4, 3, 3},
                             deconv_attrs({2, 2}, {0, 0}, {0, 0}, "same_upper"), {10, 9});
}

TEST(DnnlDeconv, MatchesTheReferenceOnGroupedTransposedConvolutions) {
    expect_matches_reference("GroupConvolutionBackpropData", {1, 6, 4, 5}, {3, 2, 4, 3, 3},
                             deconv_attrs({2, 2}, {1, 1}, {1, 1}));
}

TEST(DnnlDeconv, AnOutputLargerThanTheTransposedConvolutionIsDeclinedOrMatches) {
    // output_padding makes the output one larger than (in-1)·s + k - pads: a negative end padding
    // for oneDNN, which it may decline (the reference kernel then runs the node).
    auto registry = model::make_native_registry();
    model::Model m;
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape(Shape{1, 2, 4, 4}), "x");
    auto& w = m.add_constant(random_f32({2, 3, 3, 3}, 3));
    auto attrs = deconv_attrs({2, 2}, {1, 1}, {1, 1}, "explicit", {1, 1});
    auto& node =
        m.add("ConvolutionBackpropData", "opset1", {x.output(), w.output()}, attrs, 1, "padded");
    model::infer_node(node, *registry);
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    try {
        DnnlDeconv deconv(engine, node);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED) << e.what();
        return;
    }
    expect_matches_reference("ConvolutionBackpropData", {1, 2, 4, 4}, {2, 3, 3, 3}, attrs);
}

} // namespace
} // namespace loom::plugins::cpu
