// ONNX Constant, Identity, If, Loop and Scan: the native nodes, bodies, port maps and
// captured outer values they become.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reader/onnx/onnx_test_builder.hpp"
#include "components/reader/onnx/ops_test_util.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op,
                          std::vector<std::string> inputs, std::vector<std::string> outputs) {
    auto* n = g.add_node();
    n->set_op_type(op);
    for (auto& i : inputs)
        n->add_input(i);
    for (auto& o : outputs)
        n->add_output(o);
    return n;
}

void add_graph_input(onnx::GraphProto& g, const std::string& name, std::int32_t elem,
                     const I64s& dims) {
    auto* vi = g.add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto* shape = tt->mutable_shape();
    for (auto d : dims)
        shape->add_dim()->set_dim_value(d);
}

void set_graph_attr(onnx::NodeProto& n, const std::string& name, const onnx::GraphProto& g) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    *a->mutable_g() = g;
}

// A body graph returning Identity(`source`) as `out`.
onnx::GraphProto identity_body(const std::string& source, const std::string& out) {
    onnx::GraphProto g;
    g.set_name("body_" + out);
    add_node(g, "Identity", {source}, {out});
    g.add_output()->set_name(out);
    return g;
}

const model::Node* find_type(const model::Model& m, const std::string& type) {
    for (auto* n : m.nodes())
        if (n->type == type) return n;
    return nullptr;
}

// ---- Constant, Identity ----

TEST(OnnxControl, ConstantVariants) {
    auto with = [](auto&& configure) {
        return read(single_node_model("Constant", {}, {"c"}, configure));
    };
    auto m = with([](onnx::NodeProto& n) { set_attr(n, "value_float", 0.5f); });
    auto* c = producer_of(*m, "c");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->type, "Constant");
    EXPECT_EQ(c->name, "Constant_node");
    EXPECT_EQ(c->value.element_type(), ElementType::F32);
    EXPECT_EQ(c->value.shape(), model::Shape{});
    EXPECT_EQ(c->value.to_f64(), (std::vector<double>{0.5}));

    m = with([](onnx::NodeProto& n) { set_attr(n, "value_floats", std::vector<float>{1, 2}); });
    EXPECT_EQ(producer_of(*m, "c")->value.shape(), model::Shape{2});

    m = with([](onnx::NodeProto& n) { set_attr(n, "value_int", std::int64_t{7}); });
    EXPECT_EQ(producer_of(*m, "c")->value.element_type(), ElementType::I64);
    EXPECT_EQ(producer_of(*m, "c")->value.to_i64(), I64s{7});

    m = with([](onnx::NodeProto& n) { set_attr(n, "value_ints", I64s{3, 4, 5}); });
    EXPECT_EQ(producer_of(*m, "c")->value.to_i64(), (I64s{3, 4, 5}));

    m = with([](onnx::NodeProto& n) {
        auto* a = n.add_attribute();
        a->set_name("value");
        a->set_type(onnx::AttributeProto::TENSOR);
        *a->mutable_t() = int64_tensor("", {1, 2, 3, 4, 5, 6}, {2, 3});
    });
    EXPECT_EQ(producer_of(*m, "c")->value.shape(), (model::Shape{2, 3}));
    EXPECT_EQ(out(*m, 0).shape.to_string(), "[2,3]");

    expect_error(single_node_model("Constant", {}, {"c"},
                                   [](onnx::NodeProto& n) { set_attr(n, "value_string", "hi"); }),
                 ErrorKind::UNSUPPORTED, "string");
    expect_error(single_node_model("Constant", {}, {"c"},
                                   [](onnx::NodeProto& n) {
                                       auto* a = n.add_attribute();
                                       a->set_name("sparse_value");
                                       a->set_type(onnx::AttributeProto::SPARSE_TENSOR);
                                   }),
                 ErrorKind::UNSUPPORTED, "sparse");
    expect_error(single_node_model("Constant", {}, {"c"}), ErrorKind::INVALID_ARGUMENT,
                 "Constant_node");
}

TEST(OnnxControl, IdentityPassesThrough) {
    for (std::int64_t opset : {13, 16}) {
        auto m = read(single_node_model("Identity", {{"x", F32, {4}}}, {"y"}, {}, opset));
        auto* p = producer_of(*m, "y");
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->type, "Parameter");
        EXPECT_EQ(m->size(), 2u); // Parameter and Result only
        const auto& names = p->outputs[0].names;
        EXPECT_NE(std::find(names.begin(), names.end(), "x"), names.end());
        EXPECT_NE(std::find(names.begin(), names.end(), "y"), names.end());
    }
}

