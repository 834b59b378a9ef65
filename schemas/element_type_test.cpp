#include "schemas/element_type.hpp"
#include "schemas/schema_enums.hpp"

#include <gtest/gtest.h>

#include <capnp/schema.h>

namespace loom {
namespace {

TEST(ElementType, FullListOfDesignSection5InOrder) {
    const char* expected[] = {"undefined", "f32", "f16", "bf16", "f64", "i8",      "u8",    "i16",
                              "u16",       "i32", "u32", "i64",  "u64", "boolean", "string"};
    auto enumerants = capnp::Schema::from<schema::ElementType>().getEnumerants();
    ASSERT_EQ(enumerants.size(), std::size(expected));
    for (unsigned i = 0; i < enumerants.size(); ++i) {
        auto type = static_cast<ElementType>(i);
        EXPECT_EQ(to_string(type), expected[i]);
        EXPECT_EQ(element_type_from_string(expected[i]), type);
    }
    EXPECT_EQ(element_type_from_string("float"), std::nullopt);
}

TEST(ElementType, Sizes) {
    EXPECT_EQ(element_size(ElementType::F32), 4u);
    EXPECT_EQ(element_size(ElementType::BF16), 2u);
    EXPECT_EQ(element_size(ElementType::F64), 8u);
    EXPECT_EQ(element_size(ElementType::BOOLEAN), 1u);
    EXPECT_EQ(element_size(ElementType::STRING), 0u);
    EXPECT_EQ(element_size(static_cast<ElementType>(999)), 0u);
}

TEST(ElementType, DenseByteSizeChecksShapeAndOverflow) {
    std::int64_t shape[] = {2, 3, 4};
    EXPECT_EQ(dense_byte_size(ElementType::F32, shape), 96u);
    std::int64_t scalar[] = {0};
    EXPECT_EQ(dense_byte_size(ElementType::F32, std::span(scalar, 0)), 4u);
    EXPECT_EQ(dense_byte_size(ElementType::F32, scalar), 0u);
    std::int64_t negative[] = {2, -1};
    EXPECT_EQ(dense_byte_size(ElementType::F32, negative), std::nullopt);
    std::int64_t huge[] = {INT64_MAX, INT64_MAX};
    EXPECT_EQ(dense_byte_size(ElementType::F32, huge), std::nullopt);
    EXPECT_EQ(dense_byte_size(ElementType::F32, shape, 95), std::nullopt);
    EXPECT_EQ(dense_byte_size(ElementType::STRING, shape), std::nullopt);
}

} // namespace
} // namespace loom
