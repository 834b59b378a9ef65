// Loom's own ops (version "loom1"): the fused ops loom::passes' bias/activation fusion produces,
// and TfIdfVectorizer, which the ONNX reader produces.
//
// FusedConvolution(data, weights, bias): Convolution-1 (same attributes and shape rules, weights
// [C_out, C_in, k...]) + bias [C_out] added on axis 1 + activation.
// FusedMatMul(a, b, bias): MatMul-1 (transpose_a, transpose_b) + bias [N] added on the last axis
// + activation.
// activation: "none", "relu", "sigmoid", "tanh", "hswish", "gelu_erf", "gelu_tanh",
// "clamp" (min = activation_alpha, max = activation_beta), "swish" (beta = activation_alpha),
// "elu" (alpha = activation_alpha).
//
// TfIdfVectorizer(data): ONNX TfIdfVectorizer-9 over an integer pool (pool_int64s). data [C] or
// [N, C] of i32/i64; output f32 [K] or [N, K] with K = max(ngram_indexes) + 1. ngram_counts[i]
// is the offset in pool_int64s where the (i+1)-grams begin; the grams of the pool, in order, are
// numbered 0, 1, … and gram g is counted into output ngram_indexes[g]. Per row, n-grams for n in
// [min_gram_length, max_gram_length] are counted for every skip in [0, max_skip_count] (gram
// elements skip+1 apart; unigrams counted once). mode "TF": the count; "IDF": weights[k] (or 1)
// when the count is > 0; "TFIDF": count × weights[k] (or 1). weights (optional) has one value
// per gram, indexed by output position as in ONNX's reference implementation.
#include <algorithm>
#include <array>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

constexpr std::array<std::string_view, 10> k_activations = {
    "none", "relu", "sigmoid", "tanh", "hswish", "gelu_erf", "gelu_tanh", "clamp", "swish", "elu"};

void check_activation(InferContext& ctx) {
    auto act = ctx.attr_or<std::string>("activation", "none");
    LOOM_REQUIRE(std::find(k_activations.begin(), k_activations.end(), act) != k_activations.end(),
                 "activation '{}' is not one of none, relu, sigmoid, tanh, hswish, gelu_erf, "
                 "gelu_tanh, clamp, swish, elu",
                 act);
    if (act == "clamp")
        LOOM_REQUIRE(ctx.node().attrs.has("activation_alpha") &&
                         ctx.node().attrs.has("activation_beta"),
                     "activation clamp needs activation_alpha (min) and activation_beta (max)");
}

// Checks that input `i` is a 1-D bias whose length can equal `channels`; returns its type.
ElementType check_bias(const InferContext& ctx, std::size_t i, const Dimension& channels) {
    const auto& b = ctx.input_shape(i);
    if (b.rank_is_static()) {
        LOOM_REQUIRE(b.rank() == 1, "bias must be 1-D, got {}", b.to_string());
        LOOM_REQUIRE(b[0].compatible(channels), "bias {} does not match {} output channels",
                     b.to_string(), channels.to_string());
    }
    return ctx.input_type(i);
}

std::vector<std::int64_t> ints_or(const InferContext& ctx, std::string_view name, std::size_t count,
                                  std::int64_t fill) {
    auto v = ctx.attr_or<std::vector<std::int64_t>>(name, std::vector<std::int64_t>(count, fill));
    LOOM_REQUIRE(v.size() == count, "{} has {} values; the convolution has {} spatial axes", name,
                 v.size(), count);
    return v;
}

Dimension conv_dim(const Dimension& in, const Dimension& k, std::int64_t stride,
                   std::int64_t dilation, std::int64_t pads, const std::string& auto_pad) {
    LOOM_REQUIRE(stride > 0 && dilation > 0, "strides and dilations must be positive");
    if (!in.is_static()) return Dimension::dynamic();
    if (auto_pad == "same_upper" || auto_pad == "same_lower")
        return (in.length() + stride - 1) / stride;
    if (!k.is_static()) return Dimension::dynamic();
    std::int64_t window = dilation * (k.length() - 1) + 1;
    std::int64_t span = in.length() + (auto_pad == "valid" ? 0 : pads) - window;
    LOOM_REQUIRE(span >= 0, "kernel window {} is larger than the padded input {}", window,
                 in.length() + pads);
    return span / stride + 1;
}