// ---- If ----

onnx::ModelProto if_model() {
    return single_node_model("If", {{"cond", onnx::TensorProto::BOOL, {}}}, {"y"},
                             [](onnx::NodeProto& n) {
                                 set_graph_attr(n, "then_branch", identity_body("x", "t_out"));
                                 set_graph_attr(n, "else_branch", identity_body("z", "e_out"));
                             });
}

onnx::ModelProto with_inputs(onnx::ModelProto proto) {
    add_graph_input(*proto.mutable_graph(), "x", F32, {2, 3});
    add_graph_input(*proto.mutable_graph(), "z", F32, {2, 3});
    return proto;
}

TEST(OnnxControl, IfCapturesOuterValuesPerBranch) {
    auto m = read(with_inputs(if_model()));
    auto* node = producer_of(*m, "y");
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->type, "If");
    EXPECT_EQ(node->version, "opset8");
    EXPECT_EQ(node->name, "If_node");
    ASSERT_EQ(node->rt_info.children.size(), 1u);
    EXPECT_EQ(node->rt_info.children[0].attributes.at(2).second, "If-17");
    ASSERT_EQ(node->inputs.size(), 3u); // cond, x (then), z (else)
    EXPECT_EQ(node->inputs[1].node->name, "x");
    EXPECT_EQ(node->inputs[2].node->name, "z");
    ASSERT_EQ(node->bodies.size(), 2u);
    const auto& then_body = node->bodies[0];
    const auto& else_body = node->bodies[1];
    EXPECT_EQ(then_body.name, "then_body");
    EXPECT_EQ(else_body.name, "else_body");
    ASSERT_EQ(then_body.model->parameters().size(), 1u);
    EXPECT_EQ(then_body.model->parameters()[0]->outputs[0].shape.to_string(), "[2,3]");
    ASSERT_EQ(then_body.inputs.size(), 1u);
    EXPECT_EQ(then_body.inputs[0].external_port, 1);
    EXPECT_EQ(then_body.inputs[0].body_index, 0);
    ASSERT_EQ(else_body.inputs.size(), 1u);
    EXPECT_EQ(else_body.inputs[0].external_port, 2);
    ASSERT_EQ(then_body.outputs.size(), 1u);
    EXPECT_EQ(then_body.outputs[0].external_port, 0);
    EXPECT_EQ(then_body.outputs[0].body_index, 0);
    EXPECT_EQ(out(*m, 0).type, ElementType::F32);
}

TEST(OnnxControl, NestedIfCapturesTransitively) {
    auto proto = single_node_model(
        "If", {{"cond", onnx::TensorProto::BOOL, {}}}, {"y"}, [](onnx::NodeProto& n) {
            onnx::GraphProto inner_then;
            inner_then.set_name("outer_then");
            auto* inner = add_node(inner_then, "If", {"cond"}, {"i"});
            set_graph_attr(*inner, "then_branch", identity_body("x", "a"));
            set_graph_attr(*inner, "else_branch", identity_body("x", "b"));
            inner_then.add_output()->set_name("i");
            set_graph_attr(n, "then_branch", inner_then);
            set_graph_attr(n, "else_branch", identity_body("x", "c"));
        });
    add_graph_input(*proto.mutable_graph(), "x", F32, {5});
    auto m = read(proto);
    auto* outer = producer_of(*m, "y");
    ASSERT_NE(outer, nullptr);
    ASSERT_EQ(outer->inputs.size(), 3u); // cond, cond (captured by the inner If), x
    const auto& then_model = *outer->bodies[0].model;
    EXPECT_EQ(then_model.parameters().size(), 2u);
    auto* inner = find_type(then_model, "If");
    ASSERT_NE(inner, nullptr);
    ASSERT_EQ(inner->inputs.size(), 2u); // cond and the body's parameter for x
    EXPECT_EQ(inner->inputs[1].node->type, "Parameter");
    EXPECT_TRUE(then_model.contains(inner->inputs[1].node));
}

TEST(OnnxControl, IfBranchesWithInputsAreRefused) {
    auto proto = if_model();
    auto* g = proto.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
    add_graph_input(*g, "bogus", F32, {1});
    expect_error(with_inputs(proto), ErrorKind::INVALID_ARGUMENT, "branches");
}

// ---- Loop ----

