// IR reader: the real IRs in $LOOM_SHARED_DIR/models/ir and small hand-written malformed ones.
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reader/ir/ir_reader.hpp"
#include "components/reader/ir/ir_test_support.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using loom::ElementType;
using loom::ErrorKind;
namespace fs = std::filesystem;
namespace irt = loom::reader::ir::testing;

namespace {

std::shared_ptr<Model> read_shared(const std::string& folder, const OpRegistry& registry) {
    return loom::reader::read_model(irt::ir_xml(folder), registry);
}

Node* find_node(const Model& m, std::string_view name) {
    for (Node* n : m.nodes())
        if (n->name == name) return n;
    return nullptr;
}

std::size_t count_type(const Model& m, std::string_view type) {
    std::size_t n = 0;
    for (Node* node : m.nodes())
        n += node->type == type;
    return n;
}

const PartialShape& result_shape(const Model& m, std::size_t i) {
    const auto& in = m.results().at(i)->inputs.at(0);
    return in.node->outputs.at(in.index).shape;
}

} // namespace

TEST(IrReaderShared, DummyHasOneF32InputAndOneOutput) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto m = read_shared("dummy", *registry);
    ASSERT_EQ(m->parameters().size(), 1u);
    ASSERT_EQ(m->results().size(), 1u);
    const auto& p = m->parameters()[0]->outputs[0];
    EXPECT_EQ(p.type, ElementType::F32);
    EXPECT_EQ(p.shape, PartialShape({1, 10}));
    EXPECT_EQ(m->parameters()[0]->name, "b");
    EXPECT_EQ(result_shape(*m, 0), PartialShape({1, 10}));
    Node* c = find_node(*m, "c/read/Output_0/Data_/copy_const");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->type, "Constant");
    EXPECT_EQ(c->value.shape(), (Shape{1, 1}));
    EXPECT_EQ(c->attrs.size(), 2u); // offset and size are not kept
    EXPECT_EQ(m->name, "saved_model");
    // v10 net-level rt_info is kept as a tree.
    ASSERT_EQ(m->rt_info.tag, "rt_info");
    ASSERT_GE(m->rt_info.children.size(), 3u);
    EXPECT_EQ(m->rt_info.children[2].tag, "model_info");
    EXPECT_EQ(m->rt_info.children[2].children[1].tag, "resolution");
}

TEST(IrReaderShared, DummyFp64HasADynamicBatch) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto m = read_shared("dummy_fp64", *registry);
    ASSERT_EQ(m->parameters().size(), 1u);
    const auto& p = m->parameters()[0]->outputs[0];
    EXPECT_EQ(p.type, ElementType::F64);
    EXPECT_EQ(p.shape, PartialShape({Dimension::dynamic(), 10}));
    EXPECT_EQ(p.names, std::vector<std::string>{"input:0"});
    // layer rt_info: <attribute name="fused_names" version="0" value="input"/>
    const auto& rt = m->parameters()[0]->rt_info;
    ASSERT_EQ(rt.children.size(), 1u);
    EXPECT_EQ(rt.children[0].tag, "attribute");
    EXPECT_EQ(rt.children[0].attributes[0],
              std::make_pair(std::string("name"), std::string("fused_names")));
    EXPECT_EQ(result_shape(*m, 0), PartialShape({Dimension::dynamic(), 10}));
}

