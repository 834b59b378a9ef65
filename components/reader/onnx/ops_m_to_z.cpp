// ONNX → native converters for ONNX ops MatMul … Xor (default domain, opsets 1..17). Each
// converter produces OpenVINO-opset nodes with OpenVINO's attribute names and kinds. Ops whose
// libonnx schema has a function body and no better native form (NegativeLogLikelihoodLoss,
// SoftmaxCrossEntropyLoss) are not listed: the core expands their bodies. Sequence, optional
// and string ops are listed with a converter that states why they are refused.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "components/reader/onnx/converters.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {
namespace {

using model::Attributes;
using model::AttrValue;
using model::Tensor;
using I64s = std::vector<std::int64_t>;
using Outs = std::vector<Output>;

constexpr std::int64_t k_max_i64 = std::numeric_limits<std::int64_t>::max();

// ---- building blocks -------------------------------------------------------------------------

Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
    Attributes a;
    for (const auto& [key, value] : list)
        a.set(key, value);
    return a;
}
AttrValue str(std::string s) {
    return s;
}
AttrValue i64(std::int64_t v) {
    return v;
}
AttrValue f64(double v) {
    return v;
}
AttrValue flag(bool v) {
    return v;
}
AttrValue ints(I64s v) {
    return v;
}

Output op(ConvertContext& ctx, std::string type, std::string version, std::vector<Output> inputs,
          Attributes a = {}) {
    return ctx.add(std::move(type), std::move(version), std::move(inputs), std::move(a)).output(0);
}
const PartialShape& shape_of_value(Output v) {
    return v.node->outputs[v.index].shape;
}
ElementType type_of(Output v) {
    return v.node->outputs[v.index].type;
}
std::optional<std::int64_t> rank_of(Output v) {
    const auto& s = shape_of_value(v);
    if (s.rank_is_dynamic()) return std::nullopt;
    return s.rank();
}
std::optional<model::Shape> static_shape(Output v) {
    const auto& s = shape_of_value(v);
    if (!s.is_static()) return std::nullopt;
    return s.to_shape();
}
std::int64_t require_rank(ConvertContext& ctx, Output v, std::string_view what) {
    auto r = rank_of(v);
    if (!r) ctx.unsupported(fmt::format("{} must have a static rank", what));
    return *r;
}
// True when the registry holds exactly this version of the op (not only an older one).
bool has_spec(ConvertContext& ctx, std::string_view type, std::string_view version) {
    const auto* spec = ctx.registry().find(type, version);
    return spec && spec->version == version;
}

Output binary(ConvertContext& ctx, const char* type, Output a, Output b) {
    return op(ctx, type, "opset1", {a, b}, attrs({{"auto_broadcast", str("numpy")}}));
}
Output select(ConvertContext& ctx, Output cond, Output a, Output b) {
    return op(ctx, "Select", "opset1", {cond, a, b}, attrs({{"auto_broadcast", str("numpy")}}));
}
Output convert(ConvertContext& ctx, Output x, ElementType to) {
    if (type_of(x) == to) return x;
    return op(ctx, "Convert", "opset1", {x}, attrs({{"destination_type", to}}));
}
Output shape_of(ConvertContext& ctx, Output x) {
    return op(ctx, "ShapeOf", "opset3", {x}, attrs({{"output_type", ElementType::I64}}));
}
Output gather(ConvertContext& ctx, Output data, Output indices, std::int64_t axis = 0) {
    return op(ctx, "Gather", "opset8", {data, indices, ctx.scalar_i64(axis)},
              attrs({{"batch_dims", i64(0)}}));
}
// data[begin:end] along `axis` (Slice-8 clamps like Python).
Output slice(ConvertContext& ctx, Output data, std::int64_t begin, std::int64_t end,
             std::int64_t axis = 0) {
    return op(ctx, "Slice", "opset8",
              {data, ctx.constant_i64({begin}), ctx.constant_i64({end}), ctx.constant_i64({1}),
               ctx.constant_i64({axis})});
}
Output concat(ConvertContext& ctx, std::vector<Output> parts, std::int64_t axis = 0) {
    return op(ctx, "Concat", "opset1", std::move(parts), attrs({{"axis", i64(axis)}}));
}
Output unsqueeze(ConvertContext& ctx, Output x, I64s axes) {
    return op(ctx, "Unsqueeze", "opset1", {x, ctx.constant_i64(std::move(axes))});
}
Output reshape(ConvertContext& ctx, Output x, Output target, bool special_zero) {
    return op(ctx, "Reshape", "opset1", {x, target}, attrs({{"special_zero", flag(special_zero)}}));
}
// A rank-0 view of a one-element value (ONNX often passes "scalars" as [1]).
Output to_scalar(ConvertContext& ctx, Output x) {
    if (rank_of(x) == 0) return x;
    return reshape(ctx, x, ctx.constant_i64({}), false);
}
Output range_i64(ConvertContext& ctx, Output start, Output stop, Output step) {
    return op(ctx, "Range", "opset4", {start, stop, step},
              attrs({{"output_type", ElementType::I64}}));
}
// [0, 1, …, rank-1] of x: a constant when the rank is static, a Range over ShapeOf otherwise.
Output all_axes(ConvertContext& ctx, Output x) {
    if (auto r = rank_of(x)) {
        I64s axes(static_cast<std::size_t>(*r));
        for (std::size_t i = 0; i < axes.size(); ++i)
            axes[i] = static_cast<std::int64_t>(i);
        return ctx.constant_i64(axes);
    }
    auto rank = to_scalar(ctx, shape_of(ctx, shape_of(ctx, x)));
    return range_i64(ctx, ctx.scalar_i64(0), rank, ctx.scalar_i64(1));
}
I64s iota(std::int64_t begin, std::int64_t end) {
    I64s v;
    for (auto i = begin; i < end; ++i)
        v.push_back(i);
    return v;
}
// The values of an optional constant input; nullopt when absent, empty when an empty tensor.
bool is_empty_constant(ConvertContext& ctx, std::size_t i) {
    const auto* t = ctx.input_constant(i);
    return t && t->size() == 0;
}
bool present(ConvertContext& ctx, std::size_t i) {
    return ctx.has_input(i) && !is_empty_constant(ctx, i);
}

// Inputs 0 and 1 of a binary op, with ONNX's opset<7 `broadcast`/`axis` attributes applied:
// B is aligned to A starting at `axis`, which numpy broadcasting then covers.
std::pair<Output, Output> binary_inputs(ConvertContext& ctx) {
    Output a = ctx.input(0), b = ctx.input(1);
    if (ctx.opset() >= 7 || ctx.attr_int("broadcast", 0) == 0 || !ctx.has_attr("axis"))
        return {a, b};
    auto ra = require_rank(ctx, a, "input A of a legacy broadcast");
    auto rb = require_rank(ctx, b, "input B of a legacy broadcast");
    auto axis = ctx.attr_int("axis", 0);
    if (axis < 0) axis += ra;
    auto trailing = ra - axis - rb;
    if (axis < 0 || trailing < 0)
        ctx.fail(fmt::format("broadcast axis {} does not fit inputs of rank {} and {}",
                             ctx.attr_int("axis", 0), ra, rb));
    if (trailing == 0) return {a, b};
    return {a, unsqueeze(ctx, b, iota(rb, rb + trailing))};
}

// ---- element-wise ----------------------------------------------------------------------------

struct Mapping {
    std::string_view onnx;
    const char* native;
    const char* version;
};

constexpr Mapping k_unary[] = {
    {"Neg", "Negative", "opset1"},      {"Not", "LogicalNot", "opset1"},
    {"Relu", "Relu", "opset1"},         {"Sigmoid", "Sigmoid", "opset1"},
    {"Sign", "Sign", "opset1"},         {"Sin", "Sin", "opset1"},
    {"Sinh", "Sinh", "opset1"},         {"Sqrt", "Sqrt", "opset1"},
    {"Tan", "Tan", "opset1"},           {"Tanh", "Tanh", "opset1"},
    {"Softplus", "SoftPlus", "opset4"},
};
constexpr Mapping k_binary[] = {
    {"Mul", "Multiply", "opset1"},
    {"Sub", "Subtract", "opset1"},
    {"Or", "LogicalOr", "opset1"},
    {"Xor", "LogicalXor", "opset1"},
};
constexpr Mapping k_variadic[] = {
    {"Max", "Maximum", "opset1"},
    {"Min", "Minimum", "opset1"},
    {"Sum", "Add", "opset1"},
    {"Mean", "Add", "opset1"},
};

