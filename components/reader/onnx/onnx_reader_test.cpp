// ONNX reader core: parsing, opset imports, domains, initializers and external data, graph
// inputs, functions (model-local and libonnx's), limits, TensorProto conversion.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "components/model/op_registry.hpp"
#include "components/reader/onnx/convert_context.hpp"
#include "components/reader/onnx/onnx_reader.hpp"
#include "components/reader/onnx/onnx_test_builder.hpp"
#include "components/reader/onnx/ops_test_util.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

namespace fs = std::filesystem;

const model::OpRegistry& registry() {
    static const auto r = model::make_native_registry();
    return *r;
}

template <class F>
void expect_error(F&& f, ErrorKind kind, const std::vector<std::string>& needles) {
    try {
        f();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        for (const auto& n : needles)
            EXPECT_NE(e.message().find(n), std::string::npos) << "'" << n << "' in " << e.what();
    }
}

void expect_read_error(const onnx::ModelProto& proto, ErrorKind kind,
                       const std::vector<std::string>& needles) {
    expect_error([&] { read(proto); }, kind, needles);
}

std::shared_ptr<model::Model> read_bytes(const std::string& bytes) {
    return read_onnx(std::as_bytes(std::span(bytes.data(), bytes.size())), ".", registry(),
                     "m.onnx");
}

// A fresh directory under the system temp folder, removed at scope exit.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("loom_onnx_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
    void write(const std::string& name, const std::string& bytes) const {
        std::ofstream f(path / name, std::ios::binary);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
};

TEST(OnnxReader, InitializerBecomesConstantAndOutputsKeepNames) {
    auto proto = single_node_model("Identity", {{"w", F32, {}}}, {"y"}, {}, 17,
                                   {float_tensor("w", {1.f, 2.f, 3.f, 4.f}, {2, 2})});
    auto m = read(proto);
    ASSERT_EQ(m->results().size(), 1u);
    EXPECT_EQ(m->results()[0]->name, "y");
    auto* c = producer_of(*m, "y");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->type, "Constant");
    EXPECT_EQ(c->value.shape(), (model::Shape{2, 2}));
    EXPECT_EQ(c->value.to_f64(), (std::vector<double>{1, 2, 3, 4}));
    const auto& names = c->outputs[0].names;
    EXPECT_NE(std::find(names.begin(), names.end(), "w"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "y"), names.end());
    EXPECT_TRUE(m->parameters().empty());
}

TEST(OnnxReader, DynamicDimsAndMissingShape) {
    auto proto = single_node_model("Identity", {{"x", F32, {-1, 3}}}, {"y"});
    auto m = read(proto);
    ASSERT_EQ(m->parameters().size(), 1u);
    EXPECT_EQ(m->parameters()[0]->outputs[0].shape.to_string(), "[?,3]");
    EXPECT_EQ(m->parameters()[0]->outputs[0].type, ElementType::F32);
    EXPECT_EQ(out(*m, 0).shape.to_string(), "[?,3]");

    proto.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->clear_shape();
    m = read(proto);
    EXPECT_TRUE(m->parameters()[0]->outputs[0].shape.rank_is_dynamic());
}

TEST(OnnxReader, MissingOpsetImportAndIrVersion) {
    auto proto = single_node_model("Identity", {{"x", F32, {2}}}, {"y"});
    proto.mutable_opset_import(0)->set_domain("com.other");
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"opset"});
    proto.mutable_opset_import(0)->set_domain("ai.onnx.preview.training");
    expect_read_error(proto, ErrorKind::UNSUPPORTED, {"ai.onnx.preview.training"});
    proto = single_node_model("Identity", {{"x", F32, {2}}}, {"y"});
    proto.clear_ir_version();
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"ir_version"});
}

TEST(OnnxReader, TruncatedAndGarbageBytes) {
    auto proto = single_node_model("Identity", {{"x", F32, {2, 3}}}, {"y"});
    auto bytes = proto.SerializeAsString();
    ASSERT_GT(bytes.size(), 10u);
    // Cut inside the graph field (the last top-level field): its length prefix overruns.
    auto cut = bytes.substr(0, bytes.size() - 5);
    expect_error([&] { read_bytes(cut); }, ErrorKind::INVALID_ARGUMENT,
                 {"m.onnx", "not a valid ONNX model (protobuf parse failed)"});
    std::string garbage(64, '\xff');
    expect_error([&] { read_bytes(garbage); }, ErrorKind::INVALID_ARGUMENT,
                 {"protobuf parse failed"});
}