TEST(IrReaderShared, SqueezenetConstantsViewTheMappedWeights) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto path = irt::ir_xml("squeezenet1.1-fp16");
    auto xml = MappedFile::open(path);
    auto bin = MappedFile::open(path.substr(0, path.size() - 4) + ".bin");
    std::string_view text(reinterpret_cast<const char*>(xml->bytes().data()), xml->bytes().size());
    auto m = loom::reader::ir::read_ir(text, bin->bytes(), bin, *registry, path);
    ASSERT_EQ(m->parameters().size(), 1u);
    EXPECT_EQ(m->parameters()[0]->outputs[0].type, ElementType::F16);
    EXPECT_EQ(m->parameters()[0]->outputs[0].shape, PartialShape({1, 3, 227, 227}));
    ASSERT_EQ(m->results().size(), 1u);
    EXPECT_EQ(result_shape(*m, 0), PartialShape({1, 1000, 1, 1}));
    // No <rt_info>: Model Optimizer's <meta_data> becomes the rt_info, as in OpenVINO.
    ASSERT_EQ(m->rt_info.children.size(), 2u);
    EXPECT_EQ(m->rt_info.children[0].tag, "MO_version");
    EXPECT_EQ(m->rt_info.children[1].tag, "conversion_parameters");
    EXPECT_EQ(m->rt_info.children[1].children[0].tag, "blobs_as_inputs");
    EXPECT_EQ(count_type(*m, "Constant"), 54u);
    EXPECT_EQ(count_type(*m, "Convolution"), 26u);
    EXPECT_EQ(count_type(*m, "Relu"), 26u);   // IR v10 "ReLU"
    EXPECT_EQ(count_type(*m, "Softmax"), 1u); // IR v10 "SoftMax"
    const auto* begin = bin->bytes().data();
    const auto* end = begin + bin->bytes().size();
    for (Node* n : m->nodes()) {
        if (n->type != "Constant") continue;
        if (is_floating(n->value.element_type())) { // f16 stays f16; ReduceMean's axes are i64
            EXPECT_EQ(n->value.element_type(), ElementType::F16) << n->name;
        }
        EXPECT_EQ(n->value.owner().get(), static_cast<const void*>(bin.get())) << n->name;
        EXPECT_GE(n->value.bytes().data(), begin) << n->name;
        EXPECT_LE(n->value.bytes().data() + n->value.byte_size(), end) << n->name;
    }
    Node* first = find_node(*m, "99/Output_0/Data__const"); // offset 6, 64x3x3x3 f16
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->value.bytes().data(), begin + 6);
    EXPECT_EQ(first->value.shape(), (Shape{64, 3, 3, 3}));
}

TEST(IrReaderShared, SummatorKeepsItsStateAndSink) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto m = read_shared("summator", *registry);
    EXPECT_EQ(count_type(*m, "ReadValue"), 1u);
    EXPECT_EQ(count_type(*m, "Assign"), 1u);
    ASSERT_EQ(m->sinks().size(), 1u);
    EXPECT_EQ(m->sinks()[0]->name, "save");
    EXPECT_EQ(m->sinks()[0]->attrs.get<std::string>("variable_id"), "state");
    EXPECT_EQ(find_node(*m, "read")->version, "opset6");
    EXPECT_EQ(find_node(*m, "init_value")->version, "opset1"); // Const normalised
    ASSERT_EQ(m->parameters().size(), 1u);
    EXPECT_EQ(m->parameters()[0]->name, "input");
    EXPECT_EQ(result_shape(*m, 0), PartialShape({1, 1}));
}

TEST(IrReaderShared, PassthroughKeepsNetRtInfoAndNames) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto m = read_shared("passthrough", *registry);
    const auto& p = m->parameters().at(0)->outputs[0];
    EXPECT_EQ(p.type, ElementType::U8);
    EXPECT_EQ(p.shape, PartialShape::dynamic(2));
    EXPECT_EQ(p.names, (std::vector<std::string>{"input", "input:0"}));
    const auto& rt = m->rt_info;
    ASSERT_EQ(rt.children.size(), 4u);
    EXPECT_EQ(rt.children[0].tag, "MO_version");
    EXPECT_EQ(rt.children[0].attributes.at(0).second, "2022.3.0-9038-b84161848ea-releases/2022/3");
    EXPECT_EQ(rt.children[2].tag, "conversion_parameters");
    ASSERT_EQ(rt.children[2].children.size(), 4u);
    EXPECT_EQ(rt.children[2].children[1].attributes.at(0).second, "input[-1,-1]{u8}");
}