template <std::size_t N>
const Mapping& mapping_for(ConvertContext& ctx, const Mapping (&table)[N]) {
    for (const auto& m : table)
        if (m.onnx == ctx.op_type()) return m;
    ctx.fail("no native mapping for this op type");
}

Outs convert_unary(ConvertContext& ctx) {
    const auto& m = mapping_for(ctx, k_unary);
    return {op(ctx, m.native, m.version, {ctx.input(0)})};
}

Outs convert_binary(ConvertContext& ctx) {
    const auto& m = mapping_for(ctx, k_binary);
    auto [a, b] = binary_inputs(ctx);
    return {binary(ctx, m.native, a, b)};
}

// Max/Min/Sum/Mean: a chain of binary ops (numpy broadcasting); Mean divides by the count.
Outs convert_variadic(ConvertContext& ctx) {
    const auto& m = mapping_for(ctx, k_variadic);
    if (ctx.input_count() == 0) ctx.fail("needs at least one input");
    Output acc = ctx.input(0);
    for (std::size_t i = 1; i < ctx.input_count(); ++i)
        acc = binary(ctx, m.native, acc, ctx.input(i));
    if (ctx.op_type() == "Mean" && ctx.input_count() > 1)
        acc = binary(ctx, "Divide", acc,
                     ctx.scalar_like(static_cast<double>(ctx.input_count()), type_of(acc)));
    return {acc};
}

// Mod: fmod=1 truncates (sign of the dividend) → Mod; fmod=0 floors (sign of the divisor).
Outs convert_mod(ConvertContext& ctx) {
    bool fmod = ctx.attr_int("fmod", 0) != 0;
    if (!fmod && model::is_floating(ctx.input_type(0)))
        ctx.fail("fmod=0 is not allowed for floating-point inputs");
    return {binary(ctx, fmod ? "Mod" : "FloorMod", ctx.input(0), ctx.input(1))};
}

// Pow: the result has the base's type; an exponent of another type is converted (opset 12+).
Outs convert_pow(ConvertContext& ctx) {
    auto [a, b] = binary_inputs(ctx);
    return {binary(ctx, "Power", a, convert(ctx, b, type_of(a)))};
}

// PRelu: from opset 7 ONNX broadcasts the slope unidirectionally from the trailing dims;
// OpenVINO reads a 1-D slope as per-channel (as ONNX PRelu-1/6 did), so from opset 7 a
// lower-rank slope is given leading unit dims first.
Outs convert_prelu(ConvertContext& ctx) {
    Output x = ctx.input(0), slope = ctx.input(1);
    if (ctx.opset() < 7) return {op(ctx, "PRelu", "opset1", {x, slope})};
    auto rx = rank_of(x), rs = rank_of(slope);
    if (rx && rs && *rs >= 1 && *rs < *rx)
        slope = unsqueeze(ctx, slope, iota(0, *rx - *rs));
    else if ((!rx || !rs) && rs != 0)
        ctx.unsupported("PRelu needs inputs of static rank (or a scalar slope)");
    return {op(ctx, "PRelu", "opset1", {x, slope})};
}

Outs convert_reciprocal(ConvertContext& ctx) {
    Output x = ctx.input(0);
    return {binary(ctx, "Divide", ctx.scalar_like(1.0, type_of(x)), x)};
}

Outs convert_round(ConvertContext& ctx) {
    return {op(ctx, "Round", "opset5", {ctx.input(0)}, attrs({{"mode", str("half_to_even")}}))};
}

Outs convert_selu(ConvertContext& ctx) {
    Output x = ctx.input(0);
    auto alpha = ctx.attr_float("alpha", 1.67326319217681884765625);
    auto gamma = ctx.attr_float("gamma", 1.05070102214813232421875);
    return {op(ctx, "Selu", "opset1",
               {x, ctx.scalar_like(alpha, type_of(x)), ctx.scalar_like(gamma, type_of(x))})};
}

// Shrink: x < -lambd → x + bias; x > lambd → x - bias; else 0.
Outs convert_shrink(ConvertContext& ctx) {
    Output x = ctx.input(0);
    auto t = type_of(x);
    auto lambd = ctx.attr_float("lambd", 0.5);
    auto bias = ctx.attr_float("bias", 0.0);
    auto low = binary(ctx, "Less", x, ctx.scalar_like(-lambd, t));
    auto high = binary(ctx, "Greater", x, ctx.scalar_like(lambd, t));
    auto upper = select(ctx, high, binary(ctx, "Subtract", x, ctx.scalar_like(bias, t)),
                        ctx.scalar_like(0.0, t));
    return {select(ctx, low, binary(ctx, "Add", x, ctx.scalar_like(bias, t)), upper)};
}

Outs convert_softsign(ConvertContext& ctx) {
    Output x = ctx.input(0);
    if (has_spec(ctx, "SoftSign", "opset9")) return {op(ctx, "SoftSign", "opset9", {x})};
    auto denom =
        binary(ctx, "Add", op(ctx, "Abs", "opset1", {x}), ctx.scalar_like(1.0, type_of(x)));
    return {binary(ctx, "Divide", x, denom)};
}

// ThresholdedRelu: x where x > alpha, else 0.
Outs convert_thresholded_relu(ConvertContext& ctx) {
    Output x = ctx.input(0);
    auto t = type_of(x);
    auto mask = binary(ctx, "Greater", x, ctx.scalar_like(ctx.attr_float("alpha", 1.0), t));
    return {select(ctx, mask, x, ctx.scalar_like(0.0, t))};
}

Outs convert_where(ConvertContext& ctx) {
    return {select(ctx, ctx.input(0), ctx.input(1), ctx.input(2))};
}

// ---- matrix products and quantization -------------------------------------------------------

Output matmul(ConvertContext& ctx, Output a, Output b) {
    return op(ctx, "MatMul", "opset1", {a, b},
              attrs({{"transpose_a", flag(false)}, {"transpose_b", flag(false)}}));
}

Outs convert_matmul(ConvertContext& ctx) {
    return {matmul(ctx, ctx.input(0), ctx.input(1))};
}

// A 1-D per-axis parameter reshaped to broadcast along `axis` of a rank-`rank` value.
Output align_to_axis(ConvertContext& ctx, Output param, std::int64_t axis, std::int64_t rank) {
    if (rank_of(param) != 1 || rank <= 1 || axis >= rank - 1) return param;
    return unsqueeze(ctx, param, iota(1, rank - axis));
}

// (x - zp) * scale in the scale's type; `zp` may be absent (Output{}).
Output dequantize(ConvertContext& ctx, Output x, Output scale, Output zp) {
    auto ft = type_of(scale);
    Output v = convert(ctx, x, ft);
    if (zp.node) v = binary(ctx, "Subtract", v, convert(ctx, zp, ft));
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
    Output v = binary(ctx, "Divide", convert(ctx, x, ft), scale);
    v = op(ctx, "Round", "opset5", {v}, attrs({{"mode", str("half_to_even")}}));
    if (zp.node) v = binary(ctx, "Add", v, convert(ctx, zp, ft));
    auto [lo, hi] = integer_range(ctx, out);
    v = op(ctx, "Clamp", "opset1", {v}, attrs({{"min", f64(lo)}, {"max", f64(hi)}}));
    return convert(ctx, v, out);
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
    Output a = convert(ctx, ctx.input(0), ElementType::I32);
    Output b = convert(ctx, ctx.input(1), ElementType::I32);
    if (ctx.has_input(2))
        a = binary(ctx, "Subtract", a,
                   per_row(ctx, convert(ctx, ctx.input(2), ElementType::I32), a));
    if (ctx.has_input(3))
        b = binary(ctx, "Subtract", b, convert(ctx, ctx.input(3), ElementType::I32));
    return {matmul(ctx, a, b)};
}

Outs convert_qlinear_matmul(ConvertContext& ctx) {
    Output a = ctx.input(0), b = ctx.input(3);
    auto af = dequantize(ctx, a, per_row(ctx, ctx.input(1), a), per_row(ctx, ctx.input(2), a));
    auto bf = dequantize(ctx, b, ctx.input(4), ctx.input(5));
    Output y_zp = ctx.input(7);
    return {quantize(ctx, matmul(ctx, af, bf), ctx.input(6), y_zp, type_of(y_zp))};
}

