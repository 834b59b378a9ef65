// Extension ops and conversions in the readers (DESIGN.md §6): an ONNX node of a custom domain
// or an IR layer of an extension version is converted by a registered conversion or becomes the
// extension's op; unknown ones are named with their domain/version and node. The registry here is
// the native one plus a hand-made op and conversions (no extension library needed).
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reader/ir/ir_reader.hpp"
#include "components/reader/ir/ir_writer.hpp"
#include "components/reader/onnx/onnx_test_builder.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"

namespace loom::reader {
namespace {

using model::AttrKind;
using model::ElementType;
using model::Model;
using model::Node;
using model::Output;
using model::PartialShape;
namespace ox = onnx_fe::test;

constexpr const char* k_domain = "test.domain";

Output scalar_f32(model::ConversionContext& ctx, double value) {
    auto t = model::Tensor::allocate(ElementType::F32, {});
    auto v = static_cast<float>(value);
    std::memcpy(t.mutable_data(), &v, sizeof v);
    return ctx.constant(std::move(t));
}

// An attribute as a number: ONNX gives floats or ints, the IR gives text.
double number(const model::ConversionContext& ctx, const char* name) {
    const auto* v = ctx.attrs().find(name);
    if (!v) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "attribute '{}' is missing", name);
    if (const auto* d = std::get_if<double>(v)) return *d;
    if (const auto* i = std::get_if<std::int64_t>(v)) return static_cast<double>(*i);
    if (const auto* s = std::get_if<std::string>(v))
        if (auto parsed = model::parse_attr(*s, AttrKind::Float)) return std::get<double>(*parsed);
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "attribute '{}' is not a number", name);
}

// x * scale + bias, from existing ops.
std::vector<Output> mul_add(model::ConversionContext& ctx) {
    auto scale = scalar_f32(ctx, number(ctx, "scale"));
    auto bias = scalar_f32(ctx, number(ctx, "bias"));
    auto& mul = ctx.add("Multiply", "opset1", {ctx.input(0), scale});
    auto& add = ctx.add("Add", "opset1", {mul.output(0), bias});
    return {add.output(0)};
}

std::shared_ptr<model::OpRegistry> make_registry() {
    auto r = model::make_native_registry();
    model::OpSpec scale2;
    scale2.type = "Scale2";
    scale2.version = k_domain;
    scale2.attrs = {{"factor", AttrKind::Float, true}, {"flags", AttrKind::Floats, false}};
    scale2.min_inputs = 1;
    scale2.max_inputs = 1;
    scale2.infer = [](model::InferContext& ctx) {
        ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
    };
    scale2.origin = "test";
    r->add(std::move(scale2));
    for (const char* framework : {"onnx", "ir"})
        r->add_conversion({framework, k_domain, "MulAdd", mul_add, "test", nullptr});
    r->add_conversion({"onnx", k_domain, "Boom",
                       [](model::ConversionContext&) -> std::vector<Output> {
                           throw std::runtime_error("boom from the extension");
                       },
                       "test", nullptr});
    r->add_conversion({"onnx", k_domain, "LoomBoom",
                       [](model::ConversionContext& ctx) -> std::vector<Output> {
                           number(ctx, "missing");
                           return {};
                       },
                       "test", nullptr});
    r->add_conversion({"onnx", k_domain, "TwoOuts",
                       [](model::ConversionContext& ctx) -> std::vector<Output> {
                           return {ctx.input(0), ctx.input(0)};
                       },
                       "test", nullptr});
    r->add_conversion({"ir", k_domain, "Boom",
                       [](model::ConversionContext&) -> std::vector<Output> {
                           throw std::runtime_error("boom from the extension");
                       },
                       "test", nullptr});
    return r;
}

const model::OpRegistry& registry() {
    static const auto r = make_registry();
    return *r;
}

template <class F>
void expect_error(F&& f, ErrorKind kind, const std::vector<std::string>& needles) {
    try {
        f();
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        for (const auto& n : needles)
            EXPECT_NE(e.message().find(n), std::string::npos) << "'" << n << "' in " << e.what();
    }
}

// ---- ONNX ----

// One node `op` of the test domain on x: f32 [2,3], with the test domain imported.
onnx::ModelProto custom_node(const std::string& op,
                             const std::function<void(onnx::NodeProto&)>& configure = {},
                             std::vector<std::string> outputs = {"y"}) {
    auto proto = ox::single_node_model(op, {{"x", onnx::TensorProto::FLOAT, {2, 3}}}, outputs,
                                       [&](onnx::NodeProto& n) {
                                           n.set_domain(k_domain);
                                           if (configure) configure(n);
                                       });
    auto* imp = proto.add_opset_import();
    imp->set_domain(k_domain);
    imp->set_version(1);
    return proto;
}

