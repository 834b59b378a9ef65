// Sequence-family reference kernels (NonZero, Unique, NonMaxSuppression, embedding bags,
// RandomUniform): expected values worked out by hand from OpenVINO's specs.

#include <initializer_list>
#include <utility>

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
using I64s = std::vector<std::int64_t>;
using F32s = std::vector<float>;

// ---- NonZero / Unique -----------------------------------------------------------------------

TEST(SequenceKernels, NonZeroCoordinatesPerAxis) {
    // [[0,1,0],[2,0,3]]: non-zeros at (0,1), (1,0), (1,2) → rows {0,1,1}, columns {1,0,2}.
    auto out = eval("NonZero", "opset3", {f32({2, 3}, {0, 1, 0, 2, 0, 3})},
                    attrs({{"output_type", ElementType::I32}}));
    EXPECT_EQ(out[0].element_type(), ElementType::I32);
    EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
    EXPECT_EQ(to_i64(out[0]), (I64s{0, 1, 1, 1, 0, 2}));
    // All zeros: [rank, 0]; default output type i64.
    auto none = eval("NonZero", "opset3", {i64({4}, {0, 0, 0, 0})});
    EXPECT_EQ(none[0].shape(), (Shape{1, 0}));
    EXPECT_EQ(none[0].element_type(), ElementType::I64);
}

TEST(SequenceKernels, UniqueFlattenedSortedAndUnsorted) {
    auto x = i64({5}, {3, 1, 3, 2, 1});
    // Sorted: uniques {1,2,3}; first occurrences 1 at 1, 2 at 3, 3 at 0; each input's unique
    // {3→2, 1→0, 3→2, 2→1, 1→0}; counts {2,1,2}.
    auto s = eval("Unique", "opset10", {x}, attrs({{"sorted", true}}), 4);
    EXPECT_EQ(to_i64(s[0]), (I64s{1, 2, 3}));
    EXPECT_EQ(to_i64(s[1]), (I64s{1, 3, 0}));
    EXPECT_EQ(to_i64(s[2]), (I64s{2, 0, 2, 1, 0}));
    EXPECT_EQ(to_i64(s[3]), (I64s{2, 1, 2}));
    // Unsorted: order of first occurrence {3,1,2} at {0,1,3}; reverse {0,1,0,2,1}; counts
    // {2,2,1}; index type i32 as asked.
    auto u = eval("Unique", "opset10", {x},
                  attrs({{"sorted", false}, {"index_element_type", ElementType::I32}}), 4);
    EXPECT_EQ(to_i64(u[0]), (I64s{3, 1, 2}));
    EXPECT_EQ(u[1].element_type(), ElementType::I32);
    EXPECT_EQ(to_i64(u[1]), (I64s{0, 1, 3}));
    EXPECT_EQ(to_i64(u[2]), (I64s{0, 1, 0, 2, 1}));
    EXPECT_EQ(to_i64(u[3]), (I64s{2, 2, 1}));
}

TEST(SequenceKernels, UniqueAlongAxis) {
    // Rows (1,2), (0,5), (1,2) along axis 0, sorted: (0,5) first seen at 1, (1,2) at 0;
    // reverse {1,0,1}; counts {1,2}.
    auto out = eval("Unique", "opset10", {f32({3, 2}, {1, 2, 0, 5, 1, 2}), i64({1}, {0})},
                    attrs({{"sorted", true}}), 4);
    EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
    EXPECT_EQ(to_f32(out[0]), (F32s{0, 5, 1, 2}));
    EXPECT_EQ(to_i64(out[1]), (I64s{1, 0}));
    EXPECT_EQ(to_i64(out[2]), (I64s{1, 0, 1}));
    EXPECT_EQ(to_i64(out[3]), (I64s{1, 2}));
}

// ---- NonMaxSuppression ------------------------------------------------------------------------

// Four corner boxes [y1,x1,y2,x2]: 0 = [0,0,1,1]; 1 = [0,0.1,1,1.1] overlaps 0 with
// IOU = 0.9 / (1 + 1 − 0.9) ≈ 0.818; 2 = [0,2,1,3] and 3 = [0,4,1,5] overlap nothing.
Tensor nms_boxes() {
    return f32({1, 4, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 2, 1, 3, 0, 4, 1, 5});
}

// NonMaxSuppression v5/v9 with boxes above, one batch.
std::vector<Tensor> nms(const std::string& version, const Tensor& scores, std::int64_t max_boxes,
                        float iou, float score, bool sort_desc = true) {
    return test::run_op(
               "NonMaxSuppression", version,
               {nms_boxes(), scores, i64({}, {max_boxes}), f32({}, {iou}), f32({}, {score})},
               attrs({{"box_encoding", std::string("corner")},
                      {"sort_result_descending", sort_desc},
                      {"output_type", ElementType::I64}}),
               3, {false, false, true, true, true})
        .outputs;
}

