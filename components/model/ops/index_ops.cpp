// Indexing ops of OpenVINO's opsets: the gather/scatter family, Slice/StridedSlice, Einsum and a
// few data-shaped ops (Bucketize, ExtractImagePatches, CTCGreedyDecoder*).
//
// Contract of every infer function here: exact shapes when the shape-defining inputs are
// constants and the data shape is static; otherwise the best partial shape (known rank, dynamic
// or bounded dims); invalid_argument naming the input or attribute when the inputs contradict
// the op's specification.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/ops.hpp"
#include "components/model/ops/shape_util.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

// ---- Gather family -------------------------------------------------------------------------

void infer_gather(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    const auto& idx = ctx.input_shape(1);
    auto batch_dims = ctx.attr_or<std::int64_t>("batch_dims", 0);
    auto axis_value = scalar_value(ctx, 2);
    auto type = ctx.input_type(0);
    if (data.rank_is_dynamic() || idx.rank_is_dynamic()) {
        ctx.set_output(0, type, PartialShape::dynamic());
        return;
    }
    if (batch_dims < 0) batch_dims += idx.rank();
    LOOM_REQUIRE(batch_dims >= 0 && batch_dims <= idx.rank() && batch_dims < data.rank(),
                 "Gather batch_dims {} is out of range for indices {} and data {}", batch_dims,
                 idx.to_string(), data.to_string());
    if (!axis_value) {
        ctx.set_output(0, type, PartialShape::dynamic(data.rank() + idx.rank() - 1 - batch_dims));
        return;
    }
    auto axis = normalize_axis(*axis_value, data.rank(), "Gather axis");
    LOOM_REQUIRE(axis >= batch_dims, "Gather axis {} is less than batch_dims {}", axis, batch_dims);
    Dims out;
    for (std::int64_t i = 0; i < axis; ++i)
        out.push_back(i < batch_dims ? merge_dim(data[at(i)], idx[at(i)], "Gather batch dimension")
                                     : data[at(i)]);
    for (std::int64_t i = batch_dims; i < idx.rank(); ++i)
        out.push_back(idx[at(i)]);
    for (std::int64_t i = axis + 1; i < data.rank(); ++i)
        out.push_back(data[at(i)]);
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

void infer_gather_elements(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    PartialShape out = ctx.input_shape(1);
    if (data.rank_is_static() && out.rank_is_static()) {
        LOOM_REQUIRE(data.rank() == out.rank(),
                     "GatherElements data {} and indices {} differ in rank", data.to_string(),
                     out.to_string());
        auto axis = dim_axis(ctx.attr<std::int64_t>("axis"), data.rank(), "GatherElements axis");
        for (std::int64_t i = 0; i < data.rank(); ++i)
            if (i != axis)
                out[at(i)] = merge_dim(out[at(i)], data[at(i)], "GatherElements outside axis");
    } else if (data.rank_is_static()) {
        out = PartialShape::dynamic(data.rank());
    }
    ctx.set_output(0, ctx.input_type(0), std::move(out));
}

void infer_gather_nd(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    const auto& idx = ctx.input_shape(1);
    auto batch_dims = ctx.attr_or<std::int64_t>("batch_dims", 0);
    const bool keep_batch = opset_number(ctx.node().version).value_or(8) >= 8;
    auto type = ctx.input_type(0);
    if (data.rank_is_dynamic() || idx.rank_is_dynamic() || idx.rank() == 0 ||
        idx[at(idx.rank() - 1)].is_dynamic()) {
        ctx.set_output(0, type, PartialShape::dynamic());
        return;
    }
    auto r = data.rank(), q = idx.rank(), k = idx[at(q - 1)].length();
    LOOM_REQUIRE(batch_dims >= 0 && batch_dims < std::min(r, q),
                 "GatherND batch_dims {} must be below the ranks of data {} and indices {}",
                 batch_dims, data.to_string(), idx.to_string());
    LOOM_REQUIRE(k <= r - batch_dims,
                 "GatherND indices' last dimension {} exceeds the data rank {} minus batch_dims", k,
                 r);
    Dims out;
    Dimension batch(1);
    for (std::int64_t i = 0; i < batch_dims; ++i) {
        auto d = merge_dim(data[at(i)], idx[at(i)], "GatherND batch dimension");
        if (keep_batch)
            out.push_back(d);
        else
            batch = batch * d;
    }
    if (!keep_batch && batch_dims > 0) out.push_back(batch);
    for (std::int64_t i = batch_dims; i < q - 1; ++i)
        out.push_back(idx[at(i)]);
    for (std::int64_t i = batch_dims + k; i < r; ++i)
        out.push_back(data[at(i)]);
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

void infer_gather_tree(InferContext& ctx) {
    static constexpr std::int64_t ranks[] = {3, 3, 1, 0};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto& s = ctx.input_shape(i);
        LOOM_REQUIRE(s.rank_is_dynamic() || s.rank() == ranks[i],
                     "GatherTree input {} must have rank {}, has shape {}", i, ranks[i],
                     s.to_string());
    }
    PartialShape out = ctx.input_shape(0);
    const auto& parents = ctx.input_shape(1);
    if (out.rank_is_static() && parents.rank_is_static())
        for (std::size_t i = 0; i < 3; ++i)
            out[i] = merge_dim(out[i], parents[i], "GatherTree step_ids and parent_idx");
    else if (out.rank_is_dynamic())
        out = parents;
    ctx.set_output(0, merge_types(ctx, 0, 1), std::move(out));
}

// ---- Scatter family ------------------------------------------------------------------------

void check_reduction(const InferContext& ctx, std::initializer_list<std::string_view> allowed) {
    auto reduction = ctx.attr_or<std::string>("reduction", "none");
    LOOM_REQUIRE(std::find(allowed.begin(), allowed.end(), reduction) != allowed.end(),
                 "reduction '{}' is not one of {}", reduction, fmt::join(allowed, ", "));
}

void check_scatter_types(InferContext& ctx) {
    merge_types(ctx, 0, 2);
    LOOM_REQUIRE(is_integral(ctx.input_type(1)) || ctx.input_type(1) == ElementType::UNDEFINED,
                 "scatter indices must be integers, not {}", loom::to_string(ctx.input_type(1)));
}

// Updates must have the shape `expected` (where known).
void check_updates(const InferContext& ctx, const PartialShape& expected) {
    LOOM_REQUIRE(ctx.input_shape(2).compatible(expected),
                 "updates have shape {} but data {} and indices {} need {}",
                 ctx.input_shape(2).to_string(), ctx.input_shape(0).to_string(),
                 ctx.input_shape(1).to_string(), expected.to_string());
}

// ScatterUpdate: updates = data[:axis] + indices + data[axis+1:].
void infer_scatter_update(InferContext& ctx) {
    check_scatter_types(ctx);
    const auto& data = ctx.input_shape(0);
    const auto& idx = ctx.input_shape(1);
    auto axis_value = scalar_value(ctx, 3);
    if (data.rank_is_static() && idx.rank_is_static() && axis_value) {
        auto axis = dim_axis(*axis_value, data.rank(), "ScatterUpdate axis");
        Dims expected(data.dims().begin(), data.dims().begin() + axis);
        expected.insert(expected.end(), idx.dims().begin(), idx.dims().end());
        expected.insert(expected.end(), data.dims().begin() + axis + 1, data.dims().end());
        check_updates(ctx, PartialShape(std::move(expected)));
    }
    pass_through(ctx);
}

void infer_scatter_elements(InferContext& ctx) {
    check_reduction(ctx, {"none", "sum", "prod", "min", "max", "mean"});
    LOOM_REQUIRE(ctx.input_shape(1).compatible(ctx.input_shape(2)),
                 "ScatterElementsUpdate indices {} and updates {} differ in shape",
                 ctx.input_shape(1).to_string(), ctx.input_shape(2).to_string());
    check_scatter_types(ctx);
    pass_through(ctx);
}

// ScatterNDUpdate: indices [..., k] address data[:k]; updates = indices[:-1] + data[k:].
void infer_scatter_nd(InferContext& ctx) {
    check_reduction(ctx, {"none", "sum", "sub", "prod", "min", "max"});
    check_scatter_types(ctx);
    const auto& data = ctx.input_shape(0);
    const auto& idx = ctx.input_shape(1);
    if (data.rank_is_static() && idx.rank_is_static()) {
        LOOM_REQUIRE(idx.rank() >= 1, "ScatterNDUpdate indices must have rank 1 or more");
        const auto& last = idx[at(idx.rank() - 1)];
        if (last.is_static()) {
            LOOM_REQUIRE(last.length() <= data.rank(),
                         "ScatterNDUpdate indices address {} axes of data {}", last.length(),
                         data.to_string());
            Dims expected(idx.dims().begin(), idx.dims().end() - 1);
            expected.insert(expected.end(), data.dims().begin() + last.length(), data.dims().end());
            check_updates(ctx, PartialShape(std::move(expected)));
        }
    }
    pass_through(ctx);
}

// ---- Slice / StridedSlice ------------------------------------------------------------------

constexpr std::int64_t k_big = std::int64_t(1) << 40; // "to the end" in practice

// Elements of [start, stop) by step over a dimension of static length `dim` (Python slicing).
std::int64_t slice_length(std::int64_t dim, std::int64_t start, std::int64_t stop,
                          std::int64_t step) {
    std::int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
    auto norm = [&](std::int64_t v) {
        if (v < 0) v = v < -dim ? lo : v + dim;
        return std::clamp<std::int64_t>(v, lo, hi);
    };
    auto b = norm(start), e = norm(stop);
    auto span = step > 0 ? e - b : b - e;
    // ceil(span / |step|) without overflow for any step (|INT64_MIN| is never needed exactly)
    auto stride =
        step > 0 ? step : (step == std::numeric_limits<std::int64_t>::min() ? k_big : -step);
    return span > 0 ? 1 + (span - 1) / stride : 0;
}

Dimension slice_dim(const Dimension& d, std::optional<std::int64_t> start,
                    std::optional<std::int64_t> stop, std::optional<std::int64_t> step) {
    if (step) LOOM_REQUIRE(*step != 0, "slice step is zero");
    if (!start || !stop || !step) return Dimension(0, d.max());
    if (d.is_static()) return Dimension(slice_length(d.length(), *start, *stop, *step));
    if (*step == -1 && (*start == -1 || *start >= k_big) && *stop <= -k_big) return d;
    if (*step > 0 && *start >= 0 && *stop >= 0) { // length grows with the dimension
        auto lo = slice_length(d.min(), *start, *stop, *step);
        if (d.max() != Dimension::k_unbounded)
            return Dimension(lo, slice_length(d.max(), *start, *stop, *step));
        if (*stop >= k_big) return Dimension(lo, Dimension::k_unbounded);
        return Dimension(lo, slice_length(*stop, *start, *stop, *step));
    }
    return Dimension(0, d.max());
}

std::optional<std::int64_t> nth(const std::optional<std::vector<std::int64_t>>& v, std::size_t i) {
    if (!v) return std::nullopt;
    return (*v)[i];
}

void infer_slice(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    auto type = ctx.input_type(0);
    if (data.rank_is_dynamic()) {
        ctx.set_output(0, type, data);
        return;
    }
    auto starts = ctx.input_values(1), stops = ctx.input_values(2), steps = ctx.input_values(3);
    std::optional<std::int64_t> n = input_length(ctx, 1);
    for (auto* v : {&starts, &stops, &steps})
        if (*v) {
            LOOM_REQUIRE(!n || count((*v)->size()) == *n,
                         "Slice start, stop and step (and axes) need the same length");
            n = count((*v)->size());
        }
    std::optional<std::vector<std::int64_t>> axes;
    if (ctx.input_count() > 4)
        axes = ctx.input_values(4);
    else if (n) {
        axes = std::vector<std::int64_t>(at(*n));
        std::iota(axes->begin(), axes->end(), 0);
    }
    Dims out = data.dims();
    if (!axes || !n) {
        for (auto& d : out)
            d = Dimension(0, d.max());
        ctx.set_output(0, type, PartialShape(std::move(out)));
        return;
    }
    LOOM_REQUIRE(count(axes->size()) == *n, "Slice axes have {} values, start has {}", axes->size(),
                 *n);
    LOOM_REQUIRE(data.rank() > 0 || axes->empty(), "Slice of a scalar names axes");
    auto norm = normalize_axes(*axes, data.rank(), "Slice axis");
    LOOM_REQUIRE(std::set<std::int64_t>(norm.begin(), norm.end()).size() == norm.size(),
                 "Slice axes {} repeat an axis", fmt::join(*axes, ","));
    for (std::size_t i = 0; i < norm.size(); ++i)
        out[at(norm[i])] =
            slice_dim(data[at(norm[i])], nth(starts, i), nth(stops, i), nth(steps, i));
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

bool bit(const std::vector<std::int64_t>& mask, std::size_t i) {
    return i < mask.size() && mask[i] != 0;
}

struct StridedMasks {
    std::vector<std::int64_t> begin, end, new_axis, shrink, ellipsis;
};

Dimension strided_dim(const Dimension& d, const StridedMasks& m, std::size_t i,
                      const std::optional<std::vector<std::int64_t>>& begins,
                      const std::optional<std::vector<std::int64_t>>& ends,
                      std::optional<std::int64_t> stride) {
    if (!stride) return Dimension(0, d.max());
    LOOM_REQUIRE(*stride != 0, "StridedSlice stride {} is zero", i);
    auto full_start = *stride > 0 ? std::int64_t(0) : std::numeric_limits<std::int64_t>::max();
    auto full_stop = *stride > 0 ? std::numeric_limits<std::int64_t>::max()
                                 : std::numeric_limits<std::int64_t>::min();
    auto b = bit(m.begin, i) ? std::optional(full_start) : nth(begins, i);
    auto e = bit(m.end, i) ? std::optional(full_stop) : nth(ends, i);
    return slice_dim(d, b, e, stride);
}

void infer_strided_slice(InferContext& ctx) {
    StridedMasks m{ctx.attr<std::vector<std::int64_t>>("begin_mask"),
                   ctx.attr<std::vector<std::int64_t>>("end_mask"),
                   ctx.attr_or<std::vector<std::int64_t>>("new_axis_mask", {}),
                   ctx.attr_or<std::vector<std::int64_t>>("shrink_axis_mask", {}),
                   ctx.attr_or<std::vector<std::int64_t>>("ellipsis_mask", {})};
    const auto& data = ctx.input_shape(0);
    auto begins = ctx.input_values(1), ends = ctx.input_values(2);
    auto strides = ctx.input_count() > 3 ? ctx.input_values(3) : std::nullopt;
    auto n = begins ? std::optional(count(begins->size())) : input_length(ctx, 1);
    if (data.rank_is_dynamic() || !n) {
        ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic());
        return;
    }
    for (auto* v : {&ends, &strides})
        LOOM_REQUIRE(!*v || count((*v)->size()) == *n,
                     "StridedSlice begin, end and stride need the same length ({})", *n);
    if (ctx.input_count() <= 3) strides = std::vector<std::int64_t>(at(*n), 1);
    std::int64_t consuming = 0, ellipses = 0;
    for (std::size_t i = 0; i < at(*n); ++i) {
        if (bit(m.ellipsis, i))
            ++ellipses;
        else if (!bit(m.new_axis, i))
            ++consuming;
    }
    LOOM_REQUIRE(ellipses <= 1, "StridedSlice ellipsis_mask has {} bits set; at most one",
                 ellipses);
    LOOM_REQUIRE(consuming <= data.rank(), "StridedSlice slices {} axes of data {}", consuming,
                 data.to_string());
    Dims out;
    std::size_t a = 0;
    for (std::size_t i = 0; i < at(*n); ++i) {
        if (bit(m.ellipsis, i)) {
            for (auto k = data.rank() - consuming; k > 0; --k)
                out.push_back(data[a++]);
        } else if (bit(m.new_axis, i)) {
            out.push_back(Dimension(1));
        } else if (bit(m.shrink, i)) {
            const auto& d = data[a++];
            auto b = nth(begins, i);
            if (b && d.is_static())
                LOOM_REQUIRE(*b >= -d.length() && *b < d.length(),
                             "StridedSlice shrinks axis {} at {}, outside dimension {}", a - 1, *b,
                             d.length());
        } else {
            out.push_back(strided_dim(data[a], m, i, begins, ends, nth(strides, i)));
            ++a;
        }
    }
    for (; a < data.dims().size(); ++a)
        out.push_back(data[a]);
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

// ---- Einsum --------------------------------------------------------------------------------

struct Subscript {
    std::string labels;         // letters, without the ellipsis
    std::int64_t ellipsis = -1; // position of "..." among the labels, -1 when absent
};

Subscript parse_subscript(std::string_view text, std::string_view equation) {
    Subscript s;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text.substr(i, 3) == "...") {
            LOOM_REQUIRE(s.ellipsis < 0, "Einsum equation '{}' has two ellipses in one operand",
                         equation);
            s.ellipsis = count(s.labels.size());
            i += 2;
            continue;
        }
        char c = text[i];
        LOOM_REQUIRE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'),
                     "Einsum equation '{}' has an invalid character '{}'", equation, c);
        s.labels.push_back(c);
    }
    return s;
}

