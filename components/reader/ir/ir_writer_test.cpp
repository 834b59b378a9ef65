// IR writer: write → read gives the same graph (compare_models), for the shared IRs and for
// hand-built models (bodies, dynamic dims, names with commas, rt_info, shared weights).
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reader/ir/ir_reader.hpp"
#include "components/reader/ir/ir_test_support.hpp"
#include "components/reader/ir/ir_writer.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using loom::ElementType;
namespace fs = std::filesystem;
namespace irt = loom::reader::ir::testing;

namespace {

class TempDir {
public:
    TempDir() {
        auto base =
            fs::temp_directory_path() / ("loom_ir_writer_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(base);
        m_path = base;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    fs::path m_path;
};

// Writes `m` to a temporary IR, reads it back and checks the graphs are equal.
std::shared_ptr<Model> round_trip(const Model& m, const OpRegistry& registry) {
    TempDir dir;
    auto xml = dir.file("model.xml");
    auto written = loom::reader::write_ir(m, xml);
    EXPECT_EQ(written.bin_path, dir.file("model.bin"));
    auto back = loom::reader::read_model(xml, registry);
    auto diff = compare_models(m, *back);
    EXPECT_FALSE(diff.has_value()) << *diff;
    return back;
}

// Model::add_constant stores "shape" as ints; the Constant spec (and the reader) use a shape.
Node& add_constant(Model& m, Tensor value, std::string name) {
    auto& c = m.add_constant(std::move(value), std::move(name));
    c.attrs.set("shape", PartialShape(c.value.shape()));
    return c;
}

Tensor f32_tensor(Shape shape, std::vector<float> values) {
    return Tensor::copy_of(ElementType::F32, std::move(shape), std::as_bytes(std::span(values)));
}

} // namespace

TEST(IrWriterShared, EveryReadableSharedIrRoundTrips) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    for (const auto& folder : irt::ir_folders()) {
        if (folder == "passthrough_string") continue;
        SCOPED_TRACE(folder);
        auto m = loom::reader::read_model(irt::ir_xml(folder), *registry);
        round_trip(*m, *registry);
    }
}

TEST(IrWriterShared, SqueezenetWeightsAreNotDuplicated) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto m = loom::reader::read_model(irt::ir_xml("squeezenet1.1-fp16"), *registry);
    auto doc = loom::reader::ir::write_ir_document(*m);
    std::size_t constant_bytes = 0;
    for (Node* n : m->nodes())
        constant_bytes += n->value.byte_size();
    EXPECT_GE(doc.weights.size(), constant_bytes - 1024); // some constants may be identical
    EXPECT_LE(doc.weights.size(), constant_bytes + 64 * m->size());
    EXPECT_NE(doc.xml.find("<net name=\"squeezenet1.1\" version=\"11\">"), std::string::npos);
    EXPECT_NE(doc.xml.find("type=\"Const\""), std::string::npos);
    EXPECT_NE(doc.xml.find("type=\"ReLU\""), std::string::npos);
}

