// Text reference kernels: TfIdfVectorizer (loom1), expectations worked out by hand from the ONNX
// TfIdfVectorizer-9 spec.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::eval;
using test::f32;
using test::i32;
using test::i64;
using test::run_op;
using test::to_f32;
using I64s = std::vector<std::int64_t>;

// Pool: unigrams 2, 3, 5 (grams 0..2) at offset 0; bigrams (5,6), (7,8), (2,5) (grams 3..5) at
// offset 3.
model::Attributes tfidf(std::int64_t min_n, std::int64_t max_n, std::int64_t skip,
                        std::string mode = "TF", I64s indexes = {0, 1, 2, 3, 4, 5}) {
    model::Attributes a;
    a.set("max_gram_length", max_n);
    a.set("min_gram_length", min_n);
    a.set("max_skip_count", skip);
    a.set("mode", std::move(mode));
    a.set("ngram_counts", I64s{0, 3});
    a.set("ngram_indexes", std::move(indexes));
    a.set("pool_int64s", I64s{2, 3, 5, 5, 6, 7, 8, 2, 5});
    return a;
}

// One row [2, 3, 5, 6, 2, 5]:
//   unigrams 2 ×2, 3 ×1, 5 ×2;
//   bigrams skip 0 (adjacent): (2,3) (3,5) (5,6) (6,2) (2,5) → (5,6) ×1, (2,5) ×1;
//   skip 1 (2 apart): (2,5) (3,6) (5,2) (6,5) → (2,5) ×1;
//   skip 2: (2,6) (3,2) (5,5); skip 3: (2,2) (3,5) → none;
//   skip 4 (5 apart): (2,5) → (2,5) ×1.
Tensor row() {
    return i64({6}, {2, 3, 5, 6, 2, 5});
}

TEST(TextKernels, TfIdfUniAndBigramsBySkip) {
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 2, 0))[0]),
              (std::vector<float>{2, 1, 2, 1, 0, 1}));
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 2, 1))[0]),
              (std::vector<float>{2, 1, 2, 1, 0, 2}));
    // Skips 0..5: skip 5 (6 apart) does not fit in 6 elements; unigrams are counted once.
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 2, 5))[0]),
              (std::vector<float>{2, 1, 2, 1, 0, 3}));
}

TEST(TextKernels, TfIdfGramLengthRange) {
    // Only bigrams: the unigram outputs stay 0.
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(2, 2, 0))[0]),
              (std::vector<float>{0, 0, 0, 1, 0, 1}));
    // Only unigrams, whatever the skip.
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 1, 3))[0]),
              (std::vector<float>{2, 1, 2, 0, 0, 0}));
    // max_gram_length beyond the pool's levels: there are no trigrams to find.
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 3, 0))[0]),
              (std::vector<float>{2, 1, 2, 1, 0, 1}));
}

TEST(TextKernels, TfIdfIndexesMapGramsToOutputs) {
    // Gram g goes to output indexes[g]; output 5 receives none; K = 6 + 1.
    auto run =
        run_op("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 2, 1, "TF", {1, 0, 3, 2, 4, 6}));
    EXPECT_EQ(run.inferred[0].type, ElementType::F32);
    EXPECT_EQ(run.inferred[0].shape.to_string(), "[7]");
    // Counts by gram [2, 1, 2, 1, 0, 2].
    EXPECT_EQ(to_f32(run.outputs[0]), (std::vector<float>{1, 2, 1, 2, 0, 0, 2}));
}

TEST(TextKernels, TfIdfModes) {
    // Counts [2, 1, 2, 1, 0, 1] (skip 0).
    auto idf = tfidf(1, 2, 0, "IDF");
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, idf)[0]),
              (std::vector<float>{1, 1, 1, 1, 0, 1}));
    idf.set("weights", std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3});
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, idf)[0]),
              (std::vector<float>{0.5, 1, 1.5, 2, 0, 3}));
    auto tf_idf = tfidf(1, 2, 0, "TFIDF");
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tf_idf)[0]),
              (std::vector<float>{2, 1, 2, 1, 0, 1}));
    tf_idf.set("weights", std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3});
    EXPECT_EQ(to_f32(eval("TfIdfVectorizer", "loom1", {row()}, tf_idf)[0]),
              (std::vector<float>{1, 1, 3, 2, 0, 3}));
}

TEST(TextKernels, TfIdfBatchOfI32Rows) {
    // Row 1 [7, 8, 7, 8, 1, 1]: no pool unigram; bigram (7,8) twice at skip 0.
    auto x = i32({2, 6}, {2, 3, 5, 6, 2, 5, 7, 8, 7, 8, 1, 1});
    auto run = run_op("TfIdfVectorizer", "loom1", {x}, tfidf(1, 2, 0));
    EXPECT_EQ(run.inferred[0].shape.to_string(), "[2,6]");
    EXPECT_EQ(to_f32(run.outputs[0]), (std::vector<float>{2, 1, 2, 1, 0, 1, 0, 0, 0, 0, 2, 0}));
}

TEST(TextKernels, TfIdfEmptyUnigramLevel) {
    // ngram_counts [0, 0]: no unigrams, bigrams (5,6) and (7,8).
    model::Attributes a;
    a.set("max_gram_length", std::int64_t{2});
    a.set("min_gram_length", std::int64_t{2});
    a.set("max_skip_count", std::int64_t{0});
    a.set("mode", std::string("TF"));
    a.set("ngram_counts", I64s{0, 0});
    a.set("ngram_indexes", I64s{0, 1});
    a.set("pool_int64s", I64s{5, 6, 7, 8});
    auto out = eval("TfIdfVectorizer", "loom1", {i64({5}, {5, 6, 7, 8, 5})}, a);
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{1, 1}));
}

TEST(TextKernels, TfIdfRejectsBadInputsAndAttributes) {
    EXPECT_THROW(eval("TfIdfVectorizer", "loom1", {f32({3}, {2, 3, 5})}, tfidf(1, 2, 0)), Error);
    EXPECT_THROW(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 2, 0, "BM25")), Error);
    EXPECT_THROW(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(2, 1, 0)), Error);
    // Six grams in the pool, five indexes.
    EXPECT_THROW(eval("TfIdfVectorizer", "loom1", {row()}, tfidf(1, 2, 0, "TF", {0, 1, 2, 3, 4})),
                 Error);
    auto odd = tfidf(1, 2, 0);
    odd.set("pool_int64s", I64s{2, 3, 5, 5, 6, 7});
    EXPECT_THROW(eval("TfIdfVectorizer", "loom1", {row()}, odd), Error);
    auto few_weights = tfidf(1, 2, 0, "TFIDF");
    few_weights.set("weights", std::vector<double>{1, 2});
    EXPECT_THROW(eval("TfIdfVectorizer", "loom1", {row()}, few_weights), Error);
}

} // namespace
} // namespace loom::reference
