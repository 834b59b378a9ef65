// Reference kernels: sequence family (see kernel.hpp) — NonZero, Unique, the random ops
// (RandomUniform, Multinomial) and the embedding bags. NonMaxSuppression is in
// kernels_sequence_nms.cpp. NonZero and Unique build their (data-dependent) output shapes.

#include <cmath>
#include <numeric>
#include <random>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

void add_nms_kernels(KernelTable& table); // kernels_sequence_nms.cpp

namespace {

// ---- NonZero ---------------------------------------------------------------------------------

// [rank, n] coordinates of the non-zero elements in row-major order; a scalar counts as rank 1.
std::vector<Tensor> non_zero(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    Shape shape = in.shape().empty() ? Shape{1} : in.shape();
    std::vector<std::int64_t> hits;
    dispatch_type(in.element_type(), "NonZero", [&](auto tag) {
        using T = decltype(tag);
        auto v = values<T>(in);
        for (std::size_t i = 0; i < v.size(); ++i)
            if (v[i] != T{}) hits.push_back(count(i));
    });
    const auto strides = strides_of(shape);
    const auto rank = shape.size(), n = hits.size();
    std::vector<std::int64_t> out(rank * n);
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t d = 0; d < rank; ++d)
            out[d * n + k] = (hits[k] / strides[d]) % shape[d];
    return {convert_tensor(make_i64_tensor({count(rank), count(n)}, out),
                           ctx.attr_or<ElementType>("output_type", ElementType::I64))};
}

// ---- Unique ----------------------------------------------------------------------------------

// The items Unique compares: `n` slices of `outer` × `inner` elements (one element each when
// the input is flattened).
struct Items {
    std::int64_t outer = 1, n = 0, inner = 1;
};

struct Groups {
    std::vector<std::int64_t> first; // per unique item: index of its first occurrence
    std::vector<std::int64_t> count; // per unique item: occurrences
    std::vector<std::int64_t> of;    // per input item: its unique item
};