TEST(OnnxReader, RefusedDomainsAndUnknownOps) {
    auto proto = single_node_model("LinearClassifier", {{"x", F32, {2, 3}}}, {"y"},
                                   [](onnx::NodeProto& n) { n.set_domain("ai.onnx.ml"); });
    expect_read_error(proto, ErrorKind::UNSUPPORTED,
                      {"ai.onnx.ml", "LinearClassifier", "LinearClassifier_node"});

    proto = single_node_model("Foo", {{"x", F32, {2}}}, {"y"},
                              [](onnx::NodeProto& n) { n.set_domain("com.x"); });
    auto* imp = proto.add_opset_import();
    imp->set_domain("com.x");
    imp->set_version(1);
    expect_read_error(proto, ErrorKind::NOT_FOUND,
                      {"unknown ONNX operator Foo (domain com.x, version 1) in node 'Foo_node'"});

    proto = single_node_model("NoSuchOp", {{"x", F32, {2}}}, {"y"});
    expect_read_error(proto, ErrorKind::NOT_FOUND, {"NoSuchOp", "ai.onnx", "NoSuchOp_node"});
}

TEST(OnnxReader, UndefinedValuesAndMissingInputsAreNamed) {
    auto proto = single_node_model("Identity", {{"x", F32, {2}}}, {"y"});
    proto.mutable_graph()->clear_input();
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"Identity_node", "'x'"});
    proto = single_node_model("Identity", {{"", F32, {2}}}, {"y"});
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"Identity_node", "input 0"});
    proto = single_node_model("Identity", {{"x", F32, {2}}}, {"y"});
    proto.mutable_graph()->add_output()->set_name("ghost");
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"ghost"});
}

TEST(OnnxReader, StringAndSequenceInputsAreUnsupported) {
    auto proto = single_node_model("Identity", {{"text", onnx::TensorProto::STRING, {2}}}, {"y"});
    expect_read_error(proto, ErrorKind::UNSUPPORTED, {"text", "string"});

    proto = single_node_model("Identity", {{"seq", F32, {2}}}, {"y"});
    auto* type = proto.mutable_graph()->mutable_input(0)->mutable_type();
    type->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(F32);
    expect_read_error(proto, ErrorKind::UNSUPPORTED, {"seq", "sequence"});
}

TEST(OnnxReader, AbsurdDimensionsAreRefused) {
    auto proto = single_node_model("Identity", {{"x", F32, {std::int64_t{1} << 41, 2}}}, {"y"});
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"x", "absurd"});
    proto = single_node_model("Identity",
                              {{"x", F32, {std::int64_t{1} << 30, std::int64_t{1} << 30}}}, {"y"});
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"x", "absurd"});
    onnx::TensorProto big;
    big.set_name("big");
    big.set_data_type(F32);
    big.add_dims(std::int64_t{1} << 21);
    big.add_dims(std::int64_t{1} << 21);
    proto = single_node_model("Identity", {{"big", F32, {}}}, {"y"}, {}, 17, {big});
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"big", "absurd"});
}

// Writes `proto` (with external initializer `w`) and `bin` into a temp dir and reads it.
std::shared_ptr<model::Model> read_external(const TempDir& dir, const std::string& location,
                                            std::int64_t offset, std::int64_t length) {
    onnx::TensorProto w;
    w.set_name("w");
    w.set_data_type(F32);
    w.add_dims(2);
    w.add_dims(2);
    w.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add_kv = [&](const std::string& k, const std::string& v) {
        auto* e = w.add_external_data();
        e->set_key(k);
        e->set_value(v);
    };
    add_kv("location", location);
    add_kv("offset", std::to_string(offset));
    add_kv("length", std::to_string(length));
    auto proto = single_node_model("Identity", {{"w", F32, {}}}, {"y"}, {}, 17, {w});
    dir.write("model.onnx", proto.SerializeAsString());
    return read_model((dir.path / "model.onnx").string(), registry());
}

TEST(OnnxReader, ExternalDataIsMappedAndChecked) {
    TempDir dir;
    std::vector<float> values{0.f, 0.f, 1.5f, 2.5f, 3.5f, 4.5f};
    std::string bin(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    fs::create_directories(dir.path / "data");
    dir.write("data/w.bin", bin);
    auto m = read_external(dir, "data/w.bin", 8, 16);
    auto* c = producer_of(*m, "y");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->value.to_f64(), (std::vector<double>{1.5, 2.5, 3.5, 4.5}));
    EXPECT_NE(c->value.owner(), nullptr);

    expect_error([&] { read_external(dir, "data/w.bin", 16, 16); }, ErrorKind::INVALID_ARGUMENT,
                 {"'w'", "outside"});
    expect_error([&] { read_external(dir, "data/w.bin", 0, 12); }, ErrorKind::INVALID_ARGUMENT,
                 {"'w'", "length"});
    expect_error([&] { read_external(dir, "/etc/passwd", 0, 16); }, ErrorKind::INVALID_ARGUMENT,
                 {"'w'", "relative"});
    expect_error([&] { read_external(dir, "data/../../w.bin", 0, 16); },
                 ErrorKind::INVALID_ARGUMENT, {"'w'", "leaves"});
    try {
        read_external(dir, "missing.bin", 0, 16);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("missing.bin"), std::string::npos) << e.what();
    }
}