void infer_fused_convolution(InferContext& ctx) {
    auto type = merge_types(ctx, 0, 1);
    const auto &x = ctx.input_shape(0), &w = ctx.input_shape(1);
    check_activation(ctx);
    if (x.rank_is_dynamic() || w.rank_is_dynamic()) {
        check_bias(ctx, 2, Dimension::dynamic());
        ctx.set_output(0, type, PartialShape::dynamic());
        return;
    }
    LOOM_REQUIRE(x.rank() >= 3, "data must have rank ≥ 3, got {}", x.to_string());
    LOOM_REQUIRE(w.rank() == x.rank(), "weights {} must have the rank of data {}", w.to_string(),
                 x.to_string());
    LOOM_REQUIRE(x[1].compatible(w[1]), "data channels {} do not match weights {}",
                 x[1].to_string(), w.to_string());
    auto spatial = static_cast<std::size_t>(x.rank() - 2);
    auto strides = ints_or(ctx, "strides", spatial, 1);
    auto dilations = ints_or(ctx, "dilations", spatial, 1);
    auto pb = ints_or(ctx, "pads_begin", spatial, 0);
    auto pe = ints_or(ctx, "pads_end", spatial, 0);
    auto auto_pad = ctx.attr_or<std::string>("auto_pad", "explicit");
    std::vector<Dimension> out{x[0], w[0]};
    for (std::size_t i = 0; i < spatial; ++i)
        out.push_back(
            conv_dim(x[i + 2], w[i + 2], strides[i], dilations[i], pb[i] + pe[i], auto_pad));
    auto bias_type = check_bias(ctx, 2, w[0]);
    LOOM_REQUIRE(bias_type == type || bias_type == ElementType::UNDEFINED,
                 "bias type {} differs from data type {}", loom::to_string(bias_type),
                 loom::to_string(type));
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

PartialShape matmul_shape(PartialShape a, PartialShape b, bool ta, bool tb) {
    if (a.rank_is_dynamic() || b.rank_is_dynamic()) return PartialShape::dynamic();
    LOOM_REQUIRE(a.rank() >= 1 && b.rank() >= 1, "MatMul inputs must have rank ≥ 1");
    bool a_vec = a.rank() == 1, b_vec = b.rank() == 1;
    auto& ad = a.dims();
    auto& bd = b.dims();
    if (a_vec)
        ad.insert(ad.begin(), Dimension(1));
    else if (ta)
        std::swap(ad[ad.size() - 1], ad[ad.size() - 2]);
    if (b_vec)
        bd.push_back(Dimension(1));
    else if (tb)
        std::swap(bd[bd.size() - 1], bd[bd.size() - 2]);
    LOOM_REQUIRE(ad.back().compatible(bd[bd.size() - 2]),
                 "MatMul inner dimensions {} and {} differ", ad.back().to_string(),
                 bd[bd.size() - 2].to_string());
    PartialShape batch_a(std::vector<Dimension>(ad.begin(), ad.end() - 2));
    PartialShape batch_b(std::vector<Dimension>(bd.begin(), bd.end() - 2));
    auto out = broadcast_numpy(batch_a, batch_b).dims();
    if (!a_vec) out.push_back(ad[ad.size() - 2]);
    if (!b_vec) out.push_back(bd.back());
    return PartialShape(std::move(out));
}

void infer_fused_matmul(InferContext& ctx) {
    auto type = merge_types(ctx, 0, 1);
    check_activation(ctx);
    auto out = matmul_shape(ctx.input_shape(0), ctx.input_shape(1),
                            ctx.attr_or<bool>("transpose_a", false),
                            ctx.attr_or<bool>("transpose_b", false));
    Dimension n = Dimension::dynamic();
    if (out.rank_is_static()) {
        LOOM_REQUIRE(out.rank() >= 1, "FusedMatMul of two vectors has no axis for the bias");
        n = out.dims().back();
    }
    auto bias_type = check_bias(ctx, 2, n);
    LOOM_REQUIRE(bias_type == type || bias_type == ElementType::UNDEFINED,
                 "bias type {} differs from input type {}", loom::to_string(bias_type),
                 loom::to_string(type));
    ctx.set_output(0, type, std::move(out));
}

// Checks the pool attributes of TfIdfVectorizer; returns the output length K.
std::int64_t tfidf_output_size(const InferContext& ctx) {
    auto min_n = ctx.attr<std::int64_t>("min_gram_length");
    auto max_n = ctx.attr<std::int64_t>("max_gram_length");
    auto skip = ctx.attr<std::int64_t>("max_skip_count");
    LOOM_REQUIRE(min_n >= 1 && min_n <= max_n,
                 "min_gram_length {} and max_gram_length {} must satisfy 1 <= min <= max", min_n,
                 max_n);
    LOOM_REQUIRE(skip >= 0, "max_skip_count must be >= 0, got {}", skip);
    const auto& mode = ctx.attr<std::string>("mode");
    LOOM_REQUIRE(mode == "TF" || mode == "IDF" || mode == "TFIDF",
                 "mode '{}' is not one of TF, IDF, TFIDF", mode);
    const auto& counts = ctx.attr<std::vector<std::int64_t>>("ngram_counts");
    const auto& indexes = ctx.attr<std::vector<std::int64_t>>("ngram_indexes");
    const auto& pool = ctx.attr<std::vector<std::int64_t>>("pool_int64s");
    auto pool_size = static_cast<std::int64_t>(pool.size());
    std::int64_t grams = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        auto begin = counts[i];
        auto end = i + 1 < counts.size() ? counts[i + 1] : pool_size;
        auto n = static_cast<std::int64_t>(i + 1);
        LOOM_REQUIRE(begin >= 0 && begin <= end && end <= pool_size,
                     "ngram_counts {} is not a non-decreasing list of offsets into a pool of {}", i,
                     pool_size);
        LOOM_REQUIRE((end - begin) % n == 0,
                     "the {}-grams of the pool span {} values, not a multiple of {}", n,
                     end - begin, n);
        grams += (end - begin) / n;
    }
    LOOM_REQUIRE(static_cast<std::int64_t>(indexes.size()) == grams,
                 "ngram_indexes has {} values; the pool holds {} n-grams", indexes.size(), grams);
    std::int64_t k = 0;
    for (auto v : indexes) {
        LOOM_REQUIRE(v >= 0, "ngram_indexes holds a negative index {}", v);
        k = std::max(k, v + 1);
    }
    auto w = ctx.attr_or<std::vector<double>>("weights", {});
    LOOM_REQUIRE(w.empty() || static_cast<std::int64_t>(w.size()) >= k,
                 "weights has {} values; the output has {}", w.size(), k);
    return k;
}