TEST(IrWriter, HandBuiltModelRoundTrips) {
    auto registry = irt::registry();
    Model m;
    m.name = "hand";
    m.rt_info = {"rt_info", {}, {{"framework", {{"name", "loom"}, {"value", "1"}}, {}}}};
    // Parameters listed in the other order than they were added.
    auto& b = m.add_parameter(ElementType::F32, PartialShape({Dimension(1, 8), 4}), "b");
    auto& a = m.add_parameter(ElementType::I32, PartialShape::dynamic(), "a");
    m.set_parameters({&a, &b});
    b.outputs[0].names = {"b,with,commas", "b2"};
    b.outputs[0].rt_info = {
        "rt_info", {}, {{"attribute", {{"name", "layout"}, {"value", "NC"}}, {}}}};
    auto& c1 = add_constant(m, f32_tensor({2}, {1, 2}), "c1");
    auto& c2 = add_constant(m, f32_tensor({2}, {1, 2}), "c2"); // same bytes as c1
    auto& cvt = m.add("Convert", "opset1", {b.output()}, {}, 1, "cvt");
    cvt.attrs.set("destination_type", ElementType::F16);
    cvt.rt_info = {
        "rt_info",
        {},
        {{"attribute", {{"name", "fused_names"}, {"version", "0"}, {"value", "x,y"}}, {}}}};
    cvt.input_rt_info = {{"rt_info", {}, {{"attribute", {{"name", "precise"}}, {}}}}};
    auto& shape = m.add("ShapeOf", "opset3", {a.output()}, {}, 1, "shape");
    shape.attrs.set("output_type", ElementType::I32);
    auto& any_rank = m.add("Convert", "opset1", {a.output()}, {}, 1, "any_rank");
    any_rank.attrs.set("destination_type", ElementType::F32); // output of dynamic rank
    m.add_result(any_rank.output(), "r_any_rank");
    m.add_result(cvt.output(), "r_cvt");
    m.add_result(shape.output(), "r_shape");
    m.add_result(c1.output(), "r_c1");
    m.add_result(c2.output(), "r_c2");
    infer_and_validate(m, *registry);
    ASSERT_EQ(cvt.outputs[0].shape, PartialShape({Dimension(1, 8), 4}));

    auto doc = loom::reader::ir::write_ir_document(m);
    EXPECT_EQ(doc.weights.size(), 8u); // c1 and c2 share their bytes
    EXPECT_NE(doc.xml.find(R"(names="b\,with\,commas,b2")"), std::string::npos) << doc.xml;
    auto back = round_trip(m, *registry);
    EXPECT_EQ(back->parameters()[0]->name, "a");
    EXPECT_EQ(back->parameters()[1]->outputs[0].names,
              (std::vector<std::string>{"b,with,commas", "b2"}));
    EXPECT_EQ(back->parameters()[0]->outputs[0].shape, PartialShape::dynamic());
    for (Node* n : back->nodes())
        if (n->name == "cvt") {
            EXPECT_EQ(n->input_rt_info, cvt.input_rt_info);
        }
}

TEST(IrWriter, StatefulModelKeepsItsSink) {
    auto registry = irt::registry();
    Model m;
    auto& init = add_constant(m, f32_tensor({1}, {0}), "init");
    auto& rv = m.add("ReadValue", "opset6", {init.output()}, {}, 1, "read");
    rv.attrs.set("variable_id", std::string("state"));
    auto& as = m.add("Assign", "opset6", {rv.output()}, {}, 1, "save");
    as.attrs.set("variable_id", std::string("state"));
    m.add_sink(as);
    m.add_result(rv.output(), "out");
    infer_and_validate(m, *registry);
    auto back = round_trip(m, *registry);
    ASSERT_EQ(back->sinks().size(), 1u);
    EXPECT_EQ(back->sinks()[0]->name, "save");
}

