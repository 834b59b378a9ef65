#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include "components/model/serialize.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using loom::ElementType;

namespace {
std::shared_ptr<Model> sample() {
    auto m = std::make_shared<Model>();
    m->name = "sample";
    m->rt_info.tag = "rt_info";
    m->rt_info.children.push_back({"framework", {{"name", "onnx"}}, {}});
    auto& p = m->add_parameter(ElementType::F32, PartialShape({Dimension(1, 8), 3}), "x");
    float w[] = {1, 2, 3};
    auto& c =
        m->add_constant(Tensor::copy_of(ElementType::F32, {3}, std::as_bytes(std::span(w))), "w");
    Attributes attrs;
    attrs.set("ints", std::vector<std::int64_t>{1, -2});
    attrs.set("f", 0.25);
    attrs.set("s", std::string("numpy"));
    attrs.set("strs", std::vector<std::string>{"a", "b"});
    attrs.set("fl", std::vector<double>{0.5});
    attrs.set("b", true);
    attrs.set("t", ElementType::F16);
    attrs.set("sh", PartialShape::dynamic());
    auto& add = m->add("Add", "opset1", {p.output(), c.output()}, attrs, 1, "add");
    add.outputs[0].names = {"sum", "alias"};
    add.outputs[0].type = ElementType::F32;
    add.outputs[0].shape = PartialShape({Dimension(1, 8), 3});
    add.rt_info.children.push_back({"attribute", {{"name", "fused_names"}, {"value", "a,b"}}, {}});
    auto body = std::make_shared<Model>();
    auto& bp = body->add_parameter(ElementType::F32, PartialShape({3}), "bp");
    body->add_result(bp.output());
    PortMap pm;
    pm.external_port = 0;
    pm.body_index = 0;
    pm.axis = 1;
    add.bodies.push_back({"body", body, {pm}, {}, {{0, 0}}});
    m->add_result(add.output(), "y");
    return m;
}

std::shared_ptr<Model> round_trip(const Model& m) {
    capnp::MallocMessageBuilder message;
    std::vector<Tensor> frames;
    write_graph(m, message.initRoot<loom::schema::Graph>(), frames);
    std::vector<FrameView> views;
    for (const auto& t : frames)
        views.push_back({t.bytes(), t.owner()});
    return read_graph(message.getRoot<loom::schema::Graph>().asReader(), views);
}
} // namespace

TEST(Serialize, RoundTripPreservesEverything) {
    auto m = sample();
    auto back = round_trip(*m);
    EXPECT_EQ(compare_models(*m, *back), std::nullopt);
}

TEST(Serialize, ConstantsTravelAsFramesWithoutCopy) {
    auto m = sample();
    capnp::MallocMessageBuilder message;
    std::vector<Tensor> frames;
    write_graph(*m, message.initRoot<loom::schema::Graph>(), frames);
    ASSERT_EQ(frames.size(), 1u);
    std::vector<FrameView> views{{frames[0].bytes(), frames[0].owner()}};
    auto back = read_graph(message.getRoot<loom::schema::Graph>().asReader(), views);
    const Node* c = nullptr;
    for (auto* n : back->nodes())
        if (n->type == "Constant") c = n;
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->value.bytes().data(), frames[0].bytes().data());
}

TEST(Serialize, BadFrameIndexAndByteSizeAreTypedErrors) {
    auto m = sample();
    capnp::MallocMessageBuilder message;
    std::vector<Tensor> frames;
    write_graph(*m, message.initRoot<loom::schema::Graph>(), frames);
    auto reader = message.getRoot<loom::schema::Graph>().asReader();
    try {
        read_graph(reader, {});
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("frame"), std::string::npos);
    }
    std::vector<FrameView> short_frame{{frames[0].bytes().subspan(0, 4), frames[0].owner()}};
    EXPECT_THROW(read_graph(reader, short_frame), loom::Error);
}

TEST(Serialize, ForwardReferenceIsRejected) {
    capnp::MallocMessageBuilder message;
    auto g = message.initRoot<loom::schema::Graph>();
    auto nodes = g.initNodes(1);
    nodes[0].setType("Relu");
    nodes[0].initOutputs(1);
    auto in = nodes[0].initInputs(1);
    in[0].setNode(0);
    EXPECT_THROW(read_graph(g.asReader(), {}), loom::Error);
}

// Found by fuzz_device_request: a result index naming a node that is not a Result (here the
// parameter) made the device read input 0 of a node without inputs.
TEST(Serialize, ResultsAndParametersMustBeNodesOfThatKind) {
    capnp::MallocMessageBuilder message;
    auto g = message.initRoot<loom::schema::Graph>();
    auto nodes = g.initNodes(2);
    nodes[0].setType("Parameter");
    nodes[0].initOutputs(1);
    nodes[1].setType("Relu");
    nodes[1].initOutputs(1);
    nodes[1].initInputs(1)[0].setNode(0);
    g.initParameters(1).set(0, 0);
    g.initResults(1).set(0, 0);
    try {
        read_graph(g.asReader(), {});
        FAIL() << "a Parameter was accepted as a result";
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("not a Result"), std::string::npos) << e.what();
    }
    g.getResults().set(0, 1);
    g.getParameters().set(0, 1);
    try {
        read_graph(g.asReader(), {});
        FAIL() << "a Relu was accepted as a parameter";
    } catch (const loom::Error& e) {
        EXPECT_NE(e.message().find("not a Parameter"), std::string::npos) << e.what();
    }
}

namespace {
// A Graph message whose `nodes` list claims `count` zero-sized structs: eight words on the wire.
kj::Array<capnp::word> graph_of_empty_nodes(std::uint32_t count) {
    auto words = kj::heapArray<capnp::word>(8);
    std::uint64_t w[8] = {};
    w[0] = std::uint64_t{6} << 48; // root: a struct of 0 data words and 6 pointers, right after
    // nodes (pointer 1): an inline-composite list of 0 words whose tag is 4 words further on
    w[2] = 1u | (4u << 2) | (std::uint64_t{7} << 32);
    w[7] = std::uint64_t{count} << 2; // the tag: `count` elements of 0 data words, 0 pointers
    std::memcpy(words.begin(), w, sizeof(w));
    return words;
}
} // namespace

// Found by fuzz_device_request: 1,231 bytes described 49,152 nodes (a list of zero-sized
// structs costs nothing on the wire), which the device then read and planned for seconds. With
// the default traversal limit one small message could have made millions.
TEST(Serialize, ListsOfEmptyStructsAreRefusedBeforeAnElementIsRead) {
    auto words = graph_of_empty_nodes(100000);
    kj::ArrayPtr<const capnp::word> segments[] = {words.asPtr()};
    capnp::SegmentArrayMessageReader reader(segments);
    auto graph = reader.getRoot<loom::schema::Graph>();
    ASSERT_EQ(graph.getNodes().size(), 100000u);
    try {
        read_graph(graph, {});
        FAIL() << "100,000 empty nodes were read";
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("list of 100000 nodes whose elements carry no data"),
                  std::string::npos)
            << e.what();
    }
}

TEST(Serialize, ANodeWithoutATypeIsRefused) {
    capnp::MallocMessageBuilder message;
    auto g = message.initRoot<loom::schema::Graph>();
    auto nodes = g.initNodes(1);
    nodes[0].setName("nameless");
    nodes[0].initOutputs(1);
    try {
        read_graph(g.asReader(), {});
        FAIL() << "a node without a type was read";
    } catch (const loom::Error& e) {
        EXPECT_NE(e.message().find("node 0 (nameless) has no type"), std::string::npos) << e.what();
    }
}
