// Shape-manipulating ops of OpenVINO's opsets: Reshape, Squeeze/Unsqueeze, Transpose, Concat,
// Split/VariadicSplit, Broadcast, Tile, Pad, Range, OneHot, Eye, the gather/scatter family,
// Slice/StridedSlice, Einsum and a few data-shaped ops (ReverseSequence, Bucketize, …).
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
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

using Dims = std::vector<Dimension>;

std::size_t at(std::int64_t i) {
    return static_cast<std::size_t>(i);
}
std::int64_t count(std::size_t n) {
    return static_cast<std::int64_t>(n);
}

// More outputs than this is a malformed model, not a split.
constexpr std::int64_t k_max_outputs = 1 << 16;

// normalize_axis() for an axis that indexes a dimension (so a scalar has none).
std::int64_t dim_axis(std::int64_t axis, std::int64_t rank, std::string_view what) {
    LOOM_REQUIRE(rank > 0, "{} {} needs an input of rank 1 or more, not a scalar", what, axis);
    return normalize_axis(axis, rank, what);
}

bool is_one(const Dimension& d) {
    return d.is_static() && d.length() == 1;
}

// The static length of 1-D input `i`, when known.
std::optional<std::int64_t> input_length(const InferContext& ctx, std::size_t i) {
    const auto& s = ctx.input_shape(i);
    if (s.rank_is_dynamic()) return std::nullopt;
    if (s.rank() == 0) return 1;
    if (s.rank() == 1 && s[0].is_static()) return s[0].length();
    return std::nullopt;
}

// A scalar (or one-element) constant input's value.
std::optional<std::int64_t> scalar_value(const InferContext& ctx, std::size_t i) {
    auto v = ctx.input_values(i);
    if (!v) return std::nullopt;
    LOOM_REQUIRE(v->size() == 1, "input {} must hold one value, not {}", i, v->size());
    return (*v)[0];
}

void pass_through(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

// ---- Reshape -------------------------------------------------------------------------------

std::int64_t static_product(const Dims& dims, const std::vector<bool>& skip, bool& all_static) {
    std::int64_t p = 1;
    all_static = true;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i < skip.size() && skip[i]) continue;
        if (dims[i].is_dynamic())
            all_static = false;
        else
            p *= dims[i].length();
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

// ---- Gather family -------------------------------------------------------------------------

Dimension merge_dim(const Dimension& a, const Dimension& b, std::string_view what) {
    auto m = a.merge(b);
    LOOM_REQUIRE(m, "{}: dimensions {} and {} differ", what, a.to_string(), b.to_string());
    return *m;
}

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
    add_index_ops(r);
}

} // namespace loom::model::ops
