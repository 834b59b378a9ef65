// Shape inference of If, Loop and TensorIterator over hand-built bodies.
#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using loom::ElementType;

namespace {

Tensor i64_tensor(std::vector<std::int64_t> v, Shape shape) {
    return Tensor::copy_of(ElementType::I64, std::move(shape), std::as_bytes(std::span(v)));
}

Tensor bool_scalar(bool v) {
    std::uint8_t b = v ? 1 : 0;
    return Tensor::copy_of(ElementType::BOOLEAN, {}, std::as_bytes(std::span(&b, 1)));
}

// Model::add_constant records "shape" as Ints while the Constant spec wants Dims; bodies are
// validated, so their constants get the spec's kind.
Node& constant(Model& model, Tensor value) {
    auto& c = model.add_constant(value);
    c.attrs.set("shape", PartialShape(value.shape()));
    return c;
}

Attributes axis_attr(std::int64_t axis) {
    Attributes a;
    a.set("axis", axis);
    return a;
}

// A body whose one parameter (of any shape, typed by the op) is concatenated with itself along
// axis 0 `times` - 1 times (times 1: the parameter itself).
std::shared_ptr<Model> concat_body(int times) {
    auto body = std::make_shared<Model>();
    auto& p = body->add_parameter(ElementType::F32, PartialShape::dynamic(), "p");
    std::vector<Output> parts(static_cast<std::size_t>(times), p.output());
    Output out =
        times == 1 ? p.output() : body->add("Concat", "opset1", parts, axis_attr(0)).output();
    body->add_result(out, "r");
    return body;
}

Attributes convert_to_f32() {
    Attributes a;
    a.set("destination_type", ElementType::F32);
    return a;
}

std::string message_of(Node& node, const OpRegistry& reg) {
    try {
        infer_node(node, reg);
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT) << e.message();
        return e.message();
    }
    ADD_FAILURE() << "no error";
    return {};
}

bool has(const std::string& text, std::string_view needle) {
    return text.find(needle) != std::string::npos;
}

class ControlOps : public ::testing::Test {
protected:
    Model m;
    std::shared_ptr<OpRegistry> reg = make_native_registry();

    // If(cond, x) with then = concat(x, x) and else = x concatenated `else_times` times.
    Node& make_if(Output cond, int then_times, int else_times) {
        auto& x = m.add_parameter(ElementType::F32, PartialShape({2, 3}), "x");
        auto& node = m.add("If", "opset8", {cond, x.output()}, {}, 1, "if");
        node.bodies.push_back(
            Body{"then_body", concat_body(then_times), {PortMap{1, 0}}, {PortMap{0, 0}}, {}});
        node.bodies.push_back(
            Body{"else_body", concat_body(else_times), {PortMap{1, 0}}, {PortMap{0, 0}}, {}});
        return node;
    }
    Output cond_param() {
        return m.add_parameter(ElementType::BOOLEAN, PartialShape(Shape{}), "c").output();
    }
};

} // namespace

TEST(NativeOps, ControlOpsAreRegistered) {
    auto r = make_native_registry();
    ASSERT_NE(r->find("If", "opset13"), nullptr);
    EXPECT_EQ(r->find("If", "opset13")->version, "opset8");
    EXPECT_EQ(r->find("Loop", "opset13")->version, "opset5");
    EXPECT_EQ(r->find("TensorIterator", "opset13")->version, "opset1");
    EXPECT_EQ(r->find("If", "opset7"), nullptr);
}

TEST_F(ControlOps, IfWithEqualBodies) {
    auto& node = make_if(cond_param(), 2, 2);
    infer_node(node, *reg);
    ASSERT_EQ(node.outputs.size(), 1u);
    EXPECT_EQ(node.outputs[0].shape.to_string(), "[4,3]");
    EXPECT_EQ(node.outputs[0].type, ElementType::F32);
    // The body parameters were typed from the input: attributes and output.
    Node& p = *node.bodies[0].model->parameters()[0];
    EXPECT_EQ(p.outputs[0].shape.to_string(), "[2,3]");
    EXPECT_EQ(p.attrs.get<PartialShape>("shape").to_string(), "[2,3]");
    EXPECT_EQ(p.attrs.get<ElementType>("element_type"), ElementType::F32);
}