std::string auto_pad_of(ConvertContext& ctx) {
    auto pad = ctx.attr_string("auto_pad", "NOTSET");
    if (pad == "NOTSET") return "explicit";
    if (pad == "SAME_UPPER") return "same_upper";
    if (pad == "SAME_LOWER") return "same_lower";
    if (pad == "VALID") return "valid";
    ctx.fail(fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", pad));
}

// strides / dilations / pads_begin / pads_end / auto_pad of a conv or pool over `n` spatial dims.
Attributes window_attrs(ConvertContext& ctx, std::size_t n, bool dilations) {
    auto strides = ctx.attr_ints("strides", I64s(n, 1));
    auto pads = ctx.attr_ints("pads", I64s(2 * n, 0));
    if (strides.size() != n || pads.size() != 2 * n)
        ctx.fail(fmt::format("strides ({}) and pads ({}) must have {} and {} values",
                             strides.size(), pads.size(), n, 2 * n));
    Attributes a;
    a.set("strides", strides);
    if (dilations) {
        auto d = ctx.attr_ints("dilations", I64s(n, 1));
        if (d.size() != n) ctx.fail(fmt::format("dilations must have {} values", n));
        a.set("dilations", d);
    }
    a.set("pads_begin", I64s(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(n)));
    a.set("pads_end", I64s(pads.begin() + static_cast<std::ptrdiff_t>(n), pads.end()));
    a.set("auto_pad", auto_pad_of(ctx));
    return a;
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
        auto bias = binary(ctx, "Multiply", convert(ctx, ctx.input(8), ft), bias_scale);
        y = binary(ctx, "Add", y, unsqueeze(ctx, bias, iota(1, rx - 1)));
    }
    Output y_zp = optional_input(ctx, 7);
    auto out = y_zp.node ? type_of(y_zp) : ctx.input_type(0);
    return {quantize(ctx, y, ctx.input(6), y_zp, out)};
}

// ---- pooling and normalization ----------------------------------------------------------------

// Row-major flat indices into x [N, C, H, W] → ONNX storage_order=1 indices: the (n, c) offset
// is kept and the position within the plane becomes w * H + h.
Output column_major_indices(ConvertContext& ctx, Output x, Output indices) {
    const auto& xs = shape_of_value(x);
    Output h, w;
    if (xs.rank_is_static() && xs.rank() == 4 && xs[2].is_static() && xs[3].is_static()) {
        h = ctx.scalar_i64(xs[2].length());
        w = ctx.scalar_i64(xs[3].length());
    } else {
        auto shape = shape_of(ctx, x);
        h = gather(ctx, shape, ctx.scalar_i64(2));
        w = gather(ctx, shape, ctx.scalar_i64(3));
    }
    auto in_plane = binary(ctx, "FloorMod", indices, binary(ctx, "Multiply", h, w));
    auto row = binary(ctx, "Divide", in_plane, w);
    auto col = binary(ctx, "FloorMod", in_plane, w);
    auto plane_start = binary(ctx, "Subtract", indices, in_plane);
    return binary(ctx, "Add", plane_start,
                  binary(ctx, "Add", binary(ctx, "Multiply", col, h), row));
}

// MaxPool → MaxPool-8; its second output gives ONNX's Indices (row-major over the whole input).
Outs convert_max_pool(ConvertContext& ctx) {
    auto kernel = ctx.attr_ints("kernel_shape");
    if (kernel.empty()) ctx.fail("attribute kernel_shape is required");
    bool column_major = ctx.attr_int("storage_order", 0) != 0 && ctx.has_output(1);
    if (column_major && kernel.size() != 2)
        ctx.unsupported("storage_order=1 (column-major Indices) is supported for 2-D pooling only");
    auto a = window_attrs(ctx, kernel.size(), true);
    a.set("kernel", kernel);
    a.set("rounding_type", std::string(ctx.attr_int("ceil_mode", 0) ? "ceil" : "floor"));
    a.set("index_element_type", ElementType::I64);
    a.set("axis", std::int64_t{0});
    auto& node = ctx.add("MaxPool", "opset8", {ctx.input(0)}, std::move(a), 2);
    if (!column_major) return {node.output(0), node.output(1)};
    return {node.output(0), column_major_indices(ctx, ctx.input(0), node.output(1))};
}

// The default MaxUnpool output shape: spatial (in - 1) * stride - pads + kernel.
Output unpool_shape(ConvertContext& ctx, Output x, const I64s& kernel, const I64s& strides,
                    const I64s& pads) {
    auto n = static_cast<std::int64_t>(kernel.size());
    I64s add(kernel.size());
    for (std::size_t i = 0; i < kernel.size(); ++i)
        add[i] = kernel[i] - pads[i] - pads[i + kernel.size()] - strides[i];
    const auto& xs = shape_of_value(x);
    if (xs.is_static()) {
        auto s = xs.to_shape();
        if (static_cast<std::int64_t>(s.size()) != n + 2)
            ctx.fail(fmt::format("input X has rank {}, kernel_shape needs {}", s.size(), n + 2));
        for (std::size_t i = 0; i < kernel.size(); ++i)
            s[i + 2] = s[i + 2] * strides[i] + add[i];
        return ctx.constant_i64(s);
    }
    auto shape = shape_of(ctx, x);
    auto spatial =
        binary(ctx, "Multiply", slice(ctx, shape, 2, k_max_i64), ctx.constant_i64(strides));
    spatial = binary(ctx, "Add", spatial, ctx.constant_i64(add));
    return concat(ctx, {slice(ctx, shape, 0, 2), spatial});
}

// MaxUnpool: scatter X into a zero tensor at the flat indices I, then reshape.
Outs convert_max_unpool(ConvertContext& ctx) {
    Output x = ctx.input(0), indices = ctx.input(1);
    auto kernel = ctx.attr_ints("kernel_shape");
    if (kernel.empty()) ctx.fail("attribute kernel_shape is required");
    auto strides = ctx.attr_ints("strides", I64s(kernel.size(), 1));
    auto pads = ctx.attr_ints("pads", I64s(2 * kernel.size(), 0));
    if (strides.size() != kernel.size() || pads.size() != 2 * kernel.size())
        ctx.fail("strides and pads must match kernel_shape");
    Output out_shape = ctx.has_input(2) ? convert(ctx, ctx.input(2), ElementType::I64)
                                        : unpool_shape(ctx, x, kernel, strides, pads);
    auto total = op(ctx, "ReduceProd", "opset1", {out_shape, ctx.constant_i64({0})},
                    attrs({{"keep_dims", flag(true)}}));
    auto zeros = op(ctx, "Broadcast", "opset3", {ctx.scalar_like(0.0, type_of(x)), total},
                    attrs({{"mode", str("numpy")}}));
    auto flat_i = reshape(ctx, indices, ctx.constant_i64({-1}), false);
    auto flat_x = reshape(ctx, x, ctx.constant_i64({-1}), false);
    auto scattered =
        op(ctx, "ScatterElementsUpdate", "opset3", {zeros, flat_i, flat_x, ctx.scalar_i64(0)});
    return {reshape(ctx, scattered, out_shape, false)};
}