TEST(IrReaderShared, PassthroughStringIsRefusedNamingString) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    try {
        read_shared("passthrough_string", *registry);
        FAIL() << "a string input must be refused";
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED);
        EXPECT_NE(e.message().find("'string'"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("Parameter_1"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("passthrough.xml"), std::string::npos) << e.message();
    }
}

TEST(IrReaderShared, NoNameOutputHasTwoResultsInDocumentOrder) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto m = read_shared("no_name_output", *registry);
    ASSERT_EQ(m->parameters().size(), 2u);
    EXPECT_EQ(m->parameters()[0]->name, "input_1"); // document order, as OpenVINO
    EXPECT_EQ(m->parameters()[1]->name, "input_2");
    ASSERT_EQ(m->results().size(), 2u);
    EXPECT_EQ(m->results()[0]->name, "Result_5");
    EXPECT_EQ(m->results()[0]->inputs[0].node->name, "MULTIPLY");
    EXPECT_EQ(m->results()[1]->inputs[0].node->name, "ADD");
    EXPECT_TRUE(m->results()[1]->inputs[0].node->outputs[0].names.empty());
    EXPECT_EQ(result_shape(*m, 1), PartialShape({1, 10}));
    EXPECT_EQ(m->results()[1]->inputs[0].node->outputs[0].type, ElementType::I8);
    // ADD's port 0 comes from layer id 0 (input_2).
    EXPECT_EQ(m->results()[1]->inputs[0].node->inputs[0].node->name, "input_2");
}

TEST(IrReaderShared, ScalarIsRankZero) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto m = read_shared("scalar", *registry);
    EXPECT_EQ(m->parameters().at(0)->outputs[0].shape, PartialShape(std::vector<Dimension>{}));
    Node* c = find_node(*m, "const");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->value.shape(), Shape{});
    EXPECT_EQ(c->outputs[0].names, (std::vector<std::string>{"const", "const:0"}));
}

TEST(IrReaderShared, AddTwoInputsAndIncrement) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    auto add = read_shared("add_two_inputs_model", *registry);
    ASSERT_EQ(add->parameters().size(), 2u);
    EXPECT_EQ(add->parameters()[1]->name, "input2");
    EXPECT_EQ(result_shape(*add, 0), PartialShape({1, 10}));
    EXPECT_EQ(add->results()[0]->inputs[0].node->type, "Add");
    auto inc = read_shared("increment_1x3x4x5", *registry);
    EXPECT_EQ(inc->parameters().at(0)->outputs[0].shape, PartialShape({1, 3, 4, 5}));
    EXPECT_EQ(result_shape(*inc, 0), PartialShape({1, 3, 4, 5}));
    Node* one = find_node(*inc, "const/Output_0/Data_/copy_const");
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->value.to_f64(), std::vector<double>{1.0}); // "f32[1,3,4,5] + 1"
}

TEST(IrReaderShared, EveryIrReadsExceptTheStringOne) {
    IR_REQUIRE_SHARED();
    auto registry = irt::registry();
    std::size_t read = 0;
    for (const auto& folder : irt::ir_folders()) {
        if (folder == "passthrough_string") continue;
        SCOPED_TRACE(folder);
        std::shared_ptr<Model> m;
        ASSERT_NO_THROW(m = read_shared(folder, *registry));
        EXPECT_FALSE(m->parameters().empty());
        EXPECT_FALSE(m->results().empty());
        ++read;
    }
    EXPECT_GE(read, 9u);
}

// --- hand-written documents (core ops only) -------------------------------------------------

namespace {

std::string param(int id, const char* name, const char* shape, const char* dims,
                  const char* type = "f32") {
    return fmt::format(R"(<layer id="{}" name="{}" type="Parameter" version="opset1">
  <data shape="{}" element_type="{}"/><output><port id="0" precision="{}">{}</port></output>
</layer>)",
                       id, name, shape, type, type, dims);
}

std::string result(int id, const char* name, const char* dims) {
    return fmt::format(R"(<layer id="{}" name="{}" type="Result" version="opset1">
  <input><port id="0">{}</port></input></layer>)",
                       id, name, dims);
}