TEST(SequenceKernels, NmsIouAndScoreThresholds) {
    auto scores = f32({1, 1, 4}, {0.9f, 0.8f, 0.7f, 0.3f});
    for (const char* v : {"opset5", "opset9"}) {
        // iou 0.5, score 0.5: 0 (0.9) selected, 1 suppressed (0.818 > 0.5), 2 (0.7) selected,
        // 3 (0.3) below the score threshold.
        auto out = nms(v, scores, 10, 0.5f, 0.5f);
        EXPECT_EQ(out[0].shape(), (Shape{2, 3})) << v;
        EXPECT_EQ(to_i64(out[0]), (I64s{0, 0, 0, 0, 0, 2})) << v;
        EXPECT_EQ(to_f32(out[1]), (F32s{0, 0, 0.9f, 0, 0, 0.7f})) << v;
        EXPECT_EQ(to_i64(out[2]), (I64s{2})) << v;
        // iou 0.9: box 1 (0.818 ≤ 0.9) survives → 0, 1, 2 by score.
        auto loose = nms(v, scores, 10, 0.9f, 0.5f);
        EXPECT_EQ(to_i64(loose[0]), (I64s{0, 0, 0, 0, 0, 1, 0, 0, 2})) << v;
        // score threshold 0.2: box 3 (0.3) joins → 0, 2, 3.
        auto low = nms(v, scores, 10, 0.5f, 0.2f);
        EXPECT_EQ(to_i64(low[0]), (I64s{0, 0, 0, 0, 0, 2, 0, 0, 3})) << v;
        EXPECT_EQ(to_i64(low[2]), (I64s{3})) << v;
    }
}

TEST(SequenceKernels, NmsMaxBoxesPerClass) {
    auto scores = f32({1, 1, 4}, {0.9f, 0.8f, 0.7f, 0.3f});
    // Max 1: only the best box 0.
    auto one = nms("opset9", scores, 1, 0.5f, 0.0f);
    EXPECT_EQ(to_i64(one[0]), (I64s{0, 0, 0}));
    EXPECT_EQ(to_i64(one[2]), (I64s{1}));
    // Max 0: nothing.
    auto zero = nms("opset5", scores, 0, 0.5f, 0.0f);
    EXPECT_EQ(zero[0].shape(), (Shape{0, 3}));
    EXPECT_EQ(to_i64(zero[2]), (I64s{0}));
}

TEST(SequenceKernels, NmsClassesAndSortAcrossThem) {
    // Class 0 scores {0.9,0.8,0.7,0.3} → selects 0 (0.9), 2 (0.7) as above.
    // Class 1 scores {0.1,0.2,0.95,0.6} → selects 2 (0.95), 3 (0.6) (disjoint boxes).
    auto scores = f32({1, 2, 4}, {0.9f, 0.8f, 0.7f, 0.3f, 0.1f, 0.2f, 0.95f, 0.6f});
    // Unsorted: by class, then selection order.
    auto by_class = nms("opset9", scores, 10, 0.5f, 0.5f, false);
    EXPECT_EQ(to_i64(by_class[0]), (I64s{0, 0, 0, 0, 0, 2, 0, 1, 2, 0, 1, 3}));
    // Sorted by score across classes: 0.95 (c1,b2), 0.9 (c0,b0), 0.7 (c0,b2), 0.6 (c1,b3).
    auto sorted = nms("opset9", scores, 10, 0.5f, 0.5f, true);
    EXPECT_EQ(to_i64(sorted[0]), (I64s{0, 1, 2, 0, 0, 0, 0, 0, 2, 0, 1, 3}));
    EXPECT_EQ(to_f32(sorted[1]), (F32s{0, 1, 0.95f, 0, 0, 0.9f, 0, 0, 0.7f, 0, 1, 0.6f}));
    EXPECT_EQ(to_i64(sorted[2]), (I64s{4}));
}

TEST(SequenceKernels, NmsV4PadsWithMinusOne) {
    // Opset4 output rows = min(4 boxes, max 3) · 1 batch · 1 class = 3; two selected (0, 2),
    // the third row is -1s.
    auto out = test::run_op("NonMaxSuppression", "opset4",
                            {nms_boxes(), f32({1, 1, 4}, {0.9f, 0.8f, 0.7f, 0.3f}), i64({}, {3}),
                             f32({}, {0.5f}), f32({}, {0.5f})},
                            attrs({{"box_encoding", std::string("corner")},
                                   {"sort_result_descending", true},
                                   {"output_type", ElementType::I64}}),
                            1, {false, false, true, true, true})
                   .outputs;
    EXPECT_EQ(out[0].shape(), (Shape{3, 3}));
    EXPECT_EQ(to_i64(out[0]), (I64s{0, 0, 0, 0, 0, 2, -1, -1, -1}));
}

// ---- embedding bags ---------------------------------------------------------------------------

// Rows r0 = {1,2}, r1 = {10,20}, r2 = {100,200}, r3 = {1000,2000}.
Tensor table() {
    return f32({4, 2}, {1, 2, 10, 20, 100, 200, 1000, 2000});
}