onnx::NodeProto make_node(const std::string& op, std::vector<std::string> inputs,
                          std::vector<std::string> outputs, const std::string& domain = {}) {
    onnx::NodeProto n;
    n.set_op_type(op);
    n.set_domain(domain);
    for (auto& i : inputs)
        n.add_input(i);
    for (auto& o : outputs)
        n.add_output(o);
    return n;
}

// A model calling local function com.local:MyFn(x) -> (y, c) with attribute alpha:
// t = Identity(x); y = Identity(t); c = Constant(value_float = @alpha).
onnx::ModelProto model_with_local_function() {
    auto proto =
        single_node_model("MyFn", {{"x", F32, {2, 3}}}, {"y", "c"}, [](onnx::NodeProto& n) {
            n.set_domain("com.local");
            set_attr(n, "alpha", 2.5f);
        });
    auto* imp = proto.add_opset_import();
    imp->set_domain("com.local");
    imp->set_version(1);
    auto* fn = proto.add_functions();
    fn->set_name("MyFn");
    fn->set_domain("com.local");
    fn->add_input("x");
    fn->add_output("y");
    fn->add_output("c");
    fn->add_attribute("alpha");
    auto* fimp = fn->add_opset_import();
    fimp->set_domain("");
    fimp->set_version(17);
    *fn->add_node() = make_node("Identity", {"x"}, {"t"});
    *fn->add_node() = make_node("Identity", {"t"}, {"y"});
    auto constant = make_node("Constant", {}, {"c"});
    auto* a = constant.add_attribute();
    a->set_name("value_float");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_ref_attr_name("alpha");
    *fn->add_node() = constant;
    return proto;
}

TEST(OnnxReader, ModelLocalFunctionIsInlined) {
    auto m = read(model_with_local_function());
    ASSERT_EQ(m->results().size(), 2u);
    auto* y = producer_of(*m, "y");
    ASSERT_NE(y, nullptr);
    EXPECT_EQ(y->type, "Parameter");
    const auto& names = y->outputs[0].names;
    EXPECT_EQ(std::find(names.begin(), names.end(), "t"), names.end()) << "internal name leaked";
    for (const auto& n : names)
        EXPECT_FALSE(n.starts_with("$fn")) << n;
    auto* c = producer_of(*m, "c");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->type, "Constant");
    EXPECT_EQ(c->value.to_f64(), (std::vector<double>{2.5}));
    EXPECT_EQ(c->name.rfind("MyFn_node/", 0), 0u) << c->name;
}

TEST(OnnxReader, FunctionBodySubgraphsSeeTheCallsValues) {
    // com.local:Pick(cond, x) -> y: t = Identity(x); y = If(cond, then: Identity(t), else:
    // Constant(@k)). The branch reads the call's internal value t.
    auto proto = single_node_model("Pick", {{"cond", onnx::TensorProto::BOOL, {}}, {"x", F32, {3}}},
                                   {"y"}, [](onnx::NodeProto& n) {
                                       n.set_domain("com.local");
                                       set_attr(n, "k", 4.0f);
                                   });
    auto* imp = proto.add_opset_import();
    imp->set_domain("com.local");
    imp->set_version(1);
    auto* fn = proto.add_functions();
    fn->set_name("Pick");
    fn->set_domain("com.local");
    fn->add_input("cond");
    fn->add_input("x");
    fn->add_output("y");
    fn->add_attribute("k");
    *fn->add_node() = make_node("Identity", {"x"}, {"t"});
    auto node_if = make_node("If", {"cond"}, {"y"});
    onnx::GraphProto then_g, else_g;
    *then_g.add_node() = make_node("Identity", {"t"}, {"a"});
    then_g.add_output()->set_name("a");
    auto constant = make_node("Constant", {}, {"b"});
    auto* ref = constant.add_attribute();
    ref->set_name("value_floats");
    ref->set_type(onnx::AttributeProto::FLOATS);
    ref->set_ref_attr_name("k");
    *else_g.add_node() = constant;
    else_g.add_output()->set_name("b");
    for (auto [name, g] : {std::pair{"then_branch", &then_g}, std::pair{"else_branch", &else_g}}) {
        auto* a = node_if.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::GRAPH);
        *a->mutable_g() = *g;
    }
    *fn->add_node() = node_if;
    // value_floats is FLOATS but the caller's k is FLOAT: the substituted attribute keeps the
    // caller's type, so the Constant sees value_floats as a float and refuses it.
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"value_floats"});
    // With a FLOATS attribute the model reads; the then-branch captured x through t.
    auto* k = proto.mutable_graph()->mutable_node(0)->mutable_attribute(0);
    k->set_type(onnx::AttributeProto::FLOATS);
    k->add_floats(4.0f);
    auto m = read(proto);
    auto* y = producer_of(*m, "y");
    ASSERT_NE(y, nullptr);
    EXPECT_EQ(y->type, "If");
    ASSERT_EQ(y->inputs.size(), 2u);
    EXPECT_EQ(y->inputs[1].node->type, "Parameter");
    auto* c = y->bodies.at(1).model->results().at(0)->inputs.at(0).node;
    EXPECT_EQ(c->value.to_f64(), (std::vector<double>{4.0}));
}