std::string convert(int id, const char* name, const char* in_dims, const char* out_dims,
                    const char* dest = "f16") {
    return fmt::format(R"(<layer id="{}" name="{}" type="Convert" version="opset1">
  <data destination_type="{}"/><input><port id="0">{}</port></input>
  <output><port id="1" precision="{}">{}</port></output></layer>)",
                       id, name, dest, in_dims, dest, out_dims);
}

std::string edge(int from, int from_port, int to, int to_port) {
    return fmt::format(R"(<edge from-layer="{}" from-port="{}" to-layer="{}" to-port="{}"/>)", from,
                       from_port, to, to_port);
}

std::string net(const std::string& layers, const std::string& edges, int version = 11) {
    return fmt::format(R"(<?xml version="1.0"?><net name="t" version="{}"><layers>{}</layers>
<edges>{}</edges></net>)",
                       version, layers, edges);
}

constexpr const char* k_d2 = "<dim>1</dim><dim>10</dim>";

// A Parameter → Convert → Result document with edges as given.
std::string chain(const std::string& edges, const char* convert_out = k_d2) {
    return net(param(0, "x", "1,10", k_d2) + convert(1, "cvt", k_d2, convert_out) +
                   result(2, "y", k_d2),
               edges);
}

const std::string k_chain_edges = edge(0, 0, 1, 0) + edge(1, 1, 2, 0);

std::shared_ptr<Model> read(const std::string& xml, std::span<const std::byte> weights = {},
                            std::shared_ptr<const void> owner = nullptr) {
    auto registry = irt::registry();
    return loom::reader::ir::read_ir(xml, weights, std::move(owner), *registry, "test.xml");
}

// Reads `xml`, expecting a loom::Error of `kind` whose message contains every one of `parts`.
void expect_error(const std::string& xml, ErrorKind kind, std::initializer_list<const char*> parts,
                  std::span<const std::byte> weights = {}) {
    try {
        read(xml, weights);
        ADD_FAILURE() << "no error for:\n" << xml;
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.message();
        EXPECT_TRUE(e.message().starts_with("test.xml: ")) << e.message();
        for (const char* part : parts)
            EXPECT_NE(e.message().find(part), std::string::npos)
                << "'" << part << "' not in: " << e.message();
    }
}

std::string constant(int id, const char* name, const char* type, const char* shape, int offset,
                     int size, const char* dims) {
    return fmt::format(R"(<layer id="{}" name="{}" type="Const" version="opset1">
  <data element_type="{}" shape="{}" offset="{}" size="{}"/>
  <output><port id="0" precision="{}">{}</port></output></layer>)",
                       id, name, type, shape, offset, size, type, dims);
}

} // namespace

TEST(IrReader, ReadsAChainAndInfersTypes) {
    auto m = read(chain(k_chain_edges));
    ASSERT_EQ(m->size(), 3u);
    EXPECT_EQ(m->results().at(0)->inputs[0].node->name, "cvt");
    EXPECT_EQ(m->results()[0]->inputs[0].node->outputs[0].type, ElementType::F16);
    EXPECT_EQ(m->results()[0]->inputs[0].node->attrs.get<ElementType>("destination_type"),
              ElementType::F16);
}

TEST(IrReader, DeclaredDimsRefineInferredShapes) {
    // The parameter is [?,10]; Convert's port declares [4,10]: the declared one is kept.
    auto xml =
        net(param(0, "x", "?,10", "<dim>-1</dim><dim>10</dim>") +
                convert(1, "cvt", "<dim>-1</dim><dim>10</dim>", "<dim>4</dim><dim>10</dim>") +
                result(2, "y", "<dim>4</dim><dim>10</dim>"),
            k_chain_edges);
    auto m = read(xml);
    EXPECT_EQ(m->results()[0]->inputs[0].node->outputs[0].shape, PartialShape({4, 10}));
    EXPECT_EQ(m->parameters()[0]->outputs[0].shape, PartialShape({Dimension::dynamic(), 10}));
}