// ONNX asks only for one element: exporters write conditions of shape [1] or [1,1].
TEST_F(ControlOps, IfTakesAConditionOfOneElementWhateverItsRankButNotTwo) {
    for (auto shape : {Shape{1}, Shape{1, 1}, Shape{1, 1, 1}}) {
        auto& c = m.add_parameter(ElementType::BOOLEAN, PartialShape(shape), "c");
        auto& node = make_if(c.output(), 2, 2);
        infer_node(node, *reg);
        EXPECT_EQ(node.outputs[0].shape.to_string(), "[4,3]");
    }
    auto& two = m.add_parameter(ElementType::BOOLEAN, PartialShape(Shape{1, 2}), "c2");
    auto msg = message_of(make_if(two.output(), 2, 2), *reg);
    EXPECT_TRUE(has(msg, "If condition must have one element, has shape [1,2]")) << msg;
}

TEST_F(ControlOps, IfWithDifferentBodiesRelaxesDims) {
    auto& node = make_if(cond_param(), 2, 1);
    infer_node(node, *reg);
    EXPECT_EQ(node.outputs[0].shape.to_string(), "[?,3]");
}

TEST_F(ControlOps, IfWithConstantConditionTakesItsBranch) {
    auto& t = make_if(m.add_constant(bool_scalar(true)).output(), 2, 1);
    infer_node(t, *reg);
    EXPECT_EQ(t.outputs[0].shape.to_string(), "[4,3]");
    auto& e = make_if(m.add_constant(bool_scalar(false)).output(), 2, 3);
    infer_node(e, *reg);
    EXPECT_EQ(e.outputs[0].shape.to_string(), "[6,3]");
}

TEST_F(ControlOps, IfWithDifferentRanksHasDynamicRank) {
    auto& node = make_if(cond_param(), 1, 1);
    auto& body = *node.bodies[1].model;
    auto* r = body.results()[0];
    auto& c = constant(body, i64_tensor({6}, {1}));
    Attributes sz;
    sz.set("special_zero", false);
    r->inputs[0] = body.add("Reshape", "opset1", {r->inputs[0], c.output()}, sz).output();
    infer_node(node, *reg);
    EXPECT_EQ(node.outputs[0].shape.to_string(), "[...]");
}

TEST_F(ControlOps, IfErrors) {
    auto& missing = make_if(cond_param(), 1, 1);
    missing.bodies.pop_back();
    auto msg = message_of(missing, *reg);
    EXPECT_TRUE(has(msg, "needs a body 'else_body'")) << msg;

    auto& null_body = make_if(cond_param(), 1, 1);
    null_body.bodies[1].model = nullptr;
    msg = message_of(null_body, *reg);
    EXPECT_TRUE(has(msg, "else_body")) << msg;

    // An error inside a body names the body and the inner node.
    auto& bad = make_if(cond_param(), 1, 1);
    auto& body = *bad.bodies[0].model;
    auto& c = constant(body, i64_tensor({5}, {1}));
    Attributes sz;
    sz.set("special_zero", false);
    auto& reshape = body.add("Reshape", "opset1", {body.parameters()[0]->output(), c.output()}, sz,
                             1, "bad_reshape");
    body.results()[0]->inputs[0] = reshape.output();
    msg = message_of(bad, *reg);
    EXPECT_TRUE(has(msg, "then_body")) << msg;
    EXPECT_TRUE(has(msg, "bad_reshape")) << msg;

    auto& sparse = make_if(cond_param(), 1, 1);
    sparse.bodies[0].outputs[0].external_port = 1000;
    msg = message_of(sparse, *reg);
    EXPECT_TRUE(has(msg, "map output 1000")) << msg;

    auto& wrong_port = make_if(cond_param(), 1, 1);
    wrong_port.bodies[0].inputs[0].external_port = 7;
    msg = message_of(wrong_port, *reg);
    EXPECT_TRUE(has(msg, "maps input 7")) << msg;
}

