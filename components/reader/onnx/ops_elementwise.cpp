// ONNX → native converters for element-wise ONNX ops: unary and binary math, comparisons, logic,
// casts and activations (default domain, opsets 1..17). Each converter produces OpenVINO-opset
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
#include <onnx/onnx_pb.h>

#include "components/reader/onnx/convert_util.hpp"
#include "components/reader/onnx/converters.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {
namespace {

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

// Dropout with training_mode (opset 12+) true or known only at run time: keep an element where
// a uniform [0, 1) draw is >= ratio and scale it by 1 / (1 - ratio); in inference (training
// false) y = x and the mask keeps everything.
Outs dropout_training(ConvertContext& ctx) {
    Output x = ctx.input(0);
    const ElementType t = ctx.input_type(0);
    if (!model::is_floating(t))
        ctx.unsupported("training-mode Dropout needs a floating-point input");
    Output training = convert_to(ctx, ctx.input(2), ElementType::BOOLEAN);
    Output ratio = ctx.has_input(1) ? convert_to(ctx, ctx.input(1), t) : ctx.scalar_like(0.5, t);
    Output draw =
        op(ctx, "RandomUniform", "opset8",
           {shape_of(ctx, x), ctx.scalar_like(0.0, t), ctx.scalar_like(1.0, t)},
           attrs({{"output_type", t}, {"global_seed", i64(0)}, {"op_seed", i64(seed_of(ctx))}}));
    Output keep = binary(ctx, "LogicalOr", op(ctx, "LogicalNot", "opset1", {training}),
                         binary(ctx, "GreaterEqual", draw, ratio));
    Output one = ctx.scalar_like(1.0, t);
    Output scale =
        select(ctx, training, binary(ctx, "Divide", one, binary(ctx, "Subtract", one, ratio)), one);
    Outs out{select(ctx, keep, binary(ctx, "Multiply", x, scale), ctx.scalar_like(0.0, t))};
    if (ctx.has_output(1)) out.push_back(keep);
    return out;
}

Outs convert_dropout(ConvertContext& ctx) {
    if (ctx.opset() >= 12 && ctx.has_input(2)) {
        auto training = ctx.input_values(2);
        if (!training || (!training->empty() && training->front() != 0))
            return dropout_training(ctx);
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
    return {binary(ctx, "Power", a, convert_to(ctx, b, type_of(a)))};
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

} // namespace

void add_converters_elementwise(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"Abs", 1, unary<"Abs", "opset1">},
        {"Acos", 7, unary<"Acos", "opset1">},
        {"Acosh", 9, unary<"Acosh", "opset4">},
        {"Add", 1, elementwise<"Add">},
        {"And", 1, elementwise<"LogicalAnd">},
        {"Asin", 7, unary<"Asin", "opset1">},
        {"Asinh", 9, unary<"Asinh", "opset4">},
        {"Atan", 7, unary<"Atan", "opset1">},
        {"Atanh", 9, unary<"Atanh", "opset4">},
        {"BitShift", 11, convert_bit_shift},
        {"Cast", 1, convert_cast},
        {"CastLike", 15, convert_cast_like},
        {"Ceil", 1, unary<"Ceiling", "opset1">},
        {"Clip", 1, convert_clip},
        {"Cos", 7, unary<"Cos", "opset1">},
        {"Cosh", 9, unary<"Cosh", "opset1">},
        {"Div", 1, convert_div},
        {"Dropout", 1, convert_dropout},
        {"Elu", 1, convert_elu},
        {"Equal", 1, elementwise<"Equal">},
        {"Erf", 9, unary<"Erf", "opset1">},
        {"Exp", 1, unary<"Exp", "opset1">},
        {"Floor", 1, unary<"Floor", "opset1">},
        {"Greater", 1, elementwise<"Greater">},
        {"GreaterOrEqual", 12, elementwise<"GreaterEqual">},
        {"HardSigmoid", 1, convert_hard_sigmoid},
        {"HardSwish", 14, unary<"HSwish", "opset4">},
        {"IsInf", 10, convert_is_inf},
        {"IsNaN", 9, unary<"IsNaN", "opset10">},
        {"LeakyRelu", 1, convert_leaky_relu},
        {"Less", 1, elementwise<"Less">},
        {"LessOrEqual", 12, elementwise<"LessEqual">},
        {"Log", 1, unary<"Log", "opset1">},
        {"Max", 1, convert_variadic},
        {"Mean", 1, convert_variadic},
        {"Min", 1, convert_variadic},
        {"Mod", 10, convert_mod},
        {"Mul", 1, convert_binary},
        {"Neg", 1, convert_unary},
        {"Not", 1, convert_unary},
        {"Or", 1, convert_binary},
        {"PRelu", 1, convert_prelu},
        {"Pow", 1, convert_pow},
        {"Reciprocal", 1, convert_reciprocal},
        {"Relu", 1, convert_unary},
        {"Round", 11, convert_round},
        {"Selu", 1, convert_selu},
        {"Shrink", 9, convert_shrink},
        {"Sigmoid", 1, convert_unary},
        {"Sign", 9, convert_unary},
        {"Sin", 7, convert_unary},
        {"Sinh", 9, convert_unary},
        {"Softplus", 1, convert_unary},
        {"Softsign", 1, convert_softsign},
        {"Sqrt", 1, convert_unary},
        {"Sub", 1, convert_binary},
        {"Sum", 1, convert_variadic},
        {"Tan", 7, convert_unary},
        {"Tanh", 1, convert_unary},
        {"ThresholdedRelu", 10, convert_thresholded_relu},
        {"Where", 9, convert_where},
        {"Xor", 1, convert_binary},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