std::shared_ptr<Model> read_onnx(const onnx::ModelProto& proto) {
    auto bytes = proto.SerializeAsString();
    return read_model_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), {}, nullptr,
                            registry(), Format::Onnx);
}

std::size_t count_type(const Model& m, std::string_view type) {
    std::size_t n = 0;
    for (Node* node : m.nodes())
        n += node->type == type;
    return n;
}

std::size_t count_version(const Model& m, std::string_view version) {
    std::size_t n = 0;
    for (Node* node : m.nodes())
        n += node->version == version;
    return n;
}

TEST(ReaderExtensionOnnx, ExtensionOpBecomesANodeOfItsDomain) {
    auto m = read_onnx(custom_node("Scale2", [](onnx::NodeProto& n) {
        ox::set_attr(n, "factor", std::int64_t{3}); // an int where the spec wants a float
        ox::set_attr(n, "flags", std::vector<std::int64_t>{1, 2});
        ox::set_attr(n, "note", std::string("kept"));
    }));
    const Node* node = ox::producer_of(*m, "y");
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->type, "Scale2");
    EXPECT_EQ(node->version, k_domain);
    EXPECT_EQ(node->name, "Scale2_node");
    EXPECT_EQ(node->attrs.get<double>("factor"), 3.0);
    EXPECT_EQ(node->attrs.get<std::vector<double>>("flags"), (std::vector<double>{1.0, 2.0}));
    EXPECT_EQ(node->attrs.get<std::string>("note"), "kept");
    ASSERT_EQ(node->outputs.size(), 1u);
    EXPECT_EQ(node->outputs[0].type, ElementType::F32);
    EXPECT_EQ(node->outputs[0].shape, PartialShape({2, 3}));

    m = read_onnx(
        custom_node("Scale2", [](onnx::NodeProto& n) { ox::set_attr(n, "factor", 0.5f); }));
    EXPECT_EQ(ox::producer_of(*m, "y")->attrs.get<double>("factor"), 0.5);
}

TEST(ReaderExtensionOnnx, ExtensionOpAttributesAreChecked) {
    expect_error([] { read_onnx(custom_node("Scale2")); }, ErrorKind::INVALID_ARGUMENT,
                 {"Scale2_node", "Scale2", k_domain, "version 1", "'factor'"});
    // A string never stands for a number, as onnx.checker refuses an attribute of the wrong
    // type: not even one that reads as a float.
    for (const char* text : {"abc", "1.5"})
        expect_error(
            [&] {
                read_onnx(custom_node("Scale2", [&](onnx::NodeProto& n) {
                    ox::set_attr(n, "factor", std::string(text));
                }));
            },
            ErrorKind::INVALID_ARGUMENT,
            {"node 'Scale2_node' (Scale2, domain test.domain, version 1)",
             "attribute 'factor' is declared float", "ONNX STRING attribute", text});
    // Nor for a list of floats.
    expect_error(
        [] {
            read_onnx(custom_node("Scale2", [](onnx::NodeProto& n) {
                ox::set_attr(n, "factor", 1.0f);
                ox::set_attr(n, "flags", std::string("1,2"));
            }));
        },
        ErrorKind::INVALID_ARGUMENT, {"Scale2_node", "'flags' is declared floats", "STRING"});
    expect_error(
        [] {
            read_onnx(custom_node("Scale2", [](onnx::NodeProto& n) {
                ox::set_attr(n, "factor", 1.0f);
                auto* a = n.add_attribute();
                a->set_name("weights");
                a->set_type(onnx::AttributeProto::TENSOR);
                *a->mutable_t() = ox::float_tensor("w", {1.0f});
            }));
        },
        ErrorKind::UNSUPPORTED, {"Scale2_node", "'weights'", "TENSOR"});
}

TEST(ReaderExtensionOnnx, ACustomDomainMustBeImported) {
    // As onnx.checker: a node's domain without an opset_import entry has no version.
    for (const char* op : {"Scale2", "MulAdd", "Nope"}) {
        auto proto = custom_node(op, [](onnx::NodeProto& n) {
            ox::set_attr(n, "factor", 1.0f);
            ox::set_attr(n, "scale", 1.0f);
            ox::set_attr(n, "bias", 0.0f);
        });
        ASSERT_EQ(proto.opset_import_size(), 2);
        proto.mutable_opset_import()->RemoveLast(); // the test domain's import
        expect_error([&] { read_onnx(proto); }, ErrorKind::INVALID_ARGUMENT,
                     {fmt::format("node '{}_node'", op), "domain 'test.domain'", "does not import",
                      "opset_import"});
    }
}