// Loop(M=3, cond omitted, v0) with body (i, c, v) -> (c, v + one, v + w): the outer
// initializer one is copied into the body, the graph input w is captured.
onnx::ModelProto loop_model() {
    onnx::GraphProto body;
    body.set_name("loop_body");
    add_graph_input(body, "i", onnx::TensorProto::INT64, {});
    add_graph_input(body, "c_in", onnx::TensorProto::BOOL, {});
    add_graph_input(body, "v", F32, {2});
    add_node(body, "Identity", {"c_in"}, {"c_out"});
    add_node(body, "Add", {"v", "one"}, {"v_out"});
    add_node(body, "Add", {"v", "w"}, {"scan"});
    for (auto name : {"c_out", "v_out", "scan"})
        body.add_output()->set_name(name);
    auto proto = single_node_model(
        "Loop", {{"M", onnx::TensorProto::INT64, {}}, {"", F32, {}}, {"v0", F32, {2}}},
        {"v_final", "scans"}, [&](onnx::NodeProto& n) { set_graph_attr(n, "body", body); }, 17,
        {int64_tensor("M", {3}, {}), float_tensor("one", {1.f, 1.f})});
    add_graph_input(*proto.mutable_graph(), "w", F32, {2});
    return proto;
}

TEST(OnnxControl, LoopBecomesNativeLoop) {
    auto m = read(loop_model());
    auto* loop = producer_of(*m, "v_final");
    ASSERT_NE(loop, nullptr);
    EXPECT_EQ(loop->type, "Loop");
    EXPECT_EQ(loop->version, "opset5");
    ASSERT_EQ(loop->inputs.size(), 4u); // M, cond (true), v0, w (captured)
    ASSERT_NE(loop->inputs[1].node->value.empty(), true);
    EXPECT_EQ(loop->inputs[1].node->value.element_type(), ElementType::BOOLEAN);
    EXPECT_EQ(loop->inputs[1].node->value.to_i64(), I64s{1});
    EXPECT_EQ(loop->inputs[3].node->name, "w");
    ASSERT_EQ(loop->bodies.size(), 1u);
    const auto& body = loop->bodies[0];
    EXPECT_EQ(body.name, "body");
    // Parameters: iteration, v, w; ONNX's condition parameter is the constant true inside.
    EXPECT_EQ(body.model->parameters().size(), 3u);
    ASSERT_EQ(body.inputs.size(), 3u);
    EXPECT_EQ(body.inputs[0].purpose, "current_iteration");
    EXPECT_EQ(body.inputs[0].body_index, 0);
    EXPECT_EQ(body.inputs[1].external_port, 2);
    EXPECT_EQ(body.inputs[1].body_index, 1);
    EXPECT_EQ(body.inputs[2].external_port, 3);
    EXPECT_EQ(body.inputs[2].body_index, 2);
    ASSERT_EQ(body.back_edges.size(), 1u);
    EXPECT_EQ(body.back_edges[0], (model::BackEdge{1, 1}));
    EXPECT_EQ(body.model->results()[0]->inputs[0].node->type, "Constant");
    auto* add = body.model->results()[1]->inputs[0].node;
    ASSERT_EQ(add->inputs.size(), 2u);
    EXPECT_EQ(add->inputs[1].node->type, "Constant"); // the copy of `one`
    EXPECT_EQ(add->inputs[1].node->value.to_f64(), (std::vector<double>{1, 1}));
    ASSERT_EQ(body.outputs.size(), 3u);
    EXPECT_EQ(body.outputs[0].purpose, "execution_condition");
    EXPECT_EQ(body.outputs[1].external_port, 0);
    EXPECT_EQ(body.outputs[1].body_index, 1);
    EXPECT_EQ(body.outputs[2].external_port, 1);
    EXPECT_EQ(body.outputs[2].axis, 0);
    // The scan output's per-iteration value is unsqueezed so the parts concatenate on axis 0.
    auto scan_value = body.model->results()[2]->inputs[0];
    EXPECT_EQ(scan_value.node->type, "Unsqueeze");
    EXPECT_EQ(scan_value.node->outputs[0].shape.to_string(), "[1,2]");
    EXPECT_EQ(out(*m, 0).type, ElementType::F32);
    EXPECT_EQ(out(*m, 1).type, ElementType::F32);
}

TEST(OnnxControl, LoopBodyWithWrongArityIsRefused) {
    auto proto = loop_model();
    auto* g = proto.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
    g->mutable_output()->RemoveLast();
    expect_error(proto, ErrorKind::INVALID_ARGUMENT, "body has");
}

// ---- Scan ----