TEST(SequenceKernels, EmbeddingBagOffsetsSum) {
    auto indices = i64({4}, {0, 2, 3, 1});
    auto offsets = i64({3}, {0, 2, 2});
    // Bags [0,2) = {0,2}: r0 + r2 = {101,202}; [2,2) empty → zeros; [2,4) = {3,1} → {1010,2020}.
    auto plain = eval("EmbeddingBagOffsetsSum", "opset3", {table(), indices, offsets});
    EXPECT_EQ(plain[0].shape(), (Shape{3, 2}));
    EXPECT_EQ(to_f32(plain[0]), (F32s{101, 202, 0, 0, 1010, 2020}));
    // default_index 1 fills the empty bag with r1; weights {1, 0.5, 2, 1}:
    // bag 0 = r0 + 0.5·r2 = {51,102}; bag 2 = 2·r3 + r1 = {2010,4020}.
    auto weighted = eval("EmbeddingBagOffsetsSum", "opset3",
                         {table(), indices, offsets, i64({}, {1}), f32({4}, {1, 0.5f, 2, 1})});
    EXPECT_EQ(to_f32(weighted[0]), (F32s{51, 102, 10, 20, 2010, 4020}));
}

TEST(SequenceKernels, EmbeddingBagPackedSum) {
    auto indices = i32({2, 2}, {0, 1, 2, 3});
    // Bags {0,1} → {11,22}, {2,3} → {1100,2200}.
    auto plain = eval("EmbeddingBagPackedSum", "opset3", {table(), indices});
    EXPECT_EQ(to_f32(plain[0]), (F32s{11, 22, 1100, 2200}));
    // Weights [[1,2],[0.5,0]]: r0 + 2·r1 = {21,42}; 0.5·r2 = {50,100}.
    auto weighted =
        eval("EmbeddingBagPackedSum", "opset3", {table(), indices, f32({2, 2}, {1, 2, 0.5f, 0})});
    EXPECT_EQ(to_f32(weighted[0]), (F32s{21, 42, 50, 100}));
}

TEST(SequenceKernels, EmbeddingSegmentsSum) {
    auto indices = i64({3}, {0, 1, 3});
    auto segments = i64({3}, {0, 0, 2});
    // Segment 0 = r0 + r1 = {11,22}; 1 empty → zeros; 2 = r3.
    auto plain = eval("EmbeddingSegmentsSum", "opset3", {table(), indices, segments, i64({}, {3})});
    EXPECT_EQ(plain[0].shape(), (Shape{3, 2}));
    EXPECT_EQ(to_f32(plain[0]), (F32s{11, 22, 0, 0, 1000, 2000}));
    // default_index 2 fills segment 1 with r2; weights {2,1,0.5}: seg 0 = 2·r0 + r1 = {12,24},
    // seg 2 = 0.5·r3 = {500,1000}.
    auto weighted =
        eval("EmbeddingSegmentsSum", "opset3",
             {table(), indices, segments, i64({}, {3}), i64({}, {2}), f32({3}, {2, 1, 0.5f})});
    EXPECT_EQ(to_f32(weighted[0]), (F32s{12, 24, 100, 200, 500, 1000}));
}

// ---- RandomUniform ----------------------------------------------------------------------------

std::vector<float> uniform_f32(std::int64_t global, std::int64_t op, float lo, float hi) {
    auto out =
        test::run_op(
            "RandomUniform", "opset8", {i64({2}, {2, 3}), f32({}, {lo}), f32({}, {hi})},
            attrs({{"output_type", ElementType::F32}, {"global_seed", global}, {"op_seed", op}}), 1,
            {true, true, true})
            .outputs;
    EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
    EXPECT_EQ(out[0].element_type(), ElementType::F32);
    return to_f32(out[0]);
}

TEST(SequenceKernels, RandomUniformSeedsRangeAndShape) {
    auto a = uniform_f32(150, 10, -2.0f, 3.0f);
    auto b = uniform_f32(150, 10, -2.0f, 3.0f);
    EXPECT_EQ(a, b); // same seeds → same values
    ASSERT_EQ(a.size(), 6u);
    for (float v : a) {
        EXPECT_GE(v, -2.0f);
        EXPECT_LT(v, 3.0f);
    }
    EXPECT_NE(a, uniform_f32(150, 11, -2.0f, 3.0f)); // another op seed → another sequence
    // Integers: values in [5, 8), i.e. 5, 6 or 7.
    auto ints =
        test::run_op("RandomUniform", "opset8", {i64({1}, {50}), i64({}, {5}), i64({}, {8})},
                     attrs({{"output_type", ElementType::I64},
                            {"global_seed", std::int64_t{7}},
                            {"op_seed", std::int64_t{3}}}))
            .outputs;
    EXPECT_EQ(ints[0].shape(), (Shape{50}));
    for (auto v : to_i64(ints[0])) {
        EXPECT_GE(v, 5);
        EXPECT_LT(v, 8);
    }
}

} // namespace
} // namespace loom::reference
