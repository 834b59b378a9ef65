#include <cmath>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>

#include "components/model/tensor.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using loom::ElementType;

TEST(Tensor, AllocateIsAlignedAndZeroed) {
    auto t = Tensor::allocate(ElementType::F32, {2, 3});
    EXPECT_EQ(t.byte_size(), 24u);
    EXPECT_GE(t.alignment(), 64u);
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, ViewChecksByteCountAndReportsAlignment) {
    auto buffer = std::make_shared<std::vector<std::byte>>(64 + 13);
    std::span<const std::byte> bytes(buffer->data() + 1, 12);
    auto t = Tensor::view(ElementType::I32, {3}, bytes, buffer);
    EXPECT_EQ(t.size(), 3);
    EXPECT_LT(t.alignment(), 64u);
    EXPECT_THROW(Tensor::view(ElementType::I32, {4}, bytes, buffer), loom::Error);
    EXPECT_THROW(Tensor::allocate(ElementType::STRING, {1}), loom::Error);
}

TEST(Tensor, ValuesAsI64AndF64) {
    std::int32_t raw[] = {1, -2, 3};
    auto t = Tensor::copy_of(ElementType::I32, {3}, std::as_bytes(std::span(raw)));
    EXPECT_EQ(t.to_i64(), (std::vector<std::int64_t>{1, -2, 3}));
    EXPECT_EQ(t.to_f64(), (std::vector<double>{1, -2, 3}));
    EXPECT_TRUE(t.same_as(Tensor::copy_of(ElementType::I32, {3}, std::as_bytes(std::span(raw)))));
    EXPECT_FALSE(t.same_as(t.reshaped({3, 1})));
}

TEST(Tensor, HalfConversionsRoundTrip) {
    for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f})
        EXPECT_EQ(f16_to_f32(f32_to_f16(v)), v) << v;
    EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
    EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.5f)), 1.5f);
    EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), f32_to_f16(1.0f)); // ties to even
}

TEST(MappedFile, MapsAndReportsMissingFiles) {
    auto path = testing::TempDir() + "/mapped.bin";
    {
        std::ofstream f(path, std::ios::binary);
        f << "abcdefgh";
    }
    auto file = MappedFile::open(path);
    ASSERT_EQ(file->bytes().size(), 8u);
    auto t = Tensor::view(ElementType::U8, {8}, file->bytes(), file);
    EXPECT_EQ(static_cast<char>(t.bytes()[0]), 'a');
    try {
        MappedFile::open(path + ".missing");
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::NOT_FOUND);
        EXPECT_NE(e.message().find("mapped.bin.missing"), std::string::npos);
    }
}

TEST(Tensor, StringTensorsHoldLengthPrefixedElements) {
    const std::vector<std::string> words{"Hello", "", "wörld"};
    auto t = Tensor::strings({3}, words);
    EXPECT_EQ(t.element_type(), ElementType::STRING);
    EXPECT_EQ(t.size(), 3);
    EXPECT_EQ(t.byte_size(), 3 * 4u + 5 + 0 + 6);
    const auto values = t.string_values();
    ASSERT_EQ(values.size(), 3u);
    EXPECT_EQ(values[0], "Hello");
    EXPECT_EQ(values[1], "");
    EXPECT_EQ(values[2], "wörld");
    // The bytes as the bus carries them view back into the same elements.
    auto again = Tensor::view(ElementType::STRING, {1, 3}, t.bytes(), t.owner());
    EXPECT_EQ(again.string_values()[2], "wörld");
    EXPECT_EQ(Tensor::copy_of(ElementType::STRING, {3}, t.bytes()).string_values()[0], "Hello");
    // Wrong element counts and cut prefixes are refused, naming the problem.
    EXPECT_THROW(Tensor::strings({2}, words), loom::Error);
    EXPECT_THROW(Tensor::view(ElementType::STRING, {2}, t.bytes(), t.owner()), loom::Error);
    EXPECT_THROW(
        Tensor::view(ElementType::STRING, {3}, t.bytes().first(t.byte_size() - 1), t.owner()),
        loom::Error);
    EXPECT_THROW(Tensor::allocate(ElementType::F32, {1}).string_values(), loom::Error);
    EXPECT_EQ(Tensor::strings({0}, {}).string_values().size(), 0u);
}