TEST(IrReader, RangeDimsParse) {
    auto xml = net(param(0, "x", "1..10,3", "<dim>1..10</dim><dim>3</dim>") +
                       result(1, "y", "<dim>1..10</dim><dim>3</dim>"),
                   edge(0, 0, 1, 0));
    auto m = read(xml);
    EXPECT_EQ(m->parameters()[0]->outputs[0].shape, PartialShape({Dimension(1, 10), 3}));
}

TEST(IrReader, MalformedXmlIsAnInvalidArgument) {
    expect_error("<net version=\"11\"><layers><layer id=\"0\"></layers>",
                 ErrorKind::INVALID_ARGUMENT, {"XML syntax error", "line 1"});
}

TEST(IrReader, VersionBelowTenIsUnsupported) {
    expect_error(chain(k_chain_edges)
                     .replace(chain(k_chain_edges).find("version=\"11\""), 12, "version=\"7\""),
                 ErrorKind::UNSUPPORTED, {"IR v7 is not supported", "v10 and v11"});
    expect_error(R"(<net name="x"><layers/></net>)", ErrorKind::UNSUPPORTED, {"no version"});
    expect_error(net("", "", 12), ErrorKind::UNSUPPORTED, {"IR v12"});
}

TEST(IrReader, EdgeToAMissingLayerIsNamed) {
    expect_error(chain(edge(0, 0, 1, 0) + edge(7, 0, 2, 0)), ErrorKind::INVALID_ARGUMENT,
                 {"from-layer=7", "no layer with id 7"});
    expect_error(chain(edge(0, 0, 1, 0) + edge(1, 5, 2, 0)), ErrorKind::INVALID_ARGUMENT,
                 {"from-port=5", "'cvt'", "no output port 5"});
}

TEST(IrReader, UnconnectedInputPortIsNamed) {
    expect_error(chain(edge(0, 0, 1, 0)), ErrorKind::INVALID_ARGUMENT,
                 {"layer 'y' (id 2", "input port 0 is not connected"});
}

TEST(IrReader, DoublyConnectedInputPortIsNamed) {
    expect_error(chain(k_chain_edges + edge(0, 0, 1, 0)), ErrorKind::INVALID_ARGUMENT,
                 {"'cvt'", "connected twice"});
}

TEST(IrReader, CycleIsRefused) {
    auto xml = net(param(0, "x", "1,10", k_d2) + convert(1, "a", k_d2, k_d2) +
                       convert(2, "b", k_d2, k_d2) + result(3, "y", k_d2),
                   edge(2, 1, 1, 0) + edge(1, 1, 2, 0) + edge(2, 1, 3, 0));
    expect_error(xml, ErrorKind::INVALID_ARGUMENT, {"cycle"});
}

TEST(IrReader, AbsurdDimsAreRefused) {
    expect_error(
        net(param(0, "x", "1,10", "<dim>1</dim><dim>1000000000000000</dim>") + result(1, "y", k_d2),
            edge(0, 0, 1, 0)),
        ErrorKind::INVALID_ARGUMENT, {"'x'", "1000000000000000", "2^40"});
    expect_error(net(param(0, "x", "1,10", "<dim>1</dim><dim>1e15</dim>") + result(1, "y", k_d2),
                     edge(0, 0, 1, 0)),
                 ErrorKind::INVALID_ARGUMENT, {"'x'", "'1e15'"});
    expect_error(net(param(0, "x", "1,10", "<dim>-2</dim><dim>10</dim>") + result(1, "y", k_d2),
                     edge(0, 0, 1, 0)),
                 ErrorKind::INVALID_ARGUMENT, {"'-2'"});
    expect_error(
        net(param(0, "x", "1,1000000000000000", k_d2) + result(1, "y", k_d2), edge(0, 0, 1, 0)),
        ErrorKind::INVALID_ARGUMENT, {"attribute shape", "2^40"});
}