// TensorIterator over X[3,2] (sliced along axis 0) with a state carried by a back edge:
// body(x_i[1,2], h[1,2]) → (x_i, Convert(h)); outputs: concat of x_i along 0 → [3,2], last h.
TEST(IrWriter, TensorIteratorBodyRoundTrips) {
    auto registry = irt::registry();
    auto body = std::make_shared<Model>();
    auto& xi = body->add_parameter(ElementType::F32, PartialShape({1, 2}), "x_i");
    auto& h = body->add_parameter(ElementType::F32, PartialShape({1, 2}), "h");
    auto& next = body->add("Convert", "opset1", {h.output()}, {}, 1, "next");
    next.attrs.set("destination_type", ElementType::F32);
    body->add_result(xi.output(), "out_x");
    body->add_result(next.output(), "out_h");
    infer_and_validate(*body, *registry);

    Model m;
    auto& x = m.add_parameter(ElementType::F32, PartialShape({3, 2}), "X");
    auto& h0 = m.add_parameter(ElementType::F32, PartialShape({1, 2}), "H0");
    auto& ti = m.add("TensorIterator", "opset1", {x.output(), h0.output()}, {}, 2, "ti");
    Body b;
    b.name = "body";
    b.model = body;
    b.inputs = {{0, 0, 0, 0, -1, 1, 1, ""}, {1, 1, {}, {}, {}, {}, {}, ""}};
    b.outputs = {{0, 0, 0, 0, -1, 1, 1, ""}, {1, 1, {}, {}, {}, {}, {}, ""}};
    b.back_edges = {{1, 1}};
    ti.bodies.push_back(b);
    ti.outputs[0].type = ElementType::F32;
    ti.outputs[0].shape = PartialShape({3, 2});
    ti.outputs[1].type = ElementType::F32;
    ti.outputs[1].shape = PartialShape({1, 2});
    m.add_result(ti.output(0), "concat");
    m.add_result(ti.output(1), "last");
    infer_and_validate(m, *registry);

    auto doc = loom::reader::ir::write_ir_document(m);
    EXPECT_NE(doc.xml.find("<port_map>"), std::string::npos) << doc.xml;
    EXPECT_NE(doc.xml.find("<back_edges>"), std::string::npos) << doc.xml;
    auto back = round_trip(m, *registry);
    Node* rti = back->results()[0]->inputs[0].node;
    ASSERT_EQ(rti->bodies.size(), 1u);
    EXPECT_EQ(rti->bodies[0].inputs[0].axis, 0);
    EXPECT_EQ(rti->bodies[0].back_edges.size(), 1u);
    EXPECT_EQ(rti->outputs[0].shape, PartialShape({3, 2}));
}

TEST(IrWriter, WrittenIrReadsBackFromMemory) {
    auto registry = irt::registry();
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape({2}), "p");
    auto& c = add_constant(m, f32_tensor({2}, {3, 4}), "c");
    m.add_result(p.output(), "rp");
    m.add_result(c.output(), "rc");
    infer_and_validate(m, *registry);
    auto doc = loom::reader::ir::write_ir_document(m);
    auto owner = std::make_shared<std::vector<std::byte>>(doc.weights);
    auto back = loom::reader::ir::read_ir(doc.xml, *owner, owner, *registry, "<memory>");
    EXPECT_FALSE(compare_models(m, *back).has_value());
}

namespace {
Tensor scalar(ElementType type, const void* value, std::size_t bytes) {
    return Tensor::copy_of(type, {}, std::span(static_cast<const std::byte*>(value), bytes));
}
} // namespace

