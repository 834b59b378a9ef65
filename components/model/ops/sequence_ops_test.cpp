// Shape inference of the data-dependent ops: bounds follow from the input shapes.
#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/model/ops/ops_test_util.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using namespace loom::model::op_test;
using loom::ElementType;

namespace {

class SequenceOps : public OpsTest {
protected:
    Output param(std::string_view shape, ElementType type = ElementType::F32) {
        return m.add_parameter(type, *PartialShape::parse(shape), "p" + std::to_string(m.size()))
            .output();
    }
};

std::string shape(const Node& n, std::size_t i = 0) {
    return n.outputs.at(i).shape.to_string();
}

} // namespace

TEST(NativeOps, SequenceOpsAreRegistered) {
    auto r = make_native_registry();
    for (auto [type, version] : std::initializer_list<std::pair<const char*, const char*>>{
             {"NonZero", "opset3"},
             {"Unique", "opset10"},
             {"NonMaxSuppression", "opset1"},
             {"NonMaxSuppression", "opset3"},
             {"NonMaxSuppression", "opset4"},
             {"NonMaxSuppression", "opset5"},
             {"NonMaxSuppression", "opset9"},
             {"RandomUniform", "opset8"},
             {"Multinomial", "opset13"},
             {"EmbeddingBagOffsetsSum", "opset3"},
             {"EmbeddingBagPackedSum", "opset3"},
             {"EmbeddingSegmentsSum", "opset3"}}) {
        bool found = false;
        for (const auto* s : r->versions(type))
            found |= s->version == version;
        EXPECT_TRUE(found) << type << " " << version;
    }
    EXPECT_EQ(r->find("NonMaxSuppression", "opset13")->version, "opset9");
}

TEST_F(SequenceOps, NonZeroBoundsByElementCount) {
    auto& a = run("NonZero", "opset3", {param("2,3")});
    EXPECT_EQ(shape(a), "[2,0..6]");
    EXPECT_EQ(a.outputs[0].type, ElementType::I64);
    auto& b = run("NonZero", "opset3", {param("?,3")}, attrs({{"output_type", ElementType::I32}}));
    EXPECT_EQ(shape(b), "[2,?]");
    EXPECT_EQ(b.outputs[0].type, ElementType::I32);
    EXPECT_EQ(shape(run("NonZero", "opset3", {param("2..4,3")})), "[2,0..12]");
    EXPECT_EQ(shape(run("NonZero", "opset3", {param("...")})), "[?,?]");
    try {
        run("NonZero", "opset3", {param("2")}, attrs({{"output_type", ElementType::F32}}));
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("output_type"), std::string::npos) << e.message();
    }
}

TEST_F(SequenceOps, UniqueFlattenedAndAlongAxis) {
    auto& a = run("Unique", "opset10", {param("2,3")});
    ASSERT_EQ(a.outputs.size(), 4u);
    EXPECT_EQ(shape(a, 0), "[1..6]");
    EXPECT_EQ(shape(a, 1), "[1..6]");
    EXPECT_EQ(shape(a, 2), "[6]");
    EXPECT_EQ(shape(a, 3), "[1..6]");
    auto& b = run("Unique", "opset10", {param("2,3"), ints({1})},
                  attrs({{"sorted", false},
                         {"index_element_type", ElementType::I32},
                         {"count_element_type", ElementType::I64}}));
    EXPECT_EQ(shape(b, 0), "[2,1..3]");
    EXPECT_EQ(shape(b, 1), "[1..3]");
    EXPECT_EQ(shape(b, 2), "[3]");
    EXPECT_EQ(b.outputs[1].type, ElementType::I32);
    EXPECT_EQ(b.outputs[3].type, ElementType::I64);
    EXPECT_EQ(shape(run("Unique", "opset10", {param("2,3"), param("1", ElementType::I64)})),
              "[?,?]");
}

TEST_F(SequenceOps, NonMaxSuppressionBounds) {
    // 1 batch × 3 classes × min(10 boxes, 5 per class) = 15.
    auto& a = run("NonMaxSuppression", "opset9", {param("1,10,4"), param("1,3,10"), scalar(5)},
                  attrs({{"box_encoding", std::string("corner")},
                         {"sort_result_descending", true},
                         {"output_type", ElementType::I32}}));
    ASSERT_EQ(a.outputs.size(), 3u);
    EXPECT_EQ(shape(a, 0), "[0..15,3]");
    EXPECT_EQ(shape(a, 1), "[0..15,3]");
    EXPECT_EQ(shape(a, 2), "[1]");
    EXPECT_EQ(a.outputs[0].type, ElementType::I32);
    EXPECT_EQ(a.outputs[1].type, ElementType::F32);
    EXPECT_EQ(a.outputs[2].type, ElementType::I32);
    // A max per class that is not constant leaves the box count as the bound.
    auto& b = run("NonMaxSuppression", "opset5",
                  {param("2,10,4"), param("2,3,10"), param("", ElementType::I64)});
    EXPECT_EQ(shape(b, 0), "[0..60,3]");
    EXPECT_EQ(shape(run("NonMaxSuppression", "opset5", {param("?,?,4"), param("?,3,?")})), "[0,3]");
    try {
        run("NonMaxSuppression", "opset9", {param("1,10"), param("1,3,10")});
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("boxes must be"), std::string::npos) << e.message();
    }
    try {
        run("NonMaxSuppression", "opset9", {param("1,10,4"), param("1,3,10")},
            attrs({{"box_encoding", std::string("corners")}}));
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_NE(e.message().find("box_encoding 'corners'"), std::string::npos) << e.message();
    }
}

TEST_F(SequenceOps, RandomAndEmbeddings) {
    auto& r = run("RandomUniform", "opset8", {ints({2, 3}), param(""), param("")},
                  attrs({{"output_type", ElementType::F32},
                         {"global_seed", std::int64_t(1)},
                         {"op_seed", std::int64_t(2)}}));
    EXPECT_EQ(shape(r), "[2,3]");
    EXPECT_EQ(
        shape(run("RandomUniform", "opset8", {param("3", ElementType::I64), param(""), param("")},
                  attrs({{"output_type", ElementType::F32}}))),
        "[?,?,?]");
    auto& mn = run("Multinomial", "opset13", {param("4,10"), scalar(7)},
                   attrs({{"convert_type", ElementType::I64},
                          {"with_replacement", true},
                          {"log_probs", false}}));
    EXPECT_EQ(shape(mn), "[4,7]");
    EXPECT_EQ(
        shape(run("EmbeddingBagOffsetsSum", "opset3",
                  {param("100,8"), param("20", ElementType::I64), param("5", ElementType::I64)})),
        "[5,8]");
    EXPECT_EQ(shape(run("EmbeddingBagPackedSum", "opset3",
                        {param("100,8"), param("6,3", ElementType::I64)})),
              "[6,8]");
    EXPECT_EQ(shape(run("EmbeddingSegmentsSum", "opset3",
                        {param("100,8"), param("20", ElementType::I64),
                         param("20", ElementType::I64), scalar(4)})),
              "[4,8]");
}
