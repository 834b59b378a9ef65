// ONNX → native converters for ONNX ops Abs … LpPool (default domain, opsets 1..17). Each
// converter produces OpenVINO-opset nodes with OpenVINO's attribute names and kinds, the way
// OpenVINO's ONNX frontend maps the op. Ops whose libonnx schema has a function body and no
// better native form (Celu, the window functions, DynamicQuantizeLinear, Bernoulli) are not
// listed: the core expands their function bodies.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "components/reader/onnx/converters.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {
namespace {

using model::Attributes;
using model::AttrValue;
using model::Dimension;
using model::Tensor;
using I64s = std::vector<std::int64_t>;
using Outs = std::vector<Output>;

constexpr std::int64_t k_max_i64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k_min_i64 = std::numeric_limits<std::int64_t>::min();

// ---- small building blocks ---------------------------------------------------------------------

Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
    Attributes a;
    for (const auto& [key, value] : list)
        a.set(key, value);
    return a;
}
AttrValue str(const char* s) {
    return std::string(s);
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

Output op(ConvertContext& ctx, std::string type, std::string version, std::vector<Output> inputs,
          Attributes a = {}) {
    return ctx.add(std::move(type), std::move(version), std::move(inputs), std::move(a)).output(0);
}
const PartialShape& shape_of_value(Output v) {
    return v.node->outputs[v.index].shape;
}
ElementType type_of_value(Output v) {
    return v.node->outputs[v.index].type;
}
Output binary(ConvertContext& ctx, const char* type, Output a, Output b) {
    return op(ctx, type, "opset1", {a, b}, attrs({{"auto_broadcast", str("numpy")}}));
}
Output shape_of(ConvertContext& ctx, Output x) {
    return op(ctx, "ShapeOf", "opset3", {x}, attrs({{"output_type", ElementType::I64}}));
}
// Elements `indices` of a 1-D value (a scalar index gives a scalar).
Output gather(ConvertContext& ctx, Output data, Output indices, std::int64_t axis = 0) {
    return op(ctx, "Gather", "opset8", {data, indices, ctx.scalar_i64(axis)},
              attrs({{"batch_dims", i64(0)}}));
}
// data[begin:end:step] along `axis`.
Output slice(ConvertContext& ctx, Output data, std::int64_t begin, std::int64_t end,
             std::int64_t step = 1, std::int64_t axis = 0) {
    return op(ctx, "Slice", "opset8",
              {data, ctx.constant_i64({begin}), ctx.constant_i64({end}), ctx.constant_i64({step}),
               ctx.constant_i64({axis})});
}
Output reshape(ConvertContext& ctx, Output x, Output target, bool special_zero = false) {
    return op(ctx, "Reshape", "opset1", {x, target}, attrs({{"special_zero", flag(special_zero)}}));
}
Output reshape(ConvertContext& ctx, Output x, I64s target) {
    return reshape(ctx, x, ctx.constant_i64(std::move(target)));
}
Output unsqueeze(ConvertContext& ctx, Output x, I64s axes) {
    return op(ctx, "Unsqueeze", "opset1", {x, ctx.constant_i64(std::move(axes))});
}
Output squeeze(ConvertContext& ctx, Output x, I64s axes) {
    return op(ctx, "Squeeze", "opset1", {x, ctx.constant_i64(std::move(axes))});
}
Output transpose(ConvertContext& ctx, Output x, I64s order) {
    return op(ctx, "Transpose", "opset1", {x, ctx.constant_i64(std::move(order))});
}
Output convert(ConvertContext& ctx, Output x, ElementType to) {
    return op(ctx, "Convert", "opset1", {x}, attrs({{"destination_type", to}}));
}
Output concat(ConvertContext& ctx, std::vector<Output> parts, std::int64_t axis) {
    return op(ctx, "Concat", "opset1", std::move(parts), attrs({{"axis", i64(axis)}}));
}
Outs split(ConvertContext& ctx, Output x, std::int64_t axis, std::int64_t parts) {
    auto& node = ctx.add("Split", "opset1", {x, ctx.scalar_i64(axis)},
                         attrs({{"num_splits", i64(parts)}}), static_cast<std::size_t>(parts));
    Outs out;
    for (std::int64_t i = 0; i < parts; ++i)
        out.push_back(node.output(static_cast<std::uint32_t>(i)));
    return out;
}
Output broadcast(ConvertContext& ctx, Output value, Output target_shape,
                 const char* mode = "numpy") {
    return op(ctx, "Broadcast", "opset3", {value, target_shape}, attrs({{"mode", str(mode)}}));
}
Output zeros(ConvertContext& ctx, ElementType type, model::Shape shape) {
    return ctx.constant(Tensor::allocate(type, std::move(shape)));
}
Output bool_scalar(ConvertContext& ctx, bool value) {
    Tensor t = Tensor::allocate(ElementType::BOOLEAN, {});
    t.mutable_data()[0] = std::byte{value ? std::uint8_t{1} : std::uint8_t{0}};
    return ctx.constant(t);
}

std::optional<std::int64_t> static_rank(const PartialShape& s) {
    if (s.rank_is_dynamic()) return std::nullopt;
    return s.rank();
}
// Dims `idx` of x (negative counts from the back) as a 1-D i64 value: a constant when they are
// static, so shape inference downstream sees the values.
Output dims_of(ConvertContext& ctx, Output x, const I64s& idx) {
    const PartialShape& s = shape_of_value(x);
    if (s.rank_is_static()) {
        I64s values;
        for (auto i : idx) {
            std::int64_t k = i < 0 ? i + s.rank() : i;
            if (k < 0 || k >= s.rank() || s[static_cast<std::size_t>(k)].is_dynamic()) break;
            values.push_back(s[static_cast<std::size_t>(k)].length());
        }
        if (values.size() == idx.size()) return ctx.constant_i64(values);
    }
    return gather(ctx, shape_of(ctx, x), ctx.constant_i64(idx));
}
// Dim `i` of x as a scalar i64 value.
Output dim_scalar(ConvertContext& ctx, Output x, std::int64_t i) {
    return squeeze(ctx, dims_of(ctx, x, {i}), {0});
}
// The shape of x as a 1-D i64 value (a constant when static).
Output shape_like(ConvertContext& ctx, Output x) {
    const PartialShape& s = shape_of_value(x);
    if (s.is_static()) return ctx.constant_i64(s.to_shape());
    return shape_of(ctx, x);
}

// The rank of x as a scalar i64 value.
Output rank_scalar(ConvertContext& ctx, Output x) {
    return squeeze(ctx, shape_of(ctx, shape_of(ctx, x)), {0});
}
// [start, rank(x)) as a 1-D i64 value: a constant when the rank is static.
Output axes_from(ConvertContext& ctx, Output x, std::int64_t start) {
    if (auto r = static_rank(shape_of_value(x))) {
        I64s axes;
        for (std::int64_t i = start; i < *r; ++i)
            axes.push_back(i);
        return ctx.constant_i64(axes);
    }
    return op(ctx, "Range", "opset4",
              {ctx.scalar_i64(start), rank_scalar(ctx, x), ctx.scalar_i64(1)},
              attrs({{"output_type", ElementType::I64}}));
}
// Reshapes a per-channel 1-D value [C] to [1, C, 1, …] so it broadcasts against x [N, C, …].
Output per_channel(ConvertContext& ctx, Output v, Output x) {
    if (auto r = static_rank(shape_of_value(x))) {
        I64s target(static_cast<std::size_t>(std::max<std::int64_t>(*r, 2)), 1);
        target[1] = -1;
        return reshape(ctx, v, target);
    }
    Output ones =
        broadcast(ctx, ctx.constant_i64({1}),
                  binary(ctx, "Subtract", shape_of(ctx, shape_of(ctx, x)), ctx.constant_i64({2})));
    return reshape(ctx, v, concat(ctx, {ctx.constant_i64({1, -1}), ones}, 0));
}
// x coerced to 2-D at `axis` (ONNX Flatten semantics; axis may be negative).
Output flatten_2d(ConvertContext& ctx, Output x, std::int64_t axis) {
    const PartialShape& s = shape_of_value(x);
    if (auto r = static_rank(s)) {
        if (axis < 0) axis += *r;
        if (axis < 0 || axis > *r)
            ctx.fail(fmt::format("axis {} is out of range for an input of rank {}", axis, *r));
        std::int64_t head = 1, tail = 1;
        bool head_static = true, tail_static = true;
        for (std::int64_t i = 0; i < *r; ++i) {
            const Dimension& d = s[static_cast<std::size_t>(i)];
            bool& known = i < axis ? head_static : tail_static;
            std::int64_t& prod = i < axis ? head : tail;
            if (d.is_static())
                prod *= d.length();
            else
                known = false;
        }
        if (head_static) return reshape(ctx, x, {head, tail_static ? tail : -1});
        if (tail_static) return reshape(ctx, x, {-1, tail});
    }
    Output shape = shape_of(ctx, x);
    auto prod = [&](Output part) {
        return op(ctx, "ReduceProd", "opset1", {part, ctx.constant_i64({0})},
                  attrs({{"keep_dims", flag(true)}}));
    };
    Output head = prod(slice(ctx, shape, 0, axis));
    Output tail = prod(slice(ctx, shape, axis, k_max_i64));
    return reshape(ctx, x, concat(ctx, {head, tail}, 0));
}

// ONNX auto_pad → OpenVINO auto_pad.
std::string auto_pad(ConvertContext& ctx) {
    std::string mode = ctx.attr_string("auto_pad", "NOTSET");
    if (mode == "NOTSET" || mode.empty()) return "explicit";
    if (mode == "SAME_UPPER") return "same_upper";
    if (mode == "SAME_LOWER") return "same_lower";
    if (mode == "VALID") return "valid";
    ctx.fail(
        fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", mode));
}

// Window geometry of convolutions and pooling: `n` spatial dims.
struct Window {
    I64s kernel, strides, dilations, pads_begin, pads_end;
    std::string auto_pad;
};

Window read_window(ConvertContext& ctx, std::int64_t n) {
    auto n_size = static_cast<std::size_t>(n);
    Window w;
    w.kernel = ctx.attr_ints("kernel_shape");
    w.strides = ctx.attr_ints("strides", I64s(n_size, 1));
    w.dilations = ctx.attr_ints("dilations", I64s(n_size, 1));
    I64s pads = ctx.attr_ints("pads", I64s(2 * n_size, 0));
    w.auto_pad = auto_pad(ctx);
    if (w.strides.size() != n_size || w.dilations.size() != n_size || pads.size() != 2 * n_size ||
        (!w.kernel.empty() && w.kernel.size() != n_size))
        ctx.fail(
            fmt::format("kernel_shape/strides/dilations/pads do not match {} spatial dims", n));
    w.pads_begin.assign(pads.begin(), pads.begin() + n);
    w.pads_end.assign(pads.begin() + n, pads.end());
    if (w.auto_pad != "explicit") {
        std::fill(w.pads_begin.begin(), w.pads_begin.end(), 0);
        std::fill(w.pads_end.begin(), w.pads_end.end(), 0);
    }
    return w;
}

// Spatial rank of a convolution: from kernel_shape, else the weights' or the data's rank.
std::int64_t conv_spatial_rank(ConvertContext& ctx) {
    if (ctx.has_attr("kernel_shape"))
        return static_cast<std::int64_t>(ctx.attr_ints("kernel_shape").size());
    if (auto r = static_rank(ctx.input_shape(1))) return *r - 2;
    if (auto r = static_rank(ctx.input_shape(0))) return *r - 2;
    ctx.unsupported("the number of spatial dims is unknown (no kernel_shape, dynamic ranks)");
}

// ONNX's opset<7 broadcast=1/axis attributes: B's dims align with A's starting at `axis`; B gets
// trailing 1-dims so numpy broadcasting applies.
std::pair<Output, Output> binary_inputs(ConvertContext& ctx) {
    Output a = ctx.input(0), b = ctx.input(1);
    if (ctx.opset() >= 7 || ctx.attr_int("broadcast", 0) == 0 || !ctx.has_attr("axis"))
        return {a, b};
    auto ra = static_rank(ctx.input_shape(0));
    auto rb = static_rank(ctx.input_shape(1));
    if (!ra || !rb) ctx.unsupported("legacy broadcast with axis needs inputs of static rank");
    std::int64_t axis = ctx.attr_int("axis", 0);
    if (axis < 0) axis += *ra;
    if (axis < 0 || axis + *rb > *ra)
        ctx.fail(fmt::format("broadcast axis {} does not place B (rank {}) inside A (rank {})",
                             ctx.attr_int("axis", 0), *rb, *ra));
    I64s axes;
    for (std::int64_t k = *rb; k < *ra - axis; ++k)
        axes.push_back(k);
    if (!axes.empty()) b = unsqueeze(ctx, b, axes);
    return {a, b};
}

template <std::size_t N>
struct Lit {
    char s[N];
    constexpr Lit(const char (&v)[N]) { std::copy_n(v, N, s); }
};

template <Lit Type, Lit Version>
Outs unary(ConvertContext& ctx) {
    return {op(ctx, Type.s, Version.s, {ctx.input(0)})};
}
template <Lit Type>
Outs elementwise(ConvertContext& ctx) {
    auto [a, b] = binary_inputs(ctx);
    return {binary(ctx, Type.s, a, b)};
}

// ---- elementwise -------------------------------------------------------------------------------

Outs convert_div(ConvertContext& ctx) {
    auto [a, b] = binary_inputs(ctx);
    Attributes at = attrs({{"auto_broadcast", str("numpy")}});
    // ONNX integer division truncates (C semantics), not Python's floor.
    if (model::is_integral(ctx.input_type(0))) at.set("m_pythondiv", false);
    return {op(ctx, "Divide", "opset1", {a, b}, std::move(at))};
}

Outs convert_bit_shift(ConvertContext& ctx) {
    std::string dir = ctx.attr_string("direction", "");
    if (dir != "LEFT" && dir != "RIGHT")
        ctx.fail(fmt::format("direction must be LEFT or RIGHT, got '{}'", dir));
    ElementType t = ctx.input_type(0);
    Output factor = binary(ctx, "Power", ctx.scalar_like(2, t), ctx.input(1));
    if (dir == "LEFT") return {binary(ctx, "Multiply", ctx.input(0), factor)};
    return {op(ctx, "Divide", "opset1", {ctx.input(0), factor},
               attrs({{"auto_broadcast", str("numpy")}, {"m_pythondiv", flag(false)}}))};
}

// The value range of `t` as doubles (Clamp's attributes).
std::pair<double, double> type_range(ElementType t) {
    switch (t) {
    case ElementType::F16:
        return {-65504.0, 65504.0};
    case ElementType::F64:
        return {std::numeric_limits<double>::lowest(), std::numeric_limits<double>::max()};
    default:
        return {std::numeric_limits<float>::lowest(), std::numeric_limits<float>::max()};
    }
}

Outs convert_clip(ConvertContext& ctx) {
    Output x = ctx.input(0);
    ElementType t = ctx.input_type(0);
    auto [lo, hi] = type_range(t);
    if (ctx.opset() < 11)
        return {op(ctx, "Clamp", "opset1", {x},
                   attrs({{"min", f64(ctx.attr_float("min", lo))},
                          {"max", f64(ctx.attr_float("max", hi))}}))};
    bool has_min = ctx.has_input(1), has_max = ctx.has_input(2);
    const Tensor* min_c = has_min ? ctx.input_constant(1) : nullptr;
    const Tensor* max_c = has_max ? ctx.input_constant(2) : nullptr;
    bool bounds_known = (!has_min || min_c) && (!has_max || max_c);
    if (bounds_known && (model::is_floating(t) || (has_min && has_max))) {
        if (min_c) lo = min_c->to_f64().at(0);
        if (max_c) hi = max_c->to_f64().at(0);
        return {op(ctx, "Clamp", "opset1", {x}, attrs({{"min", f64(lo)}, {"max", f64(hi)}}))};
    }
    if (has_min) x = binary(ctx, "Maximum", x, ctx.input(1));
    if (has_max) x = binary(ctx, "Minimum", x, ctx.input(2));
    return {x};
}

Outs convert_cast(ConvertContext& ctx) {
    std::int32_t code = 0;
    for (const auto& a : ctx.node().attribute()) {
        if (a.name() != "to") continue;
        if (a.type() == onnx::AttributeProto::STRING) { // Cast-1 spells the type's name
            onnx::TensorProto::DataType parsed{};
            if (!onnx::TensorProto::DataType_Parse(a.s(), &parsed))
                ctx.fail(fmt::format("attribute 'to' names an unknown type '{}'", a.s()));
            code = parsed;
        } else {
            code = static_cast<std::int32_t>(a.i());
        }
    }
    if (code == 0) ctx.fail("attribute 'to' is missing");
    if (code == onnx::TensorProto::STRING) ctx.unsupported("Cast to string is not supported");
    ElementType to = element_type_from_onnx(code);
    if (to == ElementType::UNDEFINED)
        ctx.unsupported(fmt::format("Cast to ONNX type {} is not supported",
                                    onnx::TensorProto::DataType_IsValid(code)
                                        ? onnx::TensorProto::DataType_Name(code)
                                        : std::to_string(code)));
    return {convert(ctx, ctx.input(0), to)};
}

Outs convert_cast_like(ConvertContext& ctx) {
    return {op(ctx, "ConvertLike", "opset1", {ctx.input(0), ctx.input(1)})};
}

Outs convert_elu(ConvertContext& ctx) {
    return {op(ctx, "Elu", "opset1", {ctx.input(0)},
               attrs({{"alpha", f64(ctx.attr_float("alpha", 1.0))}}))};
}

Outs convert_leaky_relu(ConvertContext& ctx) {
    Output slope = ctx.scalar_like(ctx.attr_float("alpha", 0.01), ctx.input_type(0));
    return {op(ctx, "PRelu", "opset1", {ctx.input(0), slope})};
}

Outs convert_hard_sigmoid(ConvertContext& ctx) {
    ElementType t = ctx.input_type(0);
    return {op(ctx, "HardSigmoid", "opset1",
               {ctx.input(0), ctx.scalar_like(ctx.attr_float("alpha", 0.2), t),
                ctx.scalar_like(ctx.attr_float("beta", 0.5), t)})};
}

Outs convert_is_inf(ConvertContext& ctx) {
    return {op(ctx, "IsInf", "opset10", {ctx.input(0)},
               attrs({{"detect_negative", flag(ctx.attr_int("detect_negative", 1) != 0)},
                      {"detect_positive", flag(ctx.attr_int("detect_positive", 1) != 0)}}))};
}

Outs convert_dropout(ConvertContext& ctx) {
    if (ctx.opset() >= 12 && ctx.has_input(2)) {
        auto training = ctx.input_values(2);
        if (!training) ctx.unsupported("training_mode is not a constant");
        if (!training->empty() && training->front() != 0)
            ctx.unsupported("training_mode=true (random dropout) is not supported");
    }
    Output x = ctx.input(0);
    Outs out{x};
    if (ctx.has_output(1)) { // the mask keeps every element in inference
        Output one =
            ctx.opset() >= 10 ? bool_scalar(ctx, true) : ctx.scalar_like(1.0, ctx.input_type(0));
        out.push_back(broadcast(ctx, one, shape_like(ctx, x)));
    }
    return out;
}

// ---- reductions over an axis -------------------------------------------------------------------

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
    ElementType t = type_of_value(x);
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

Output reduce(ConvertContext& ctx, const char* type, const char* version, Output x, Output axes) {
    return op(ctx, type, version, {x, axes}, attrs({{"keep_dims", flag(true)}}));
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
    ElementType t = type_of_value(x);
    Output powered = binary(ctx, "Power", op(ctx, "Abs", "opset1", {x}), ctx.scalar_like(p, t));
    Output sum = reduce(ctx, "ReduceSum", "opset1", powered, axes);
    return binary(ctx, "Power", sum, ctx.scalar_like(1.0 / p, t));
}

double lp_order(ConvertContext& ctx) {
    return ctx.opset() < 2 ? ctx.attr_float("p", 2.0) : static_cast<double>(ctx.attr_int("p", 2));
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

// ---- pooling and convolution -------------------------------------------------------------------

Output avg_pool(ConvertContext& ctx, Output x, const Window& w, bool exclude_pad, bool ceil) {
    return op(ctx, "AvgPool", "opset1", {x},
              attrs({{"strides", w.strides},
                     {"pads_begin", w.pads_begin},
                     {"pads_end", w.pads_end},
                     {"kernel", w.kernel},
                     {"exclude-pad", flag(exclude_pad)},
                     {"rounding_type", str(ceil ? "ceil" : "floor")},
                     {"auto_pad", w.auto_pad}}));
}

Window pool_window(ConvertContext& ctx) {
    I64s kernel = ctx.attr_ints("kernel_shape");
    if (kernel.empty()) ctx.fail("attribute 'kernel_shape' is missing");
    Window w = read_window(ctx, static_cast<std::int64_t>(kernel.size()));
    if (std::any_of(w.dilations.begin(), w.dilations.end(), [](auto d) { return d != 1; }))
        ctx.unsupported("pooling with dilations is not supported");
    return w;
}

Outs convert_average_pool(ConvertContext& ctx) {
    Window w = pool_window(ctx);
    bool include_pad = ctx.attr_int("count_include_pad", 0) != 0;
    bool ceil = ctx.attr_int("ceil_mode", 0) != 0;
    return {avg_pool(ctx, ctx.input(0), w, !include_pad, ceil)};
}

// Lp pooling: the window sum of |x|^p (an average including padding × window size), ^(1/p).
Outs convert_lp_pool(ConvertContext& ctx) {
    Window w = pool_window(ctx);
    double p = lp_order(ctx);
    if (p <= 0.0) ctx.fail(fmt::format("p must be positive, got {}", p));
    Output x = ctx.input(0);
    ElementType t = ctx.input_type(0);
    Output powered =
        p == 2.0 ? binary(ctx, "Multiply", x, x)
                 : binary(ctx, "Power", op(ctx, "Abs", "opset1", {x}), ctx.scalar_like(p, t));
    double window = 1;
    for (auto k : w.kernel)
        window *= static_cast<double>(k);
    bool ceil = ctx.attr_int("ceil_mode", 0) != 0;
    Output sum =
        binary(ctx, "Multiply", avg_pool(ctx, powered, w, false, ceil), ctx.scalar_like(window, t));
    if (p == 1.0) return {sum};
    if (p == 2.0) return {op(ctx, "Sqrt", "opset1", {sum})};
    return {binary(ctx, "Power", sum, ctx.scalar_like(1.0 / p, t))};
}

// Weights [A, B, k…] of a grouped (transposed) convolution → [G, A/G, B, k…].
Output group_weights(ConvertContext& ctx, Output w, std::int64_t group) {
    const PartialShape& s = shape_of_value(w);
    if (s.is_static()) {
        model::Shape dims = s.to_shape();
        if (dims.empty() || dims[0] % group != 0)
            ctx.fail(fmt::format("weights {} do not split into {} groups", model::to_string(dims),
                                 group));
        I64s target{group, dims[0] / group};
        target.insert(target.end(), dims.begin() + 1, dims.end());
        return reshape(ctx, w, target);
    }
    Output rest = slice(ctx, shape_of(ctx, w), 1, k_max_i64);
    return reshape(ctx, w, concat(ctx, {ctx.constant_i64({group, -1}), rest}, 0));
}

Attributes conv_attrs(const Window& w) {
    return attrs({{"strides", w.strides},
                  {"pads_begin", w.pads_begin},
                  {"pads_end", w.pads_end},
                  {"dilations", w.dilations},
                  {"auto_pad", w.auto_pad}});
}

Output conv_core(ConvertContext& ctx, Output x, Output w) {
    Window win = read_window(ctx, conv_spatial_rank(ctx));
    std::int64_t group = ctx.attr_int("group", 1);
    if (group < 1) ctx.fail(fmt::format("group must be ≥ 1, got {}", group));
    if (group == 1) return op(ctx, "Convolution", "opset1", {x, w}, conv_attrs(win));
    return op(ctx, "GroupConvolution", "opset1", {x, group_weights(ctx, w, group)},
              conv_attrs(win));
}

Outs convert_conv(ConvertContext& ctx) {
    Output y = conv_core(ctx, ctx.input(0), ctx.input(1));
    if (ctx.has_input(2)) y = binary(ctx, "Add", y, per_channel(ctx, ctx.input(2), y));
    return {y};
}

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

// Explicit pads for ConvTranspose's output_shape / SAME_* when every size is static (ONNX's
// rule: the odd pixel goes to the end for SAME_UPPER, to the beginning otherwise).
bool explicit_transpose_pads(ConvertContext& ctx, Window& w, I64s& out_padding,
                             const I64s& out_shape) {
    const PartialShape& xs = ctx.input_shape(0);
    const PartialShape& ws = ctx.input_shape(1);
    auto n = w.strides.size();
    if (xs.rank_is_dynamic() || xs.rank() != static_cast<std::int64_t>(n + 2)) return false;
    bool upper = ctx.attr_string("auto_pad", "NOTSET") == "SAME_UPPER";
    I64s begin(n), end(n), extra = out_padding;
    for (std::size_t i = 0; i < n; ++i) {
        const Dimension& in = xs[i + 2];
        std::int64_t k = 0;
        if (!w.kernel.empty())
            k = w.kernel[i];
        else if (ws.rank_is_static() && ws[i + 2].is_static())
            k = ws[i + 2].length();
        if (in.is_dynamic() || k == 0) return false;
        std::int64_t target = out_shape.empty() ? in.length() * w.strides[i] : out_shape[i];
        std::int64_t total = w.strides[i] * (in.length() - 1) + out_padding[i] +
                             (k - 1) * w.dilations[i] + 1 - target;
        if (total < 0) { // an output larger than the kernels cover: zeros at the end
            extra[i] -= total;
            total = 0;
        }
        begin[i] = upper ? total / 2 : total - total / 2;
        end[i] = total - begin[i];
    }
    w.pads_begin = begin;
    w.pads_end = end;
    w.auto_pad = "explicit";
    out_padding = extra;
    return true;
}

Outs convert_conv_transpose(ConvertContext& ctx) {
    std::int64_t n = conv_spatial_rank(ctx);
    auto n_size = static_cast<std::size_t>(n);
    Window w = read_window(ctx, n);
    I64s out_padding = ctx.attr_ints("output_padding", I64s(n_size, 0));
    I64s out_shape = ctx.attr_ints("output_shape");
    if (out_padding.size() != n_size) ctx.fail("output_padding does not match the spatial dims");
    if (out_shape.size() == n_size + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    if (!out_shape.empty() && out_shape.size() != n_size)
        ctx.fail("output_shape does not match the spatial dims");
    std::vector<Output> inputs{ctx.input(0), ctx.input(1)};
    std::int64_t group = ctx.attr_int("group", 1);
    if (group > 1) inputs[1] = group_weights(ctx, inputs[1], group);
    bool same = w.auto_pad == "same_upper" || w.auto_pad == "same_lower";
    if ((!out_shape.empty() || same) && !explicit_transpose_pads(ctx, w, out_padding, out_shape)) {
        // Sizes unknown now: pass the spatial output shape and let auto_pad split the padding.
        bool upper = w.auto_pad == "same_upper";
        w.auto_pad = upper ? "same_upper" : "same_lower";
        inputs.push_back(out_shape.empty()
                             ? binary(ctx, "Multiply",
                                      slice(ctx, shape_of(ctx, ctx.input(0)), 2, k_max_i64),
                                      ctx.constant_i64(w.strides))
                             : ctx.constant_i64(out_shape));
    }
    Attributes a = conv_attrs(w);
    a.set("output_padding", out_padding);
    Output y = op(ctx, group > 1 ? "GroupConvolutionBackpropData" : "ConvolutionBackpropData",
                  "opset1", std::move(inputs), std::move(a));
    if (ctx.has_input(2)) y = binary(ctx, "Add", y, per_channel(ctx, ctx.input(2), y));
    return {y};
}

// ---- normalization -----------------------------------------------------------------------------

Outs convert_batch_norm(ConvertContext& ctx) {
    if (ctx.opset() >= 14 && ctx.attr_int("training_mode", 0) != 0)
        ctx.unsupported("training_mode=1 (normalizing with batch statistics) is not supported; "
                        "export the model for inference");
    if (ctx.opset() < 7 && ctx.attr_int("is_test", 0) == 0 &&
        (ctx.has_output(1) || ctx.has_output(2) || ctx.has_output(3) || ctx.has_output(4)))
        ctx.unsupported("is_test=0 with training outputs (running statistics) is not supported");
    double eps = ctx.attr_float("epsilon", 1e-5);
    Output x = ctx.input(0), scale = ctx.input(1), bias = ctx.input(2), mean = ctx.input(3),
           var = ctx.input(4);
    if (ctx.opset() < 9 && ctx.attr_int("spatial", 1) == 0) {
        // Per-activation statistics [C, D1, …]: (x - mean) / sqrt(var + eps) * scale + bias.
        ElementType t = ctx.input_type(0);
        Output std_dev =
            op(ctx, "Sqrt", "opset1", {binary(ctx, "Add", var, ctx.scalar_like(eps, t))});
        Output y = binary(ctx, "Divide", binary(ctx, "Subtract", x, mean), std_dev);
        return {binary(ctx, "Add", binary(ctx, "Multiply", y, scale), bias)};
    }
    return {op(ctx, "BatchNormInference", "opset5", {x, scale, bias, mean, var},
               attrs({{"epsilon", f64(eps)}}))};
}

Output mvn(ConvertContext& ctx, Output x, Output axes, double eps) {
    return op(ctx, "MVN", "opset6", {x, axes},
              attrs({{"normalize_variance", flag(true)},
                     {"eps", f64(eps)},
                     {"eps_mode", str("inside_sqrt")}}));
}

Outs convert_instance_norm(ConvertContext& ctx) {
    Output x = ctx.input(0);
    Output y = mvn(ctx, x, axes_from(ctx, x, 2), ctx.attr_float("epsilon", 1e-5));
    y = binary(ctx, "Multiply", y, per_channel(ctx, ctx.input(1), x));
    return {binary(ctx, "Add", y, per_channel(ctx, ctx.input(2), x))};
}

Outs convert_layer_norm(ConvertContext& ctx) {
    Output x = ctx.input(0);
    std::int64_t axis = ctx.attr_int("axis", -1);
    double eps = ctx.attr_float("epsilon", 1e-5);
    Output axes;
    if (axis < 0) {
        I64s neg;
        for (std::int64_t i = axis; i < 0; ++i)
            neg.push_back(i);
        axes = ctx.constant_i64(neg);
    } else {
        axes = axes_from(ctx, x, axis);
    }
    Output y = binary(ctx, "Multiply", mvn(ctx, x, axes, eps), ctx.input(1));
    if (ctx.has_input(2)) y = binary(ctx, "Add", y, ctx.input(2));
    Outs out{y};
    if (ctx.has_output(1) || ctx.has_output(2)) { // statistics, reduced dims kept
        ElementType t = ctx.input_type(0);
        Output mean = reduce(ctx, "ReduceMean", "opset1", x, axes);
        Output diff = binary(ctx, "Subtract", x, mean);
        Output var = reduce(ctx, "ReduceMean", "opset1", binary(ctx, "Multiply", diff, diff), axes);
        Output std_dev =
            op(ctx, "Sqrt", "opset1", {binary(ctx, "Add", var, ctx.scalar_like(eps, t))});
        Output inv = binary(ctx, "Divide", ctx.scalar_like(1.0, t), std_dev);
        bool stash_f32 = ctx.attr_int("stash_type", 1) == 1 && t != ElementType::F32;
        out.push_back(stash_f32 ? convert(ctx, mean, ElementType::F32) : mean);
        out.push_back(stash_f32 ? convert(ctx, inv, ElementType::F32) : inv);
    }
    return out;
}

Outs convert_lrn(ConvertContext& ctx) {
    std::int64_t size = ctx.attr_int("size", 0);
    if (size <= 0) ctx.fail("attribute 'size' must be positive");
    return {op(ctx, "LRN", "opset1", {ctx.input(0), ctx.constant_i64({1})},
               attrs({{"alpha", f64(ctx.attr_float("alpha", 1e-4))},
                      {"beta", f64(ctx.attr_float("beta", 0.75))},
                      {"bias", f64(ctx.attr_float("bias", 1.0))},
                      {"size", i64(size)}}))};
}

// ---- quantization ------------------------------------------------------------------------------

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

// ---- shape and data movement -------------------------------------------------------------------

Outs convert_concat(ConvertContext& ctx) {
    std::vector<Output> parts;
    for (std::size_t i = 0; i < ctx.input_count(); ++i)
        if (ctx.has_input(i)) parts.push_back(ctx.input(i));
    std::int64_t axis = ctx.opset() < 4 ? ctx.attr_int("axis", 1) : ctx.attr_int("axis", 0);
    if (ctx.opset() >= 4 && !ctx.has_attr("axis")) ctx.fail("attribute 'axis' is missing");
    return {concat(ctx, std::move(parts), axis)};
}

Outs convert_constant_of_shape(ConvertContext& ctx) {
    auto value = ctx.attr_tensor("value");
    Tensor v = value ? *value : Tensor::allocate(ElementType::F32, {});
    if (v.size() != 1) ctx.fail("attribute 'value' must hold exactly one element");
    return {broadcast(ctx, ctx.constant(v.reshaped({})), ctx.input(0))};
}

Outs convert_compress(ConvertContext& ctx) {
    Output idx =
        op(ctx, "NonZero", "opset3", {ctx.input(1)}, attrs({{"output_type", ElementType::I64}}));
    idx = squeeze(ctx, idx, {0});
    if (ctx.has_attr("axis")) return {gather(ctx, ctx.input(0), idx, ctx.attr_int("axis", 0))};
    return {gather(ctx, reshape(ctx, ctx.input(0), I64s{-1}), idx, 0)};
}

Outs convert_depth_to_space(ConvertContext& ctx) {
    std::string mode = ctx.opset() >= 11 ? ctx.attr_string("mode", "DCR") : "DCR";
    if (mode != "DCR" && mode != "CRD")
        ctx.fail(fmt::format("mode must be DCR or CRD, got '{}'", mode));
    return {op(ctx, "DepthToSpace", "opset1", {ctx.input(0)},
               attrs({{"mode", str(mode == "DCR" ? "blocks_first" : "depth_first")},
                      {"block_size", i64(ctx.attr_int("blocksize", 0))}}))};
}

Outs convert_einsum(ConvertContext& ctx) {
    std::string eq = ctx.attr_string("equation", "");
    eq.erase(std::remove_if(eq.begin(), eq.end(), [](unsigned char c) { return std::isspace(c); }),
             eq.end());
    if (eq.empty()) ctx.fail("attribute 'equation' is missing");
    std::vector<Output> inputs;
    for (std::size_t i = 0; i < ctx.input_count(); ++i)
        inputs.push_back(ctx.input(i));
    return {op(ctx, "Einsum", "opset7", std::move(inputs), attrs({{"equation", eq}}))};
}

Outs convert_expand(ConvertContext& ctx) {
    return {broadcast(ctx, ctx.input(0), ctx.input(1), "bidirectional")};
}

Outs convert_eye_like(ConvertContext& ctx) {
    const PartialShape& s = ctx.input_shape(0);
    if (s.rank_is_static() && s.rank() != 2) ctx.fail("the input must be 2-D");
    ElementType t = ctx.input_type(0);
    if (auto dtype = ctx.attr_int("dtype")) {
        t = element_type_from_onnx(static_cast<std::int32_t>(*dtype));
        if (t == ElementType::UNDEFINED)
            ctx.unsupported(fmt::format("dtype {} is not supported", *dtype));
    }
    auto dim = [&](std::int64_t i) {
        if (s.rank_is_static() && s[static_cast<std::size_t>(i)].is_static())
            return ctx.scalar_i64(s[static_cast<std::size_t>(i)].length());
        return gather(ctx, shape_of(ctx, ctx.input(0)), ctx.scalar_i64(i));
    };
    return {op(ctx, "Eye", "opset9", {dim(0), dim(1), ctx.scalar_i64(ctx.attr_int("k", 0))},
               attrs({{"output_type", t}}))};
}

Outs convert_flatten(ConvertContext& ctx) {
    return {flatten_2d(ctx, ctx.input(0), ctx.attr_int("axis", 1))};
}

Outs convert_gather(ConvertContext& ctx) {
    return {gather(ctx, ctx.input(0), ctx.input(1), ctx.attr_int("axis", 0))};
}

Outs convert_gather_elements(ConvertContext& ctx) {
    return {op(ctx, "GatherElements", "opset6", {ctx.input(0), ctx.input(1)},
               attrs({{"axis", i64(ctx.attr_int("axis", 0))}}))};
}

Outs convert_gather_nd(ConvertContext& ctx) {
    return {op(ctx, "GatherND", "opset8", {ctx.input(0), ctx.input(1)},
               attrs({{"batch_dims", i64(ctx.attr_int("batch_dims", 0))}}))};
}

Outs convert_gemm(ConvertContext& ctx) {
    ElementType t = ctx.input_type(0);
    Output y = op(ctx, "MatMul", "opset1", {ctx.input(0), ctx.input(1)},
                  attrs({{"transpose_a", flag(ctx.attr_int("transA", 0) != 0)},
                         {"transpose_b", flag(ctx.attr_int("transB", 0) != 0)}}));
    double alpha = ctx.attr_float("alpha", 1.0), beta = ctx.attr_float("beta", 1.0);
    if (alpha != 1.0) y = binary(ctx, "Multiply", y, ctx.scalar_like(alpha, t));
    if (!ctx.has_input(2) || beta == 0.0) return {y};
    Output c = ctx.input(2);
    if (beta != 1.0) c = binary(ctx, "Multiply", c, ctx.scalar_like(beta, t));
    return {binary(ctx, "Add", y, c)};
}

Outs convert_grid_sample(ConvertContext& ctx) {
    return {op(ctx, "GridSample", "opset9", {ctx.input(0), ctx.input(1)},
               attrs({{"align_corners", flag(ctx.attr_int("align_corners", 0) != 0)},
                      {"mode", ctx.attr_string("mode", "bilinear")},
                      {"padding_mode", ctx.attr_string("padding_mode", "zeros")}}))};
}

// Determinant of static n×n matrices (n ≤ 6) by the Leibniz formula: one Gather picks
// a[i, σ(i)] for every permutation σ, then Π over i, × sign(σ), Σ over σ.
Outs convert_det(ConvertContext& ctx) {
    const PartialShape& s = ctx.input_shape(0);
    auto r = static_rank(s);
    if (!r || *r < 2) ctx.unsupported("Det needs an input of static rank ≥ 2");
    const Dimension& rows = s[static_cast<std::size_t>(*r - 2)];
    const Dimension& cols = s[static_cast<std::size_t>(*r - 1)];
    if (rows.is_dynamic() || cols.is_dynamic())
        ctx.unsupported("Det needs matrices of static size in the last two dims");
    std::int64_t n = rows.length();
    if (cols.length() != n)
        ctx.fail(fmt::format("Det needs square matrices, got {}x{}", n, cols.length()));
    if (n < 1 || n > 6)
        ctx.unsupported(
            fmt::format("Det of {}x{} matrices is not supported (sizes 1..6 are)", n, n));
    I64s perm(static_cast<std::size_t>(n)), picks;
    std::iota(perm.begin(), perm.end(), 0);
    std::vector<float> signs;
    do {
        std::size_t inversions = 0;
        for (std::size_t i = 0; i < perm.size(); ++i) {
            picks.push_back(static_cast<std::int64_t>(i) * n + perm[i]);
            for (std::size_t j = i + 1; j < perm.size(); ++j)
                inversions += perm[j] < perm[i] ? 1 : 0;
        }
        signs.push_back(inversions % 2 == 0 ? 1.0f : -1.0f);
    } while (std::next_permutation(perm.begin(), perm.end()));
    auto count = static_cast<std::int64_t>(signs.size());
    I64s flat_shape(static_cast<std::size_t>(*r - 2), 0);
    flat_shape.push_back(n * n);
    Output flat = reshape(ctx, ctx.input(0), ctx.constant_i64(flat_shape), true);
    Output picked = gather(ctx, flat, reshape(ctx, ctx.constant_i64(picks), I64s{count, n}), -1);
    Output prod = op(ctx, "ReduceProd", "opset1", {picked, ctx.constant_i64({-1})},
                     attrs({{"keep_dims", flag(false)}}));
    Output sign = ctx.constant_f32(signs);
    if (ctx.input_type(0) != ElementType::F32) sign = convert(ctx, sign, ctx.input_type(0));
    return {op(ctx, "ReduceSum", "opset1",
               {binary(ctx, "Multiply", prod, sign), ctx.constant_i64({-1})},
               attrs({{"keep_dims", flag(false)}}))};
}

// ---- DFT ---------------------------------------------------------------------------------------

Outs convert_dft(ConvertContext& ctx) {
    const PartialShape& s = ctx.input_shape(0);
    if (s.rank_is_dynamic() || s[static_cast<std::size_t>(s.rank() - 1)].is_dynamic())
        ctx.unsupported("DFT needs an input of static rank with a static last dim");
    std::int64_t r = s.rank();
    std::int64_t parts = s[static_cast<std::size_t>(r - 1)].length();
    if (parts != 1 && parts != 2) ctx.fail("the last dim of the input must be 1 (real) or 2");
    std::int64_t axis = ctx.attr_int("axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r - 1)
        ctx.fail(fmt::format("axis {} is out of range for an input of rank {}",
                             ctx.attr_int("axis", 1), r));
    bool inverse = ctx.attr_int("inverse", 0) != 0, onesided = ctx.attr_int("onesided", 0) != 0;
    Output x = ctx.input(0);
    std::vector<Output> inputs{x, ctx.constant_i64({axis})};
    if (ctx.has_input(1)) inputs.push_back(reshape(ctx, ctx.input(1), I64s{1}));
    if (onesided) {
        if (inverse) ctx.unsupported("inverse DFT with onesided=1 is not supported");
        if (parts != 1) ctx.fail("onesided=1 needs a real input (last dim 1)");
        inputs[0] = squeeze(ctx, x, {r - 1});
        return {op(ctx, "RDFT", "opset9", std::move(inputs))};
    }
    if (parts == 1) { // real → complex with zero imaginary parts
        I64s end(static_cast<std::size_t>(r), 0);
        end.back() = 1;
        inputs[0] = op(ctx, "Pad", "opset1",
                       {x, ctx.constant_i64(I64s(static_cast<std::size_t>(r), 0)),
                        ctx.constant_i64(end), ctx.scalar_like(0.0, ctx.input_type(0))},
                       attrs({{"pad_mode", str("constant")}}));
    }
    return {op(ctx, inverse ? "IDFT" : "DFT", "opset7", std::move(inputs))};
}

// ---- recurrent ---------------------------------------------------------------------------------

// The parts every ONNX RNN shares, in OpenVINO's layout: X [batch, seq, input], initial states
// [batch, dirs, hidden], sequence lengths [batch].
struct RnnInputs {
    Output x, lengths;
    std::int64_t hidden = 0, dirs = 1;
    std::string direction;
    bool batch_major = false; // ONNX layout=1
};

RnnInputs rnn_inputs(ConvertContext& ctx) {
    RnnInputs rnn;
    rnn.batch_major = ctx.opset() >= 14 && ctx.attr_int("layout", 0) == 1;
    std::string dir = ctx.attr_string("direction", "forward");
    if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
        ctx.fail(fmt::format("direction '{}' is not forward, reverse or bidirectional", dir));
    rnn.direction = dir;
    rnn.dirs = dir == "bidirectional" ? 2 : 1;
    const PartialShape& rs = ctx.input_shape(2);
    if (auto h = ctx.attr_int("hidden_size"))
        rnn.hidden = *h;
    else if (rs.rank_is_static() && rs.rank() == 3 && rs[2].is_static())
        rnn.hidden = rs[2].length();
    else
        ctx.fail("attribute 'hidden_size' is missing and R's shape does not give it");
    rnn.x = rnn.batch_major ? ctx.input(0) : transpose(ctx, ctx.input(0), {1, 0, 2});
    if (ctx.has_input(4)) {
        rnn.lengths = ctx.input(4);
    } else { // every sequence runs the full length
        const PartialShape& xs = shape_of_value(rnn.x);
        if (xs.rank_is_static() && xs[0].is_static() && xs[1].is_static()) {
            Tensor t = Tensor::allocate(ElementType::I32, {xs[0].length()});
            auto* p = reinterpret_cast<std::int32_t*>(t.mutable_data());
            std::fill(p, p + xs[0].length(), static_cast<std::int32_t>(xs[1].length()));
            rnn.lengths = ctx.constant(t);
        } else {
            Output shape = shape_of(ctx, rnn.x);
            Output len = convert(ctx, gather(ctx, shape, ctx.scalar_i64(1)), ElementType::I32);
            rnn.lengths = broadcast(ctx, len, dims_of(ctx, rnn.x, {0}));
        }
    }
    return rnn;
}

// ONNX initial state input `i` ([dirs, batch, hidden] unless batch-major) or zeros.
Output rnn_state(ConvertContext& ctx, const RnnInputs& rnn, std::size_t i) {
    if (ctx.has_input(i))
        return rnn.batch_major ? ctx.input(i) : transpose(ctx, ctx.input(i), {1, 0, 2});
    Output batch = dims_of(ctx, rnn.x, {0});
    Output shape = concat(ctx, {batch, ctx.constant_i64({rnn.dirs, rnn.hidden})}, 0);
    return broadcast(ctx, ctx.scalar_like(0.0, ctx.input_type(0)), shape);
}

// Activation names for OpenVINO (lower case); both directions must use the same ones.
std::vector<std::string> rnn_activations(ConvertContext& ctx, std::vector<std::string> defaults,
                                         std::int64_t dirs) {
    auto acts = ctx.attr_strings("activations");
    if (acts.empty()) return defaults;
    std::size_t n = defaults.size();
    if (acts.size() != n * static_cast<std::size_t>(dirs) && acts.size() != n)
        ctx.fail(fmt::format("expected {} activations per direction, got {}", n, acts.size()));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < acts.size(); ++i) {
        std::string a = acts[i];
        std::transform(a.begin(), a.end(), a.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (a != "sigmoid" && a != "tanh" && a != "relu")
            ctx.unsupported(fmt::format("activation '{}' is not supported", acts[i]));
        if (i < n)
            out.push_back(a);
        else if (out[i - n] != a)
            ctx.unsupported("different activations per direction are not supported");
    }
    return out;
}

// `clip` only when ONNX sets it: absent means no clipping in both.
Attributes rnn_attrs(ConvertContext& ctx, const RnnInputs& rnn, std::vector<std::string> acts) {
    Attributes a = attrs({{"hidden_size", i64(rnn.hidden)},
                          {"activations", std::move(acts)},
                          {"activations_alpha", ctx.attr_floats("activations_alpha")},
                          {"activations_beta", ctx.attr_floats("activations_beta")}});
    if (ctx.has_attr("clip")) a.set("clip", ctx.attr_float("clip", 0.0));
    a.set("direction", rnn.direction);
    return a;
}

// Sequence output [batch, dirs, seq, hidden] and states [batch, dirs, hidden] → ONNX layout.
Outs rnn_outputs(ConvertContext& ctx, const RnnInputs& rnn, model::Node& node) {
    Outs out{transpose(ctx, node.output(0), rnn.batch_major ? I64s{0, 2, 1, 3} : I64s{2, 1, 0, 3})};
    for (std::uint32_t i = 1; i < node.outputs.size(); ++i)
        out.push_back(rnn.batch_major ? node.output(i) : transpose(ctx, node.output(i), {1, 0, 2}));
    return out;
}

Outs convert_gru(ConvertContext& ctx) {
    RnnInputs rnn = rnn_inputs(ctx);
    bool linear = ctx.attr_int("linear_before_reset", 0) != 0;
    ElementType t = ctx.input_type(0);
    Output b;
    if (ctx.has_input(
            3)) { // [Wb z r h, Rb z r h] → OpenVINO's summed biases (Rb_h apart if linear)
        Outs p = split(ctx, ctx.input(3), 1, 6);
        Output zr = binary(ctx, "Add", concat(ctx, {p[0], p[1]}, 1), concat(ctx, {p[3], p[4]}, 1));
        b = linear ? concat(ctx, {zr, p[2], p[5]}, 1)
                   : concat(ctx, {zr, binary(ctx, "Add", p[2], p[5])}, 1);
    } else {
        b = zeros(ctx, t, {rnn.dirs, (linear ? 4 : 3) * rnn.hidden});
    }
    Attributes a = rnn_attrs(ctx, rnn, rnn_activations(ctx, {"sigmoid", "tanh"}, rnn.dirs));
    a.set("linear_before_reset", linear);
    // ONNX and OpenVINO both order the gates z, r, h.
    auto& node =
        ctx.add("GRUSequence", "opset5",
                {rnn.x, rnn_state(ctx, rnn, 5), rnn.lengths, ctx.input(1), ctx.input(2), b},
                std::move(a), 2);
    return rnn_outputs(ctx, rnn, node);
}

// ONNX gate blocks i, o, f, c along axis 1 → OpenVINO's f, i, c, o.
Output iofc_to_fico(ConvertContext& ctx, Output v) {
    Outs p = split(ctx, v, 1, 4);
    return concat(ctx, {p[2], p[0], p[3], p[1]}, 1);
}

Outs convert_lstm(ConvertContext& ctx) {
    if (ctx.attr_int("input_forget", 0) != 0) ctx.unsupported("input_forget=1 is not supported");
    if (ctx.has_input(7)) {
        const Tensor* peep = ctx.input_constant(7);
        bool zero = false;
        if (peep) {
            auto v = peep->to_f64();
            zero = std::all_of(v.begin(), v.end(), [](double d) { return d == 0.0; });
        }
        if (!zero) ctx.unsupported("peephole weights (input P) are not supported");
    }
    RnnInputs rnn = rnn_inputs(ctx);
    Output b;
    if (ctx.has_input(3)) {
        Outs halves = split(ctx, ctx.input(3), 1, 2); // Wb, Rb
        b = iofc_to_fico(ctx, binary(ctx, "Add", halves[0], halves[1]));
    } else {
        b = zeros(ctx, ctx.input_type(0), {rnn.dirs, 4 * rnn.hidden});
    }
    auto& node = ctx.add(
        "LSTMSequence", "opset5",
        {rnn.x, rnn_state(ctx, rnn, 5), rnn_state(ctx, rnn, 6), rnn.lengths,
         iofc_to_fico(ctx, ctx.input(1)), iofc_to_fico(ctx, ctx.input(2)), b},
        rnn_attrs(ctx, rnn, rnn_activations(ctx, {"sigmoid", "tanh", "tanh"}, rnn.dirs)), 3);
    return rnn_outputs(ctx, rnn, node);
}

} // namespace

void add_converters_a_to_l(std::vector<ConverterEntry>& t) {
    std::vector<ConverterEntry> entries{
        {"Abs", 1, unary<"Abs", "opset1">},
        {"Acos", 7, unary<"Acos", "opset1">},
        {"Acosh", 9, unary<"Acosh", "opset4">},
        {"Add", 1, elementwise<"Add">},
        {"And", 1, elementwise<"LogicalAnd">},
        {"ArgMax", 1, convert_arg_max},
        {"ArgMin", 1, convert_arg_min},
        {"Asin", 7, unary<"Asin", "opset1">},
        {"Asinh", 9, unary<"Asinh", "opset4">},
        {"Atan", 7, unary<"Atan", "opset1">},
        {"Atanh", 9, unary<"Atanh", "opset4">},
        {"AveragePool", 1, convert_average_pool},
        {"BatchNormalization", 1, convert_batch_norm},
        {"BitShift", 11, convert_bit_shift},
        {"Cast", 1, convert_cast},
        {"CastLike", 15, convert_cast_like},
        {"Ceil", 1, unary<"Ceiling", "opset1">},
        {"Clip", 1, convert_clip},
        {"Compress", 9, convert_compress},
        {"Concat", 1, convert_concat},
        {"ConstantOfShape", 9, convert_constant_of_shape},
        {"Conv", 1, convert_conv},
        {"ConvInteger", 10, convert_conv_integer},
        {"ConvTranspose", 1, convert_conv_transpose},
        {"Cos", 7, unary<"Cos", "opset1">},
        {"Cosh", 9, unary<"Cosh", "opset1">},
        {"CumSum", 11, convert_cum_sum},
        {"DFT", 17, convert_dft},
        {"DepthToSpace", 1, convert_depth_to_space},
        {"DequantizeLinear", 10, convert_dequantize_linear},
        {"Det", 11, convert_det},
        {"Div", 1, convert_div},
        {"Dropout", 1, convert_dropout},
        {"Einsum", 12, convert_einsum},
        {"Elu", 1, convert_elu},
        {"Equal", 1, elementwise<"Equal">},
        {"Erf", 9, unary<"Erf", "opset1">},
        {"Exp", 1, unary<"Exp", "opset1">},
        {"Expand", 8, convert_expand},
        {"EyeLike", 9, convert_eye_like},
        {"Flatten", 1, convert_flatten},
        {"Floor", 1, unary<"Floor", "opset1">},
        {"GRU", 1, convert_gru},
        {"Gather", 1, convert_gather},
        {"GatherElements", 11, convert_gather_elements},
        {"GatherND", 11, convert_gather_nd},
        {"Gemm", 1, convert_gemm},
        {"GlobalAveragePool", 1, convert_global_average_pool},
        {"GlobalLpPool", 1, convert_global_lp_pool},
        {"GlobalMaxPool", 1, convert_global_max_pool},
        {"Greater", 1, elementwise<"Greater">},
        {"GreaterOrEqual", 12, elementwise<"GreaterEqual">},
        {"GridSample", 16, convert_grid_sample},
        {"HardSigmoid", 1, convert_hard_sigmoid},
        {"HardSwish", 14, unary<"HSwish", "opset4">},
        {"Hardmax", 1, convert_hardmax},
        {"InstanceNormalization", 1, convert_instance_norm},
        {"IsInf", 10, convert_is_inf},
        {"IsNaN", 9, unary<"IsNaN", "opset10">},
        {"LRN", 1, convert_lrn},
        {"LSTM", 1, convert_lstm},
        {"LayerNormalization", 17, convert_layer_norm},
        {"LeakyRelu", 1, convert_leaky_relu},
        {"Less", 1, elementwise<"Less">},
        {"LessOrEqual", 12, elementwise<"LessEqual">},
        {"Log", 1, unary<"Log", "opset1">},
        {"LogSoftmax", 1, convert_log_softmax},
        {"LpNormalization", 1, convert_lp_normalization},
        {"LpPool", 1, convert_lp_pool},
    };
    t.insert(t.end(), entries.begin(), entries.end());
}

} // namespace loom::reader::onnx_fe
