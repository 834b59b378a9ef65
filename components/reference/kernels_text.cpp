// Reference kernels: text ops — Loom's TfIdfVectorizer (loom1), ONNX TfIdfVectorizer-9 over an
// integer pool (the op's contract is in components/model/ops/loom_ops.cpp).
//
// For every row of data, n-grams for n in [min_gram_length, max_gram_length] are formed at every
// start position and every skip in [0, max_skip_count] (elements skip+1 apart; unigrams only
// once, skip means nothing for them), looked up in the pool, and counted into the output
// position ngram_indexes[gram]. The counts are then weighted by mode.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {
namespace {

using I64s = std::vector<std::int64_t>;

// The pool: grams_by_length[n - 1] maps each n-gram to its gram number (first occurrence wins).
struct Pool {
    std::vector<std::map<I64s, std::size_t>> grams_by_length;
};

Pool read_pool(const KernelContext& ctx, std::size_t gram_count) {
    const auto& counts = ctx.attr<I64s>("ngram_counts");
    const auto& values = ctx.attr<I64s>("pool_int64s");
    auto pool_size = static_cast<std::int64_t>(values.size());
    Pool pool;
    std::size_t gram = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        auto begin = counts[i];
        auto end = i + 1 < counts.size() ? counts[i + 1] : pool_size;
        auto n = static_cast<std::int64_t>(i + 1);
        LOOM_REQUIRE(begin >= 0 && begin <= end && end <= pool_size && (end - begin) % n == 0,
                     "ngram_counts does not split pool_int64s into n-grams");
        auto& level = pool.grams_by_length.emplace_back();
        for (auto at = begin; at < end; at += n, ++gram) {
            I64s key(values.begin() + at, values.begin() + at + n);
            level.emplace(std::move(key), gram);
        }
    }
    LOOM_REQUIRE(gram == gram_count, "ngram_indexes has {} values; the pool holds {} n-grams",
                 gram_count, gram);
    return pool;
}

std::vector<Tensor> tfidf_vectorizer(KernelContext& ctx) {
    const auto& x = ctx.input(0);
    LOOM_REQUIRE(x.element_type() == ElementType::I32 || x.element_type() == ElementType::I64,
                 "data is {}; TfIdfVectorizer takes i32 or i64", loom::to_string(x.element_type()));
    const auto& shape = x.shape();
    LOOM_REQUIRE(shape.size() == 1 || shape.size() == 2, "data must be [C] or [N, C], got {}",
                 model::to_string(shape));
    const auto rows = shape.size() == 2 ? shape[0] : std::int64_t{1};
    const auto cols = shape.back();

    const auto min_n = ctx.attr<std::int64_t>("min_gram_length");
    const auto max_n = ctx.attr<std::int64_t>("max_gram_length");
    const auto max_skip = ctx.attr<std::int64_t>("max_skip_count");
    const auto& mode = ctx.attr<std::string>("mode");
    LOOM_REQUIRE(mode == "TF" || mode == "IDF" || mode == "TFIDF",
                 "mode '{}' is not one of TF, IDF, TFIDF", mode);
    const auto& indexes = ctx.attr<I64s>("ngram_indexes");
    const auto weights = ctx.attr_or<std::vector<double>>("weights", {});
    const auto pool = read_pool(ctx, indexes.size());

    Tensor out = ctx.allocate_output(0);
    auto y = mutable_values<float>(out);
    const auto width = static_cast<std::int64_t>(y.size()) / std::max<std::int64_t>(rows, 1);
    for (auto v : indexes)
        LOOM_REQUIRE(v >= 0 && v < width, "ngram_indexes value {} is outside the output [0, {})", v,
                     width);
    LOOM_REQUIRE(weights.empty() || static_cast<std::int64_t>(weights.size()) >= width,
                 "weights has {} values; the output has {}", weights.size(), width);

    const auto data = read_indices(x);
    const auto levels = static_cast<std::int64_t>(pool.grams_by_length.size());
    std::vector<std::int64_t> counts(static_cast<std::size_t>(width));
    I64s gram;
    for (std::int64_t r = 0; r < rows; ++r) {
        std::fill(counts.begin(), counts.end(), 0);
        const std::int64_t* row = data.data() + r * cols;
        for (auto n = min_n; n <= std::min(max_n, levels); ++n) {
            const auto& level = pool.grams_by_length[static_cast<std::size_t>(n - 1)];
            if (level.empty()) continue;
            const auto skips = n == 1 ? std::int64_t{0} : max_skip;
            for (std::int64_t skip = 0; skip <= skips; ++skip) {
                const auto step = skip + 1;
                const auto span = (n - 1) * step; // distance from first to last element
                for (std::int64_t start = 0; start + span < cols; ++start) {
                    gram.clear();
                    for (std::int64_t j = 0; j < n; ++j)
                        gram.push_back(row[start + j * step]);
                    auto it = level.find(gram);
                    if (it != level.end()) ++counts[static_cast<std::size_t>(indexes[it->second])];
                }
            }
        }
        float* dst = y.data() + r * width;
        for (std::int64_t k = 0; k < width; ++k) {
            const auto c = static_cast<double>(counts[static_cast<std::size_t>(k)]);
            const double w = weights.empty() ? 1.0 : weights[static_cast<std::size_t>(k)];
            double v = c; // TF
            if (mode == "IDF")
                v = c > 0 ? w : 0.0;
            else if (mode == "TFIDF")
                v = c * w;
            dst[k] = static_cast<float>(v);
        }
    }
    return {std::move(out)};
}

} // namespace

void add_text_kernels(KernelTable& table) {
    table.add("TfIdfVectorizer", "loom1", tfidf_vectorizer);
}

} // namespace loom::reference