TEST(IrReader, WrongAttributeTypeNamesLayerAttributeAndText) {
    auto xml = chain(k_chain_edges);
    xml.replace(xml.find("destination_type=\"f16\""), 22, "destination_type=\"a,b\"");
    expect_error(xml, ErrorKind::INVALID_ARGUMENT, {"'cvt'", "destination_type='a,b'"});

    auto registry = make_native_registry();
    registry->add({"IrTestStrided", "opset1", {{"strides", AttrKind::Ints}}, 1, 1, nullptr, {}});
    auto bad = net(param(0, "x", "1,10", k_d2) +
                       R"(<layer id="1" name="pool" type="IrTestStrided" version="opset1">
  <data strides="a,b"/><input><port id="0">)" +
                       std::string(k_d2) + R"(</port></input>
  <output><port id="1" precision="f32">)" +
                       k_d2 + "</port></output></layer>" + result(2, "y", k_d2),
                   k_chain_edges);
    try {
        loom::reader::ir::read_ir(bad, {}, nullptr, *registry, "test.xml");
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("'pool'"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("strides='a,b'"), std::string::npos) << e.message();
    }
    // Attributes a spec does not list are kept as strings.
    auto good = bad;
    good.replace(good.find("strides=\"a,b\""), 13, "strides=\"2,2\" extra=\"7\"");
    auto m = loom::reader::ir::read_ir(good, {}, nullptr, *registry, "test.xml");
    Node* pool = find_node(*m, "pool");
    EXPECT_EQ(pool->attrs.get<std::vector<std::int64_t>>("strides"),
              (std::vector<std::int64_t>{2, 2}));
    EXPECT_EQ(pool->attrs.get<std::string>("extra"), "7");
    // No infer function: the declared port type and shape are used.
    EXPECT_EQ(pool->outputs[0].type, ElementType::F32);
    EXPECT_EQ(pool->outputs[0].shape, PartialShape({1, 10}));
}

TEST(IrReader, UnknownOperationIsNotFound) {
    auto xml = chain(k_chain_edges);
    xml.replace(xml.find("type=\"Convert\""), 14, "type=\"NoSuchOp\"");
    expect_error(xml, ErrorKind::NOT_FOUND,
                 {"unknown operation NoSuchOp (version opset1) in layer 'cvt' (id 1)"});
}

TEST(IrReader, DeclaredShapeContradictingInferenceIsNamed) {
    expect_error(chain(k_chain_edges, "<dim>1</dim><dim>11</dim>"), ErrorKind::INVALID_ARGUMENT,
                 {"'cvt'", "[1,11]", "[1,10]"});
}

namespace {
const float k_weights[2] = {1.5f, -2.0f};
std::span<const std::byte> weights_bytes() {
    return std::as_bytes(std::span(k_weights));
}
std::string const_net(const char* type, const char* shape, int offset, int size, const char* dims) {
    return net(constant(0, "w", type, shape, offset, size, dims) + result(1, "y", dims),
               edge(0, 0, 1, 0));
}
} // namespace

TEST(IrReader, ConstantViewsOrCopiesTheWeights) {
    auto xml = const_net("f32", "2", 0, 8, "<dim>2</dim>");
    auto owner = std::make_shared<int>(0);
    auto viewed = read(xml, weights_bytes(), owner);
    const auto& v = find_node(*viewed, "w")->value;
    EXPECT_EQ(v.bytes().data(), weights_bytes().data());
    EXPECT_EQ(v.owner(), std::static_pointer_cast<const void>(owner));
    EXPECT_EQ(v.to_f64(), (std::vector<double>{1.5, -2.0}));
    auto copied = read(xml, weights_bytes(), nullptr);
    const auto& c = find_node(*copied, "w")->value;
    EXPECT_NE(c.bytes().data(), weights_bytes().data());
    EXPECT_EQ(c.to_f64(), (std::vector<double>{1.5, -2.0}));
}

