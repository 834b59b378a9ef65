// ONNX → native converters for shape and data movement: Reshape, Slice, Split, Concat, Pad,
// Gather*, Scatter*, Tile, Range, OneHot, … (default domain, opsets 1..17). Each converter produces
// OpenVINO-opset nodes with OpenVINO's attribute names and kinds, the way OpenVINO's ONNX frontend
// maps the op.
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

// Reshape: 0 copies the input dim unless allowzero=1 (opset 14); opset<5 reads attr `shape`.
Outs convert_reshape(ConvertContext& ctx) {
    Output target = ctx.opset() < 5 ? ctx.constant_i64(ctx.attr_ints("shape"))
                                    : convert_to(ctx, ctx.input(1), ElementType::I64);
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
    Output starts = convert_to(ctx, ctx.input(1), ElementType::I64);
    Output ends = convert_to(ctx, ctx.input(2), ElementType::I64);
    Output steps;
    if (ctx.has_input(4))
        steps = convert_to(ctx, ctx.input(4), ElementType::I64);
    else if (auto v = ctx.input_values(1))
        steps = ctx.constant_i64(I64s(v->size(), 1));
    else
        steps = op(ctx, "Broadcast", "opset3", {ctx.scalar_i64(1), shape_of(ctx, starts)},
                   attrs({{"mode", str("numpy")}}));
    std::vector<Output> in{data, starts, ends, steps};
    if (ctx.has_input(3)) in.push_back(convert_to(ctx, ctx.input(3), ElementType::I64));
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
        lengths = convert_to(ctx, ctx.input(1), ElementType::I64);
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
    return convert_to(ctx, ctx.input(1), ElementType::I64);
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
        return {op(ctx, "Tile", "opset1", {x, convert_to(ctx, ctx.input(1), ElementType::I64)})};
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
                               {convert_to(ctx, ctx.input(1), ElementType::I64), ctx.scalar_i64(0)},
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
    Output k = ctx.has_input(1) ? to_scalar(ctx, convert_to(ctx, ctx.input(1), ElementType::I64))
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

// OneHot: depth → scalar i64, values [off, on] → two scalars; negative indices count from
// the end of the depth (ONNX 11).
Outs convert_one_hot(ConvertContext& ctx) {
    Output indices = ctx.input(0);
    if (type_of(indices) != ElementType::I32) indices = convert_to(ctx, indices, ElementType::I64);
    Output depth = to_scalar(ctx, convert_to(ctx, ctx.input(1), type_of(indices)));
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

} // namespace

void add_converters_tensor(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"Compress", 9, convert_compress},
        {"Concat", 1, convert_concat},
        {"ConstantOfShape", 9, convert_constant_of_shape},
        {"DepthToSpace", 1, convert_depth_to_space},
        {"Expand", 8, convert_expand},
        {"EyeLike", 9, convert_eye_like},
        {"Flatten", 1, convert_flatten},
        {"Gather", 1, convert_gather},
        {"GatherElements", 11, convert_gather_elements},
        {"GatherND", 11, convert_gather_nd},
        {"NonZero", 9, convert_non_zero},
        {"OneHot", 9, convert_one_hot},
        {"Pad", 1, convert_pad},
        {"Range", 11, convert_range},
        {"Reshape", 1, convert_reshape},
        {"ReverseSequence", 10, convert_reverse_sequence},
        {"Scatter", 9, convert_scatter_elements},
        {"ScatterElements", 11, convert_scatter_elements},
        {"ScatterND", 11, convert_scatter_nd},
        {"Shape", 1, convert_shape},
        {"Size", 1, convert_size},
        {"Slice", 1, convert_slice},
        {"SpaceToDepth", 1, convert_space_to_depth},
        {"Split", 1, convert_split},
        {"Squeeze", 1, convert_squeeze},
        {"Tile", 1, convert_tile},
        {"Transpose", 1, convert_transpose},
        {"Trilu", 14, convert_trilu},
        {"Unique", 11, convert_unique},
        {"Unsqueeze", 1, convert_unsqueeze},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
