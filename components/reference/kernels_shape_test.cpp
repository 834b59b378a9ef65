// Shape-family reference kernels: expected values worked out by hand from OpenVINO's spec.

#include <functional>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::attrs;
using test::boolean;
using test::eval;
using test::f32;
using test::i32;
using test::i64;
using test::to_f32;
using test::to_i64;
using test::typed;

void expect_invalid(const std::function<void()>& f) {
    try {
        f();
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
    }
}

// [[1, 2, 3], [4, 5, 6]]
Tensor m23(ElementType type = ElementType::F32) {
    return typed(type, {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(ShapeKernels, ReshapeSqueezeUnsqueezeKeepBytesOfAnyType) {
    auto x = m23(ElementType::F16);
    auto r = eval("Reshape", "opset1", {x, i64({2}, {3, -1})}, attrs({{"special_zero", false}}))[0];
    EXPECT_EQ(r.element_type(), ElementType::F16);
    EXPECT_EQ(r.shape(), (Shape{3, 2}));
    EXPECT_EQ(to_f32(r), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    auto z =
        eval("Reshape", "opset1", {m23(), i64({3}, {0, 3, 1})}, attrs({{"special_zero", true}}))[0];
    EXPECT_EQ(z.shape(), (Shape{2, 3, 1}));
    auto s = eval("Squeeze", "opset1", {z, i64({1}, {-1})})[0];
    EXPECT_EQ(s.shape(), (Shape{2, 3}));
    auto u = eval("Unsqueeze", "opset1", {m23(ElementType::BOOLEAN), i64({2}, {0, 3})})[0];
    EXPECT_EQ(u.shape(), (Shape{1, 2, 3, 1}));
    EXPECT_EQ(to_i64(u), (std::vector<std::int64_t>{1, 1, 1, 1, 1, 1}));
}

TEST(ShapeKernels, TransposeAndDefaultOrder) {
    auto t = eval("Transpose", "opset1", {m23(ElementType::I8), i64({2}, {1, 0})})[0];
    EXPECT_EQ(t.shape(), (Shape{3, 2}));
    EXPECT_EQ(to_i64(t), (std::vector<std::int64_t>{1, 4, 2, 5, 3, 6}));
    auto d = eval("Transpose", "opset1", {m23(ElementType::BF16), i64({0}, {})})[0];
    EXPECT_EQ(d.shape(), (Shape{3, 2}));
    EXPECT_EQ(to_f32(d), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(ShapeKernels, ConcatAlongInnerAndOuterAxes) {
    auto a = m23(), b = f32({2, 1}, {7, 8});
    auto c = eval("Concat", "opset1", {a, b}, attrs({{"axis", std::int64_t{-1}}}))[0];
    EXPECT_EQ(c.shape(), (Shape{2, 4}));
    EXPECT_EQ(to_f32(c), (std::vector<float>{1, 2, 3, 7, 4, 5, 6, 8}));
    auto r =
        eval("Concat", "opset1", {boolean({1, 2}, {true, false}), boolean({1, 2}, {false, true})},
             attrs({{"axis", std::int64_t{0}}}))[0];
    EXPECT_EQ(r.shape(), (Shape{2, 2}));
    EXPECT_EQ(to_i64(r), (std::vector<std::int64_t>{1, 0, 0, 1}));
}

TEST(ShapeKernels, SplitAndVariadicSplit) {
    auto parts = eval("Split", "opset1", {f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), i64({}, {1})},
                      attrs({{"num_splits", std::int64_t{2}}}), 2);
    EXPECT_EQ(to_f32(parts[0]), (std::vector<float>{1, 2, 5, 6}));
    EXPECT_EQ(to_f32(parts[1]), (std::vector<float>{3, 4, 7, 8}));
    auto v =
        eval("VariadicSplit", "opset1",
             {f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), i64({}, {-1}), i64({3}, {1, -1, 0})}, {}, 3);
    EXPECT_EQ(v[0].shape(), (Shape{2, 1}));
    EXPECT_EQ(to_f32(v[0]), (std::vector<float>{1, 5}));
    EXPECT_EQ(to_f32(v[1]), (std::vector<float>{2, 3, 4, 6, 7, 8}));
    EXPECT_EQ(v[2].shape(), (Shape{2, 0}));
}

TEST(ShapeKernels, BroadcastModes) {
    auto n = eval("Broadcast", "opset3", {f32({3}, {1, 2, 3}), i64({2}, {2, 3})},
                  attrs({{"mode", std::string("numpy")}}))[0];
    EXPECT_EQ(to_f32(n), (std::vector<float>{1, 2, 3, 1, 2, 3}));
    auto e = eval("Broadcast", "opset3", {f32({2}, {1, 2}), i64({2}, {2, 3}), i64({1}, {0})},
                  attrs({{"mode", std::string("explicit")}}))[0];
    EXPECT_EQ(to_f32(e), (std::vector<float>{1, 1, 1, 2, 2, 2}));
    auto b = eval("Broadcast", "opset3", {f32({2, 1}, {1, 2}), i64({1}, {1})},
                  attrs({{"mode", std::string("bidirectional")}}))[0];
    EXPECT_EQ(b.shape(), (Shape{2, 1}));
    EXPECT_EQ(to_f32(b), (std::vector<float>{1, 2}));
    auto b2 = eval("Broadcast", "opset3", {f32({2, 1}, {1, 2}), i64({2}, {1, 3})},
                   attrs({{"mode", std::string("bidirectional")}}))[0];
    EXPECT_EQ(to_f32(b2), (std::vector<float>{1, 1, 1, 2, 2, 2}));
}

TEST(ShapeKernels, TileRepeatsAndRankGrowth) {
    auto t = eval("Tile", "opset1", {f32({2}, {1, 2}), i64({2}, {2, 2})})[0];
    EXPECT_EQ(t.shape(), (Shape{2, 4}));
    EXPECT_EQ(to_f32(t), (std::vector<float>{1, 2, 1, 2, 1, 2, 1, 2}));
}

Tensor pad(const char* mode, std::vector<std::int64_t> b, std::vector<std::int64_t> e,
           const char* version = "opset1") {
    return eval("Pad", version, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({2}, b), i64({2}, e)},
                attrs({{"pad_mode", std::string(mode)}}))[0];
}

TEST(ShapeKernels, PadModes) {
    auto c = eval("Pad", "opset1",
                  {f32({1, 2}, {1, 2}), i64({2}, {0, 1}), i64({2}, {1, 0}), f32({}, {9})},
                  attrs({{"pad_mode", std::string("constant")}}))[0];
    EXPECT_EQ(c.shape(), (Shape{2, 3}));
    EXPECT_EQ(to_f32(c), (std::vector<float>{9, 1, 2, 9, 9, 9}));
    EXPECT_EQ(to_f32(pad("edge", {0, 2}, {0, 1})),
              (std::vector<float>{1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6}));
    EXPECT_EQ(to_f32(pad("reflect", {0, 2}, {0, 1})),
              (std::vector<float>{3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}));
    EXPECT_EQ(to_f32(pad("symmetric", {0, 2}, {0, 1})),
              (std::vector<float>{2, 1, 1, 2, 3, 3, 5, 4, 4, 5, 6, 6}));
    auto neg = pad("constant", {0, -1}, {1, 0}, "opset12");
    EXPECT_EQ(neg.shape(), (Shape{3, 2}));
    EXPECT_EQ(to_f32(neg), (std::vector<float>{2, 3, 5, 6, 0, 0}));
    EXPECT_EQ(to_f32(pad("constant", {1, 0}, {0, 0})),
              (std::vector<float>{0, 0, 0, 1, 2, 3, 4, 5, 6}));
    expect_invalid([] { pad("reflect", {0, 3}, {0, 0}); });
}

TEST(ShapeKernels, RangeVersions) {
    auto r1 = eval("Range", "opset1", {i32({}, {10}), i32({}, {4}), i32({}, {-3})})[0];
    EXPECT_EQ(r1.element_type(), ElementType::I32);
    EXPECT_EQ(to_i64(r1), (std::vector<std::int64_t>{10, 7}));
    auto r4 = eval("Range", "opset4", {f32({}, {0}), f32({}, {1}), f32({}, {0.25f})},
                   attrs({{"output_type", ElementType::F16}}))[0];
    EXPECT_EQ(r4.element_type(), ElementType::F16);
    EXPECT_EQ(to_f32(r4), (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
}

TEST(ShapeKernels, OneHotAndEye) {
    auto o =
        eval("OneHot", "opset1", {i64({3}, {0, 2, 5}), i64({}, {3}), f32({}, {5}), f32({}, {-1})},
             attrs({{"axis", std::int64_t{-1}}}))[0];
    EXPECT_EQ(o.shape(), (Shape{3, 3}));
    EXPECT_EQ(to_f32(o), (std::vector<float>{5, -1, -1, -1, -1, 5, -1, -1, -1}));
    auto e = eval("Eye", "opset9", {i64({}, {2}), i64({}, {3}), i64({}, {1}), i64({1}, {2})},
                  attrs({{"output_type", ElementType::I8}}))[0];
    EXPECT_EQ(e.shape(), (Shape{2, 2, 3}));
    EXPECT_EQ(to_i64(e), (std::vector<std::int64_t>{0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1}));
}

TEST(ShapeKernels, ReverseSequenceReverseRoll) {
    // batch_axis 0, seq_axis 1: row 0 reverses its first 2 elements, row 1 all 3.
    auto rs = eval("ReverseSequence", "opset1", {m23(), i64({2}, {2, 3})},
                   attrs({{"batch_axis", std::int64_t{0}}, {"seq_axis", std::int64_t{1}}}))[0];
    EXPECT_EQ(to_f32(rs), (std::vector<float>{2, 1, 3, 6, 5, 4}));
    expect_invalid([] {
        eval("ReverseSequence", "opset1", {m23(), i64({2}, {4, 1})},
             attrs({{"batch_axis", std::int64_t{0}}, {"seq_axis", std::int64_t{1}}}));
    });
    auto ri = eval("Reverse", "opset1", {m23(), i64({1}, {1})},
                   attrs({{"mode", std::string("index")}}))[0];
    EXPECT_EQ(to_f32(ri), (std::vector<float>{3, 2, 1, 6, 5, 4}));
    auto rm = eval("Reverse", "opset1", {m23(), boolean({2}, {true, false})},
                   attrs({{"mode", std::string("mask")}}))[0];
    EXPECT_EQ(to_f32(rm), (std::vector<float>{4, 5, 6, 1, 2, 3}));
    auto roll = eval("Roll", "opset7", {m23(), i64({2}, {1, -1}), i64({2}, {0, 1})})[0];
    EXPECT_EQ(to_f32(roll), (std::vector<float>{5, 6, 4, 2, 3, 1}));
}

} // namespace
} // namespace loom::reference

namespace loom::reference {
namespace {

// Data-movement kernels copy raw bytes: the same result on every element type.
TEST(ShapeKernels, DataMovementOnEveryType) {
    using T = ElementType;
    for (auto type : {T::F16, T::BF16, T::F64, T::I8, T::U8, T::I16, T::U16, T::I32, T::U32, T::I64,
                      T::U64, T::BOOLEAN}) {
        SCOPED_TRACE(loom::to_string(type));
        const bool is_bool = type == T::BOOLEAN;
        auto x = typed(type, {2, 3}, {0, 1, 2, 3, 4, 5});
        auto expect = [&](const Tensor& t, std::vector<float> v) {
            EXPECT_EQ(t.element_type(), type);
            if (is_bool)
                for (auto& e : v)
                    e = e != 0 ? 1.0f : 0.0f;
            EXPECT_EQ(to_f32(t), v);
        };
        expect(eval("Transpose", "opset1", {x, i64({2}, {1, 0})})[0], {0, 3, 1, 4, 2, 5});
        expect(eval("Concat", "opset1", {x, x}, attrs({{"axis", std::int64_t{1}}}))[0],
               {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
        expect(eval("Tile", "opset1", {x, i64({2}, {1, 2})})[0],
               {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
        expect(eval("Pad", "opset12",
                    {x, i64({2}, {0, 1}), i64({2}, {0, -1}), typed(type, {}, {1})},
                    attrs({{"pad_mode", std::string("constant")}}))[0],
               {1, 0, 1, 1, 3, 4});
        expect(eval("Roll", "opset7", {x, i64({1}, {1}), i64({1}, {1})})[0], {2, 0, 1, 5, 3, 4});
        expect(eval("Broadcast", "opset3", {typed(type, {1}, {3}), i64({1}, {2})},
                    attrs({{"mode", std::string("numpy")}}))[0],
               {3, 3});
    }
}

} // namespace
} // namespace loom::reference