// Loop(trip 3, cond true, x[2]) whose body carries x through a back edge, stacks it into [6] and
// has both special ports (iteration number in, execution condition out).
TEST(IrWriter, LoopWithSpecialPortsRoundTrips) {
    auto registry = irt::registry();
    auto body = std::make_shared<Model>();
    auto& iter = body->add_parameter(ElementType::I64, PartialShape(Shape{}), "i");
    auto& xb = body->add_parameter(ElementType::F32, PartialShape({2}), "xb");
    bool yes = true;
    auto& keep = add_constant(*body, scalar(ElementType::BOOLEAN, &yes, 1), "keep");
    auto& y = body->add("Convert", "opset1", {xb.output()}, {}, 1, "y");
    y.attrs.set("destination_type", ElementType::F32);
    (void)iter;
    body->add_result(keep.output(), "r_cond");
    body->add_result(y.output(), "r_y");
    infer_and_validate(*body, *registry);

    Model m;
    std::int64_t three = 3;
    auto& trip = add_constant(m, scalar(ElementType::I64, &three, 8), "trip");
    auto& cond = add_constant(m, scalar(ElementType::BOOLEAN, &yes, 1), "cond");
    auto& x = m.add_parameter(ElementType::F32, PartialShape({2}), "x");
    auto& loop = m.add("Loop", "opset5", {trip.output(), cond.output(), x.output()}, {}, 2, "loop");
    Body b;
    b.name = "body";
    b.model = body;
    b.inputs = {{2, 1, {}, {}, {}, {}, {}, ""}, {-1, 0, {}, {}, {}, {}, {}, "current_iteration"}};
    b.outputs = {{0, 1, {}, {}, {}, {}, {}, ""},
                 {1, 1, 0, 0, -1, 1, 1, ""},
                 {-1, 0, {}, {}, {}, {}, {}, "execution_condition"}};
    b.back_edges = {{1, 1}};
    loop.bodies.push_back(b);
    m.add_result(loop.output(0), "final");
    m.add_result(loop.output(1), "stacked");
    infer_and_validate(m, *registry);
    EXPECT_EQ(loop.outputs[0].shape, PartialShape({2}));
    EXPECT_EQ(loop.outputs[1].shape, PartialShape({6}));

    auto doc = loom::reader::ir::write_ir_document(m);
    EXPECT_NE(doc.xml.find("purpose=\"current_iteration\""), std::string::npos) << doc.xml;
    EXPECT_NE(doc.xml.find("purpose=\"execution_condition\""), std::string::npos);
    auto back = round_trip(m, *registry);
    Node* rloop = back->results()[0]->inputs[0].node;
    ASSERT_EQ(rloop->bodies.size(), 1u);
    EXPECT_EQ(rloop->bodies[0].inputs[1].purpose, "current_iteration");
    EXPECT_EQ(rloop->bodies[0].inputs[1].external_port, -1);
    EXPECT_EQ(rloop->bodies[0].outputs[1].axis, 0);
}

// If(c, x) with then: x → Convert(f32) and else: a constant [2].
TEST(IrWriter, IfWithTwoBodiesRoundTrips) {
    auto registry = irt::registry();
    auto then_body = std::make_shared<Model>();
    auto& tx = then_body->add_parameter(ElementType::F32, PartialShape({2}), "tx");
    auto& tc = then_body->add("Convert", "opset1", {tx.output()}, {}, 1, "tc");
    tc.attrs.set("destination_type", ElementType::F32);
    then_body->add_result(tc.output(), "t_out");
    infer_and_validate(*then_body, *registry);
    auto else_body = std::make_shared<Model>();
    add_constant(*else_body, f32_tensor({2}, {7, 8}), "ec");
    else_body->add_result(else_body->nodes()[0]->output(), "e_out");
    infer_and_validate(*else_body, *registry);

    Model m;
    auto& c = m.add_parameter(ElementType::BOOLEAN, PartialShape(Shape{}), "c");
    auto& x = m.add_parameter(ElementType::F32, PartialShape({2}), "x");
    auto& node = m.add("If", "opset8", {c.output(), x.output()}, {}, 1, "if");
    Body tb{"then_body",
            then_body,
            {{1, 0, {}, {}, {}, {}, {}, ""}},
            {{0, 0, {}, {}, {}, {}, {}, ""}},
            {}};
    Body eb{"else_body", else_body, {}, {{0, 0, {}, {}, {}, {}, {}, ""}}, {}};
    node.bodies = {tb, eb};
    m.add_result(node.output(), "y");
    infer_and_validate(m, *registry);
    EXPECT_EQ(node.outputs[0].shape, PartialShape({2}));

    auto doc = loom::reader::ir::write_ir_document(m);
    EXPECT_NE(doc.xml.find("<then_port_map>"), std::string::npos) << doc.xml;
    EXPECT_NE(doc.xml.find("<else_body>"), std::string::npos);
    auto back = round_trip(m, *registry);
    Node* rif = back->results()[0]->inputs[0].node;
    ASSERT_EQ(rif->bodies.size(), 2u);
    EXPECT_EQ(rif->bodies[1].name, "else_body");
    EXPECT_TRUE(rif->bodies[1].inputs.empty());
}
