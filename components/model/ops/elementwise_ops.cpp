// Element-wise ops of OpenVINO's opsets 1..13: unary math and activations, binary arithmetic
// with auto_broadcast, comparisons, logical and bitwise ops, Select and FakeQuantize.
//
// Type rules (OpenVINO's): arithmetic ops take one numeric type (boolean is refused) and give
// it back; comparisons take one type and give boolean; logical ops take and give boolean;
// bitwise ops take one integral type (boolean included); the floating-point activations
// refuse integer inputs. An undefined input type is accepted and propagated.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

using K = AttrKind;
constexpr auto k_undefined = ElementType::UNDEFINED;

void require_numeric(std::size_t i, ElementType type) {
    LOOM_REQUIRE(type != ElementType::BOOLEAN,
                 "input {} is boolean; this arithmetic op takes numeric types", i);
}

void require_boolean(std::size_t i, ElementType type) {
    LOOM_REQUIRE(type == k_undefined || type == ElementType::BOOLEAN,
                 "input {} is {}; logical ops take boolean inputs", i, loom::to_string(type));
}

void require_integral(std::size_t i, ElementType type) {
    LOOM_REQUIRE(type == k_undefined || is_integral(type),
                 "input {} is {}; bitwise ops take integer or boolean inputs", i,
                 loom::to_string(type));
}

// ---- unary -------------------------------------------------------------------------------

void infer_unary_arith(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_numeric(0, type);
    ctx.set_output(0, type, ctx.input_shape(0));
}

void infer_unary_float(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_floating(0, type);
    ctx.set_output(0, type, ctx.input_shape(0));
}

void infer_logical_not(InferContext& ctx) {
    require_boolean(0, ctx.input_type(0));
    ctx.set_output(0, ElementType::BOOLEAN, ctx.input_shape(0));
}

void infer_bitwise_not(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_integral(0, type);
    ctx.set_output(0, type, ctx.input_shape(0));
}

// IsFinite, IsInf, IsNaN: floating input, boolean output of the same shape.
void infer_fp_class(InferContext& ctx) {
    require_floating(0, ctx.input_type(0));
    ctx.set_output(0, ElementType::BOOLEAN, ctx.input_shape(0));
}

void infer_gelu7(InferContext& ctx) {
    check_enum(ctx, "approximation_mode", "ERF", {"ERF", "TANH"});
    infer_unary_float(ctx);
}

void infer_round(InferContext& ctx) {
    check_enum(ctx, "mode", "half_to_even", {"half_to_even", "half_away_from_zero"});
    infer_unary_arith(ctx);
}

void infer_clamp(InferContext& ctx) {
    auto lo = ctx.attr<double>("min"), hi = ctx.attr<double>("max");
    LOOM_REQUIRE(lo <= hi, "attribute 'min' ({}) is greater than 'max' ({})", lo, hi);
    infer_unary_arith(ctx);
}

// The parameter inputs (beta of Swish; alpha, lambda of Selu; alpha, beta of HardSigmoid)
// have the data's type and hold one value.
void check_scalar_params(InferContext& ctx, std::size_t first) {
    for (std::size_t i = first; i < ctx.input_count(); ++i) {
        merge_types(ctx, 0, i);
        const auto& s = ctx.input_shape(i);
        if (!s.is_static()) continue;
        auto n = shape_size(s.to_shape());
        LOOM_REQUIRE(n == 1, "input {} must hold one value but has shape {}", i, s.to_string());
    }
}

