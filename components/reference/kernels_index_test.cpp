// Index-family reference kernels: expected values worked out by hand from OpenVINO's spec.

#include <cmath>
#include <functional>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::attrs;
using test::eval;
using test::f32;
using test::i32;
using test::i64;
using test::to_f32;
using test::to_i64;
using test::typed;

void expect_invalid(const std::function<void()>& f, const char* needle = nullptr) {
    try {
        f();
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        if (needle) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    }
}

// [[1, 2, 3], [4, 5, 6]]
Tensor m23(ElementType type = ElementType::F32) {
    return typed(type, {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(IndexKernels, GatherAxisBatchDimsAndVersions) {
    auto g = eval("Gather", "opset1", {m23(ElementType::F16), i64({2}, {2, 0}), i64({}, {1})})[0];
    EXPECT_EQ(g.shape(), (Shape{2, 2}));
    EXPECT_EQ(to_f32(g), (std::vector<float>{3, 1, 6, 4}));
    // batch_dims 1: row b takes its own indices.
    auto b = eval("Gather", "opset7", {m23(), i64({2, 1}, {2, 0}), i64({}, {1})},
                  attrs({{"batch_dims", std::int64_t{1}}}))[0];
    EXPECT_EQ(b.shape(), (Shape{2, 1}));
    EXPECT_EQ(to_f32(b), (std::vector<float>{3, 4}));
    // opset8: negative indices count from the end, out-of-range ones give zeros.
    auto n = eval("Gather", "opset8", {m23(), i64({3}, {-1, 7, 0}), i64({}, {1})})[0];
    EXPECT_EQ(to_f32(n), (std::vector<float>{3, 0, 1, 6, 0, 4}));
    expect_invalid([] { eval("Gather", "opset7", {m23(), i64({1}, {3}), i64({}, {1})}); }, "3");
}

TEST(IndexKernels, GatherElementsAndGatherND) {
    auto ge = eval("GatherElements", "opset6", {m23(), i64({2, 2}, {2, 0, 1, 1})},
                   attrs({{"axis", std::int64_t{1}}}))[0];
    EXPECT_EQ(to_f32(ge), (std::vector<float>{3, 1, 5, 5}));
    expect_invalid([] {
        eval("GatherElements", "opset6", {m23(), i64({2, 1}, {0, 3})},
             attrs({{"axis", std::int64_t{1}}}));
    });
    auto nd = eval("GatherND", "opset8", {m23(), i64({2, 2}, {1, 2, 0, 1})})[0];
    EXPECT_EQ(to_f32(nd), (std::vector<float>{6, 2}));
    auto rows = eval("GatherND", "opset8", {m23(), i64({1, 1}, {1})})[0];
    EXPECT_EQ(rows.shape(), (Shape{1, 3}));
    EXPECT_EQ(to_f32(rows), (std::vector<float>{4, 5, 6}));
    // batch_dims 1 over [2, 2, 2].
    auto data = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    auto b8 = eval("GatherND", "opset8", {data, i64({2, 1, 2}, {0, 1, 1, 0})},
                   attrs({{"batch_dims", std::int64_t{1}}}))[0];
    EXPECT_EQ(b8.shape(), (Shape{2, 1}));
    EXPECT_EQ(to_f32(b8), (std::vector<float>{2, 7}));
    // batch_dims 2: opset8 keeps [2, 2], opset5 flattens the batches into [4].
    auto b5 = eval("GatherND", "opset5", {data, i64({2, 2, 1}, {0, 1, 1, 0})},
                   attrs({{"batch_dims", std::int64_t{2}}}))[0];
    EXPECT_EQ(b5.shape(), (Shape{4}));
    EXPECT_EQ(to_f32(b5), (std::vector<float>{1, 4, 6, 7}));
    expect_invalid([] { eval("GatherND", "opset8", {m23(), i64({1, 2}, {2, 0})}); });
}

TEST(IndexKernels, GatherTreeFollowsParents) {
    // T=3, B=1, W=2; max_seq_len 3, end token 9.
    auto ids = i32({3, 1, 2}, {1, 2, 3, 4, 5, 9});
    auto parents = i32({3, 1, 2}, {0, 0, 1, 0, 1, 0});
    auto out = eval("GatherTree", "opset1", {ids, parents, i32({1}, {3}), i32({}, {9})})[0];
    // beam 0: t2 id 5 parent 1 → t1 id 4 parent 0 → t0 id 1; beam 1: t2 9 (parent 0) → t1 3
    // (parent 1) → t0 2.
    EXPECT_EQ(to_i64(out), (std::vector<std::int64_t>{1, 2, 4, 3, 5, 9}));
}

TEST(IndexKernels, ScatterUpdateAndElements) {
    auto su = eval("ScatterUpdate", "opset3",
                   {m23(ElementType::BF16), i64({1}, {1}), typed(ElementType::BF16, {2, 1}, {7, 8}),
                    i64({}, {1})})[0];
    EXPECT_EQ(to_f32(su), (std::vector<float>{1, 7, 3, 4, 8, 6}));
    expect_invalid([] {
        eval("ScatterUpdate", "opset3", {m23(), i64({1}, {5}), f32({2, 1}, {7, 8}), i64({}, {1})});
    });
    auto idx = i64({1, 3}, {0, 0, 2});
    auto upd = f32({1, 3}, {10, 20, 30});
    auto none = eval("ScatterElementsUpdate", "opset3", {m23(), idx, upd, i64({}, {1})})[0];
    EXPECT_EQ(to_f32(none), (std::vector<float>{20, 2, 30, 4, 5, 6}));
    auto sum = eval("ScatterElementsUpdate", "opset12", {m23(), idx, upd, i64({}, {1})},
                    attrs({{"reduction", std::string("sum")}, {"use_init_val", true}}))[0];
    EXPECT_EQ(to_f32(sum), (std::vector<float>{31, 2, 33, 4, 5, 6}));
    auto mx = eval("ScatterElementsUpdate", "opset12", {m23(), idx, upd, i64({}, {1})},
                   attrs({{"reduction", std::string("max")}, {"use_init_val", false}}))[0];
    EXPECT_EQ(to_f32(mx), (std::vector<float>{20, 2, 30, 4, 5, 6}));
    auto mean = eval("ScatterElementsUpdate", "opset12", {m23(), idx, upd, i64({}, {1})},
                     attrs({{"reduction", std::string("mean")}, {"use_init_val", true}}))[0];
    EXPECT_EQ(to_f32(mean), (std::vector<float>{31.0f / 3, 2, 16.5f, 4, 5, 6}));
    expect_invalid([] {
        eval("ScatterElementsUpdate", "opset3",
             {m23(), i64({1, 1}, {-4}), f32({1, 1}, {1}), i64({}, {1})});
    });
}

TEST(IndexKernels, ScatterNDUpdateWithReduction) {
    auto idx = i64({2, 2}, {0, 1, 0, 1});
    auto upd = f32({2}, {10, 20});
    auto none =
        eval("ScatterNDUpdate", "opset3", {m23(), i64({1, 1}, {1}), f32({1, 3}, {7, 8, 9})})[0];
    EXPECT_EQ(to_f32(none), (std::vector<float>{1, 2, 3, 7, 8, 9}));
    auto sum = eval("ScatterNDUpdate", "opset15", {m23(), idx, upd},
                    attrs({{"reduction", std::string("sum")}}))[0];
    EXPECT_EQ(to_f32(sum), (std::vector<float>{1, 32, 3, 4, 5, 6}));
    auto sub = eval("ScatterNDUpdate", "opset15", {m23(ElementType::I32), idx, i32({2}, {1, 1})},
                    attrs({{"reduction", std::string("sub")}}))[0];
    EXPECT_EQ(to_i64(sub), (std::vector<std::int64_t>{1, 0, 3, 4, 5, 6}));
    expect_invalid([] {
        eval("ScatterNDUpdate", "opset3", {m23(), i64({1, 2}, {0, 3}), f32({1}, {1})});
    });
}

TEST(IndexKernels, SliceAndStridedSlice) {
    auto x = f32({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
    auto s = eval("Slice", "opset8",
                  {x, i64({1}, {-1}), i64({1}, {-100}), i64({1}, {-2}), i64({1}, {1})})[0];
    EXPECT_EQ(s.shape(), (Shape{2, 2}));
    EXPECT_EQ(to_f32(s), (std::vector<float>{3, 1, 7, 5}));
    // x[1, None, 1:] via shrink (axis 0), new_axis, slice.
    auto ss = eval("StridedSlice", "opset1",
                   {x, i64({3}, {1, 0, 1}), i64({3}, {2, 0, 4}), i64({3}, {1, 1, 1})},
                   attrs({{"begin_mask", std::vector<std::int64_t>{0, 0, 0}},
                          {"end_mask", std::vector<std::int64_t>{0, 0, 0}},
                          {"new_axis_mask", std::vector<std::int64_t>{0, 1, 0}},
                          {"shrink_axis_mask", std::vector<std::int64_t>{1, 0, 0}}}))[0];
    EXPECT_EQ(ss.shape(), (Shape{1, 3}));
    EXPECT_EQ(to_f32(ss), (std::vector<float>{5, 6, 7}));
    // x[..., ::-2] with the end masked.
    auto el =
        eval("StridedSlice", "opset1", {x, i64({2}, {0, 0}), i64({2}, {0, 0}), i64({2}, {1, -2})},
             attrs({{"begin_mask", std::vector<std::int64_t>{0, 1}},
                    {"end_mask", std::vector<std::int64_t>{0, 1}},
                    {"ellipsis_mask", std::vector<std::int64_t>{1, 0}}}))[0];
    EXPECT_EQ(to_f32(el), (std::vector<float>{3, 1, 7, 5}));
}

TEST(IndexKernels, EinsumMatmulTraceEllipsis) {
    auto a = m23(), b = f32({3, 1}, {1, 1, 1});
    auto mm = eval("Einsum", "opset7", {a, b}, attrs({{"equation", std::string("ij,jk->ik")}}))[0];
    EXPECT_EQ(to_f32(mm), (std::vector<float>{6, 15}));
    auto tr = eval("Einsum", "opset7", {f32({2, 2}, {1, 2, 3, 4})},
                   attrs({{"equation", std::string("ii")}}))[0];
    EXPECT_EQ(to_f32(tr), (std::vector<float>{5}));
    auto t = eval("Einsum", "opset7", {a}, attrs({{"equation", std::string("...j->j...")}}))[0];
    EXPECT_EQ(t.shape(), (Shape{3, 2}));
    EXPECT_EQ(to_f32(t), (std::vector<float>{1, 4, 2, 5, 3, 6}));
    // Batched matmul; the ellipsis of the first operand (1) broadcasts to 2.
    auto bm = eval("Einsum", "opset7", {f32({1, 2, 2}, {1, 2, 3, 4}), f32({2, 2, 1}, {1, 1, 1, 0})},
                   attrs({{"equation", std::string("...ij,...jk->...ik")}}))[0];
    EXPECT_EQ(bm.shape(), (Shape{2, 2, 1}));
    EXPECT_EQ(to_f32(bm), (std::vector<float>{3, 7, 1, 3}));
}

TEST(IndexKernels, TopKModesAndSorts) {
    auto x = f32({1, 5}, {3, 1, 4, 1, 5});
    auto mx = eval("TopK", "opset11", {x, i64({}, {3})},
                   attrs({{"axis", std::int64_t{1}},
                          {"mode", std::string("max")},
                          {"sort", std::string("value")},
                          {"index_element_type", ElementType::I64},
                          {"stable", true}}),
                   2);
    EXPECT_EQ(to_f32(mx[0]), (std::vector<float>{5, 4, 3}));
    EXPECT_EQ(to_i64(mx[1]), (std::vector<std::int64_t>{4, 2, 0}));
    auto mn = eval("TopK", "opset3", {x, i64({}, {2})},
                   attrs({{"axis", std::int64_t{-1}},
                          {"mode", std::string("min")},
                          {"sort", std::string("index")}}),
                   2);
    EXPECT_EQ(mn[1].element_type(), ElementType::I32);
    EXPECT_EQ(to_i64(mn[1]), (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(to_f32(mn[0]), (std::vector<float>{1, 1}));
    // NaN ranks above every number.
    auto nan = eval("TopK", "opset1", {f32({3}, {NAN, 1, 2}), i64({}, {2})},
                    attrs({{"axis", std::int64_t{0}},
                           {"mode", std::string("max")},
                           {"sort", std::string("value")}}),
                    2);
    EXPECT_EQ(to_i64(nan[1]), (std::vector<std::int64_t>{0, 2}));
}

TEST(IndexKernels, CumSumExclusiveReverse) {
    auto x = i32({4}, {1, 2, 3, 4});
    auto plain = eval("CumSum", "opset3", {x, i64({}, {0})})[0];
    EXPECT_EQ(to_i64(plain), (std::vector<std::int64_t>{1, 3, 6, 10}));
    auto both = eval("CumSum", "opset3", {x, i64({}, {0})},
                     attrs({{"exclusive", true}, {"reverse", true}}))[0];
    EXPECT_EQ(to_i64(both), (std::vector<std::int64_t>{9, 7, 4, 0}));
}

TEST(IndexKernels, BucketizePatchesAndCtc) {
    auto bk = eval("Bucketize", "opset3", {f32({4}, {0, 1, 2.5f, 9}), f32({2}, {1, 5})},
                   attrs({{"with_right_bound", false}}))[0];
    EXPECT_EQ(to_i64(bk), (std::vector<std::int64_t>{0, 1, 1, 2}));
    auto img = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    auto p = eval("ExtractImagePatches", "opset3", {img},
                  attrs({{"sizes", std::vector<std::int64_t>{2, 2}},
                         {"strides", std::vector<std::int64_t>{2, 2}},
                         {"rates", std::vector<std::int64_t>{1, 1}},
                         {"auto_pad", std::string("valid")}}))[0];
    EXPECT_EQ(p.shape(), (Shape{1, 4, 1, 1}));
    EXPECT_EQ(to_f32(p), (std::vector<float>{1, 2, 4, 5}));
    // N=1, T=4, C=3 (blank 2): classes 0, 0, 2, 0 → merged [0, 0].
    auto logits = f32({1, 4, 3}, {9, 0, 0, 9, 0, 0, 0, 0, 9, 9, 0, 0});
    auto d = eval("CTCGreedyDecoderSeqLen", "opset6", {logits, i32({1}, {4})}, {}, 2);
    EXPECT_EQ(to_i64(d[0]), (std::vector<std::int64_t>{0, 0, -1, -1}));
    EXPECT_EQ(to_i64(d[1]), (std::vector<std::int64_t>{2}));
    auto old = eval(
        "CTCGreedyDecoder", "opset1",
        {f32({4, 1, 3}, {9, 0, 0, 9, 0, 0, 0, 0, 9, 9, 0, 0}), f32({4, 1}, {1, 1, 1, 0})}, {}, 1);
    EXPECT_EQ(to_f32(old[0]), (std::vector<float>{0, -1, -1, -1}));
}

} // namespace
} // namespace loom::reference

namespace loom::reference {
namespace {

// Data-movement kernels copy raw bytes: the same result on every element type.
TEST(IndexKernels, DataMovementOnEveryType) {
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
        expect(eval("Gather", "opset8", {x, i64({2}, {2, 0}), i64({}, {1})})[0], {2, 0, 5, 3});
        expect(eval("Slice", "opset8",
                    {x, i64({1}, {1}), i64({1}, {3}), i64({1}, {1}), i64({1}, {1})})[0],
               {1, 2, 4, 5});
        expect(eval("GatherND", "opset8", {x, i64({1, 2}, {1, 1})})[0], {4});
        expect(
            eval("ScatterNDUpdate", "opset3", {x, i64({1, 2}, {0, 0}), typed(type, {1}, {5})})[0],
            {5, 1, 2, 3, 4, 5});
    }
}

} // namespace
} // namespace loom::reference
