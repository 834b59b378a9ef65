#include <gtest/gtest.h>

#include "components/model/shape.hpp"
#include "schemas/error.hpp"

using namespace loom::model;

TEST(Dimension, StaticDynamicAndBounded) {
    EXPECT_TRUE(Dimension(3).is_static());
    EXPECT_EQ(Dimension(3).length(), 3);
    EXPECT_TRUE(Dimension(-1).is_dynamic());
    EXPECT_EQ(Dimension(-1).to_string(), "?");
    EXPECT_EQ(Dimension(1, 10).to_string(), "1..10");
    EXPECT_EQ(Dimension(2, -1).to_string(), "2..");
    EXPECT_THROW(Dimension(5, 2), loom::Error);
}

TEST(Dimension, MergeIntersectsIntervals) {
    EXPECT_EQ(Dimension(1, 10).merge(Dimension(5, 20)), Dimension(5, 10));
    EXPECT_FALSE(Dimension(1, 3).merge(Dimension(4)).has_value());
    EXPECT_EQ(Dimension().merge(Dimension(7)), Dimension(7));
}

TEST(Dimension, ArithmeticPast64BitsIsAnErrorNotAWrap) {
    // Found by fuzz_onnx: a Tile by 8458997402970357763 of a dimension 3.
    const std::int64_t big = std::int64_t{1} << 62;
    EXPECT_EQ(Dimension(3) * Dimension(4), Dimension(12));
    EXPECT_EQ(Dimension(3) + Dimension(4), Dimension(7));
    try {
        (void)(Dimension(3) * Dimension(big));
        FAIL() << "3 × 2^62 did not throw";
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(std::string(e.what()).find("overflows"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)(Dimension(big) + Dimension(big)), loom::Error);
    // An upper bound past 64 bits is no bound.
    EXPECT_EQ(Dimension(1, big) * Dimension(1, 4), Dimension(1, -1));
    EXPECT_EQ(Dimension(1, big) + Dimension(1, big) * Dimension(2), Dimension(3, -1));
}

TEST(Dimension, ParseRoundTrips) {
    for (auto text : {"3", "?", "1..10", "2..", "0"}) {
        auto d = Dimension::parse(text);
        ASSERT_TRUE(d) << text;
        EXPECT_EQ(d->to_string(), text);
    }
    EXPECT_EQ(Dimension::parse("-1"), Dimension());
    EXPECT_FALSE(Dimension::parse("abc"));
    EXPECT_FALSE(Dimension::parse("-5"));
    EXPECT_FALSE(Dimension::parse("5..2"));
}

TEST(PartialShape, ParseAndPrint) {
    auto s = PartialShape::parse("1,3,?,224");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->to_string(), "[1,3,?,224]");
    EXPECT_FALSE(s->is_static());
    EXPECT_EQ(PartialShape::parse("[...]")->rank_is_dynamic(), true);
    EXPECT_EQ(PartialShape::parse("")->rank(), 0);
    EXPECT_EQ(PartialShape::parse("[2,3]")->to_shape(), (Shape{2, 3}));
    EXPECT_FALSE(PartialShape::parse("1,x"));
}

TEST(PartialShape, Compatibility) {
    EXPECT_TRUE(PartialShape({1, Dimension()}).compatible(PartialShape({1, 5})));
    EXPECT_FALSE(PartialShape({1, 4}).compatible(PartialShape({1, 5})));
    EXPECT_FALSE(PartialShape({1}).compatible(PartialShape({1, 5})));
    EXPECT_TRUE(PartialShape::dynamic().compatible(PartialShape({1, 5})));
}

TEST(ShapeSize, ChecksOverflowAndNegative) {
    EXPECT_EQ(shape_size({2, 3, 4}), 24);
    EXPECT_EQ(shape_size({}), 1);
    EXPECT_THROW(shape_size({-1}), loom::Error);
    EXPECT_THROW(shape_size({1LL << 40, 1LL << 40}), loom::Error);
}

TEST(ElementTypes, IrNames) {
    EXPECT_EQ(element_type_from_ir("FP16"), loom::ElementType::F16);
    EXPECT_EQ(element_type_from_ir("f16"), loom::ElementType::F16);
    EXPECT_EQ(element_type_from_ir("boolean"), loom::ElementType::BOOLEAN);
    EXPECT_FALSE(element_type_from_ir("nonsense"));
    EXPECT_EQ(ir_name(loom::ElementType::I64), "i64");
    EXPECT_THROW(require_supported(loom::ElementType::STRING, "x"), loom::Error);
    try {
        require_supported(loom::ElementType::STRING, "input 'a'");
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::UNSUPPORTED);
        EXPECT_NE(e.message().find("string"), std::string::npos);
    }
}