void infer_tfidf_vectorizer(InferContext& ctx) {
    auto k = tfidf_output_size(ctx);
    auto type = ctx.input_type(0);
    LOOM_REQUIRE(type == ElementType::UNDEFINED || type == ElementType::I32 ||
                     type == ElementType::I64,
                 "data is {}; TfIdfVectorizer takes i32 or i64", loom::to_string(type));
    const auto& x = ctx.input_shape(0);
    if (x.rank_is_dynamic()) {
        ctx.set_output(0, ElementType::F32, PartialShape::dynamic());
        return;
    }
    LOOM_REQUIRE(x.rank() == 1 || x.rank() == 2, "data must be [C] or [N, C], got {}",
                 x.to_string());
    std::vector<Dimension> out;
    if (x.rank() == 2) out.push_back(x[0]);
    out.emplace_back(k);
    ctx.set_output(0, ElementType::F32, PartialShape(std::move(out)));
}

} // namespace

void add_loom_ops(OpRegistry& r) {
    using K = AttrKind;
    const std::vector<AttrSpec> activation = {{"activation", K::String, false},
                                              {"activation_alpha", K::Float, false},
                                              {"activation_beta", K::Float, false}};
    std::vector<AttrSpec> conv = {{"strides", K::Ints},
                                  {"pads_begin", K::Ints},
                                  {"pads_end", K::Ints},
                                  {"dilations", K::Ints},
                                  {"auto_pad", K::String, false}};
    conv.insert(conv.end(), activation.begin(), activation.end());
    add_spec(r, "FusedConvolution", "loom1", conv, 3, 3, infer_fused_convolution);
    std::vector<AttrSpec> matmul = {{"transpose_a", K::Bool, false},
                                    {"transpose_b", K::Bool, false}};
    matmul.insert(matmul.end(), activation.begin(), activation.end());
    add_spec(r, "FusedMatMul", "loom1", matmul, 3, 3, infer_fused_matmul);
    add_spec(r, "TfIdfVectorizer", "loom1",
             {{"max_gram_length", K::Int},
              {"min_gram_length", K::Int},
              {"max_skip_count", K::Int},
              {"mode", K::String},
              {"ngram_counts", K::Ints},
              {"ngram_indexes", K::Ints},
              {"pool_int64s", K::Ints},
              {"weights", K::Floats, false}},
             1, 1, infer_tfidf_vectorizer);
}

} // namespace loom::model::ops