// Scan(s0 [2], xs [3,2]) with body (s, x) -> (s + x, s + x); scans xs along axis 0.
onnx::ModelProto scan_model(std::int64_t opset = 17) {
    onnx::GraphProto body;
    body.set_name("scan_body");
    add_graph_input(body, "s", F32, {2});
    add_graph_input(body, "x", F32, {2});
    add_node(body, "Add", {"s", "x"}, {"s_out"});
    add_node(body, "Identity", {"s_out"}, {"y"});
    body.add_output()->set_name("s_out");
    body.add_output()->set_name("y");
    return single_node_model(
        "Scan", {{"s0", F32, {2}}, {"xs", F32, {3, 2}}}, {"s_final", "ys"},
        [&](onnx::NodeProto& n) {
            set_graph_attr(n, "body", body);
            set_attr(n, "num_scan_inputs", std::int64_t{1});
        },
        opset);
}

TEST(OnnxControl, ScanBecomesTensorIterator) {
    auto m = read(scan_model());
    auto* ti = producer_of(*m, "s_final");
    ASSERT_NE(ti, nullptr);
    EXPECT_EQ(ti->type, "TensorIterator");
    ASSERT_EQ(ti->inputs.size(), 2u);
    const auto& body = ti->bodies.at(0);
    ASSERT_EQ(body.inputs.size(), 2u);
    EXPECT_EQ(body.inputs[0].external_port, 0);
    EXPECT_FALSE(body.inputs[0].axis.has_value());
    EXPECT_EQ(body.inputs[1].external_port, 1);
    EXPECT_EQ(body.inputs[1].axis, 0);
    EXPECT_EQ(body.inputs[1].part_size, 1);
    EXPECT_EQ(body.inputs[1].stride, 1);
    ASSERT_EQ(body.back_edges.size(), 1u);
    EXPECT_EQ(body.back_edges[0], (model::BackEdge{0, 0}));
    // The sliced parameter keeps the scanned axis (size 1); the body reads it squeezed.
    EXPECT_EQ(body.model->parameters()[1]->outputs[0].shape.to_string(), "[1,2]");
    EXPECT_NE(find_type(*body.model, "Squeeze"), nullptr);
    ASSERT_EQ(body.outputs.size(), 2u);
    EXPECT_FALSE(body.outputs[0].axis.has_value());
    EXPECT_EQ(body.outputs[1].axis, 0);
    EXPECT_EQ(out(*m, 0).shape.to_string(), "[2]");
    EXPECT_EQ(out(*m, 1).shape.to_string(), "[3,2]");
}

TEST(OnnxControl, ReverseScanAndScan8) {
    auto proto = scan_model();
    set_attr(*proto.mutable_graph()->mutable_node(0), "scan_input_directions", I64s{1});
    auto m = read(proto);
    const auto& in = producer_of(*m, "s_final")->bodies.at(0).inputs[1];
    EXPECT_EQ(in.start, -1);
    EXPECT_EQ(in.end, 0);
    EXPECT_EQ(in.stride, -1);
    expect_error(scan_model(8), ErrorKind::UNSUPPORTED, "Scan-8");

    // Per-iteration outputs [2] stacked along axis -1 of the result: [2,3].
    proto = scan_model();
    set_attr(*proto.mutable_graph()->mutable_node(0), "scan_output_axes", I64s{-1});
    m = read(proto);
    const auto& body = producer_of(*m, "s_final")->bodies.at(0);
    EXPECT_EQ(body.outputs[1].axis, 1);
    EXPECT_EQ(body.model->results()[1]->inputs[0].node->outputs[0].shape.to_string(), "[2,1]");
    EXPECT_EQ(out(*m, 1).shape.to_string(), "[2,3]");
    set_attr(*proto.mutable_graph()->mutable_node(0), "scan_input_axes", I64s{2});
    expect_error(proto, ErrorKind::INVALID_ARGUMENT, "scan_input_axes");
}

TEST(OnnxControl, BodiesRoundTripThroughIr) {
    auto dir = std::filesystem::temp_directory_path() / "loom_onnx_control_ir";
    std::filesystem::create_directories(dir);
    auto registry = model::make_native_registry();
    for (const auto& proto : {with_inputs(if_model()), loop_model(), scan_model()}) {
        auto m = read(proto);
        auto xml = (dir / (proto.graph().node(0).op_type() + ".xml")).string();
        write_ir(*m, xml);
        auto back = read_model(xml, *registry);
        auto diff = model::compare_models(*m, *back);
        EXPECT_FALSE(diff.has_value()) << proto.graph().node(0).op_type() << ": " << *diff;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

} // namespace
} // namespace loom::reader::onnx_fe::test