TEST(OnnxReader, RecursiveFunctionHitsNestingLimit) {
    auto proto = model_with_local_function();
    auto* fn = proto.mutable_functions(0);
    *fn->mutable_node(1) = make_node("MyFn", {"t"}, {"y", ""}, "com.local");
    expect_read_error(proto, ErrorKind::INVALID_ARGUMENT, {"nested deeper than 16"});
}

TEST(OnnxReader, LayerNormalization17Reads) {
    // A converter entry, when present, wins over libonnx's function body; either way the
    // result is typed like the input.
    auto proto = single_node_model("LayerNormalization",
                                   {{"x", F32, {2, 3, 4}}, {"scale", F32, {4}}, {"bias", F32, {4}}},
                                   {"y"}, [](onnx::NodeProto& n) {
                                       set_attr(n, "axis", std::int64_t{-1});
                                       set_attr(n, "epsilon", 1e-5f);
                                   });
    auto m = read(proto);
    EXPECT_EQ(out(*m, 0).type, ElementType::F32);
    EXPECT_EQ(out(*m, 0).shape.to_string(), "[2,3,4]");
}

std::size_t count_type(const model::Model& m, const std::string& type) {
    for (const auto& [t, n] : m.histogram())
        if (t == type) return n;
    return 0;
}

TEST(OnnxReader, CeluExpandsFromLibonnxFunctionBody) {
    // Celu-12 has no converter; libonnx's body is alpha = Constant(@alpha), Div, Elu, Mul.
    for (bool with_alpha : {true, false}) {
        auto proto =
            single_node_model("Celu", {{"x", F32, {2, 5}}}, {"y"}, [&](onnx::NodeProto& n) {
                if (with_alpha) set_attr(n, "alpha", 2.0f);
            });
        auto m = read(proto);
        EXPECT_EQ(out(*m, 0).type, ElementType::F32);
        EXPECT_EQ(out(*m, 0).shape.to_string(), "[2,5]");
        EXPECT_EQ(count_type(*m, "Elu"), 1u);
        EXPECT_EQ(count_type(*m, "Divide"), 1u);
        EXPECT_EQ(m->results()[0]->inputs[0].node->type, "Multiply");
        // The referenced attribute (or the schema's default 1.0) became the constant.
        bool found = false;
        for (auto* n : m->nodes())
            if (n->type == "Constant" && n->value.size() == 1)
                found = found || n->value.to_f64()[0] == (with_alpha ? 2.0 : 1.0);
        EXPECT_TRUE(found);
    }
}

TEST(OnnxReader, ContextDependentFunctionIsBuiltWithInputTypes) {
    // NegativeLogLikelihoodLoss-13's body is built from the node's attributes and input types.
    auto proto = single_node_model(
        "NegativeLogLikelihoodLoss",
        {{"input", F32, {3, 5}}, {"target", onnx::TensorProto::INT64, {3}}}, {"loss"},
        [](onnx::NodeProto& n) { set_attr(n, "reduction", std::string("none")); });
    auto m = read(proto);
    EXPECT_EQ(out(*m, 0).type, ElementType::F32);
    EXPECT_EQ(out(*m, 0).shape.to_string(), "[3]");
}