namespace {

// Loop body: parameters (iteration i64 scalar, acc f32); results: condition (constant true),
// next acc (= concat(acc, grow) when growing, else convert(acc)), acc itself (for concatenation).
std::shared_ptr<Model> loop_body(bool growing) {
    auto body = std::make_shared<Model>();
    body->add_parameter(ElementType::I64, PartialShape(Shape{}), "iter");
    auto& acc = body->add_parameter(ElementType::F32, PartialShape::dynamic(), "acc");
    std::uint8_t t = 1;
    auto& cond =
        constant(*body, Tensor::copy_of(ElementType::BOOLEAN, {}, std::as_bytes(std::span(&t, 1))));
    Output next;
    if (growing) {
        std::vector<float> one{1.f, 2.f};
        auto& c = constant(
            *body, Tensor::copy_of(ElementType::F32, {1, 2}, std::as_bytes(std::span(one))));
        next = body->add("Concat", "opset1", {acc.output(), c.output()}, axis_attr(0)).output();
    } else {
        next = body->add("Convert", "opset1", {acc.output()}, convert_to_f32()).output();
    }
    body->add_result(cond.output(), "cond");
    body->add_result(next, "next");
    body->add_result(acc.output(), "acc_out");
    return body;
}

Body loop_ports(std::shared_ptr<Model> model) {
    Body b{"body", std::move(model), {}, {}, {}};
    PortMap iter;
    iter.body_index = 0;
    iter.purpose = "current_iteration";
    b.inputs = {iter, PortMap{2, 1}};
    PortMap cond;
    cond.body_index = 0;
    cond.purpose = "execution_condition";
    PortMap concat{1, 2};
    concat.axis = 0;
    b.outputs = {cond, PortMap{0, 1}, concat};
    b.back_edges = {BackEdge{1, 1}};
    return b;
}

} // namespace

TEST_F(ControlOps, LoopWithBackEdgeAndConcatenatedOutput) {
    auto trip = m.add_constant(i64_tensor({3}, {})).output();
    auto cond = m.add_constant(bool_scalar(true)).output();
    auto init = m.add_parameter(ElementType::F32, PartialShape({1, 2}), "init").output();
    auto& loop = m.add("Loop", "opset5", {trip, cond, init}, {}, 2, "loop");
    loop.bodies.push_back(loop_ports(loop_body(false)));
    infer_node(loop, *reg);
    ASSERT_EQ(loop.outputs.size(), 2u);
    EXPECT_EQ(loop.outputs[0].shape.to_string(), "[1,2]");
    EXPECT_EQ(loop.outputs[1].shape.to_string(), "[3,2]"); // 3 iterations × [1,2]
    EXPECT_EQ(loop.outputs[1].type, ElementType::F32);
}

TEST_F(ControlOps, LoopWithUnknownTripCountOrGrowingState) {
    auto trip = m.add_parameter(ElementType::I64, PartialShape(Shape{}), "n").output();
    auto cond = m.add_constant(bool_scalar(true)).output();
    auto init = m.add_parameter(ElementType::F32, PartialShape({1, 2}), "init").output();
    auto& a = m.add("Loop", "opset5", {trip, cond, init}, {}, 2, "a");
    a.bodies.push_back(loop_ports(loop_body(false)));
    infer_node(a, *reg);
    EXPECT_EQ(a.outputs[1].shape.to_string(), "[?,2]");

    // The carried value grows by a row each iteration: its first dim becomes dynamic.
    auto trip3 = m.add_constant(i64_tensor({3}, {})).output();
    auto& b = m.add("Loop", "opset5", {trip3, cond, init}, {}, 2, "b");
    b.bodies.push_back(loop_ports(loop_body(true)));
    infer_node(b, *reg);
    EXPECT_EQ(b.outputs[0].shape.to_string(), "[1..,2]");
    EXPECT_EQ(b.outputs[1].shape.to_string(), "[?,2]");
    EXPECT_EQ(b.bodies[0].model->parameters()[1]->outputs[0].shape.to_string(), "[?,2]");

    // A condition that is not constant: at most 3 iterations.
    auto dyn_cond = m.add_parameter(ElementType::BOOLEAN, PartialShape(Shape{}), "go").output();
    auto& c = m.add("Loop", "opset5", {trip3, dyn_cond, init}, {}, 2, "c");
    c.bodies.push_back(loop_ports(loop_body(false)));
    infer_node(c, *reg);
    EXPECT_EQ(c.outputs[1].shape.to_string(), "[0..3,2]");
}

