// ONNX → native converters for quantization: QuantizeLinear, DequantizeLinear, QLinearConv/MatMul,
// ConvInteger, MatMulInteger (default domain, opsets 1..17). Each converter produces OpenVINO-opset
// nodes with OpenVINO's attribute names and kinds, the way OpenVINO's ONNX frontend maps the op.
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

// x - zero_point in i32; a per-channel zero point [C] aligns with dim 0 of the weights.
Output shift_to_i32(ConvertContext& ctx, std::size_t value, std::size_t zero_point,
                    bool per_output_channel) {
    Output v = convert(ctx, ctx.input(value), ElementType::I32);
    if (!ctx.has_input(zero_point)) return v;
    Output zp = convert(ctx, ctx.input(zero_point), ElementType::I32);
    const PartialShape& zs = ctx.input_shape(zero_point);
    auto wr = static_rank(ctx.input_shape(value));
    if (per_output_channel && zs.rank_is_static() && zs.rank() == 1 && wr && *wr > 1) {
        I64s target(static_cast<std::size_t>(*wr), 1);
        target[0] = -1;
        zp = reshape(ctx, zp, target);
    }
    return binary(ctx, "Subtract", v, zp);
}

Outs convert_conv_integer(ConvertContext& ctx) {
    Output x = shift_to_i32(ctx, 0, 2, false);
    Output w = shift_to_i32(ctx, 1, 3, true);
    return {conv_core(ctx, x, w)};
}

Outs convert_dequantize_linear(ConvertContext& ctx) {
    ElementType t = ctx.input_type(1);
    Output scale = ctx.input(1);
    Output y = convert(ctx, ctx.input(0), t);
    std::optional<Output> zp;
    if (ctx.has_input(2)) zp = convert(ctx, ctx.input(2), t);
    const PartialShape& ss = ctx.input_shape(1);
    if (ss.rank_is_static() && ss.rank() == 1 && !(ss[0].is_static() && ss[0].length() == 1)) {
        // Per-axis: [C] aligns with `axis` of x.
        auto r = static_rank(ctx.input_shape(0));
        if (!r) ctx.unsupported("per-axis DequantizeLinear needs an input of static rank");
        std::int64_t axis = ctx.attr_int("axis", 1);
        if (axis < 0) axis += *r;
        if (axis < 0 || axis >= *r)
            ctx.fail(fmt::format("axis {} is out of range for an input of rank {}",
                                 ctx.attr_int("axis", 1), *r));
        I64s trailing;
        for (std::int64_t k = 1; k < *r - axis; ++k)
            trailing.push_back(k);
        if (!trailing.empty()) {
            scale = unsqueeze(ctx, scale, trailing);
            if (zp) zp = unsqueeze(ctx, *zp, trailing);
        }
    }
    if (zp) y = binary(ctx, "Subtract", y, *zp);
    return {binary(ctx, "Multiply", y, scale)};
}

// A 1-D per-axis parameter reshaped to broadcast along `axis` of a rank-`rank` value.
Output align_to_axis(ConvertContext& ctx, Output param, std::int64_t axis, std::int64_t rank) {
    if (rank_of(param) != 1 || rank <= 1 || axis >= rank - 1) return param;
    return unsqueeze(ctx, param, iota(1, rank - axis));
}

// (x - zp) * scale in the scale's type; `zp` may be absent (Output{}).
Output dequantize(ConvertContext& ctx, Output x, Output scale, Output zp) {
    auto ft = type_of(scale);
    Output v = convert_to(ctx, x, ft);
    if (zp.node) v = binary(ctx, "Subtract", v, convert_to(ctx, zp, ft));
    return binary(ctx, "Multiply", v, scale);
}

std::pair<double, double> integer_range(ConvertContext& ctx, ElementType t) {
    switch (t) {
    case ElementType::U8:
        return {0.0, 255.0};
    case ElementType::I8:
        return {-128.0, 127.0};
    case ElementType::U16:
        return {0.0, 65535.0};
    case ElementType::I16:
        return {-32768.0, 32767.0};
    case ElementType::I32:
        return {-2147483648.0, 2147483647.0};
    case ElementType::U32:
        return {0.0, 4294967295.0};
    default:
        break;
    }
    ctx.unsupported(fmt::format("quantizing to {} is not supported", loom::to_string(t)));
}

// saturate(round_half_even(x / scale) + zp) converted to `out`.
Output quantize(ConvertContext& ctx, Output x, Output scale, Output zp, ElementType out) {
    auto ft = type_of(scale);
    Output v = binary(ctx, "Divide", convert_to(ctx, x, ft), scale);
    v = op(ctx, "Round", "opset5", {v}, attrs({{"mode", str("half_to_even")}}));
    if (zp.node) v = binary(ctx, "Add", v, convert_to(ctx, zp, ft));
    auto [lo, hi] = integer_range(ctx, out);
    v = op(ctx, "Clamp", "opset1", {v}, attrs({{"min", f64(lo)}, {"max", f64(hi)}}));
    return convert_to(ctx, v, out);
}

Output optional_input(ConvertContext& ctx, std::size_t i) {
    return ctx.has_input(i) ? ctx.input(i) : Output{};
}

