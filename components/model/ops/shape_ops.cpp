// Shape-manipulating ops of OpenVINO's opsets: Reshape, Squeeze/Unsqueeze, Transpose, Concat,
// Split/VariadicSplit, Broadcast, Tile, Pad, Range, OneHot, Eye, ReverseSequence,
// Reverse, Roll. The indexing ops (gather/scatter, slicing, Einsum, …) are in index_ops.cpp.
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

// More outputs than this is a malformed model, not a split.
constexpr std::int64_t k_max_outputs = 1 << 16;

// ---- Reshape -------------------------------------------------------------------------------

// The element count of the static dims not skipped; invalid_argument when it does not fit in 64
// bits (found by fuzz_onnx: a Reshape target of absurd dims overflowed).
std::int64_t static_product(const Dims& dims, const std::vector<bool>& skip, bool& all_static) {
    std::int64_t p = 1;
    all_static = true;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i < skip.size() && skip[i]) continue;
        if (dims[i].is_dynamic()) {
            all_static = false;
        } else {
            LOOM_REQUIRE(!__builtin_mul_overflow(p, dims[i].length(), &p),
                         "Reshape: the shape {} has more elements than 64 bits count",
                         PartialShape(dims).to_string());
        }
    }
    return p;
}

void infer_reshape(InferContext& ctx) {
    const bool special_zero = ctx.attr<bool>("special_zero");
    const auto& in = ctx.input_shape(0);
    auto target = ctx.input_values(1);
    if (!target) {
        ctx.set_output(0, ctx.input_type(0), shape_from_input(ctx, 1));
        return;
    }
    LOOM_REQUIRE(std::count(target->begin(), target->end(), -1) <= 1,
                 "target shape {} has more than one -1", fmt::join(*target, ","));
    Dims out(target->size());
    std::vector<bool> copied_in, copied_out(target->size(), false);
    if (in.rank_is_static()) copied_in.assign(at(in.rank()), false);
    std::int64_t minus_one = -1;
    for (std::size_t i = 0; i < target->size(); ++i) {
        auto v = (*target)[i];
        LOOM_REQUIRE(v >= -1, "target shape value {} at {} is negative", v, i);
        if (v == -1) {
            minus_one = count(i);
        } else if (v == 0 && special_zero) {
            if (in.rank_is_dynamic()) continue; // stays dynamic
            LOOM_REQUIRE(count(i) < in.rank(),
                         "target shape copies dimension {} (special_zero) but the input {} has "
                         "rank {}",
                         i, in.to_string(), in.rank());
            out[i] = in[i];
            copied_in[i] = copied_out[i] = true;
        } else {
            out[i] = Dimension(v);
            copied_out[i] = false;
        }
    }
    if (in.rank_is_static()) {
        bool in_static = false, out_static = false;
        auto in_n = static_product(in.dims(), copied_in, in_static);
        std::vector<bool> skip = copied_out;
        if (minus_one >= 0) skip[at(minus_one)] = true;
        auto out_n = static_product(out, skip, out_static);
        if (minus_one >= 0 && in_static && out_static) {
            LOOM_REQUIRE(out_n != 0 ? in_n % out_n == 0 : in_n == 0,
                         "cannot reshape {} to {}: {} elements do not divide by {}", in.to_string(),
                         fmt::join(*target, ","), in_n, out_n);
            out[at(minus_one)] = Dimension(out_n != 0 ? in_n / out_n : 0);
        } else if (minus_one < 0 && in_static && out_static) {
            LOOM_REQUIRE(in_n == out_n,
                         "cannot reshape {} to {}: element counts differ ({} and {})",
                         in.to_string(), fmt::join(*target, ","), in_n, out_n);
        }
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

// ---- Squeeze / Unsqueeze -------------------------------------------------------------------

void squeeze_all(InferContext& ctx, const PartialShape& in) {
    Dims out;
    for (const auto& d : in.dims()) {
        if (is_one(d)) continue;
        if (d.is_dynamic() && d.compatible(Dimension(1))) { // might be 1: rank unknown
            ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic());
            return;
        }
        out.push_back(d);
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_squeeze(InferContext& ctx) {
    const auto& in = ctx.input_shape(0);
    if (in.rank_is_dynamic()) {
        ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic());
        return;
    }
    if (ctx.input_count() < 2) return squeeze_all(ctx, in);
    auto axes = ctx.input_values(1);
    if (!axes) {
        auto n = input_length(ctx, 1);
        bool one_axis = n && *n == 1 && in.rank() > 0;
        ctx.set_output(0, ctx.input_type(0),
                       one_axis ? PartialShape::dynamic(in.rank() - 1) : PartialShape::dynamic());
        return;
    }
    if (axes->empty()) return squeeze_all(ctx, in);
    auto norm = normalize_axes(*axes, in.rank(), "Squeeze axis");
    std::set<std::int64_t> drop(norm.begin(), norm.end());
    Dims out;
    for (std::int64_t i = 0; i < in.rank(); ++i) {
        const auto& d = in[at(i)];
        if (!drop.count(i)) {
            out.push_back(d);
            continue;
        }
        LOOM_REQUIRE(d.compatible(Dimension(1)),
                     "Squeeze axis {} has dimension {} in {}; only dimensions of 1 are removed", i,
                     d.to_string(), in.to_string());
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_unsqueeze(InferContext& ctx) {
    const auto& in = ctx.input_shape(0);
    auto axes = ctx.input_values(1);
    if (in.rank_is_dynamic() || !axes) {
        auto n = input_length(ctx, 1);
        bool one_axis = n && *n == 1 && in.rank_is_static();
        ctx.set_output(0, ctx.input_type(0),
                       one_axis ? PartialShape::dynamic(in.rank() + 1) : PartialShape::dynamic());
        return;
    }
    LOOM_REQUIRE(!axes->empty(), "Unsqueeze axes are empty");
    std::set<std::int64_t> unique(axes->begin(), axes->end());
    auto out_rank = in.rank() + count(unique.size());
    auto norm = normalize_axes(*axes, out_rank, "Unsqueeze axis");
    std::set<std::int64_t> add(norm.begin(), norm.end());
    LOOM_REQUIRE(add.size() == unique.size(), "Unsqueeze axes {} name one axis twice",
                 fmt::join(*axes, ","));
    Dims out;
    std::size_t next = 0;
    for (std::int64_t i = 0; i < out_rank; ++i)
        out.push_back(add.count(i) ? Dimension(1) : in[next++]);
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

// ---- Transpose / Concat / Split ------------------------------------------------------------

void infer_transpose(InferContext& ctx) {
    const auto& in = ctx.input_shape(0);
    auto order = ctx.input_values(1);
    if (in.rank_is_dynamic()) {
        auto n = input_length(ctx, 1);
        ctx.set_output(0, ctx.input_type(0),
                       n && *n > 0 ? PartialShape::dynamic(*n) : PartialShape::dynamic());
        return;
    }
    if (!order) {
        ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic(in.rank()));
        return;
    }
    auto rank = in.rank();
    if (order->empty()) {
        for (std::int64_t i = rank - 1; i >= 0; --i)
            order->push_back(i);
    }
    LOOM_REQUIRE(count(order->size()) == rank, "Transpose order {} has {} values for rank {}",
                 fmt::join(*order, ","), order->size(), rank);
    std::vector<bool> seen(at(rank), false);
    Dims out;
    for (auto v : *order) {
        LOOM_REQUIRE(v >= 0 && v < rank && !seen[at(v)],
                     "Transpose order {} is not a permutation of 0..{}", fmt::join(*order, ","),
                     rank - 1);
        seen[at(v)] = true;
        out.push_back(in[at(v)]);
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_concat(InferContext& ctx) {
    auto axis_attr = ctx.attr<std::int64_t>("axis");
    ElementType type = ElementType::UNDEFINED;
    std::optional<PartialShape> out;
    for (std::size_t i = 0; i < ctx.input_count(); ++i) {
        type = i == 0 ? ctx.input_type(0) : merge_types(ctx, 0, i);
        const auto& s = ctx.input_shape(i);
        if (s.rank_is_dynamic()) continue;
        LOOM_REQUIRE(s.rank() > 0, "Concat input {} is a scalar", i);
        auto axis = normalize_axis(axis_attr, s.rank(), "Concat axis");
        if (!out) {
            out = s;
            continue;
        }
        LOOM_REQUIRE(out->rank() == s.rank(), "Concat input {} has rank {}, others rank {}", i,
                     s.rank(), out->rank());
        for (std::int64_t d = 0; d < s.rank(); ++d) {
            auto& o = (*out)[at(d)];
            if (d == axis) {
                o = o + s[at(d)];
                continue;
            }
            auto m = o.merge(s[at(d)]);
            LOOM_REQUIRE(m, "Concat input {} has shape {}, incompatible with {} outside axis {}", i,
                         s.to_string(), out->to_string(), axis);
            o = *m;
        }
    }
    bool any_dynamic_rank = false;
    for (std::size_t i = 0; i < ctx.input_count(); ++i)
        any_dynamic_rank |= ctx.input_shape(i).rank_is_dynamic();
    if (out && any_dynamic_rank) {
        auto axis = normalize_axis(axis_attr, out->rank(), "Concat axis");
        (*out)[at(axis)] = Dimension((*out)[at(axis)].min(), Dimension::k_unbounded);
    }
    ctx.set_output(0, type, out ? *out : PartialShape::dynamic());
}

void infer_split(InferContext& ctx) {
    auto n = ctx.attr<std::int64_t>("num_splits");
    LOOM_REQUIRE(n > 0 && n <= k_max_outputs, "num_splits is {}; it must be in 1..{}", n,
                 k_max_outputs);
    const auto& in = ctx.input_shape(0);
    auto axis_value = scalar_value(ctx, 1);
    PartialShape part = in;
    if (in.rank_is_static() && !axis_value) part = PartialShape::dynamic(in.rank());
    if (in.rank_is_static() && axis_value) {
        auto axis = dim_axis(*axis_value, in.rank(), "Split axis");
        auto& d = part[at(axis)];
        if (d.is_static()) {
            LOOM_REQUIRE(d.length() % n == 0,
                         "Split axis {} has dimension {}, not divisible by num_splits {}", axis,
                         d.length(), n);
            d = Dimension(d.length() / n);
        } else {
            d = Dimension(d.min() / n, d.max() == Dimension::k_unbounded ? d.max() : d.max() / n);
        }
    }
    ctx.set_output_count(at(n));
    for (std::int64_t i = 0; i < n; ++i)
        ctx.set_output(at(i), ctx.input_type(0), part);
}

void infer_variadic_split(InferContext& ctx) {
    const auto& in = ctx.input_shape(0);
    auto axis_value = scalar_value(ctx, 1);
    auto lengths = ctx.input_values(2);
    auto n_out =
        lengths ? std::optional<std::int64_t>(count(lengths->size())) : input_length(ctx, 2);
    if (!n_out && !ctx.node().outputs.empty()) // the reader knows the output count
        n_out = count(ctx.node().outputs.size());
    LOOM_REQUIRE(n_out && *n_out <= k_max_outputs,
                 "VariadicSplit split_lengths must have a static length up to {}", k_max_outputs);
    ctx.set_output_count(at(*n_out));
    if (in.rank_is_dynamic() || !axis_value) {
        auto part = in.rank_is_static() ? PartialShape::dynamic(in.rank()) : in;
        for (std::int64_t i = 0; i < *n_out; ++i)
            ctx.set_output(at(i), ctx.input_type(0), part);
        return;
    }
    auto axis = dim_axis(*axis_value, in.rank(), "VariadicSplit axis");
    const auto& d = in[at(axis)];
    std::vector<Dimension> parts(at(*n_out));
    if (lengths) {
        LOOM_REQUIRE(std::count(lengths->begin(), lengths->end(), -1) <= 1,
                     "split_lengths {} has more than one -1", fmt::join(*lengths, ","));
        std::int64_t known = 0, minus_one = -1;
        for (std::size_t i = 0; i < lengths->size(); ++i) {
            auto v = (*lengths)[i];
            LOOM_REQUIRE(v >= -1, "split_lengths value {} is negative", v);
            if (v == -1)
                minus_one = count(i);
            else
                known += v, parts[i] = Dimension(v);
        }
        if (d.is_static()) {
            LOOM_REQUIRE(minus_one >= 0 ? known <= d.length() : known == d.length(),
                         "split_lengths {} do not add up to dimension {} of axis {}",
                         fmt::join(*lengths, ","), d.length(), axis);
            if (minus_one >= 0) parts[at(minus_one)] = Dimension(d.length() - known);
        }
    }
    for (std::int64_t i = 0; i < *n_out; ++i) {
        PartialShape s = in;
        s[at(axis)] = parts[at(i)];
        ctx.set_output(at(i), ctx.input_type(0), std::move(s));
    }
}

// ---- Broadcast / Tile / Pad ----------------------------------------------------------------

PartialShape broadcast_numpy_to(const PartialShape& data, const PartialShape& target) {
    if (data.rank_is_dynamic() || target.rank_is_dynamic()) return target;
    LOOM_REQUIRE(data.rank() <= target.rank(),
                 "Broadcast data {} has higher rank than the target shape {}", data.to_string(),
                 target.to_string());
    PartialShape out = target;
    auto offset = target.rank() - data.rank();
    for (std::int64_t i = 0; i < data.rank(); ++i) {
        const auto& d = data[at(i)];
        auto& t = out[at(i + offset)];
        if (is_one(d)) continue;
        if (t.is_dynamic() && target[at(i + offset)] == Dimension()) {
            t = d; // a -1 target dim takes the data's
            continue;
        }
        LOOM_REQUIRE(d.compatible(t) || d.compatible(Dimension(1)),
                     "Broadcast data {} does not broadcast to the target shape {}",
                     data.to_string(), target.to_string());
    }
    return out;
}

void infer_broadcast(InferContext& ctx) {
    auto mode = ctx.attr_or<std::string>("mode", "numpy");
    const auto& data = ctx.input_shape(0);
    auto target = shape_from_input(ctx, 1);
    PartialShape out;
    if (mode == "numpy" || mode == "pdpd") {
        out = mode == "numpy" ? broadcast_numpy_to(data, target) : target;
    } else if (mode == "bidirectional") {
        LOOM_REQUIRE(opset_number(ctx.node().version).value_or(3) >= 3,
                     "Broadcast mode bidirectional needs opset3 or later");
        if (target.rank_is_static() && data.rank_is_static() && !ctx.input_values(1)) {
            auto r = std::max(data.rank(), target.rank());
            out = PartialShape::dynamic(r);
        } else {
            out = broadcast_numpy(data, target);
        }
    } else if (mode == "explicit" || mode == "none") {
        LOOM_REQUIRE(ctx.input_count() == 3, "Broadcast mode {} needs the axes_mapping input",
                     mode);
        out = target;
        auto mapping = ctx.input_values(2);
        if (mapping && data.rank_is_static() && target.rank_is_static()) {
            LOOM_REQUIRE(count(mapping->size()) == data.rank(),
                         "axes_mapping has {} values for data of rank {}", mapping->size(),
                         data.rank());
            for (std::size_t i = 0; i < mapping->size(); ++i) {
                auto a = (*mapping)[i];
                LOOM_REQUIRE(a >= 0 && a < target.rank(), "axes_mapping value {} out of range", a);
                LOOM_REQUIRE(is_one(data[i]) || data[i].compatible(target[at(a)]),
                             "data dimension {} does not match target dimension {} (axis {})",
                             data[i].to_string(), target[at(a)].to_string(), a);
            }
        }
    } else {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "Broadcast mode '{}' is unknown", mode);
    }
    ctx.set_output(0, ctx.input_type(0), std::move(out));
}

void infer_tile(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    auto repeats = ctx.input_values(1);
    auto n = input_length(ctx, 1);
    if (data.rank_is_dynamic() || !n) {
        ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic());
        return;
    }
    auto rank = std::max(data.rank(), *n);
    Dims out(at(rank));
    for (std::int64_t i = 0; i < rank; ++i) {
        auto di = i - (rank - data.rank()), ri = i - (rank - *n);
        Dimension d = di >= 0 ? data[at(di)] : Dimension(1);
        if (!repeats) {
            out[at(i)] = Dimension();
            continue;
        }
        auto r = ri >= 0 ? (*repeats)[at(ri)] : 1;
        LOOM_REQUIRE(r >= 0, "Tile repeats value {} is negative", r);
        out[at(i)] = d * Dimension(r);
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_pad(InferContext& ctx) {
    auto mode = ctx.attr_or<std::string>("pad_mode", "constant");
    LOOM_REQUIRE(mode == "constant" || mode == "edge" || mode == "reflect" || mode == "symmetric",
                 "pad_mode '{}' is not constant, edge, reflect or symmetric", mode);
    if (ctx.input_count() == 4) merge_types(ctx, 0, 3);
    const bool negative_ok = opset_number(ctx.node().version).value_or(1) >= 12;
    const auto& data = ctx.input_shape(0);
    auto begin = ctx.input_values(1), end = ctx.input_values(2);
    if (data.rank_is_dynamic()) {
        auto n = input_length(ctx, 1);
        ctx.set_output(0, ctx.input_type(0), n ? PartialShape::dynamic(*n) : data);
        return;
    }
    Dims out(data.dims().size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!begin || !end) continue; // dynamic
        LOOM_REQUIRE(begin->size() == out.size() && end->size() == out.size(),
                     "pads_begin and pads_end need {} values (the data rank), got {} and {}",
                     out.size(), begin->size(), end->size());
        auto b = (*begin)[i], e = (*end)[i];
        LOOM_REQUIRE(negative_ok || (b >= 0 && e >= 0),
                     "negative pads ({}, {}) need Pad from opset12", b, e);
        const auto& d = data[i];
        if (d.is_static()) {
            LOOM_REQUIRE(d.length() + b + e >= 0, "pads {} and {} make dimension {} negative", b, e,
                         i);
            out[i] = Dimension(d.length() + b + e);
        } else {
            auto hi = d.max() == Dimension::k_unbounded
                          ? d.max()
                          : std::max<std::int64_t>(0, d.max() + b + e);
            out[i] = Dimension(std::max<std::int64_t>(0, d.min() + b + e), hi);
        }
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

// ---- Range / OneHot / Eye ------------------------------------------------------------------

std::optional<double> scalar_f64(const InferContext& ctx, std::size_t i) {
    const Tensor* t = ctx.input_constant(i);
    if (!t) return std::nullopt;
    LOOM_REQUIRE(t->size() == 1, "input {} must hold one value, not {}", i, t->size());
    return t->to_f64()[0];
}

void infer_range(InferContext& ctx) {
    ElementType type;
    if (ctx.node().attrs.has("output_type")) {
        type = ctx.attr<ElementType>("output_type");
    } else {
        type = merge_types(ctx, 0, 1);
        type = ctx.input_count() > 2 ? merge_types(ctx, 1, 2) : type;
    }
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& s = ctx.input_shape(i);
        LOOM_REQUIRE(s.rank_is_dynamic() || s.rank() == 0 || (s.rank() == 1 && s[0].compatible(1)),
                     "Range input {} must be a scalar, has shape {}", i, s.to_string());
    }
    auto start = scalar_f64(ctx, 0), stop = scalar_f64(ctx, 1), step = scalar_f64(ctx, 2);
    if (step) LOOM_REQUIRE(*step != 0, "Range step is zero");
    if (!start || !stop || !step) {
        ctx.set_output(0, type, PartialShape::dynamic(1));
        return;
    }
    if (is_integral(type)) {
        start = std::trunc(*start), stop = std::trunc(*stop), step = std::trunc(*step);
        LOOM_REQUIRE(*step != 0, "Range step truncates to zero for an integer output_type");
    }
    double n = std::ceil((*stop - *start) / *step);
    ctx.set_output(0, type, PartialShape({Dimension(n > 0 ? static_cast<std::int64_t>(n) : 0)}));
}

void infer_one_hot(InferContext& ctx) {
    auto type = merge_types(ctx, 2, 3);
    const auto& in = ctx.input_shape(0);
    auto depth = scalar_value(ctx, 1);
    if (depth) LOOM_REQUIRE(*depth >= 0, "OneHot depth {} is negative", *depth);
    if (in.rank_is_dynamic()) {
        ctx.set_output(0, type, PartialShape::dynamic());
        return;
    }
    auto axis = normalize_axis(ctx.attr<std::int64_t>("axis"), in.rank() + 1, "OneHot axis");
    Dims out = in.dims();
    out.insert(out.begin() + axis, depth ? Dimension(*depth) : Dimension());
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

void infer_eye(InferContext& ctx) {
    auto type = ctx.attr<ElementType>("output_type");
    auto dim_of = [&](std::size_t i) {
        auto v = scalar_value(ctx, i);
        if (v) LOOM_REQUIRE(*v >= 0, "Eye input {} is negative ({})", i, *v);
        return v ? Dimension(*v) : Dimension();
    };
    Dims rows_cols{dim_of(0), dim_of(1)};
    (void)scalar_value(ctx, 2); // diagonal_index: any value, one of it
    PartialShape batch = ctx.input_count() > 3 ? shape_from_input(ctx, 3) : PartialShape(Dims{});
    if (batch.rank_is_dynamic()) {
        ctx.set_output(0, type, PartialShape::dynamic());
        return;
    }
    Dims out = batch.dims();
    out.insert(out.end(), rows_cols.begin(), rows_cols.end());
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

// ---- Data-shaped ops -----------------------------------------------------------------------

void infer_reverse_sequence(InferContext& ctx) {
    PartialShape out = ctx.input_shape(0);
    const auto& lengths = ctx.input_shape(1);
    LOOM_REQUIRE(lengths.rank_is_dynamic() || lengths.rank() == 1,
                 "ReverseSequence seq_lengths must be 1-D, has shape {}", lengths.to_string());
    if (out.rank_is_static()) {
        auto batch = dim_axis(ctx.attr_or<std::int64_t>("batch_axis", 0), out.rank(), "batch_axis");
        dim_axis(ctx.attr_or<std::int64_t>("seq_axis", 1), out.rank(), "seq_axis");
        if (lengths.rank_is_static())
            out[at(batch)] = merge_dim(out[at(batch)], lengths[0],
                                       "ReverseSequence seq_lengths and the batch axis");
    }
    ctx.set_output(0, ctx.input_type(0), std::move(out));
}

void infer_reverse(InferContext& ctx) {
    auto mode = ctx.attr<std::string>("mode");
    LOOM_REQUIRE(mode == "index" || mode == "mask", "Reverse mode '{}' is not index or mask", mode);
    if (mode == "mask")
        LOOM_REQUIRE(ctx.input_type(1) == ElementType::BOOLEAN ||
                         ctx.input_type(1) == ElementType::UNDEFINED,
                     "Reverse mode mask needs a boolean axis input");
    pass_through(ctx);
}

void infer_roll(InferContext& ctx) {
    auto shift = input_length(ctx, 1), axes = input_length(ctx, 2);
    if (shift && axes && *shift != 1)
        LOOM_REQUIRE(*shift == *axes, "Roll shift has {} values, axes {}", *shift, *axes);
    pass_through(ctx);
}
} // namespace

void add_shape_ops(OpRegistry& r) {
    using K = AttrKind;
    add_spec(r, "Reshape", "opset1", {{"special_zero", K::Bool}}, 2, 2, infer_reshape);
    add_spec(r, "Squeeze", "opset1", {}, 1, 2, infer_squeeze);
    add_spec(r, "Unsqueeze", "opset1", {}, 2, 2, infer_unsqueeze);
    add_spec(r, "Transpose", "opset1", {}, 2, 2, infer_transpose);
    add_spec(r, "Concat", "opset1", {{"axis", K::Int}}, 1, SIZE_MAX, infer_concat);
    add_spec(r, "Split", "opset1", {{"num_splits", K::Int}}, 2, 2, infer_split);
    add_spec(r, "VariadicSplit", "opset1", {}, 3, 3, infer_variadic_split);
    add_spec(r, "Broadcast", "opset1", {{"mode", K::String, false}}, 2, 3, infer_broadcast);
    add_spec(r, "Broadcast", "opset3", {{"mode", K::String, false}}, 2, 3, infer_broadcast);
    add_spec(r, "Tile", "opset1", {}, 2, 2, infer_tile);
    add_spec(r, "Pad", "opset1", {{"pad_mode", K::String, false}}, 3, 4, infer_pad);
    add_spec(r, "Pad", "opset12", {{"pad_mode", K::String, false}}, 3, 4, infer_pad);
    add_spec(r, "Range", "opset1", {}, 3, 3, infer_range);
    add_spec(r, "Range", "opset4", {{"output_type", K::Type}}, 3, 3, infer_range);
    add_spec(r, "OneHot", "opset1", {{"axis", K::Int}}, 4, 4, infer_one_hot);
    add_spec(r, "Eye", "opset9", {{"output_type", K::Type}}, 3, 4, infer_eye);
    add_spec(r, "ReverseSequence", "opset1",
             {{"batch_axis", K::Int, false}, {"seq_axis", K::Int, false}}, 2, 2,
             infer_reverse_sequence);
    add_spec(r, "Reverse", "opset1", {{"mode", K::String}}, 2, 2, infer_reverse);
    add_spec(r, "Roll", "opset7", {}, 3, 3, infer_roll);
}

} // namespace loom::model::ops