Outs convert_mvn(ConvertContext& ctx) {
    auto axes = ctx.attr_ints("axes", {0, 2, 3});
    return {op(ctx, "MVN", "opset6", {ctx.input(0), ctx.constant_i64(axes)},
               attrs({{"eps", f64(1e-9)},
                      {"normalize_variance", flag(true)},
                      {"eps_mode", str("outside_sqrt")}}))};
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

// ---- reductions -----------------------------------------------------------------------------

struct ReduceAxes {
    bool identity = false; // noop_with_empty_axes with no axes: the input passes through
    Output axes;
};

// ReduceSum takes axes as an input from opset 13, the other reductions from opset 18.
ReduceAxes reduce_axes(ConvertContext& ctx, Output x) {
    bool from_input = ctx.opset() >= 18 || (ctx.op_type() == "ReduceSum" && ctx.opset() >= 13);
    if (from_input) {
        if (ctx.has_input(1)) {
            auto values = ctx.input_values(1);
            if (!values) return {false, ctx.input(1)};
            if (!values->empty()) return {false, ctx.constant_i64(*values)};
        }
        if (ctx.attr_int("noop_with_empty_axes", 0) != 0) return {true, {}};
    } else {
        auto axes = ctx.attr_ints("axes");
        if (!axes.empty()) return {false, ctx.constant_i64(axes)};
    }
    return {false, all_axes(ctx, x)};
}

Output reduce(ConvertContext& ctx, const char* type, const char* version, Output x, Output axes,
              bool keep) {
    return op(ctx, type, version, {x, axes}, attrs({{"keep_dims", flag(keep)}}));
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

// ---- shape manipulation ---------------------------------------------------------------------

// Reshape: 0 copies the input dim unless allowzero=1 (opset 14); opset<5 reads attr `shape`.
Outs convert_reshape(ConvertContext& ctx) {
    Output target = ctx.opset() < 5 ? ctx.constant_i64(ctx.attr_ints("shape"))
                                    : convert(ctx, ctx.input(1), ElementType::I64);
    bool allow_zero = ctx.attr_int("allowzero", 0) != 0;
    return {reshape(ctx, ctx.input(0), target, !allow_zero)};
}

Outs convert_shape(ConvertContext& ctx) {
    auto shape = shape_of(ctx, ctx.input(0));
    auto start = ctx.attr_int("start", 0);
    auto end = ctx.attr_int("end");
    if (start == 0 && !end) return {shape};
    return {slice(ctx, shape, start, end.value_or(k_max_i64))};
}

Outs convert_size(ConvertContext& ctx) {
    return {reduce(ctx, "ReduceProd", "opset1", shape_of(ctx, ctx.input(0)), ctx.constant_i64({0}),
                   false)};
}

// Slice: opset 1 reads starts/ends/axes attributes; 10+ reads inputs (steps may be negative).
Outs convert_slice(ConvertContext& ctx) {
    Output data = ctx.input(0);
    if (ctx.opset() < 10) {
        auto starts = ctx.attr_ints("starts");
        auto ends = ctx.attr_ints("ends");
        if (starts.size() != ends.size()) ctx.fail("starts and ends must have the same length");
        auto axes = ctx.attr_ints("axes", iota(0, static_cast<std::int64_t>(starts.size())));
        return {op(ctx, "Slice", "opset8",
                   {data, ctx.constant_i64(starts), ctx.constant_i64(ends),
                    ctx.constant_i64(I64s(starts.size(), 1)), ctx.constant_i64(axes)})};
    }
    Output starts = convert(ctx, ctx.input(1), ElementType::I64);
    Output ends = convert(ctx, ctx.input(2), ElementType::I64);
    Output steps;
    if (ctx.has_input(4))
        steps = convert(ctx, ctx.input(4), ElementType::I64);
    else if (auto v = ctx.input_values(1))
        steps = ctx.constant_i64(I64s(v->size(), 1));
    else
        steps = op(ctx, "Broadcast", "opset3", {ctx.scalar_i64(1), shape_of(ctx, starts)},
                   attrs({{"mode", str("numpy")}}));
    std::vector<Output> in{data, starts, ends, steps};
    if (ctx.has_input(3)) in.push_back(convert(ctx, ctx.input(3), ElementType::I64));
    return {op(ctx, "Slice", "opset8", std::move(in))};
}

Outs convert_space_to_depth(ConvertContext& ctx) {
    return {op(
        ctx, "SpaceToDepth", "opset1", {ctx.input(0)},
        attrs({{"mode", str("blocks_first")}, {"block_size", i64(ctx.attr_int("blocksize", 1))}}))};
}

// Split lengths: attribute `split` (opset<13, also input 1 in opset 1), input 1 (13+);
// otherwise equal parts, or num_outputs parts with a smaller last one (18+).
Outs convert_split(ConvertContext& ctx) {
    Output x = ctx.input(0);
    auto n = ctx.output_count();
    auto axis = ctx.attr_int("axis", 0);
    Output lengths;
    if (ctx.opset() < 13 && ctx.has_attr("split"))
        lengths = ctx.constant_i64(ctx.attr_ints("split"));
    else if ((ctx.opset() >= 13 || ctx.opset() < 2) && present(ctx, 1))
        lengths = convert(ctx, ctx.input(1), ElementType::I64);
    else if (ctx.has_attr("num_outputs")) {
        auto parts = ctx.attr_int("num_outputs", 1);
        if (parts != static_cast<std::int64_t>(n) || parts < 1)
            ctx.fail(fmt::format("num_outputs {} does not match the {} outputs", parts, n));
        const auto& xs = ctx.input_shape(0);
        if (xs.rank_is_static()) {
            auto a = axis < 0 ? axis + xs.rank() : axis;
            if (a >= 0 && a < xs.rank() && xs[static_cast<std::size_t>(a)].is_static()) {
                auto d = xs[static_cast<std::size_t>(a)].length();
                auto c = (d + parts - 1) / parts;
                I64s v(n - 1, c);
                if (d - c * (parts - 1) < 0)
                    ctx.fail(fmt::format("dimension {} cannot be split into {} parts", d, parts));
                v.push_back(d - c * (parts - 1));
                lengths = ctx.constant_i64(v);
            }
        }
    }
    if (!lengths.node && ctx.has_attr("num_outputs")) {
        auto parts = ctx.attr_int("num_outputs", 1);
        auto dim = gather(ctx, shape_of(ctx, x), ctx.constant_i64({axis}));
        auto chunk = binary(ctx, "Divide", binary(ctx, "Add", dim, ctx.constant_i64({parts - 1})),
                            ctx.constant_i64({parts}));
        std::vector<Output> pieces(n - 1, chunk);
        pieces.push_back(ctx.constant_i64({-1}));
        lengths = concat(ctx, pieces);
    }
    model::Node* node = nullptr;
    if (lengths.node)
        node = &ctx.add("VariadicSplit", "opset1", {x, ctx.scalar_i64(axis), lengths}, {}, n);
    else
        node = &ctx.add("Split", "opset1", {x, ctx.scalar_i64(axis)},
                        attrs({{"num_splits", i64(static_cast<std::int64_t>(n))}}), n);
    Outs outs;
    for (std::size_t i = 0; i < n; ++i)
        outs.push_back(node->output(static_cast<std::uint32_t>(i)));
    return outs;
}

// Squeeze/Unsqueeze: axes attribute before opset 13, input 1 from 13.
std::optional<Output> axes_operand(ConvertContext& ctx) {
    if (ctx.opset() < 13) {
        if (!ctx.has_attr("axes")) return std::nullopt;
        return ctx.constant_i64(ctx.attr_ints("axes"));
    }
    if (!present(ctx, 1)) return std::nullopt;
    return convert(ctx, ctx.input(1), ElementType::I64);
}

Outs convert_squeeze(ConvertContext& ctx) {
    auto axes = axes_operand(ctx);
    if (!axes) return {op(ctx, "Squeeze", "opset1", {ctx.input(0)})};
    return {op(ctx, "Squeeze", "opset1", {ctx.input(0), *axes})};
}

Outs convert_unsqueeze(ConvertContext& ctx) {
    auto axes = axes_operand(ctx);
    if (!axes) ctx.fail("axes are required");
    return {op(ctx, "Unsqueeze", "opset1", {ctx.input(0), *axes})};
}

// Tile: repeats input (opset 6+); opset 1 takes `tiles` and `axis` inputs (constants).
Outs convert_tile(ConvertContext& ctx) {
    Output x = ctx.input(0);
    if (ctx.opset() >= 6)
        return {op(ctx, "Tile", "opset1", {x, convert(ctx, ctx.input(1), ElementType::I64)})};
    auto tiles = ctx.input_values(1);
    auto axis = ctx.input_values(2);
    if (!tiles || !axis || tiles->size() != 1 || axis->size() != 1)
        ctx.unsupported("Tile-1 needs constant scalar tiles and axis inputs");
    auto rank = require_rank(ctx, x, "input");
    auto a = (*axis)[0] < 0 ? (*axis)[0] + rank : (*axis)[0];
    if (a < 0 || a >= rank)
        ctx.fail(fmt::format("axis {} is out of range for rank {}", (*axis)[0], rank));
    I64s repeats(static_cast<std::size_t>(rank), 1);
    repeats[static_cast<std::size_t>(a)] = (*tiles)[0];
    return {op(ctx, "Tile", "opset1", {x, ctx.constant_i64(repeats)})};
}

Outs convert_transpose(ConvertContext& ctx) {
    Output x = ctx.input(0);
    I64s perm = ctx.attr_ints("perm");
    if (perm.empty())
        if (auto r = rank_of(x))
            for (auto i = *r - 1; i >= 0; --i)
                perm.push_back(i);
    return {op(ctx, "Transpose", "opset1", {x, ctx.constant_i64(perm)})};
}

// Pad: opset 1/2 attributes (paddings|pads, value), 11+ inputs (pads, constant_value, axes).
Outs convert_pad(ConvertContext& ctx) {
    Output x = ctx.input(0);
    auto mode = ctx.attr_string("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge")
        ctx.unsupported(fmt::format("pad mode '{}' is not supported", mode));
    Output begin, end, value;
    auto split_pads = [&](const I64s& pads) {
        if (pads.size() % 2 != 0)
            ctx.fail(fmt::format("pads has {} values, expected an even count", pads.size()));
        auto half = static_cast<std::ptrdiff_t>(pads.size() / 2);
        begin = ctx.constant_i64(I64s(pads.begin(), pads.begin() + half));
        end = ctx.constant_i64(I64s(pads.begin() + half, pads.end()));
    };
    if (ctx.opset() < 11) {
        split_pads(ctx.attr_ints(ctx.opset() < 2 ? "paddings" : "pads"));
        value = ctx.scalar_like(ctx.attr_float("value", 0.0), type_of(x));
    } else {
        auto pads = ctx.input_values(1);
        if (ctx.has_input(3)) {
            auto axes = ctx.input_values(3);
            auto rank = require_rank(ctx, x, "input data with axes");
            if (!axes || !pads || pads->size() != 2 * axes->size())
                ctx.unsupported("Pad with axes needs constant pads and axes");
            I64s full(2 * static_cast<std::size_t>(rank), 0);
            for (std::size_t i = 0; i < axes->size(); ++i) {
                auto a = (*axes)[i] < 0 ? (*axes)[i] + rank : (*axes)[i];
                if (a < 0 || a >= rank)
                    ctx.fail(fmt::format("axis {} is out of range for rank {}", (*axes)[i], rank));
                full[static_cast<std::size_t>(a)] = (*pads)[i];
                full[static_cast<std::size_t>(a + rank)] = (*pads)[i + axes->size()];
            }
            pads = full;
        }
        if (pads) {
            split_pads(*pads);
        } else {
            auto& sp = ctx.add("Split", "opset1",
                               {convert(ctx, ctx.input(1), ElementType::I64), ctx.scalar_i64(0)},
                               attrs({{"num_splits", i64(2)}}), 2);
            begin = sp.output(0);
            end = sp.output(1);
        }
        if (present(ctx, 2)) value = to_scalar(ctx, ctx.input(2));
    }
    std::vector<Output> in{x, begin, end};
    if (mode == "constant" && value.node) in.push_back(value);
    return {op(ctx, "Pad", "opset12", std::move(in), attrs({{"pad_mode", str(mode)}}))};
}

Outs convert_reverse_sequence(ConvertContext& ctx) {
    return {op(ctx, "ReverseSequence", "opset1", {ctx.input(0), ctx.input(1)},
               attrs({{"batch_axis", i64(ctx.attr_int("batch_axis", 1))},
                      {"seq_axis", i64(ctx.attr_int("time_axis", 0))}}))};
}

// Trilu: keep x where col - row >= k (upper) or col - row <= k (lower), zero elsewhere.
Outs convert_trilu(ConvertContext& ctx) {
    Output x = ctx.input(0);
    Output k = ctx.has_input(1) ? to_scalar(ctx, convert(ctx, ctx.input(1), ElementType::I64))
                                : ctx.scalar_i64(0);
    const auto& xs = ctx.input_shape(0);
    if (xs.rank_is_static() && xs.rank() < 2)
        ctx.fail(fmt::format("input has rank {}, expected 2 or more", xs.rank()));
    Output rows, cols;
    auto r = xs.rank_is_static() ? static_cast<std::size_t>(xs.rank()) : 0;
    if (r >= 2 && xs[r - 2].is_static() && xs[r - 1].is_static()) {
        auto n = xs[r - 2].length();
        const I64s row_index = iota(0, n);
        rows = ctx.constant(
            Tensor::copy_of(ElementType::I64, {n, 1}, std::as_bytes(std::span(row_index))));
        cols = ctx.constant_i64(iota(0, xs[r - 1].length()));
    } else {
        auto shape = shape_of(ctx, x);
        auto n = range_i64(ctx, ctx.scalar_i64(0), gather(ctx, shape, ctx.scalar_i64(-2)),
                           ctx.scalar_i64(1));
        rows = unsqueeze(ctx, n, {1});
        cols = range_i64(ctx, ctx.scalar_i64(0), gather(ctx, shape, ctx.scalar_i64(-1)),
                         ctx.scalar_i64(1));
    }
    auto shifted = binary(ctx, "Add", rows, k);
    bool upper = ctx.attr_int("upper", 1) != 0;
    auto mask = binary(ctx, upper ? "GreaterEqual" : "LessEqual", cols, shifted);
    return {select(ctx, mask, x, ctx.scalar_like(0.0, type_of(x)))};
}

// ---- indexing, sorting, data-dependent shapes -------------------------------------------------

// Scatter (9-10) and ScatterElements: ScatterElementsUpdate; a reduction needs opset 12's.
Outs convert_scatter_elements(ConvertContext& ctx) {
    auto axis = ctx.scalar_i64(ctx.attr_int("axis", 0));
    auto reduction = ctx.attr_string("reduction", "none");
    std::vector<Output> in{ctx.input(0), ctx.input(1), ctx.input(2), axis};
    if (reduction == "none") return {op(ctx, "ScatterElementsUpdate", "opset3", std::move(in))};
    std::string native = reduction == "add" ? "sum" : reduction == "mul" ? "prod" : reduction;
    if (native != "sum" && native != "prod" && native != "max" && native != "min")
        ctx.fail(fmt::format("reduction '{}' is not one of none, add, mul, max, min", reduction));
    return {op(ctx, "ScatterElementsUpdate", "opset12", std::move(in),
               attrs({{"reduction", str(native)}, {"use_init_val", flag(true)}}))};
}

Outs convert_scatter_nd(ConvertContext& ctx) {
    auto reduction = ctx.attr_string("reduction", "none");
    std::vector<Output> in{ctx.input(0), ctx.input(1), ctx.input(2)};
    if (reduction == "none") return {op(ctx, "ScatterNDUpdate", "opset3", std::move(in))};
    std::string native = reduction == "add" ? "sum" : reduction == "mul" ? "prod" : reduction;
    if (native != "sum" && native != "prod" && native != "max" && native != "min")
        ctx.fail(fmt::format("reduction '{}' is not one of none, add, mul, max, min", reduction));
    if (!has_spec(ctx, "ScatterNDUpdate", "opset15"))
        ctx.unsupported(fmt::format("ScatterND with reduction '{}' is not supported", reduction));
    return {
        op(ctx, "ScatterNDUpdate", "opset15", std::move(in), attrs({{"reduction", str(native)}}))};
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
        k = to_scalar(ctx, convert(ctx, ctx.input(1), ElementType::I64));
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

Outs convert_non_zero(ConvertContext& ctx) {
    return {
        op(ctx, "NonZero", "opset3", {ctx.input(0)}, attrs({{"output_type", ElementType::I64}}))};
}

Outs convert_unique(ConvertContext& ctx) {
    std::vector<Output> in{ctx.input(0)};
    if (auto axis = ctx.attr_int("axis")) in.push_back(ctx.scalar_i64(*axis));
    auto& node = ctx.add("Unique", "opset10", std::move(in),
                         attrs({{"sorted", flag(ctx.attr_int("sorted", 1) != 0)},
                                {"index_element_type", ElementType::I64},
                                {"count_element_type", ElementType::I64}}),
                         4);
    return {node.output(0), node.output(1), node.output(2), node.output(3)};
}

// NonMaxSuppression → NMS-9, trimmed to its valid_outputs rows (ONNX outputs only those).
// Missing inputs take ONNX's defaults: no boxes, IOU threshold 0, and no score threshold
// (NMS-9's own default of 0 would drop negative scores).
Outs convert_nms(ConvertContext& ctx) {
    auto score_type = ctx.input_type(1);
    std::vector<Output> in{
        ctx.input(0), ctx.input(1), ctx.has_input(2) ? ctx.input(2) : ctx.scalar_i64(0),
        ctx.has_input(3) ? ctx.input(3) : ctx.scalar_like(0.0, score_type),
        ctx.has_input(4) ? ctx.input(4)
                         : ctx.scalar_like(-std::numeric_limits<float>::max(), score_type)};
    bool center = ctx.attr_int("center_point_box", 0) != 0;
    auto& node = ctx.add("NonMaxSuppression", "opset9", std::move(in),
                         attrs({{"box_encoding", str(center ? "center" : "corner")},
                                {"sort_result_descending", flag(false)},
                                {"output_type", ElementType::I64}}),
                         3);
    auto valid = node.output(2);
    return {op(ctx, "Slice", "opset8",
               {node.output(0), ctx.constant_i64({0}), valid, ctx.constant_i64({1}),
                ctx.constant_i64({0})})};
}

// OneHot: depth → scalar i64, values [off, on] → two scalars; negative indices count from
// the end of the depth (ONNX 11).
Outs convert_one_hot(ConvertContext& ctx) {
    Output indices = ctx.input(0);
    if (type_of(indices) != ElementType::I32) indices = convert(ctx, indices, ElementType::I64);
    Output depth = to_scalar(ctx, convert(ctx, ctx.input(1), type_of(indices)));
    if (model::is_signed(type_of(indices)))
        indices = select(ctx, binary(ctx, "Less", indices, ctx.scalar_like(0.0, type_of(indices))),
                         binary(ctx, "Add", indices, depth), indices);
    Output values = ctx.input(2);
    auto off = gather(ctx, values, ctx.scalar_i64(0));
    auto on = gather(ctx, values, ctx.scalar_i64(1));
    return {op(ctx, "OneHot", "opset1", {indices, depth, on, off},
               attrs({{"axis", i64(ctx.attr_int("axis", -1))}}))};
}

Outs convert_range(ConvertContext& ctx) {
    Output start = to_scalar(ctx, ctx.input(0));
    return {op(ctx, "Range", "opset4",
               {start, to_scalar(ctx, ctx.input(1)), to_scalar(ctx, ctx.input(2))},
               attrs({{"output_type", type_of(start)}}))};
}

Outs convert_roi_align(ConvertContext& ctx) {
    auto transform = ctx.opset() >= 16
                         ? ctx.attr_string("coordinate_transformation_mode", "half_pixel")
                         : std::string("output_half_pixel");
    std::string aligned;
    if (transform == "half_pixel")
        aligned = "half_pixel_for_nn"; // ONNX shifts scaled coordinates by -0.5
    else if (transform == "output_half_pixel")
        aligned = "asymmetric";
    else
        ctx.fail(fmt::format("coordinate_transformation_mode '{}' is not one of half_pixel, "
                             "output_half_pixel",
                             transform));
    auto mode = ctx.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max")
        ctx.fail(fmt::format("mode '{}' is not one of avg, max", mode));
    return {op(ctx, "ROIAlign", "opset9", {ctx.input(0), ctx.input(1), ctx.input(2)},
               attrs({{"pooled_h", i64(ctx.attr_int("output_height", 1))},
                      {"pooled_w", i64(ctx.attr_int("output_width", 1))},
                      {"sampling_ratio", i64(ctx.attr_int("sampling_ratio", 0))},
                      {"spatial_scale", f64(ctx.attr_float("spatial_scale", 1.0))},
                      {"mode", str(mode)},
                      {"aligned_mode", str(aligned)}}))};
}

// MaxRoiPool: rois are [batch_id, x1, y1, x2, y2] rows, as ROIPooling's coords.
Outs convert_max_roi_pool(ConvertContext& ctx) {
    auto pooled = ctx.attr_ints("pooled_shape");
    if (pooled.size() != 2)
        ctx.fail(fmt::format("pooled_shape has {} values, expected 2", pooled.size()));
    return {op(ctx, "ROIPooling", "opset2", {ctx.input(0), ctx.input(1)},
               attrs({{"pooled_h", i64(pooled[0])},
                      {"pooled_w", i64(pooled[1])},
                      {"spatial_scale", f64(ctx.attr_float("spatial_scale", 1.0))},
                      {"method", str("max")}}))};
}

// ---- resizing ---------------------------------------------------------------------------------

Attributes interpolate_attrs(const std::string& mode, const std::string& calc,
                             const std::string& transform, const std::string& nearest,
                             double cube_coeff, bool antialias) {
    return attrs({{"mode", str(mode)},
                  {"shape_calculation_mode", str(calc)},
                  {"coordinate_transformation_mode", str(transform)},
                  {"nearest_mode", str(nearest)},
                  {"antialias", flag(antialias)},
                  {"pads_begin", ints({0})},
                  {"pads_end", ints({0})},
                  {"cube_coeff", f64(cube_coeff)}});
}

// Upsample and Resize-10 scale with asymmetric coordinates (nearest: the "simple" rounding).
Output legacy_upsample(ConvertContext& ctx, Output x, Output scales, const std::string& mode) {
    bool nearest = mode == "nearest";
    if (!nearest && mode != "linear" && mode != "bilinear")
        ctx.fail(fmt::format("mode '{}' is not one of nearest, linear", mode));
    auto a = interpolate_attrs(nearest ? "nearest" : "linear_onnx", "scales", "asymmetric",
                               nearest ? "simple" : "round_prefer_floor", -0.75, false);
    return op(ctx, "Interpolate", "opset11", {x, convert(ctx, scales, ElementType::F32)},
              std::move(a));
}

Outs convert_upsample(ConvertContext& ctx) {
    Output x = ctx.input(0);
    auto mode = ctx.attr_string("mode", "nearest");
    if (ctx.opset() >= 9) return {legacy_upsample(ctx, x, ctx.input(1), mode)};
    std::vector<float> scales;
    if (ctx.opset() >= 7) {
        for (auto s : ctx.attr_floats("scales"))
            scales.push_back(static_cast<float>(s));
    } else {
        if (require_rank(ctx, x, "input X") != 4) ctx.fail("Upsample-1 needs a 4-D input");
        scales = {1.0f, 1.0f, static_cast<float>(ctx.attr_float("height_scale", 1.0)),
                  static_cast<float>(ctx.attr_float("width_scale", 1.0))};
    }
    return {legacy_upsample(ctx, x, ctx.constant_f32(scales), mode)};
}

std::string resize_mode(ConvertContext& ctx) {
    auto mode = ctx.attr_string("mode", "nearest");
    if (mode == "nearest" || mode == "cubic") return mode;
    if (mode == "linear") return "linear_onnx";
    ctx.fail(fmt::format("mode '{}' is not one of nearest, linear, cubic", mode));
}

// Resize-11+: scales or sizes (whichever is given) → Interpolate-11; roi only matters for
// tf_crop_and_resize, which is refused.
Outs convert_resize(ConvertContext& ctx) {
    Output x = ctx.input(0);
    if (ctx.opset() < 11)
        return {legacy_upsample(ctx, x, ctx.input(1), ctx.attr_string("mode", "nearest"))};
    auto mode = resize_mode(ctx);
    auto transform = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
    if (transform == "tf_crop_and_resize")
        ctx.unsupported("coordinate_transformation_mode 'tf_crop_and_resize' (roi) is not "
                        "supported");
    static constexpr std::string_view transforms[] = {
        "half_pixel", "pytorch_half_pixel", "asymmetric", "tf_half_pixel_for_nn", "align_corners"};
    if (std::find(std::begin(transforms), std::end(transforms), transform) == std::end(transforms))
        ctx.fail(fmt::format("coordinate_transformation_mode '{}' is not known", transform));
    if (ctx.attr_int("exclude_outside", 0) != 0 && mode == "cubic")
        ctx.unsupported("exclude_outside=1 is not supported");
    if (ctx.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
        ctx.unsupported("keep_aspect_ratio_policy other than 'stretch' is not supported");
    auto nearest = ctx.attr_string("nearest_mode", "round_prefer_floor");
    std::vector<Output> in{x};
    std::string calc;
    if (present(ctx, 3)) {
        calc = "sizes";
        in.push_back(convert(ctx, ctx.input(3), ElementType::I64));
    } else if (present(ctx, 2)) {
        calc = "scales";
        in.push_back(convert(ctx, ctx.input(2), ElementType::F32));
    } else {
        ctx.fail("one of the scales and sizes inputs must be given");
    }
    if (ctx.has_attr("axes")) {
        auto axes = ctx.attr_ints("axes");
        if (auto rank = rank_of(x))
            for (auto& a : axes)
                a = a < 0 ? a + *rank : a;
        in.push_back(ctx.constant_i64(axes));
    }
    auto a =
        interpolate_attrs(mode, calc, transform, nearest, ctx.attr_float("cubic_coeff_a", -0.75),
                          ctx.attr_int("antialias", 0) != 0);
    return {op(ctx, "Interpolate", "opset11", std::move(in), std::move(a))};
}

// ---- recurrent --------------------------------------------------------------------------------

std::string rnn_activation(ConvertContext& ctx, std::string name) {
    for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "tanh" && name != "relu" && name != "sigmoid")
        ctx.unsupported(fmt::format("RNN activation '{}' is not supported", name));
    return name;
}

Output zeros_like_state(ConvertContext& ctx, Output x_batch_major, std::int64_t dirs,
                        std::int64_t hidden) {
    auto batch = gather(ctx, shape_of(ctx, x_batch_major), ctx.constant_i64({0}));
    auto target = concat(ctx, {batch, ctx.constant_i64({dirs, hidden})});
    return op(ctx, "Broadcast", "opset3", {ctx.scalar_like(0.0, type_of(x_batch_major)), target},
              attrs({{"mode", str("numpy")}}));
}

Output transpose(ConvertContext& ctx, Output x, I64s perm) {
    return op(ctx, "Transpose", "opset1", {x, ctx.constant_i64(std::move(perm))});
}

// RNN → RNNSequence-5 (batch-major): X, initial_h and the outputs are transposed for layout 0,
// the two bias halves are summed, missing inputs become zeros / full sequence lengths.
Outs convert_rnn(ConvertContext& ctx) {
    bool batch_major = ctx.attr_int("layout", 0) != 0;
    auto direction = ctx.attr_string("direction", "forward");
    if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
        ctx.fail(
            fmt::format("direction '{}' is not one of forward, reverse, bidirectional", direction));
    std::int64_t dirs = direction == "bidirectional" ? 2 : 1;
    auto hidden = ctx.attr_int("hidden_size");
    if (!hidden) {
        const auto& rs = ctx.input_shape(2);
        if (rs.rank_is_dynamic() || rs.rank() != 3 || rs[1].is_dynamic())
            ctx.unsupported("hidden_size is missing and R's shape does not give it");
        hidden = rs[1].length();
    }
    auto names = ctx.attr_strings("activations");
    if (names.empty()) names = {"Tanh"};
    if (names.size() > 1 && names[0] != names[1])
        ctx.unsupported("different activations per direction are not supported");
    Output x = batch_major ? ctx.input(0) : transpose(ctx, ctx.input(0), {1, 0, 2});
    Output h0 = !ctx.has_input(5) ? zeros_like_state(ctx, x, dirs, *hidden)
                : batch_major     ? ctx.input(5)
                                  : transpose(ctx, ctx.input(5), {1, 0, 2});
    Output lens;
    if (ctx.has_input(4)) {
        lens = ctx.input(4);
    } else {
        auto shape = shape_of(ctx, x);
        lens =
            op(ctx, "Broadcast", "opset3",
               {gather(ctx, shape, ctx.scalar_i64(1)), gather(ctx, shape, ctx.constant_i64({0}))},
               attrs({{"mode", str("numpy")}}));
    }
    Output bias;
    if (ctx.has_input(3)) {
        Output b = ctx.input(3);
        bias = binary(ctx, "Add", slice(ctx, b, 0, *hidden, 1),
                      slice(ctx, b, *hidden, 2 * *hidden, 1));
    } else {
        bias = ctx.constant(Tensor::allocate(type_of(x), {dirs, *hidden}));
    }
    Attributes a;
    a.set("direction", direction);
    a.set("hidden_size", *hidden);
    a.set("activations", std::vector<std::string>{rnn_activation(ctx, names[0])});
    a.set("activations_alpha", ctx.attr_floats("activation_alpha"));
    a.set("activations_beta", ctx.attr_floats("activation_beta"));
    a.set("clip", ctx.attr_float("clip", 0.0));
    auto& node = ctx.add("RNNSequence", "opset5", {x, h0, lens, ctx.input(1), ctx.input(2), bias},
                         std::move(a), 2);
    Outs outs{Output{}, Output{}};
    if (ctx.has_output(0))
        outs[0] = transpose(ctx, node.output(0), batch_major ? I64s{0, 2, 1, 3} : I64s{2, 1, 0, 3});
    if (ctx.has_output(1))
        outs[1] = batch_major ? node.output(1) : transpose(ctx, node.output(1), {1, 0, 2});
    return outs;
}

// ---- random -----------------------------------------------------------------------------------

Output random_uniform(ConvertContext& ctx, Output shape, ElementType type) {
    auto seed = ctx.attr_float("seed", 0.0);
    return op(ctx, "RandomUniform", "opset8",
              {shape, ctx.scalar_like(ctx.attr_float("low", 0.0), type),
               ctx.scalar_like(ctx.attr_float("high", 1.0), type)},
              attrs({{"output_type", type},
                     {"global_seed", i64(0)},
                     {"op_seed", i64(static_cast<std::int64_t>(seed))}}));
}

ElementType dtype_of(ConvertContext& ctx, std::int64_t onnx_type) {
    auto t = element_type_from_onnx(static_cast<std::int32_t>(onnx_type));
    if (t == ElementType::UNDEFINED)
        ctx.unsupported(fmt::format("ONNX data type {} is not supported", onnx_type));
    return t;
}

ElementType dtype_attr(ConvertContext& ctx, ElementType fallback) {
    auto dtype = ctx.attr_int("dtype");
    return dtype ? dtype_of(ctx, *dtype) : fallback;
}

Outs convert_random_uniform(ConvertContext& ctx) {
    return {random_uniform(ctx, ctx.constant_i64(ctx.attr_ints("shape")),
                           dtype_attr(ctx, ElementType::F32))};
}

Outs convert_random_uniform_like(ConvertContext& ctx) {
    Output x = ctx.input(0);
    return {random_uniform(ctx, shape_of(ctx, x), dtype_attr(ctx, type_of(x)))};
}

// ---- STFT ---------------------------------------------------------------------------------------

// The [frames, frame_length] sample indices of an STFT: frame f starts at f * step.
Output frame_grid(ConvertContext& ctx, Output signal, Output step, Output length) {
    auto signal_length = gather(ctx, shape_of(ctx, signal), ctx.scalar_i64(1));
    auto frames = binary(
        ctx, "Add", binary(ctx, "Divide", binary(ctx, "Subtract", signal_length, length), step),
        ctx.scalar_i64(1));
    auto one = ctx.scalar_i64(1), zero = ctx.scalar_i64(0);
    auto starts = binary(ctx, "Multiply", range_i64(ctx, zero, frames, one), step);
    return binary(ctx, "Add", unsqueeze(ctx, starts, {1}), range_i64(ctx, zero, length, one));
}

// STFT: frames of frame_length taken every frame_step along the signal (a Gather with a
// [frames, frame_length] index grid), windowed, then RDFT (real, onesided) or DFT on axis 2.
// signal [B, L, 1|2] → [B, frames, bins, 2].
Outs convert_stft(ConvertContext& ctx) {
    Output signal = ctx.input(0);
    const auto& ss = ctx.input_shape(0);
    if (ss.rank_is_dynamic() || ss.rank() != 3 || ss[2].is_dynamic())
        ctx.unsupported("STFT needs a signal of rank 3 with a static last dimension");
    bool complex = ss[2].length() == 2;
    bool onesided = ctx.attr_int("onesided", 1) != 0;
    if (complex && onesided) ctx.fail("onesided=1 needs a real signal ([batch, length, 1])");
    auto step = to_scalar(ctx, convert(ctx, ctx.input(1), ElementType::I64));
    Output length;
    if (present(ctx, 3))
        length = to_scalar(ctx, convert(ctx, ctx.input(3), ElementType::I64));
    else if (present(ctx, 2))
        length = gather(ctx, shape_of(ctx, ctx.input(2)), ctx.scalar_i64(0));
    else
        ctx.fail("one of the window and frame_length inputs must be given");
    auto step_value = ctx.input_values(1);
    auto length_value = present(ctx, 3) ? ctx.input_values(3) : std::nullopt;
    if (!length_value && present(ctx, 2) && ctx.input_shape(2).is_static())
        length_value = I64s{ctx.input_shape(2).to_shape().at(0)};
    Output grid;
    if (step_value && length_value && ss[1].is_static() && step_value->size() == 1 &&
        length_value->size() == 1) {
        auto st = (*step_value)[0], len = (*length_value)[0];
        if (st < 1 || len < 1 || len > ss[1].length())
            ctx.fail(fmt::format("frame_step {} and frame_length {} do not fit a signal of {}", st,
                                 len, ss[1].length()));
        auto frames = (ss[1].length() - len) / st + 1;
        I64s idx;
        for (std::int64_t f = 0; f < frames; ++f)
            for (std::int64_t j = 0; j < len; ++j)
                idx.push_back(f * st + j);
        grid = ctx.constant(
            Tensor::copy_of(ElementType::I64, {frames, len}, std::as_bytes(std::span(idx))));
    } else {
        grid = frame_grid(ctx, signal, step, length);
    }
    Output framed = gather(ctx, signal, grid, 1); // [B, frames, frame_length, 1|2]
    if (present(ctx, 2))
        framed = binary(ctx, "Multiply", framed,
                        unsqueeze(ctx, convert(ctx, ctx.input(2), type_of(signal)), {1}));
    auto axes = ctx.constant_i64({2});
    if (!complex && onesided)
        return {op(ctx, "RDFT", "opset9",
                   {op(ctx, "Squeeze", "opset1", {framed, ctx.constant_i64({3})}), axes})};
    if (!complex)
        framed = concat(
            ctx, {framed, binary(ctx, "Multiply", framed, ctx.scalar_like(0.0, type_of(signal)))},
            3);
    return {op(ctx, "DFT", "opset7", {framed, axes})};
}

// ---- MelWeightMatrix ---------------------------------------------------------------------------

// The [dft_length/2 + 1, num_mel_bins] matrix of triangular mel filters, as ONNX defines it:
// num_mel_bins + 2 points evenly spaced in mel between the edges, mapped to spectrogram bins.
std::vector<float> mel_weights(std::int64_t bins, std::int64_t dft_length, double sample_rate,
                               double lower_hz, double upper_hz) {
    auto spectrogram_bins = dft_length / 2 + 1;
    auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
    auto low_mel = to_mel(lower_hz);
    auto step = (to_mel(upper_hz) - low_mel) / static_cast<double>(bins + 2);
    std::vector<std::int64_t> points(static_cast<std::size_t>(bins + 2));
    for (std::size_t i = 0; i < points.size(); ++i) {
        double hz =
            700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595.0) - 1);
        points[i] = static_cast<std::int64_t>(
            std::floor(static_cast<double>(dft_length + 1) * hz / sample_rate));
    }
    std::vector<float> w(static_cast<std::size_t>(spectrogram_bins * bins), 0.0f);
    auto set = [&](std::int64_t row, std::int64_t col, double v) {
        if (row >= 0 && row < spectrogram_bins)
            w[static_cast<std::size_t>(row * bins + col)] = static_cast<float>(v);
    };
    for (std::int64_t i = 0; i < bins; ++i) {
        auto left = points[static_cast<std::size_t>(i)];
        auto center = points[static_cast<std::size_t>(i + 1)];
        auto right = points[static_cast<std::size_t>(i + 2)];
        if (center == left) set(center, i, 1.0);
        for (auto j = left; center != left && j <= center; ++j)
            set(j, i, static_cast<double>(j - left) / static_cast<double>(center - left));
        for (auto j = center; j < right; ++j)
            set(j, i, static_cast<double>(right - j) / static_cast<double>(right - center));
    }
    return w;
}

// MelWeightMatrix with constant inputs becomes a constant; otherwise it is refused.
Outs convert_mel_weight_matrix(ConvertContext& ctx) {
    double in[5];
    for (std::size_t i = 0; i < 5; ++i) {
        const auto* t = ctx.input_constant(i);
        if (!t || t->size() != 1) ctx.unsupported("MelWeightMatrix needs constant scalar inputs");
        in[i] = t->to_f64()[0];
    }
    auto bins = static_cast<std::int64_t>(in[0]);
    auto dft = static_cast<std::int64_t>(in[1]);
    if (bins < 1 || dft < 1 || in[2] <= 0 || in[3] < 0 || in[4] < in[3])
        ctx.fail("num_mel_bins, dft_length and sample_rate must be positive and "
                 "0 <= lower_edge_hertz <= upper_edge_hertz");
    auto w = mel_weights(bins, dft, in[2], in[3], in[4]);
    auto rows = dft / 2 + 1;
    auto t = Tensor::copy_of(ElementType::F32, {rows, bins}, std::as_bytes(std::span(w)));
    auto out = dtype_of(ctx, ctx.attr_int("output_datatype", 1));
    return {convert(ctx, ctx.constant(std::move(t)), out)};
}

// ---- refused ----------------------------------------------------------------------------------

Outs refuse_sequence(ConvertContext& ctx) {
    ctx.unsupported("sequence types are not supported");
}
Outs refuse_optional(ConvertContext& ctx) {
    ctx.unsupported("optional types are not supported");
}
Outs refuse_string(ConvertContext& ctx) {
    ctx.unsupported("string tensors are not supported");
}
Outs refuse_tfidf(ConvertContext& ctx) {
    ctx.unsupported("TfIdfVectorizer (n-gram counting) has no native equivalent");
}

} // namespace

