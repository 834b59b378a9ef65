// The oneDNN elementwise ops (dnnl_eltwise) against the reference kernels: every unary op it
// takes, and binary ops with broadcasting of either input.

#include <gtest/gtest.h>

#include <cmath>

#include "components/model/op_registry.hpp"
#include "components/reference/kernel_test_util.hpp"
#include "plugins/cpu/dnnl_eltwise.hpp"
#include "plugins/cpu/dnnl_test_util.hpp"

namespace loom::plugins::cpu {
namespace {

using model::Attributes;
using model::Shape;
using model::Tensor;
using ElementType = model::ElementType;
using test::random_f32;

struct Op {
    std::string type, version;
    Attributes attrs;
};

// Builds the node on Parameters of `shapes`; nullptr-free: returns whether oneDNN takes it and,
// when it does, checks its result against the reference's.
bool check(const Op& op, const std::vector<Shape>& shapes, bool positive = false) {
    SCOPED_TRACE(op.type);
    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        auto t = random_f32(shapes[i], static_cast<std::uint32_t>(10 + i));
        if (positive)
            for (std::int64_t k = 0; k < t.size(); ++k)
                test::f32_data(t)[k] = std::fabs(test::f32_data(t)[k]) + 0.1f;
        inputs.push_back(t);
    }
    auto registry = model::make_native_registry();
    model::Model m;
    std::vector<model::Output> node_inputs;
    for (std::size_t i = 0; i < shapes.size(); ++i)
        node_inputs.push_back(
            m.add_parameter(ElementType::F32, model::PartialShape(shapes[i]), "in").output());
    auto& node = m.add(op.type, op.version, node_inputs, op.attrs, 1, "op");
    model::infer_node(node, *registry);
    const bool applies = shapes.size() == 2 ? dnnl_binary_applies(node) : dnnl_unary_applies(node);
    if (!applies) return false;
    const auto expected = reference::test::eval(op.type, op.version, inputs, op.attrs);
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    DnnlElementwise e(engine, node);
    Tensor y = Tensor::allocate(ElementType::F32, expected[0].shape());
    e.run(stream, inputs[0].data<float>(), shapes.size() == 2 ? inputs[1].data<float>() : nullptr,
          test::f32_data(y));
    test::expect_close(y, expected[0]);
    return true;
}

Attributes one(const char* name, model::AttrValue value) {
    Attributes a;
    a.set(name, std::move(value));
    return a;
}

TEST(DnnlElementwise, EveryUnaryOpMatchesTheReference) {
    const Shape s{2, 3, 5, 7};
    for (const char* t : {"Relu", "Sigmoid", "Tanh", "Exp", "Abs"})
        EXPECT_TRUE(check({t, "opset1"}, {s})) << t;
    EXPECT_TRUE(check({"HSwish", "opset4"}, {s}));
    EXPECT_TRUE(check({"Mish", "opset4"}, {s}));
    // HSigmoid is linear + a clip post-op; oneDNN 2.6's reference eltwise (where no jit one
    // takes post-ops: 1-D, or no AVX-512) writes nothing with a post-op, so there it is refused
    // and the reference kernel runs instead. Either way no wrong value comes out.
    for (const auto& shape : {s, Shape{3}}) {
        try {
            EXPECT_TRUE(check({"HSigmoid", "opset5"}, {shape}));
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED) << e.what();
        }
    }
    EXPECT_TRUE(check({"SoftPlus", "opset4"}, {s}));
    EXPECT_TRUE(check({"Swish", "opset4"}, {s}));
    EXPECT_FALSE(check({"Log", "opset1"}, {s}, true)) << "approximate in oneDNN";
    EXPECT_TRUE(check({"Sqrt", "opset1"}, {s}, true));
    EXPECT_TRUE(check({"Elu", "opset1", one("alpha", 0.7)}, {s}));
    Attributes clamp;
    clamp.set("min", -0.25);
    clamp.set("max", 0.5);
    EXPECT_TRUE(check({"Clamp", "opset1", clamp}, {s}));
    EXPECT_TRUE(check({"Gelu", "opset2"}, {s}));
    EXPECT_TRUE(check({"Gelu", "opset7", one("approximation_mode", std::string("tanh"))}, {s}));
    EXPECT_FALSE(check({"Sin", "opset1"}, {s})) << "not one of oneDNN's";
}

TEST(DnnlElementwise, BinaryOpsBroadcastEitherInputWhereOneDnnCan) {
    const Shape full{2, 4, 3, 5}, channel{1, 4, 1, 1};
    for (const char* t : {"Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum"}) {
        EXPECT_TRUE(check({t, "opset1"}, {full, full})) << t;
        EXPECT_TRUE(check({t, "opset1"}, {full, channel})) << t;
        EXPECT_TRUE(check({t, "opset1"}, {full, Shape{5}})) << t << ": lower rank";
    }
    // The first input broadcast: commutative ops swap their operands, the others decline.
    EXPECT_TRUE(check({"Add", "opset1"}, {channel, full}));
    EXPECT_TRUE(check({"Multiply", "opset1"}, {Shape{3, 1}, Shape{2, 3, 4}}));
    EXPECT_FALSE(check({"Subtract", "opset1"}, {channel, full}));
    EXPECT_FALSE(check({"Add", "opset1"}, {Shape{2, 1, 5}, Shape{1, 3, 1}})) << "both broadcast";
}

} // namespace
} // namespace loom::plugins::cpu