struct EinsumState {
    std::map<char, Dimension> labels;
    PartialShape ellipsis = PartialShape(Dims{});
};

void einsum_operand(EinsumState& st, const Subscript& sub, const PartialShape& s,
                    std::string_view equation) {
    if (s.rank_is_dynamic()) {
        if (sub.ellipsis >= 0) st.ellipsis = PartialShape::dynamic();
        for (char c : sub.labels)
            st.labels.try_emplace(c, Dimension());
        return;
    }
    auto k = count(sub.labels.size());
    LOOM_REQUIRE(sub.ellipsis >= 0 ? s.rank() >= k : s.rank() == k,
                 "Einsum operand {} does not match its subscript in '{}'", s.to_string(), equation);
    auto e = s.rank() - k;
    for (std::int64_t j = 0; j < k; ++j) {
        const auto& d = s[at(sub.ellipsis >= 0 && j >= sub.ellipsis ? j + e : j)];
        auto [it, fresh] = st.labels.try_emplace(sub.labels[at(j)], d);
        if (fresh || is_one(d)) continue;
        if (is_one(it->second)) {
            it->second = d;
            continue;
        }
        auto merged = it->second.merge(d);
        LOOM_REQUIRE(merged, "Einsum label '{}' has dimensions {} and {} in '{}'",
                     sub.labels[at(j)], it->second.to_string(), d.to_string(), equation);
        it->second = *merged;
    }
    if (sub.ellipsis >= 0 && st.ellipsis.rank_is_static()) {
        Dims ell(s.dims().begin() + sub.ellipsis, s.dims().begin() + sub.ellipsis + e);
        st.ellipsis = broadcast_numpy(st.ellipsis, PartialShape(std::move(ell)));
    }
}