TEST(OnnxReader, ReadsLibonnxTestDataLayerNormalization) {
    const std::string path =
        "/usr/share/libonnx-testdata/data/node/test_layer_normalization_2d_axis0/model.onnx";
    if (!fs::exists(path)) GTEST_SKIP() << path << " not installed";
    auto m = read_model(path, registry());
    ASSERT_GE(m->results().size(), 1u);
    EXPECT_EQ(out(*m, 0).shape.to_string(), "[3,4]");
}

TEST(OnnxReader, ConvertedModelRoundTripsThroughIr) {
    // Names, provenance rt_info and Constant attributes survive writing IR and reading it back.
    TempDir dir;
    auto proto = single_node_model("Celu", {{"x", F32, {2, -1}}}, {"y"},
                                   [](onnx::NodeProto& n) { set_attr(n, "alpha", 2.0f); });
    auto m = read(proto);
    auto xml = (dir.path / "celu.xml").string();
    write_ir(*m, xml);
    auto back = read_model(xml, registry());
    auto diff = model::compare_models(*m, *back);
    EXPECT_FALSE(diff.has_value()) << *diff;
}

// ---- TensorProto ----

TEST(OnnxTensorProto, TypedFieldsAndRawData) {
    onnx::TensorProto h;
    h.set_name("h");
    h.set_data_type(onnx::TensorProto::FLOAT16);
    h.add_dims(2);
    h.add_int32_data(model::f32_to_f16(1.5f));
    h.add_int32_data(model::f32_to_f16(-2.0f));
    auto t = tensor_from_proto(h, ".");
    EXPECT_EQ(t.element_type(), ElementType::F16);
    EXPECT_EQ(t.to_f64(), (std::vector<double>{1.5, -2.0}));

    onnx::TensorProto b;
    b.set_data_type(onnx::TensorProto::BOOL);
    b.add_dims(3);
    for (int v : {1, 0, 7})
        b.add_int32_data(v);
    t = tensor_from_proto(b, ".");
    EXPECT_EQ(t.element_type(), ElementType::BOOLEAN);
    EXPECT_EQ(t.to_i64(), (std::vector<std::int64_t>{1, 0, 1}));

    onnx::TensorProto u;
    u.set_data_type(onnx::TensorProto::UINT64);
    u.add_uint64_data(UINT64_MAX);
    t = tensor_from_proto(u, "."); // no dims: a scalar
    EXPECT_EQ(t.shape(), model::Shape{});
    EXPECT_EQ(*t.data<std::uint64_t>(), UINT64_MAX);

    onnx::TensorProto d;
    d.set_data_type(onnx::TensorProto::DOUBLE);
    d.add_dims(1);
    d.add_double_data(0.25);
    EXPECT_EQ(tensor_from_proto(d, ".").to_f64(), (std::vector<double>{0.25}));

    onnx::TensorProto r;
    r.set_data_type(onnx::TensorProto::INT32);
    r.add_dims(2);
    std::int32_t raw[2] = {7, -9};
    r.set_raw_data(std::string(reinterpret_cast<const char*>(raw), sizeof raw));
    EXPECT_EQ(tensor_from_proto(r, ".").to_i64(), (std::vector<std::int64_t>{7, -9}));
}

TEST(OnnxTensorProto, BadTensorsAreRefused) {
    onnx::TensorProto r;
    r.set_name("short");
    r.set_data_type(F32);
    r.add_dims(3);
    r.set_raw_data(std::string(8, '\0'));
    expect_error([&] { tensor_from_proto(r, "."); }, ErrorKind::INVALID_ARGUMENT,
                 {"'short'", "raw_data"});

    onnx::TensorProto f = float_tensor("few", {1.f, 2.f}, {3});
    expect_error([&] { tensor_from_proto(f, "."); }, ErrorKind::INVALID_ARGUMENT,
                 {"'few'", "2 values"});

    onnx::TensorProto n = float_tensor("neg", {}, {-1});
    expect_error([&] { tensor_from_proto(n, "."); }, ErrorKind::INVALID_ARGUMENT,
                 {"'neg'", "negative"});

    onnx::TensorProto s;
    s.set_name("s");
    s.set_data_type(onnx::TensorProto::STRING);
    s.add_string_data("a");
    expect_error([&] { tensor_from_proto(s, "."); }, ErrorKind::UNSUPPORTED, {"'s'", "string"});

    EXPECT_EQ(element_type_from_onnx(onnx::TensorProto::COMPLEX64), ElementType::UNDEFINED);
    EXPECT_EQ(element_type_from_onnx(onnx::TensorProto::BFLOAT16), ElementType::BF16);
}

} // namespace
} // namespace loom::reader::onnx_fe::test
