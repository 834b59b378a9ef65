// ONNX → native converters for reductions, ArgMax/ArgMin, TopK, CumSum, global pooling and the
// softmax family (default domain, opsets 1..17). Each converter produces OpenVINO-opset nodes with
// OpenVINO's attribute names and kinds, the way OpenVINO's ONNX frontend maps the op.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "components/reader/onnx/convert_util.hpp"
#include "components/reader/onnx/converters.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {
namespace {

// TopK(k=1) along `axis`: (values, indices i64), ties resolved to the first index.
model::Node& top1(ConvertContext& ctx, Output x, std::int64_t axis, const char* mode) {
    return ctx.add("TopK", "opset11", {x, ctx.scalar_i64(1)},
                   attrs({{"axis", i64(axis)},
                          {"mode", str(mode)},
                          {"sort", str("none")},
                          {"index_element_type", ElementType::I64},
                          {"stable", flag(true)}}),
                   2);
}

Outs arg_extreme(ConvertContext& ctx, const char* mode) {
    std::int64_t axis = ctx.attr_int("axis", 0);
    bool keep = ctx.attr_int("keepdims", 1) != 0;
    bool last = ctx.attr_int("select_last_index", 0) != 0;
    Output x = ctx.input(0);
    // select_last_index: search the reversed axis, then map the index back.
    if (last) x = slice(ctx, x, -1, k_min_i64, -1, axis);
    Output idx = top1(ctx, x, axis, mode).output(1);
    if (last) {
        Output len = dims_of(ctx, ctx.input(0), {axis});
        idx = binary(ctx, "Subtract", binary(ctx, "Subtract", len, ctx.constant_i64({1})), idx);
    }
    if (!keep) idx = squeeze(ctx, idx, {axis});
    return {idx};
}
Outs convert_arg_max(ConvertContext& ctx) {
    return arg_extreme(ctx, "max");
}
Outs convert_arg_min(ConvertContext& ctx) {
    return arg_extreme(ctx, "min");
}

// One-hot of the maximum along `axis` (first maximum on ties).
Output hardmax_along(ConvertContext& ctx, Output x, std::int64_t axis) {
    ElementType t = type_of(x);
    Output idx = squeeze(ctx, top1(ctx, x, axis, "max").output(1), {axis});
    Output depth = dim_scalar(ctx, x, axis);
    return op(ctx, "OneHot", "opset1",
              {idx, depth, ctx.scalar_like(1.0, t), ctx.scalar_like(0.0, t)},
              attrs({{"axis", i64(axis)}}));
}

Outs convert_hardmax(ConvertContext& ctx) {
    Output x = ctx.input(0);
    if (ctx.opset() >= 13) return {hardmax_along(ctx, x, ctx.attr_int("axis", -1))};
    Output flat = flatten_2d(ctx, x, ctx.attr_int("axis", 1));
    return {reshape(ctx, hardmax_along(ctx, flat, 1), shape_like(ctx, x))};
}

Outs convert_log_softmax(ConvertContext& ctx) {
    Output x = ctx.input(0);
    if (ctx.opset() >= 13)
        return {
            op(ctx, "LogSoftmax", "opset5", {x}, attrs({{"axis", i64(ctx.attr_int("axis", -1))}}))};
    std::int64_t axis = ctx.attr_int("axis", 1);
    auto r = static_rank(ctx.input_shape(0));
    if (r && (axis == *r - 1 || axis == -1))
        return {op(ctx, "LogSoftmax", "opset5", {x}, attrs({{"axis", i64(axis)}}))};
    Output flat = flatten_2d(ctx, x, axis);
    Output y = op(ctx, "LogSoftmax", "opset5", {flat}, attrs({{"axis", i64(1)}}));
    return {reshape(ctx, y, shape_like(ctx, x))};
}

Outs convert_global_average_pool(ConvertContext& ctx) {
    Output x = ctx.input(0);
    return {reduce(ctx, "ReduceMean", "opset1", x, axes_from(ctx, x, 2))};
}
Outs convert_global_max_pool(ConvertContext& ctx) {
    Output x = ctx.input(0);
    return {reduce(ctx, "ReduceMax", "opset1", x, axes_from(ctx, x, 2))};
}

// Lp norm of x over `axes` (kept): ReduceL1/ReduceL2, else (Σ|x|^p)^(1/p).
Output lp_reduce(ConvertContext& ctx, Output x, Output axes, double p) {
    if (p == 1.0) return reduce(ctx, "ReduceL1", "opset4", x, axes);
    if (p == 2.0) return reduce(ctx, "ReduceL2", "opset4", x, axes);
    if (p <= 0.0) ctx.fail(fmt::format("p must be positive, got {}", p));
    ElementType t = type_of(x);
    Output powered = binary(ctx, "Power", op(ctx, "Abs", "opset1", {x}), ctx.scalar_like(p, t));
    Output sum = reduce(ctx, "ReduceSum", "opset1", powered, axes);
    return binary(ctx, "Power", sum, ctx.scalar_like(1.0 / p, t));
}

Outs convert_global_lp_pool(ConvertContext& ctx) {
    Output x = ctx.input(0);
    return {lp_reduce(ctx, x, axes_from(ctx, x, 2), lp_order(ctx))};
}

Outs convert_lp_normalization(ConvertContext& ctx) {
    Output x = ctx.input(0);
    std::int64_t axis = ctx.attr_int("axis", -1);
    std::int64_t p = ctx.attr_int("p", 2);
    Output axes = ctx.constant_i64({axis});
    if (p == 2)
        return {op(ctx, "NormalizeL2", "opset1", {x, axes},
                   attrs({{"eps", f64(0.0)}, {"eps_mode", str("add")}}))};
    if (p == 1) return {binary(ctx, "Divide", x, reduce(ctx, "ReduceL1", "opset4", x, axes))};
    ctx.fail(fmt::format("p must be 1 or 2, got {}", p));
}

Outs convert_cum_sum(ConvertContext& ctx) {
    Output axis = ctx.input(1);
    if (auto r = static_rank(ctx.input_shape(1)); r && *r == 1) axis = squeeze(ctx, axis, {0});
    return {op(ctx, "CumSum", "opset3", {ctx.input(0), axis},
               attrs({{"exclusive", flag(ctx.attr_int("exclusive", 0) != 0)},
                      {"reverse", flag(ctx.attr_int("reverse", 0) != 0)}}))};
}

// Softmax-13 → Softmax-8 on `axis`. Before 13 ONNX flattens to 2-D at `axis` (default 1),
// normalizes each row and restores the shape; on the last axis that is a plain Softmax.
Outs convert_softmax(ConvertContext& ctx) {
    Output x = ctx.input(0);
    if (ctx.opset() >= 13)
        return {
            op(ctx, "Softmax", "opset8", {x}, attrs({{"axis", i64(ctx.attr_int("axis", -1))}}))};
    auto axis = ctx.attr_int("axis", 1);
    auto rank = rank_of(x);
    if (rank && (axis == *rank - 1 || axis == -1))
        return {op(ctx, "Softmax", "opset8", {x}, attrs({{"axis", i64(-1)}}))};
    if (auto s = static_shape(x)) {
        auto r = static_cast<std::int64_t>(s->size());
        auto a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) ctx.fail(fmt::format("axis {} is out of range for rank {}", axis, r));
        std::int64_t rows = 1, cols = 1;
        for (std::int64_t i = 0; i < r; ++i)
            (i < a ? rows : cols) *= (*s)[static_cast<std::size_t>(i)];
        auto flat = reshape(ctx, x, ctx.constant_i64({rows, cols}), false);
        auto sm = op(ctx, "Softmax", "opset8", {flat}, attrs({{"axis", i64(1)}}));
        return {reshape(ctx, sm, ctx.constant_i64(*s), false)};
    }
    auto shape = shape_of(ctx, x);
    auto rows = op(ctx, "ReduceProd", "opset1", {slice(ctx, shape, 0, axis), ctx.constant_i64({0})},
                   attrs({{"keep_dims", flag(true)}}));
    auto flat = reshape(ctx, x, concat(ctx, {rows, ctx.constant_i64({-1})}), false);
    auto sm = op(ctx, "Softmax", "opset8", {flat}, attrs({{"axis", i64(1)}}));
    return {reshape(ctx, sm, shape, false)};
}