void infer_einsum(InferContext& ctx) {
    std::string equation;
    for (char c : ctx.attr<std::string>("equation"))
        if (c != ' ') equation.push_back(c);
    auto arrow = equation.find("->");
    std::string_view lhs = std::string_view(equation).substr(0, arrow);
    std::vector<Subscript> subs;
    for (std::size_t pos = 0;;) {
        auto comma = lhs.find(',', pos);
        subs.push_back(parse_subscript(lhs.substr(pos, comma - pos), equation));
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    LOOM_REQUIRE(subs.size() == ctx.input_count(), "Einsum equation '{}' has {} operands, node {}",
                 equation, subs.size(), ctx.input_count());
    ElementType type = ctx.input_type(0);
    EinsumState st;
    bool any_ellipsis = false;
    for (std::size_t i = 0; i < subs.size(); ++i) {
        type = merge_types(ctx, 0, i);
        einsum_operand(st, subs[i], ctx.input_shape(i), equation);
        any_ellipsis |= subs[i].ellipsis >= 0;
    }
    Subscript out_sub;
    if (arrow != std::string::npos) {
        out_sub = parse_subscript(std::string_view(equation).substr(arrow + 2), equation);
    } else { // implicit: the ellipsis, then labels used once, alphabetically
        std::map<char, int> uses;
        for (const auto& s : subs)
            for (char c : s.labels)
                ++uses[c];
        out_sub.ellipsis = any_ellipsis ? 0 : -1;
        for (auto [c, n] : uses)
            if (n == 1) out_sub.labels.push_back(c);
    }
    if (out_sub.ellipsis >= 0 && st.ellipsis.rank_is_dynamic()) {
        ctx.set_output(0, type, PartialShape::dynamic());
        return;
    }
    Dims out;
    for (std::size_t j = 0; j <= out_sub.labels.size(); ++j) {
        if (count(j) == out_sub.ellipsis)
            out.insert(out.end(), st.ellipsis.dims().begin(), st.ellipsis.dims().end());
        if (j == out_sub.labels.size()) break;
        auto it = st.labels.find(out_sub.labels[j]);
        LOOM_REQUIRE(it != st.labels.end(),
                     "Einsum output label '{}' is not an input label in '{}'", out_sub.labels[j],
                     equation);
        out.push_back(it->second);
    }
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

void infer_bucketize(InferContext& ctx) {
    auto type = ctx.attr_or<ElementType>("output_type", ElementType::I64);
    LOOM_REQUIRE(type == ElementType::I64 || type == ElementType::I32,
                 "Bucketize output_type must be i64 or i32");
    const auto& buckets = ctx.input_shape(1);
    LOOM_REQUIRE(buckets.rank_is_dynamic() || buckets.rank() == 1,
                 "Bucketize buckets must be 1-D, has shape {}", buckets.to_string());
    ctx.set_output(0, type, ctx.input_shape(0));
}

Dimension patches_dim(const Dimension& in, std::int64_t size, std::int64_t stride,
                      std::int64_t rate, bool valid) {
    if (in.is_dynamic()) return Dimension();
    if (!valid) return Dimension((in.length() + stride - 1) / stride);
    auto extent = rate * (size - 1) + 1;
    return Dimension(in.length() >= extent ? (in.length() - extent) / stride + 1 : 0);
}

void infer_extract_image_patches(InferContext& ctx) {
    const auto& sizes = ctx.attr<std::vector<std::int64_t>>("sizes");
    const auto& strides = ctx.attr<std::vector<std::int64_t>>("strides");
    const auto& rates = ctx.attr<std::vector<std::int64_t>>("rates");
    auto pad = ctx.attr<std::string>("auto_pad");
    LOOM_REQUIRE(sizes.size() == 2 && strides.size() == 2 && rates.size() == 2,
                 "ExtractImagePatches sizes, strides and rates need two values each");
    for (std::size_t i = 0; i < 2; ++i)
        LOOM_REQUIRE(sizes[i] > 0 && strides[i] > 0 && rates[i] > 0,
                     "ExtractImagePatches sizes, strides and rates must be positive");
    LOOM_REQUIRE(pad == "valid" || pad == "same_upper" || pad == "same_lower",
                 "auto_pad '{}' is not valid, same_upper or same_lower", pad);
    const auto& in = ctx.input_shape(0);
    if (in.rank_is_dynamic()) {
        ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic(4));
        return;
    }
    LOOM_REQUIRE(in.rank() == 4, "ExtractImagePatches input must be 4-D, has shape {}",
                 in.to_string());
    ctx.set_output(
        0, ctx.input_type(0),
        PartialShape({in[0], in[1] * Dimension(sizes[0] * sizes[1]),
                      patches_dim(in[2], sizes[0], strides[0], rates[0], pad == "valid"),
                      patches_dim(in[3], sizes[1], strides[1], rates[1], pad == "valid")}));
}

void infer_ctc_greedy_decoder(InferContext& ctx) {
    const auto& logits = ctx.input_shape(0); // [T, N, C]
    LOOM_REQUIRE(logits.rank_is_dynamic() || logits.rank() == 3,
                 "CTCGreedyDecoder data must be 3-D, has shape {}", logits.to_string());
    Dimension t, n;
    if (logits.rank_is_static()) t = logits[0], n = logits[1];
    ctx.set_output(0, ctx.input_type(0), PartialShape({n, t, Dimension(1), Dimension(1)}));
}

void infer_ctc_greedy_decoder_seq_len(InferContext& ctx) {
    const auto& logits = ctx.input_shape(0); // [N, T, C]
    LOOM_REQUIRE(logits.rank_is_dynamic() || logits.rank() == 3,
                 "CTCGreedyDecoderSeqLen data must be 3-D, has shape {}", logits.to_string());
    Dimension t, n;
    if (logits.rank_is_static()) n = logits[0], t = logits[1];
    ctx.set_output(0, ctx.attr_or<ElementType>("classes_index_type", ElementType::I32),
                   PartialShape({n, t}));
    ctx.set_output(1, ctx.attr_or<ElementType>("sequence_length_type", ElementType::I32),
                   PartialShape({n}));
}

} // namespace

