#include <gtest/gtest.h>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using loom::ElementType;

namespace {
Tensor scalar_f32(float v) {
    return Tensor::copy_of(ElementType::F32, {}, std::as_bytes(std::span(&v, 1)));
}
} // namespace

TEST(Graph, TopologicalOrderPutsProducersFirst) {
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape({2}), "x");
    auto& c = m.add_constant(scalar_f32(1));
    auto& cvt = m.add("Convert", "opset1", {c.output()}, {}, 1, "cvt");
    cvt.inputs = {p.output()};
    m.add_result(cvt.output(), "y");
    auto order = m.topological_order();
    ASSERT_EQ(order.size(), 4u);
    auto pos = [&](Node* n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
    EXPECT_LT(pos(&p), pos(&cvt));
    EXPECT_LT(pos(&cvt), pos(m.results()[0]));
}

TEST(Graph, CycleIsAnErrorNamingANode) {
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape({2}), "x");
    auto& a = m.add("Convert", "opset1", {p.output()}, {}, 1, "a");
    auto& b = m.add("Convert", "opset1", {a.output()}, {}, 1, "b");
    a.inputs[0] = b.output();
    m.add_result(b.output());
    try {
        m.topological_order();
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("cycle"), std::string::npos);
    }
}

TEST(Graph, RemoveUnusedAndReplaceUses) {
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape({2}), "x");
    auto& dead = m.add("Convert", "opset1", {p.output()}, {}, 1, "dead");
    auto& live = m.add("Convert", "opset1", {p.output()}, {}, 1, "live");
    m.add_result(live.output());
    (void)dead;
    EXPECT_EQ(m.remove_unused(), 1u);
    EXPECT_EQ(m.size(), 3u);
    m.replace_uses(live.output(), p.output());
    EXPECT_EQ(m.results()[0]->inputs[0], p.output());
    EXPECT_EQ(m.remove_unused(), 1u);
}

TEST(Graph, CloneIsDeepAndEqual) {
    Model m;
    m.name = "g";
    auto& p = m.add_parameter(ElementType::F32, PartialShape({2}), "x");
    auto& c = m.add_constant(scalar_f32(2), "two");
    Attributes attrs;
    attrs.set("destination_type", ElementType::F16);
    auto& cvt = m.add("Convert", "opset1", {p.output()}, attrs, 1, "cvt");
    (void)c;
    m.add_result(cvt.output(), "y");
    auto copy = m.clone();
    EXPECT_EQ(compare_models(m, *copy), std::nullopt);
    copy->nodes()[2]->attrs.set("destination_type", ElementType::F32);
    auto diff = compare_models(m, *copy);
    ASSERT_TRUE(diff);
    EXPECT_NE(diff->find("destination_type"), std::string::npos);
}

TEST(Registry, VersionLookupFindsNewestNotNewer) {
    auto r = make_native_registry();
    auto* s = r->find("ShapeOf", "opset8");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->version, "opset3");
    EXPECT_EQ(r->find("ShapeOf", "opset1")->version, "opset1");
    EXPECT_EQ(r->find("ShapeOf", "custom"), nullptr);
    EXPECT_EQ(r->find("NoSuchOp", "opset1"), nullptr);
}

TEST(Registry, InferAndValidateTypesTheGraph) {
    auto r = make_native_registry();
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape({2, Dimension()}), "x");
    Attributes attrs;
    attrs.set("destination_type", ElementType::I32);
    auto& cvt = m.add("Convert", "opset1", {p.output()}, attrs, 1, "cvt");
    auto& shape = m.add("ShapeOf", "opset3", {cvt.output()}, {}, 1, "shape");
    m.add_result(shape.output());
    infer_and_validate(m, *r);
    EXPECT_EQ(cvt.outputs[0].type, ElementType::I32);
    EXPECT_EQ(cvt.outputs[0].shape.to_string(), "[2,?]");
    EXPECT_EQ(shape.outputs[0].type, ElementType::I64);
    EXPECT_EQ(shape.outputs[0].shape.to_string(), "[2]");
}

TEST(Registry, ValidationErrorsNameTheNode) {
    auto r = make_native_registry();
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape({2}), "x");
    Attributes wrong;
    wrong.set("destination_type", std::int64_t{3});
    m.add_result(m.add("Convert", "opset1", {p.output()}, wrong, 1, "bad_convert").output());
    try {
        infer_and_validate(m, *r);
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("bad_convert"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("destination_type"), std::string::npos) << e.message();
    }
    Model u;
    auto& q = u.add_parameter(ElementType::F32, PartialShape({2}), "x");
    u.add_result(u.add("Frobnicate", "opset1", {q.output()}, {}, 1, "f").output());
    try {
        infer_and_validate(u, *r);
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::NOT_FOUND);
        EXPECT_NE(e.message().find("Frobnicate"), std::string::npos);
    }
}

namespace loom::model {
namespace {

TEST(ModelRemove, RemovesUnreadNodesAndRefusesReadOrInterfaceOnes) {
    Model m;
    auto& x = m.add_parameter(ElementType::F32, PartialShape(Shape{2}), "x");
    auto& dead = m.add("Relu", "opset1", {x.output()}, {}, 1, "dead");
    auto& live = m.add("Relu", "opset1", {x.output()}, {}, 1, "live");
    auto& result = m.add_result(live.output(), "y");
    EXPECT_THROW(m.remove({&live}), Error);   // the result reads it
    EXPECT_THROW(m.remove({&x}), Error);      // a parameter
    EXPECT_THROW(m.remove({&result}), Error); // a result
    EXPECT_EQ(m.remove({&dead}), 1u);
    EXPECT_EQ(m.size(), 3u);
    EXPECT_FALSE(m.contains(&dead));
}

} // namespace
} // namespace loom::model