template <class T>
Groups group_items(std::span<const T> v, const Items& it, bool sorted) {
    const std::int64_t len = it.outer * it.inner;
    auto elem = [&](std::int64_t item, std::int64_t k) {
        return v[at(((k / it.inner) * it.n + item) * it.inner + k % it.inner)];
    };
    auto less = [&](std::int64_t a, std::int64_t b) {
        for (std::int64_t k = 0; k < len; ++k) {
            const T x = elem(a, k), y = elem(b, k);
            if (x < y) return true;
            if (y < x) return false;
        }
        return false;
    };
    std::vector<std::int64_t> order(at(it.n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), less);
    Groups g;
    g.of.resize(at(it.n));
    for (auto idx : order) {
        if (g.first.empty() || less(g.first.back(), idx)) {
            g.first.push_back(idx);
            g.count.push_back(0);
        }
        g.of[at(idx)] = count(g.first.size()) - 1;
        ++g.count.back();
    }
    if (sorted) return g;
    // Renumber the groups by first occurrence.
    std::vector<std::int64_t> perm(g.first.size()), rank(g.first.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::sort(perm.begin(), perm.end(),
              [&](std::int64_t a, std::int64_t b) { return g.first[at(a)] < g.first[at(b)]; });
    Groups r;
    for (std::size_t p = 0; p < perm.size(); ++p) {
        rank[at(perm[p])] = count(p);
        r.first.push_back(g.first[at(perm[p])]);
        r.count.push_back(g.count[at(perm[p])]);
    }
    r.of.resize(g.of.size());
    for (std::size_t i = 0; i < g.of.size(); ++i)
        r.of[i] = rank[at(g.of[i])];
    return r;
}

std::vector<Tensor> unique(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    Items it;
    Shape out_shape;
    std::int64_t axis = -1;
    if (ctx.has_input(1)) {
        auto a = read_indices(ctx.input(1));
        LOOM_REQUIRE(a.size() == 1, "Unique axis must be one value, got {}", a.size());
        const auto rank = count(in.shape().size());
        LOOM_REQUIRE(a[0] >= -rank && a[0] < rank, "Unique axis {} is out of range for rank {}",
                     a[0], rank);
        axis = a[0] < 0 ? a[0] + rank : a[0];
        it.n = 1;
        for (std::int64_t d = 0; d < rank; ++d)
            (d < axis ? it.outer : d > axis ? it.inner : it.n) *= in.shape()[at(d)];
    } else {
        it.n = in.size();
    }
    const bool sorted = ctx.attr_or<bool>("sorted", true);
    auto g = dispatch_type(in.element_type(), "Unique", [&](auto tag) {
        return group_items(values<decltype(tag)>(in), it, sorted);
    });
    const auto groups = count(g.first.size());
    if (axis < 0) {
        out_shape = {groups};
    } else {
        out_shape = in.shape();
        out_shape[at(axis)] = groups;
    }
    auto out = Tensor::allocate(in.element_type(), out_shape);
    const auto row = at(it.inner) * element_size(in.element_type());
    for (std::int64_t o = 0; o < it.outer; ++o)
        for (std::int64_t u = 0; u < groups; ++u)
            std::memcpy(out.mutable_data() + at(o * groups + u) * row,
                        in.bytes().data() + at(o * it.n + g.first[at(u)]) * row, row);
    auto index_type = ctx.attr_or<ElementType>("index_element_type", ElementType::I64);
    auto count_type = ctx.attr_or<ElementType>("count_element_type", ElementType::I64);
    return {out, convert_tensor(make_i64_tensor({groups}, g.first), index_type),
            convert_tensor(make_i64_tensor({it.n}, g.of), index_type),
            convert_tensor(make_i64_tensor({groups}, g.count), count_type)};
}

// ---- random ----------------------------------------------------------------------------------

// A generator seeded from the op's seeds; both zero → a nondeterministic seed.
std::mt19937_64 make_rng(const KernelContext& ctx) {
    const auto global = ctx.attr_or<std::int64_t>("global_seed", 0);
    const auto op = ctx.attr_or<std::int64_t>("op_seed", 0);
    if (global == 0 && op == 0) return std::mt19937_64(std::random_device{}());
    std::seed_seq seq{static_cast<std::uint64_t>(global), static_cast<std::uint64_t>(op)};
    return std::mt19937_64(seq);
}

std::vector<Tensor> random_uniform(KernelContext& ctx) {
    Shape shape = read_indices(ctx.input(0));
    for (auto d : shape)
        LOOM_REQUIRE(d >= 0, "RandomUniform shape has a negative dimension {}", d);
    const auto type = ctx.attr<ElementType>("output_type");
    auto rng = make_rng(ctx);
    std::vector<double> data(at(model::shape_size(shape)));
    if (type == ElementType::I32 || type == ElementType::I64) {
        const auto lo = scalar_i64(ctx.input(1)), hi = scalar_i64(ctx.input(2));
        LOOM_REQUIRE(lo < hi, "RandomUniform min {} must be less than max {}", lo, hi);
        const auto range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
        for (auto& v : data)
            v = static_cast<double>(lo + static_cast<std::int64_t>(rng() % range));
        return {make_tensor(type, shape, data)};
    }
    const double lo = scalar_f64(ctx.input(1)), hi = scalar_f64(ctx.input(2));
    LOOM_REQUIRE(lo <= hi, "RandomUniform min {} must not exceed max {}", lo, hi);
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    for (auto& v : data) {
        v = lo + (hi - lo) * dist(rng);
        // Rounding to the output type must not reach max.
        if (type == ElementType::F32 && lo < hi && static_cast<float>(v) >= static_cast<float>(hi))
            v = std::nextafter(static_cast<float>(hi), static_cast<float>(lo));
    }
    return {make_tensor(type, shape, data)};
}

std::vector<Tensor> multinomial(KernelContext& ctx) {
    const auto& probs = ctx.input(0);
    const auto samples = scalar_i64(ctx.input(1));
    LOOM_REQUIRE(samples >= 0, "Multinomial num_samples {} is negative", samples);
    const bool batched = probs.shape().size() == 2;
    const auto batches = batched ? probs.shape()[0] : 1;
    const auto classes = probs.shape().back();
    const bool log_probs = ctx.attr<bool>("log_probs");
    const bool replace = ctx.attr<bool>("with_replacement");
    LOOM_REQUIRE(replace || samples <= classes,
                 "Multinomial without replacement draws {} samples from {} classes", samples,
                 classes);
    auto p = probs.to_f64();
    auto rng = make_rng(ctx);
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    std::vector<std::int64_t> out;
    for (std::int64_t b = 0; b < batches; ++b) {
        std::vector<double> w(p.begin() + b * classes, p.begin() + (b + 1) * classes);
        for (auto& x : w) {
            if (log_probs) x = std::exp(x);
            LOOM_REQUIRE(x >= 0, "Multinomial probabilities must not be negative");
        }
        for (std::int64_t s = 0; s < samples; ++s) {
            const double total = std::accumulate(w.begin(), w.end(), 0.0);
            LOOM_REQUIRE(total > 0, "Multinomial probabilities of batch {} sum to 0", b);
            double u = dist(rng) * total;
            std::int64_t c = 0;
            while (c + 1 < classes && (u >= w[at(c)] || w[at(c)] == 0))
                u -= w[at(c++)];
            out.push_back(c);
            if (!replace) w[at(c)] = 0;
        }
    }
    Shape shape = batched ? Shape{batches, samples} : Shape{samples};
    return {convert_tensor(make_i64_tensor(shape, out), ctx.attr<ElementType>("convert_type"))};
}

// ---- embedding bags --------------------------------------------------------------------------

// Sums rows of `table` into bags: bag b holds (index, weight position) pairs.
struct Bags {
    std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> items;
    std::int64_t default_index = -1; // empty bags: this row, or zeros when negative
};

std::vector<Tensor> sum_bags(const KernelContext& ctx, const Bags& bags, const Tensor* weights) {
    const auto& table = ctx.input(0);
    LOOM_REQUIRE(!table.shape().empty(), "embedding table must have rank 1 or more");
    const auto rows = table.shape()[0];
    Shape shape = table.shape();
    shape[0] = count(bags.items.size());
    const auto width = rows ? table.size() / rows : 0;
    LOOM_REQUIRE(bags.default_index < rows, "default_index {} is out of range for {} rows",
                 bags.default_index, rows);
    if (weights)
        LOOM_REQUIRE(weights->element_type() == table.element_type(),
                     "per_sample_weights must have the table's type");
    auto out = Tensor::allocate(table.element_type(), shape);
    dispatch_type(table.element_type(), "embedding bag", [&](auto tag) {
        using T = decltype(tag);
        auto t = values<T>(table);
        auto o = mutable_values<T>(out);
        for (std::size_t b = 0; b < bags.items.size(); ++b) {
            auto* dst = o.data() + b * at(width);
            if (bags.items[b].empty() && bags.default_index >= 0)
                std::copy_n(t.data() + at(bags.default_index * width), width, dst);
            for (auto [index, pos] : bags.items[b]) {
                LOOM_REQUIRE(index >= 0 && index < rows, "index {} is out of range for {} rows",
                             index, rows);
                const T w = weights ? values<T>(*weights)[at(pos)] : T{1};
                for (std::int64_t j = 0; j < width; ++j)
                    dst[j] = static_cast<T>(dst[j] + t[at(index * width + j)] * w);
            }
        }
    });
    return {out};
}

const Tensor* optional_input(const KernelContext& ctx, std::size_t i) {
    return ctx.has_input(i) && !ctx.input(i).empty() ? &ctx.input(i) : nullptr;
}

void check_weights(const Tensor* w, std::size_t n) {
    if (w)
        LOOM_REQUIRE(at(w->size()) == n, "per_sample_weights has {} values for {} indices",
                     w->size(), n);
}

std::vector<Tensor> embedding_offsets(KernelContext& ctx) {
    auto indices = read_indices(ctx.input(1));
    auto offsets = read_indices(ctx.input(2));
    Bags bags;
    bags.items.resize(offsets.size());
    for (std::size_t b = 0; b < offsets.size(); ++b) {
        const auto begin = offsets[b];
        const auto end = b + 1 < offsets.size() ? offsets[b + 1] : count(indices.size());
        LOOM_REQUIRE(begin >= 0 && begin <= end && end <= count(indices.size()),
                     "offsets must be non-decreasing within 0..{}", indices.size());
        for (auto i = begin; i < end; ++i)
            bags.items[b].emplace_back(indices[at(i)], i);
    }
    if (auto* d = optional_input(ctx, 3)) bags.default_index = scalar_i64(*d);
    auto* w = optional_input(ctx, 4);
    check_weights(w, indices.size());
    return sum_bags(ctx, bags, w);
}

std::vector<Tensor> embedding_packed(KernelContext& ctx) {
    const auto& idx = ctx.input(1);
    LOOM_REQUIRE(idx.shape().size() == 2, "indices must be 2-D");
    auto indices = read_indices(idx);
    Bags bags;
    bags.items.resize(at(idx.shape()[0]));
    const auto len = idx.shape()[1];
    for (std::size_t i = 0; i < indices.size(); ++i)
        bags.items[i / at(len)].emplace_back(indices[i], count(i));
    auto* w = optional_input(ctx, 2);
    check_weights(w, indices.size());
    return sum_bags(ctx, bags, w);
}

std::vector<Tensor> embedding_segments(KernelContext& ctx) {
    auto indices = read_indices(ctx.input(1));
    auto segments = read_indices(ctx.input(2));
    const auto n = scalar_i64(ctx.input(3));
    LOOM_REQUIRE(n >= 0, "num_segments {} is negative", n);
    LOOM_REQUIRE(segments.size() == indices.size(), "{} segment_ids for {} indices",
                 segments.size(), indices.size());
    Bags bags;
    bags.items.resize(at(n));
    for (std::size_t i = 0; i < indices.size(); ++i) {
        LOOM_REQUIRE(segments[i] >= 0 && segments[i] < n,
                     "segment id {} is out of range for {} segments", segments[i], n);
        bags.items[at(segments[i])].emplace_back(indices[i], count(i));
    }
    if (auto* d = optional_input(ctx, 4)) bags.default_index = scalar_i64(*d);
    auto* w = optional_input(ctx, 5);
    check_weights(w, indices.size());
    return sum_bags(ctx, bags, w);
}

} // namespace

void add_sequence_kernels(KernelTable& table) {
    const KernelOptions random{.half_via_f32 = false, .foldable = false};
    table.add("NonZero", "opset3", non_zero);
    table.add("Unique", "opset10", unique);
    table.add("RandomUniform", "opset8", random_uniform, random);
    table.add("Multinomial", "opset13", multinomial, {.half_via_f32 = true, .foldable = false});
    table.add("EmbeddingBagOffsetsSum", "opset3", embedding_offsets);
    table.add("EmbeddingBagPackedSum", "opset3", embedding_packed);
    table.add("EmbeddingSegmentsSum", "opset3", embedding_segments);
    add_nms_kernels(table);
}

} // namespace loom::reference