void add_index_ops(OpRegistry& r) {
    using K = AttrKind;
    add_spec(r, "Gather", "opset1", {}, 3, 3, infer_gather);
    add_spec(r, "Gather", "opset7", {{"batch_dims", K::Int, false}}, 3, 3, infer_gather);
    add_spec(r, "Gather", "opset8", {{"batch_dims", K::Int, false}}, 3, 3, infer_gather);
    add_spec(r, "GatherElements", "opset6", {{"axis", K::Int}}, 2, 2, infer_gather_elements);
    add_spec(r, "GatherND", "opset5", {{"batch_dims", K::Int, false}}, 2, 2, infer_gather_nd);
    add_spec(r, "GatherND", "opset8", {{"batch_dims", K::Int, false}}, 2, 2, infer_gather_nd);
    add_spec(r, "GatherTree", "opset1", {}, 4, 4, infer_gather_tree);
    add_spec(r, "ScatterUpdate", "opset3", {}, 4, 4, infer_scatter_update);
    add_spec(r, "ScatterElementsUpdate", "opset3", {}, 4, 4, infer_scatter_elements);
    add_spec(r, "ScatterElementsUpdate", "opset12",
             {{"reduction", K::String, false}, {"use_init_val", K::Bool, false}}, 4, 4,
             infer_scatter_elements);
    add_spec(r, "ScatterNDUpdate", "opset3", {}, 3, 3, infer_scatter_nd);
    add_spec(r, "ScatterNDUpdate", "opset15", {{"reduction", K::String, false}}, 3, 3,
             infer_scatter_nd);
    add_spec(r, "Slice", "opset8", {}, 4, 5, infer_slice);
    add_spec(r, "StridedSlice", "opset1",
             {{"begin_mask", K::Ints},
              {"end_mask", K::Ints},
              {"new_axis_mask", K::Ints, false},
              {"shrink_axis_mask", K::Ints, false},
              {"ellipsis_mask", K::Ints, false}},
             3, 4, infer_strided_slice);
    add_spec(r, "Einsum", "opset7", {{"equation", K::String}}, 1, SIZE_MAX, infer_einsum);
    add_spec(r, "Bucketize", "opset3",
             {{"output_type", K::Type, false}, {"with_right_bound", K::Bool, false}}, 2, 2,
             infer_bucketize);
    add_spec(
        r, "ExtractImagePatches", "opset3",
        {{"sizes", K::Ints}, {"strides", K::Ints}, {"rates", K::Ints}, {"auto_pad", K::String}}, 1,
        1, infer_extract_image_patches);
    add_spec(r, "CTCGreedyDecoder", "opset1", {{"ctc_merge_repeated", K::Bool, false}}, 2, 2,
             infer_ctc_greedy_decoder);
    add_spec(r, "CTCGreedyDecoderSeqLen", "opset6",
             {{"merge_repeated", K::Bool, false},
              {"classes_index_type", K::Type, false},
              {"sequence_length_type", K::Type, false}},
             2, 3, infer_ctc_greedy_decoder_seq_len);
}

} // namespace loom::model::ops