TEST(IrReader, ConstantPastTheEndOfTheWeightsIsNamed) {
    expect_error(const_net("f32", "1", 8, 4, "<dim>1</dim>"), ErrorKind::INVALID_ARGUMENT,
                 {"'w'", "offset 8", "size 4", "8 bytes"}, weights_bytes());
}

TEST(IrReader, AnOffsetBeyondSixtyFourBitsIsOutOfRangeNotMalformed) {
    auto xml = const_net("f32", "1", 0, 4, "<dim>1</dim>");
    auto at = xml.find("offset=\"0\"");
    ASSERT_NE(at, std::string::npos);
    xml.replace(at, 10, "offset=\"18446744073709551600\"");
    expect_error(xml, ErrorKind::INVALID_ARGUMENT, {"offset", "out of range"}, weights_bytes());
}

TEST(IrReader, ConstantSizeMismatchIsNamed) {
    expect_error(const_net("f32", "2", 0, 4, "<dim>2</dim>"), ErrorKind::INVALID_ARGUMENT,
                 {"'w'", "size 4", "8 bytes"}, weights_bytes());
}

TEST(IrReader, StringConstantIsUnsupported) {
    expect_error(const_net("string", "1", 0, 4, "<dim>1</dim>"), ErrorKind::UNSUPPORTED,
                 {"'w'", "'string'"}, weights_bytes());
}

TEST(IrReader, OutputNamesWithEscapedCommas) {
    auto xml = net(param(0, "x", "1,10", k_d2) + result(1, "y", k_d2), edge(0, 0, 1, 0));
    xml.replace(xml.find("precision=\"f32\""), 15, R"(precision="f32" names="a\,b, c")");
    auto m = read(xml);
    EXPECT_EQ(m->parameters()[0]->outputs[0].names, (std::vector<std::string>{"a,b", "c"}));
}

namespace {
// A TensorIterator as OpenVINO writes it: X[3,2] sliced along axis 0, a state carried by a
// back edge, body layer ids that are not the Parameter/Result indices.
std::string tensor_iterator(const char* x_internal = "0") {
    constexpr const char* d12 = "<dim>1</dim><dim>2</dim>";
    constexpr const char* d32 = "<dim>3</dim><dim>2</dim>";
    auto body_param = [&](int id, const char* name) {
        return fmt::format(R"(<layer id="{}" name="{}" type="Parameter" version="opset1">
  <data shape="1,2" element_type="f32"/><output><port id="0" precision="FP32">{}</port></output>
</layer>)",
                           id, name, d12);
    };
    auto body = body_param(0, "x_i") + body_param(1, "h") + convert(3, "next", d12, d12, "f32") +
                result(4, "out_x", d12) + result(5, "out_h", d12);
    auto body_edges = edge(0, 0, 4, 0) + edge(1, 0, 3, 0) + edge(3, 1, 5, 0);
    auto ti = fmt::format(R"(<layer id="2" name="ti" type="TensorIterator" version="opset1">
  <input><port id="0" precision="FP32">{0}</port><port id="1" precision="FP32">{1}</port></input>
  <output><port id="2" precision="FP32">{0}</port><port id="3" precision="FP32">{1}</port></output>
  <port_map>
    <input axis="0" external_port_id="0" internal_layer_id="{4}" part_size="1" stride="1"/>
    <input external_port_id="1" internal_layer_id="1"/>
    <output axis="0" external_port_id="2" internal_layer_id="4" part_size="1" stride="1"/>
    <output external_port_id="3" internal_layer_id="5"/>
  </port_map>
  <back_edges><edge from-layer="5" from-port="0" to-layer="1" to-port="0"/></back_edges>
  <body><layers>{2}</layers><edges>{3}</edges></body>
</layer>)",
                          d32, d12, body, body_edges, x_internal);
    return net(param(0, "X", "3,2", d32) + param(1, "H0", "1,2", d12) + ti +
                   result(3, "concat", d32) + result(4, "last", d12),
               edge(0, 0, 2, 0) + edge(1, 0, 2, 1) + edge(2, 2, 3, 0) + edge(2, 3, 4, 0));
}
} // namespace