Outs convert_quantize_linear(ConvertContext& ctx) {
    Output x = ctx.input(0), scale = ctx.input(1), zp = optional_input(ctx, 2);
    auto out = zp.node ? type_of(zp) : ElementType::U8;
    if (rank_of(scale) == 1) {
        auto rank = require_rank(ctx, x, "input x with a per-axis scale");
        auto axis = ctx.attr_int("axis", 1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= std::max<std::int64_t>(rank, 1))
            ctx.fail(
                fmt::format("axis {} is out of range for rank {}", ctx.attr_int("axis", 1), rank));
        scale = align_to_axis(ctx, scale, axis, rank);
        if (zp.node) zp = align_to_axis(ctx, zp, axis, rank);
    }
    return {quantize(ctx, x, scale, zp, out)};
}

// A per-row (1-D) parameter of the left matmul operand broadcasts along rows: [M] → [M, 1].
Output per_row(ConvertContext& ctx, Output param, Output a) {
    if (rank_of(param) == 1 && rank_of(a).value_or(2) >= 2) return unsqueeze(ctx, param, {1});
    return param;
}

Outs convert_matmul_integer(ConvertContext& ctx) {
    Output a = convert_to(ctx, ctx.input(0), ElementType::I32);
    Output b = convert_to(ctx, ctx.input(1), ElementType::I32);
    if (ctx.has_input(2))
        a = binary(ctx, "Subtract", a,
                   per_row(ctx, convert_to(ctx, ctx.input(2), ElementType::I32), a));
    if (ctx.has_input(3))
        b = binary(ctx, "Subtract", b, convert_to(ctx, ctx.input(3), ElementType::I32));
    return {matmul(ctx, a, b)};
}

Outs convert_qlinear_matmul(ConvertContext& ctx) {
    Output a = ctx.input(0), b = ctx.input(3);
    auto af = dequantize(ctx, a, per_row(ctx, ctx.input(1), a), per_row(ctx, ctx.input(2), a));
    auto bf = dequantize(ctx, b, ctx.input(4), ctx.input(5));
    Output y_zp = ctx.input(7);
    return {quantize(ctx, matmul(ctx, af, bf), ctx.input(6), y_zp, type_of(y_zp))};
}

// ONNX Conv attributes over x and w (group → GroupConvolution with [G, M/G, C/G, k…] weights).
Output convolution(ConvertContext& ctx, Output x, Output w) {
    auto rw = require_rank(ctx, w, "the weights");
    if (rw < 3) ctx.fail("weights must have rank 3 or more");
    auto a = window_attrs(ctx, static_cast<std::size_t>(rw - 2), true);
    auto group = ctx.attr_int("group", 1);
    if (group == 1) return ctx.add("Convolution", "opset1", {x, w}, std::move(a)).output(0);
    if (group < 1) ctx.fail(fmt::format("group {} must be positive", group));
    Output target;
    if (auto ws = static_shape(w)) {
        if ((*ws)[0] % group != 0)
            ctx.fail(
                fmt::format("{} output channels are not divisible by group {}", (*ws)[0], group));
        I64s dims{group, (*ws)[0] / group};
        dims.insert(dims.end(), ws->begin() + 1, ws->end());
        target = ctx.constant_i64(dims);
    } else {
        auto tail = slice(ctx, shape_of(ctx, w), 1, k_max_i64);
        target = concat(ctx, {ctx.constant_i64({group, -1}), tail});
    }
    auto gw = reshape(ctx, w, target, false);
    return ctx.add("GroupConvolution", "opset1", {x, gw}, std::move(a)).output(0);
}

// QLinearConv: dequantize x and w (w per output channel), convolve in float, add the int32
// bias scaled by x_scale * w_scale, quantize with y's scale and zero point.
Outs convert_qlinear_conv(ConvertContext& ctx) {
    Output x = ctx.input(0), w = ctx.input(3);
    auto rw = require_rank(ctx, w, "the weights");
    auto rx = require_rank(ctx, x, "input x");
    auto xf = dequantize(ctx, x, ctx.input(1), optional_input(ctx, 2));
    Output w_scale = ctx.input(4);
    Output w_zp = optional_input(ctx, 5);
    auto wf = dequantize(ctx, w, align_to_axis(ctx, w_scale, 0, rw),
                         w_zp.node ? align_to_axis(ctx, w_zp, 0, rw) : w_zp);
    auto y = convolution(ctx, xf, wf);
    if (ctx.has_input(8)) {
        auto ft = type_of(ctx.input(1));
        auto bias_scale = binary(ctx, "Multiply", ctx.input(1), w_scale);
        auto bias = binary(ctx, "Multiply", convert_to(ctx, ctx.input(8), ft), bias_scale);
        y = binary(ctx, "Add", y, unsqueeze(ctx, bias, iota(1, rx - 1)));
    }
    Output y_zp = optional_input(ctx, 7);
    auto out = y_zp.node ? type_of(y_zp) : ctx.input_type(0);
    return {quantize(ctx, y, ctx.input(6), y_zp, out)};
}

} // namespace

void add_converters_quant(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"ConvInteger", 10, convert_conv_integer},
        {"DequantizeLinear", 10, convert_dequantize_linear},
        {"MatMulInteger", 10, convert_matmul_integer},
        {"QLinearConv", 10, convert_qlinear_conv},
        {"QLinearMatMul", 10, convert_qlinear_matmul},
        {"QuantizeLinear", 10, convert_quantize_linear},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