TEST_F(ControlOps, LoopErrors) {
    auto trip = m.add_constant(i64_tensor({3}, {})).output();
    auto cond = m.add_constant(bool_scalar(true)).output();
    auto init = m.add_parameter(ElementType::F32, PartialShape({1, 2}), "init").output();
    auto& none = m.add("Loop", "opset5", {trip, cond, init}, {}, 2, "none");
    auto msg = message_of(none, *reg);
    EXPECT_TRUE(has(msg, "needs a body 'body'")) << msg;

    // The back edge carries i64 into an f32 parameter.
    auto& typed = m.add("Loop", "opset5", {trip, cond, init}, {}, 2, "typed");
    typed.bodies.push_back(loop_ports(loop_body(false)));
    typed.bodies[0].back_edges = {BackEdge{1, 0}};
    msg = message_of(typed, *reg);
    EXPECT_TRUE(has(msg, "back edge from result 1")) << msg;

    auto& vec_trip =
        m.add("Loop", "opset5", {m.add_constant(i64_tensor({3, 3}, {2})).output(), cond, init}, {},
              2, "vec");
    vec_trip.bodies.push_back(loop_ports(loop_body(false)));
    msg = message_of(vec_trip, *reg);
    EXPECT_TRUE(has(msg, "must have one element each")) << msg;
}

TEST_F(ControlOps, TensorIteratorOverSlicedInput) {
    // x [5,2,3] sliced along axis 0 in parts of 1; h [2,3] carried.
    auto x = m.add_parameter(ElementType::F32, PartialShape({5, 2, 3}), "x").output();
    auto h0 = m.add_parameter(ElementType::F32, PartialShape({2, 3}), "h0").output();
    auto body = std::make_shared<Model>();
    auto& px = body->add_parameter(ElementType::F32, PartialShape::dynamic(), "px");
    auto& ph = body->add_parameter(ElementType::F32, PartialShape::dynamic(), "ph");
    Attributes sz;
    sz.set("special_zero", false);
    auto& shape = constant(*body, i64_tensor({2, 3}, {2}));
    auto& step = body->add("Reshape", "opset1", {px.output(), shape.output()}, sz);
    auto& both = body->add("Concat", "opset1", {step.output(), ph.output()}, axis_attr(0));
    auto& shape2 = constant(*body, i64_tensor({2, 2, 3}, {3}));
    auto& folded = body->add("Reshape", "opset1", {both.output(), shape2.output()}, sz);
    auto& axes = constant(*body, i64_tensor({0}, {1}));
    Attributes none;
    auto& next = body->add(
        "Gather", "opset8",
        {folded.output(), constant(*body, i64_tensor({0}, {})).output(), axes.output()}, none);
    body->add_result(next.output(), "h");
    body->add_result(px.output(), "x_part");

    auto& ti = m.add("TensorIterator", "opset1", {x, h0}, {}, 2, "ti");
    Body b{"body", body, {}, {}, {}};
    PortMap sliced{0, 0};
    sliced.axis = 0;
    sliced.start = 0;
    sliced.end = -1;
    sliced.stride = 1;
    sliced.part_size = 1;
    PortMap concat{1, 1};
    concat.axis = 0;
    b.inputs = {sliced, PortMap{1, 1}};
    b.outputs = {PortMap{0, 0}, concat};
    b.back_edges = {BackEdge{0, 1}};
    ti.bodies.push_back(b);
    infer_node(ti, *reg);
    ASSERT_EQ(ti.outputs.size(), 2u);
    EXPECT_EQ(ti.outputs[0].shape.to_string(), "[2,3]");
    EXPECT_EQ(ti.outputs[1].shape.to_string(), "[5,2,3]");
    EXPECT_EQ(px.outputs[0].shape.to_string(), "[1,2,3]");

    // Reversed iteration with parts of 1 still covers 5 steps; a dynamic length does not.
    ti.bodies[0].inputs[0].start = -1;
    ti.bodies[0].inputs[0].end = 0;
    ti.bodies[0].inputs[0].stride = -1;
    infer_node(ti, *reg);
    EXPECT_EQ(ti.outputs[1].shape.to_string(), "[5,2,3]");
    ti.inputs[0] = m.add_parameter(ElementType::F32, PartialShape({-1, 2, 3}), "xd").output();
    infer_node(ti, *reg);
    EXPECT_EQ(ti.outputs[1].shape.to_string(), "[?,2,3]");
}