TEST(IrReader, TensorIteratorBodyAndPortMap) {
    auto m = read(tensor_iterator());
    Node* ti = find_node(*m, "ti");
    ASSERT_NE(ti, nullptr);
    ASSERT_EQ(ti->bodies.size(), 1u);
    const auto& b = ti->bodies[0];
    EXPECT_EQ(b.name, "body");
    ASSERT_EQ(b.model->parameters().size(), 2u);
    ASSERT_EQ(b.model->results().size(), 2u);
    EXPECT_EQ(b.model->results()[1]->name, "out_h");
    ASSERT_EQ(b.inputs.size(), 2u);
    EXPECT_EQ(b.inputs[0], (PortMap{0, 0, 0, 0, -1, 1, 1, ""}));
    EXPECT_EQ(b.inputs[1], (PortMap{1, 1, {}, {}, {}, {}, {}, ""}));
    ASSERT_EQ(b.outputs.size(), 2u);
    EXPECT_EQ(b.outputs[0], (PortMap{0, 0, 0, 0, -1, 1, 1, ""}));
    EXPECT_EQ(b.outputs[1], (PortMap{1, 1, {}, {}, {}, {}, {}, ""}));
    ASSERT_EQ(b.back_edges.size(), 1u);
    EXPECT_EQ(b.back_edges[0], (BackEdge{1, 1}));
    EXPECT_EQ(ti->outputs[0].shape, PartialShape({3, 2}));
    EXPECT_EQ(ti->outputs[1].shape, PartialShape({1, 2}));
}

TEST(IrReader, PortMapToANonParameterIsNamed) {
    expect_error(tensor_iterator("3"), ErrorKind::INVALID_ARGUMENT,
                 {"'ti'", "port_map input", "layer 3", "not a Parameter"});
}

TEST(IrReader, DeeplyNestedRtInfoIsRefused) {
    std::string open, close;
    for (int i = 0; i < 70; ++i) {
        open += "<n>";
        close += "</n>";
    }
    auto xml = chain(k_chain_edges);
    xml.replace(xml.find("</net>"), 6, "<rt_info>" + open + close + "</rt_info></net>");
    expect_error(xml, ErrorKind::INVALID_ARGUMENT, {"rt_info", "64 levels"});
}

TEST(IrReader, Opset1MvnIsReadAsOpset2LikeOpenVino) {
    constexpr const char* d = "<dim>1</dim><dim>3</dim><dim>2</dim><dim>2</dim>";
    auto mvn = fmt::format(R"(<layer id="1" name="mvn" type="MVN" version="opset1">
  <data across_channels="false" normalize_variance="true" eps="1e-9"/>
  <input><port id="0">{0}</port></input><output><port id="1" precision="FP32">{0}</port></output>
</layer>)",
                           d);
    auto m = read(net(param(0, "x", "1,3,2,2", d) + mvn + result(2, "y", d), k_chain_edges, 10));
    Node* n = find_node(*m, "mvn");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->version, "opset2");
    EXPECT_EQ(n->attrs.get<bool>("normalize_variance"), true);
    EXPECT_EQ(n->attrs.get<double>("eps"), 1e-9);
    EXPECT_EQ(n->outputs[0].shape, PartialShape({1, 3, 2, 2}));
}

TEST(IrReader, OutputPortsTheOperationDoesNotHaveAreRefused) {
    // A Result with an output port that feeds another Result.
    auto bad_result = std::string(R"(<layer id="1" name="r1" type="Result" version="opset1">
  <input><port id="0">)") +
                      k_d2 + R"(</port></input>
  <output><port id="1" precision="f32">)" +
                      k_d2 + "</port></output></layer>";
    expect_error(
        net(param(0, "x", "1,10", k_d2) + bad_result + result(2, "y", k_d2), k_chain_edges),
        ErrorKind::INVALID_ARGUMENT, {"'r1'", "1 output ports", "0 outputs"});
}