TEST(ReaderExtensionOnnx, ConversionBuildsExistingOps) {
    auto m = read_onnx(custom_node("MulAdd", [](onnx::NodeProto& n) {
        ox::set_attr(n, "scale", 2.0f);
        ox::set_attr(n, "bias", std::int64_t{1});
    }));
    EXPECT_EQ(count_version(*m, k_domain), 0u);
    EXPECT_EQ(count_type(*m, "Multiply"), 1u);
    EXPECT_EQ(count_type(*m, "Add"), 1u);
    const Node* add = ox::producer_of(*m, "y");
    ASSERT_NE(add, nullptr);
    EXPECT_EQ(add->type, "Add");
    EXPECT_EQ(add->name, "MulAdd_node");
    EXPECT_EQ(add->outputs[0].type, ElementType::F32);
    EXPECT_EQ(add->outputs[0].shape, PartialShape({2, 3}));
    const Node* mul = add->inputs[0].node;
    ASSERT_EQ(mul->type, "Multiply");
    EXPECT_EQ(mul->inputs[0].node, m->parameters().at(0));
    EXPECT_EQ(mul->inputs[1].node->value.to_f64(), (std::vector<double>{2.0}));
    EXPECT_EQ(add->inputs[1].node->value.to_f64(), (std::vector<double>{1.0}));
}

TEST(ReaderExtensionOnnx, UnknownCustomOpIsNamed) {
    expect_error([] { read_onnx(custom_node("Nope")); }, ErrorKind::NOT_FOUND,
                 {"unknown ONNX operator Nope (domain test.domain, version 1) in node "
                  "'Nope_node' (no loaded extension provides it)"});
    // The native registry alone knows neither the op nor the conversion.
    expect_error([] { ox::read(custom_node("Scale2")); }, ErrorKind::NOT_FOUND,
                 {"Scale2", k_domain, "Scale2_node", "no loaded extension"});
}

TEST(ReaderExtensionOnnx, FailingConversionIsNamed) {
    expect_error([] { read_onnx(custom_node("Boom")); }, ErrorKind::INVALID_ARGUMENT,
                 {"node 'Boom_node' (Boom, domain test.domain, version 1)", "conversion failed",
                  "boom from the extension"});
    expect_error(
        [] { read_onnx(custom_node("LoomBoom")); }, ErrorKind::INVALID_ARGUMENT,
        {"node 'LoomBoom_node' (LoomBoom, domain test.domain, version 1)", "'missing' is missing"});
    // Two values for a node with one output.
    expect_error([] { read_onnx(custom_node("TwoOuts")); }, ErrorKind::INVALID_ARGUMENT,
                 {"'TwoOuts_node'", "returned 2 outputs", "has 1"});
    // A conversion's nodes are typed: MulAdd of an i64 input fails in its Multiply.
    auto proto = custom_node("MulAdd", [](onnx::NodeProto& n) {
        ox::set_attr(n, "scale", 2.0f);
        ox::set_attr(n, "bias", 1.0f);
    });
    proto.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
        onnx::TensorProto::INT64);
    expect_error([&] { read_onnx(proto); }, ErrorKind::INVALID_ARGUMENT,
                 {"'MulAdd_node'", "MulAdd, domain test.domain", "Multiply"});
}

TEST(ReaderExtensionOnnx, ExtensionOpRoundTripsThroughIr) {
    auto m = read_onnx(custom_node("Scale2", [](onnx::NodeProto& n) {
        ox::set_attr(n, "factor", 1.25f);
        ox::set_attr(n, "note", std::string("kept"));
    }));
    auto doc = ir::write_ir_document(*m);
    EXPECT_NE(doc.xml.find("type=\"Scale2\" version=\"test.domain\""), std::string::npos)
        << doc.xml;
    auto back = ir::read_ir(doc.xml, doc.weights, nullptr, registry(), "back.xml");
    auto diff = model::compare_models(*m, *back);
    EXPECT_FALSE(diff.has_value()) << *diff;
}

// ---- IR ----

constexpr const char* k_dims = "<dim>2</dim><dim>3</dim>";

std::string ir_layer(int id, const std::string& name, const std::string& type,
                     const std::string& version, const std::string& data) {
    return fmt::format(R"(<layer id="{}" name="{}" type="{}" version="{}">
  <data {}/><input><port id="0" precision="FP32">{}</port></input>
  <output><port id="1" precision="FP32" names="y_value">{}</port></output></layer>)",
                       id, name, type, version, data, k_dims, k_dims);
}

// Parameter x [2,3] → `middle` (layer id 1) → Result.
std::string ir_net(const std::string& middle) {
    return fmt::format(
        R"(<?xml version="1.0"?><net name="t" version="11"><layers>
<layer id="0" name="x" type="Parameter" version="opset1">
  <data shape="2,3" element_type="f32"/><output><port id="0" precision="FP32" names="x">{}</port></output>
</layer>{}
<layer id="2" name="y" type="Result" version="opset1"><input><port id="0">{}</port></input></layer>
</layers><edges>
<edge from-layer="0" from-port="0" to-layer="1" to-port="0"/>
<edge from-layer="1" from-port="1" to-layer="2" to-port="0"/>
</edges></net>)",
        k_dims, middle, k_dims);
}