void infer_swish(InferContext& ctx) {
    require_floating(0, ctx.input_type(0));
    check_scalar_params(ctx, 1);
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

void infer_scalar_params(InferContext& ctx) { // Selu, HardSigmoid
    auto type = ctx.input_type(0);
    require_numeric(0, type);
    check_scalar_params(ctx, 1);
    ctx.set_output(0, type, ctx.input_shape(0));
}

// PRelu: slope is 1-D of the channel count (data dim 1, or dim 0 for 1-D data) or 1, or
// numpy-broadcastable onto data; the output has data's shape.
void infer_prelu(InferContext& ctx) {
    auto type = merge_types(ctx, 0, 1);
    require_numeric(0, type);
    const auto& data = ctx.input_shape(0);
    const auto& slope = ctx.input_shape(1);
    if (data.rank_is_static() && slope.rank_is_static()) {
        bool per_channel = false;
        if (slope.rank() == 1 && data.rank() >= 1) {
            const auto& c = data[data.rank() >= 2 ? 1 : 0];
            per_channel = slope[0].compatible(c) || slope[0] == Dimension(1);
        }
        if (!per_channel) {
            auto b = broadcast_numpy(data, slope);
            LOOM_REQUIRE(b.rank() == data.rank() && b.compatible(data),
                         "slope shape {} does not broadcast onto data {}", slope.to_string(),
                         data.to_string());
        }
    }
    ctx.set_output(0, type, data);
}

// ---- binary ------------------------------------------------------------------------------

void infer_binary_arith(InferContext& ctx) {
    auto type = merge_types(ctx, 0, 1);
    require_numeric(0, type);
    ctx.set_output(0, type, broadcast_binary(ctx, ctx.input_shape(0), ctx.input_shape(1)));
}

void infer_comparison(InferContext& ctx) {
    merge_types(ctx, 0, 1);
    ctx.set_output(0, ElementType::BOOLEAN,
                   broadcast_binary(ctx, ctx.input_shape(0), ctx.input_shape(1)));
}

void infer_logical_binary(InferContext& ctx) {
    require_boolean(0, ctx.input_type(0));
    require_boolean(1, ctx.input_type(1));
    ctx.set_output(0, ElementType::BOOLEAN,
                   broadcast_binary(ctx, ctx.input_shape(0), ctx.input_shape(1)));
}

void infer_bitwise_binary(InferContext& ctx) {
    auto type = merge_types(ctx, 0, 1);
    require_integral(0, type);
    ctx.set_output(0, type, broadcast_binary(ctx, ctx.input_shape(0), ctx.input_shape(1)));
}

// Select(cond, then, else): cond boolean, then/else one type; with "pdpd" else and cond
// broadcast onto then, otherwise all three broadcast together.
void infer_select(InferContext& ctx) {
    require_boolean(0, ctx.input_type(0));
    auto type = merge_types(ctx, 1, 2);
    auto shape = broadcast_binary(ctx, ctx.input_shape(1), ctx.input_shape(2));
    shape = broadcast_binary(ctx, shape, ctx.input_shape(0));
    ctx.set_output(0, type, std::move(shape));
}

// FakeQuantize(X, input_low, input_high, output_low, output_high): one numeric type; the ranges
// must broadcast with X, and the output has X's shape (broadcasting is one-way: like OpenVINO,
// ranges larger than X are tolerated rather than growing the output).
void infer_fake_quantize(InferContext& ctx) {
    auto levels = ctx.attr<std::int64_t>("levels");
    LOOM_REQUIRE(levels >= 2, "attribute 'levels' is {}; it must be at least 2", levels);
    auto type = ctx.input_type(0);
    for (std::size_t i = 1; i < 5; ++i)
        type = merge_types(ctx, 0, i);
    require_numeric(0, type);
    for (std::size_t i = 1; i < 5; ++i)
        broadcast_binary(ctx, ctx.input_shape(0), ctx.input_shape(i));
    ctx.set_output(0, type, ctx.input_shape(0));
}

// ---- tables ------------------------------------------------------------------------------

struct Entry {
    const char* type;
    const char* version;
};

void add_all(OpRegistry& r, std::initializer_list<Entry> entries,
             const std::vector<AttrSpec>& attrs, std::size_t min_inputs, std::size_t max_inputs,
             InferFn infer) {
    for (const auto& e : entries)
        add_spec(r, e.type, e.version, attrs, min_inputs, max_inputs, infer);
}

void add_unary_ops(OpRegistry& r) {
    add_all(r,
            {{"Abs", "opset1"},   {"Acos", "opset1"}, {"Acosh", "opset3"},    {"Asin", "opset1"},
             {"Asinh", "opset3"}, {"Atan", "opset1"}, {"Atanh", "opset3"},    {"Ceiling", "opset1"},
             {"Cos", "opset1"},   {"Cosh", "opset1"}, {"Erf", "opset1"},      {"Exp", "opset1"},
             {"Floor", "opset1"}, {"Log", "opset1"},  {"Negative", "opset1"}, {"Sign", "opset1"},
             {"Sin", "opset1"},   {"Sinh", "opset1"}, {"Sqrt", "opset1"},     {"Tan", "opset1"},
             {"Tanh", "opset1"},  {"Relu", "opset1"}, {"Sigmoid", "opset1"}},
            {}, 1, 1, infer_unary_arith);
    add_all(r,
            {{"SoftPlus", "opset4"},
             {"HSwish", "opset4"},
             {"Mish", "opset4"},
             {"HSigmoid", "opset5"},
             {"SoftSign", "opset9"},
             {"Gelu", "opset2"}},
            {}, 1, 1, infer_unary_float);
    add_spec(r, "Gelu", "opset7", {{"approximation_mode", K::String, false}}, 1, 1, infer_gelu7);
    add_spec(r, "Swish", "opset4", {}, 1, 2, infer_swish);
    add_spec(r, "Elu", "opset1", {{"alpha", K::Float}}, 1, 1, infer_unary_arith);
    add_spec(r, "Clamp", "opset1", {{"min", K::Float}, {"max", K::Float}}, 1, 1, infer_clamp);
    add_spec(r, "Selu", "opset1", {}, 3, 3, infer_scalar_params);
    add_spec(r, "HardSigmoid", "opset1", {}, 3, 3, infer_scalar_params);
    add_spec(r, "PRelu", "opset1", {}, 2, 2, infer_prelu);
    add_spec(r, "LogicalNot", "opset1", {}, 1, 1, infer_logical_not);
    add_spec(r, "Round", "opset5", {{"mode", K::String}}, 1, 1, infer_round);
    add_spec(r, "IsFinite", "opset10", {}, 1, 1, infer_fp_class);
    add_spec(r, "IsNaN", "opset10", {}, 1, 1, infer_fp_class);
    add_spec(r, "IsInf", "opset10",
             {{"detect_negative", K::Bool, false}, {"detect_positive", K::Bool, false}}, 1, 1,
             infer_fp_class);
    add_spec(r, "BitwiseNot", "opset13", {}, 1, 1, infer_bitwise_not);
}

void add_binary_ops(OpRegistry& r) {
    const std::vector<AttrSpec> broadcast = {{"auto_broadcast", K::String, false}};
    add_all(r,
            {{"Add", "opset1"},
             {"Subtract", "opset1"},
             {"Multiply", "opset1"},
             {"Power", "opset1"},
             {"Maximum", "opset1"},
             {"Minimum", "opset1"},
             {"Mod", "opset1"},
             {"FloorMod", "opset1"},
             {"SquaredDifference", "opset1"}},
            broadcast, 2, 2, infer_binary_arith);
    add_spec(r, "Divide", "opset1",
             {{"auto_broadcast", K::String, false}, {"m_pythondiv", K::Bool, false}}, 2, 2,
             infer_binary_arith);
    add_all(r,
            {{"Equal", "opset1"},
             {"NotEqual", "opset1"},
             {"Less", "opset1"},
             {"LessEqual", "opset1"},
             {"Greater", "opset1"},
             {"GreaterEqual", "opset1"}},
            broadcast, 2, 2, infer_comparison);
    add_all(r, {{"LogicalAnd", "opset1"}, {"LogicalOr", "opset1"}, {"LogicalXor", "opset1"}},
            broadcast, 2, 2, infer_logical_binary);
    add_all(r, {{"BitwiseAnd", "opset13"}, {"BitwiseOr", "opset13"}, {"BitwiseXor", "opset13"}},
            broadcast, 2, 2, infer_bitwise_binary);
    add_spec(r, "Select", "opset1", broadcast, 3, 3, infer_select);
    add_spec(r, "FakeQuantize", "opset1",
             {{"levels", K::Int}, {"auto_broadcast", K::String, false}}, 5, 5, infer_fake_quantize);
}

} // namespace

void add_elementwise_ops(OpRegistry& r) {
    add_unary_ops(r);
    add_binary_ops(r);
}

} // namespace loom::model::ops