void add_converters_m_to_z(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"MatMul", 1, convert_matmul},
        {"MatMulInteger", 10, convert_matmul_integer},
        {"Max", 1, convert_variadic},
        {"MaxPool", 1, convert_max_pool},
        {"MaxRoiPool", 1, convert_max_roi_pool},
        {"MaxUnpool", 9, convert_max_unpool},
        {"Mean", 1, convert_variadic},
        {"MeanVarianceNormalization", 9, convert_mvn},
        {"MelWeightMatrix", 17, convert_mel_weight_matrix},
        {"Min", 1, convert_variadic},
        {"Mod", 10, convert_mod},
        {"Mul", 1, convert_binary},
        {"Neg", 1, convert_unary},
        {"NonMaxSuppression", 10, convert_nms},
        {"NonZero", 9, convert_non_zero},
        {"Not", 1, convert_unary},
        {"OneHot", 9, convert_one_hot},
        {"Optional", 15, refuse_optional},
        {"OptionalGetElement", 15, refuse_optional},
        {"OptionalHasElement", 15, refuse_optional},
        {"Or", 1, convert_binary},
        {"PRelu", 1, convert_prelu},
        {"Pad", 1, convert_pad},
        {"Pow", 1, convert_pow},
        {"QLinearConv", 10, convert_qlinear_conv},
        {"QLinearMatMul", 10, convert_qlinear_matmul},
        {"QuantizeLinear", 10, convert_quantize_linear},
        {"RNN", 1, convert_rnn},
        {"RandomUniform", 1, convert_random_uniform},
        {"RandomUniformLike", 1, convert_random_uniform_like},
        {"Range", 11, convert_range},
        {"Reciprocal", 1, convert_reciprocal},
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
        {"Relu", 1, convert_unary},
        {"Reshape", 1, convert_reshape},
        {"Resize", 10, convert_resize},
        {"ReverseSequence", 10, convert_reverse_sequence},
        {"RoiAlign", 10, convert_roi_align},
        {"Round", 11, convert_round},
        {"STFT", 17, convert_stft},
        {"Scatter", 9, convert_scatter_elements},
        {"ScatterElements", 11, convert_scatter_elements},
        {"ScatterND", 11, convert_scatter_nd},
        {"Selu", 1, convert_selu},
        {"SequenceAt", 11, refuse_sequence},
        {"SequenceConstruct", 11, refuse_sequence},
        {"SequenceEmpty", 11, refuse_sequence},
        {"SequenceErase", 11, refuse_sequence},
        {"SequenceInsert", 11, refuse_sequence},
        {"SequenceLength", 11, refuse_sequence},
        {"SequenceMap", 17, refuse_sequence},
        {"Shape", 1, convert_shape},
        {"Shrink", 9, convert_shrink},
        {"Sigmoid", 1, convert_unary},
        {"Sign", 9, convert_unary},
        {"Sin", 7, convert_unary},
        {"Sinh", 9, convert_unary},
        {"Size", 1, convert_size},
        {"Slice", 1, convert_slice},
        {"Softmax", 1, convert_softmax},
        {"Softplus", 1, convert_unary},
        {"Softsign", 1, convert_softsign},
        {"SpaceToDepth", 1, convert_space_to_depth},
        {"Split", 1, convert_split},
        {"SplitToSequence", 11, refuse_sequence},
        {"Sqrt", 1, convert_unary},
        {"Squeeze", 1, convert_squeeze},
        {"StringNormalizer", 10, refuse_string},
        {"Sub", 1, convert_binary},
        {"Sum", 1, convert_variadic},
        {"Tan", 7, convert_unary},
        {"Tanh", 1, convert_unary},
        {"TfIdfVectorizer", 9, refuse_tfidf},
        {"ThresholdedRelu", 10, convert_thresholded_relu},
        {"Tile", 1, convert_tile},
        {"TopK", 1, convert_topk},
        {"Transpose", 1, convert_transpose},
        {"Trilu", 14, convert_trilu},
        {"Unique", 11, convert_unique},
        {"Unsqueeze", 1, convert_unsqueeze},
        {"Upsample", 1, convert_upsample},
        {"Where", 9, convert_where},
        {"Xor", 1, convert_binary},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