std::shared_ptr<Model> read_ir_text(const std::string& xml) {
    return ir::read_ir(xml, {}, nullptr, registry(), "test.xml");
}

const Node* result_input(const Model& m) {
    return m.results().at(0)->inputs.at(0).node;
}

TEST(ReaderExtensionIr, ExtensionLayerIsTypedByItsSpec) {
    auto m = read_ir_text(
        ir_net(ir_layer(1, "s", "Scale2", k_domain, R"(factor="2.5" flags="1,2" note="x")")));
    const Node* node = result_input(*m);
    EXPECT_EQ(node->type, "Scale2");
    EXPECT_EQ(node->version, k_domain);
    EXPECT_EQ(node->attrs.get<double>("factor"), 2.5);
    EXPECT_EQ(node->attrs.get<std::vector<double>>("flags"), (std::vector<double>{1.0, 2.0}));
    EXPECT_EQ(node->attrs.get<std::string>("note"), "x");
    EXPECT_EQ(node->outputs[0].type, ElementType::F32);
    EXPECT_EQ(node->outputs[0].shape, PartialShape({2, 3}));

    expect_error(
        [] { read_ir_text(ir_net(ir_layer(1, "s", "Scale2", k_domain, R"(factor="x")"))); },
        ErrorKind::INVALID_ARGUMENT, {"'s'", "factor='x'"});
}

TEST(ReaderExtensionIr, ExtensionLayerRoundTrips) {
    auto m = read_ir_text(ir_net(ir_layer(1, "s", "Scale2", k_domain, R"(factor="0.1" note="x")")));
    auto doc = ir::write_ir_document(*m);
    EXPECT_NE(doc.xml.find("type=\"Scale2\" version=\"test.domain\""), std::string::npos)
        << doc.xml;
    auto back = read_ir_text(doc.xml);
    auto diff = model::compare_models(*m, *back);
    EXPECT_FALSE(diff.has_value()) << *diff;
    EXPECT_EQ(result_input(*back)->attrs.get<double>("factor"), 0.1);
}

TEST(ReaderExtensionIr, ConversionReplacesTheLayer) {
    auto m = read_ir_text(ir_net(ir_layer(1, "ma", "MulAdd", k_domain, R"(scale="3" bias="0.5")")));
    EXPECT_EQ(count_version(*m, k_domain), 0u);
    EXPECT_EQ(count_type(*m, "MulAdd"), 0u);
    EXPECT_EQ(count_type(*m, "Multiply"), 1u);
    EXPECT_EQ(count_type(*m, "Add"), 1u);
    const Node* add = result_input(*m);
    ASSERT_EQ(add->type, "Add");
    EXPECT_EQ(add->name, "ma");
    EXPECT_EQ(add->outputs[0].names, (std::vector<std::string>{"y_value"}));
    EXPECT_EQ(add->outputs[0].shape, PartialShape({2, 3}));
    const Node* mul = add->inputs[0].node;
    ASSERT_EQ(mul->type, "Multiply");
    EXPECT_EQ(mul->inputs[1].node->value.to_f64(), (std::vector<double>{3.0}));
    EXPECT_EQ(add->inputs[1].node->value.to_f64(), (std::vector<double>{0.5}));
    // Written and read back, it is plain native ops.
    auto doc = ir::write_ir_document(*m);
    auto back = ir::read_ir(doc.xml, doc.weights, nullptr, registry(), "back.xml");
    auto diff = model::compare_models(*m, *back);
    EXPECT_FALSE(diff.has_value()) << *diff;
}

TEST(ReaderExtensionIr, UnknownAndFailingLayersAreNamed) {
    expect_error([] { read_ir_text(ir_net(ir_layer(1, "n", "Nope", k_domain, ""))); },
                 ErrorKind::NOT_FOUND,
                 {"unknown operation Nope (version test.domain) in layer 'n' (id 1) (no loaded "
                  "extension provides it)"});
    expect_error([] { read_ir_text(ir_net(ir_layer(1, "b", "Boom", k_domain, ""))); },
                 ErrorKind::INVALID_ARGUMENT,
                 {"layer 'b' (id 1, Boom test.domain)", "boom from the extension"});
    expect_error(
        [] { read_ir_text(ir_net(ir_layer(1, "ma", "MulAdd", k_domain, R"(scale="3")"))); },
        ErrorKind::INVALID_ARGUMENT, {"layer 'ma'", "'bias' is missing"});
}

} // namespace
} // namespace loom::reader