struct ReduceAxes {
    bool identity = false; // noop_with_empty_axes with no axes: the input passes through
    Output axes;
};

// A runtime axes input: ONNX reduces over every axis when it is empty (unless
// noop_with_empty_axes), OpenVINO over none, so all axes are appended when it is empty.
Output runtime_axes(ConvertContext& ctx, Output x, Output axes) {
    auto shape = static_shape(axes);
    if (ctx.attr_int("noop_with_empty_axes", 0) != 0 || (shape && model::shape_size(*shape) > 0))
        return axes;
    auto i64_axes = convert(ctx, axes, ElementType::I64);
    auto empty = binary(ctx, "Equal", shape_of(ctx, i64_axes), ctx.constant_i64({0}));
    auto rank = rank_of(x);
    auto count = binary(ctx, "Multiply", rank ? ctx.scalar_i64(*rank) : rank_scalar(ctx, x),
                        to_scalar(ctx, convert(ctx, empty, ElementType::I64)));
    return concat(ctx, {i64_axes, range_i64(ctx, ctx.scalar_i64(0), count, ctx.scalar_i64(1))});
}

// ReduceSum takes axes as an input from opset 13, the other reductions from opset 18.
ReduceAxes reduce_axes(ConvertContext& ctx, Output x) {
    bool from_input = ctx.opset() >= 18 || (ctx.op_type() == "ReduceSum" && ctx.opset() >= 13);
    if (from_input) {
        if (ctx.has_input(1)) {
            auto values = ctx.input_values(1);
            auto shape = static_shape(ctx.input(1));
            bool known_empty = shape && model::shape_size(*shape) == 0;
            if (!values && !known_empty) return {false, runtime_axes(ctx, x, ctx.input(1))};
            if (values && !values->empty()) return {false, ctx.constant_i64(*values)};
        }
        if (ctx.attr_int("noop_with_empty_axes", 0) != 0) return {true, {}};
    } else {
        auto axes = ctx.attr_ints("axes");
        if (!axes.empty()) return {false, ctx.constant_i64(axes)};
    }
    return {false, all_axes(ctx, x)};
}

Outs convert_reduce(ConvertContext& ctx) {
    Output x = ctx.input(0);
    auto [identity, axes] = reduce_axes(ctx, x);
    if (identity) return {x};
    bool keep = ctx.attr_int("keepdims", 1) != 0;
    const auto& t = ctx.op_type();
    if (t == "ReduceL1") return {reduce(ctx, "ReduceL1", "opset4", x, axes, keep)};
    if (t == "ReduceL2") return {reduce(ctx, "ReduceL2", "opset4", x, axes, keep)};
    if (t == "ReduceLogSum")
        return {op(ctx, "Log", "opset1", {reduce(ctx, "ReduceSum", "opset1", x, axes, keep)})};
    if (t == "ReduceSumSquare")
        return {reduce(ctx, "ReduceSum", "opset1", binary(ctx, "Multiply", x, x), axes, keep)};
    if (t == "ReduceLogSumExp") {
        // log(sum(exp(x - m))) + m with m the max over the same axes, for stability.
        auto m = reduce(ctx, "ReduceMax", "opset1", x, axes, true);
        auto e = op(ctx, "Exp", "opset1", {binary(ctx, "Subtract", x, m)});
        auto s = op(ctx, "Log", "opset1", {reduce(ctx, "ReduceSum", "opset1", e, axes, true)});
        auto r = binary(ctx, "Add", s, m);
        return {keep ? r : op(ctx, "Squeeze", "opset1", {r, axes})};
    }
    static constexpr std::pair<std::string_view, const char*> plain[] = {
        {"ReduceMax", "ReduceMax"},   {"ReduceMin", "ReduceMin"}, {"ReduceMean", "ReduceMean"},
        {"ReduceProd", "ReduceProd"}, {"ReduceSum", "ReduceSum"},
    };
    for (const auto& [onnx, native] : plain)
        if (onnx == t) return {reduce(ctx, native, "opset1", x, axes, keep)};
    ctx.fail("not a reduction");
}

// TopK: k attribute (opset 1) or a [1] input; ties keep the lower index (stable sort).
Outs convert_topk(ConvertContext& ctx) {
    Output x = ctx.input(0);
    Output k;
    if (ctx.opset() < 10)
        k = ctx.scalar_i64(ctx.attr_int("k", 1));
    else if (auto v = ctx.input_values(1); v && v->size() == 1)
        k = ctx.scalar_i64((*v)[0]);
    else
        k = to_scalar(ctx, convert_to(ctx, ctx.input(1), ElementType::I64));
    bool largest = ctx.attr_int("largest", 1) != 0;
    bool sorted = ctx.attr_int("sorted", 1) != 0;
    auto a = attrs({{"axis", i64(ctx.attr_int("axis", -1))},
                    {"mode", str(largest ? "max" : "min")},
                    {"sort", str(sorted ? "value" : "none")},
                    {"index_element_type", ElementType::I64}});
    const char* version = "opset3";
    if (has_spec(ctx, "TopK", "opset11")) {
        version = "opset11";
        a.set("stable", true);
    }
    auto& node = ctx.add("TopK", version, {x, k}, std::move(a), 2);
    return {node.output(0), node.output(1)};
}

} // namespace

void add_converters_reduce(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"ArgMax", 1, convert_arg_max},
        {"ArgMin", 1, convert_arg_min},
        {"CumSum", 11, convert_cum_sum},
        {"GlobalAveragePool", 1, convert_global_average_pool},
        {"GlobalLpPool", 1, convert_global_lp_pool},
        {"GlobalMaxPool", 1, convert_global_max_pool},
        {"Hardmax", 1, convert_hardmax},
        {"LogSoftmax", 1, convert_log_softmax},
        {"LpNormalization", 1, convert_lp_normalization},
        {"ReduceL1", 1, convert_reduce},
        {"ReduceL2", 1, convert_reduce},
        {"ReduceLogSum", 1, convert_reduce},
        {"ReduceLogSumExp", 1, convert_reduce},
        {"ReduceMax", 1, convert_reduce},
        {"ReduceMean", 1, convert_reduce},
        {"ReduceMin", 1, convert_reduce},
        {"ReduceProd", 1, convert_reduce},
        {"ReduceSum", 1, convert_reduce},
        {"ReduceSumSquare", 1, convert_reduce},
        {"Softmax", 1, convert_softmax},
        {"TopK", 1, convert_topk},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
