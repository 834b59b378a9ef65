// Definitions of the converter building blocks declared in convert_util.hpp.
#include "components/reader/onnx/convert_util.hpp"

#include <cmath>

#include <algorithm>
#include <cstddef>

#include <fmt/format.h>

#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {

Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
    Attributes a;
    for (const auto& [key, value] : list)
        a.set(key, value);
    return a;
}
std::int64_t seed_of(const ConvertContext& ctx) {
    const double seed = ctx.attr_float("seed", 0.0);
    // 2^63 is the first double past int64's range.
    if (!std::isfinite(seed) || seed < -9223372036854775808.0 || seed >= 9223372036854775808.0)
        ctx.fail(fmt::format("seed {} is not a number within the 64-bit integers", seed));
    return static_cast<std::int64_t>(seed);
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
          Attributes a) {
    return ctx.add(std::move(type), std::move(version), std::move(inputs), std::move(a)).output(0);
}
const PartialShape& shape_of_value(Output v) {
    return v.node->outputs[v.index].shape;
}
ElementType type_of(Output v) {
    return v.node->outputs[v.index].type;
}
Output binary(ConvertContext& ctx, const char* type, Output a, Output b) {
    return op(ctx, type, "opset1", {a, b}, attrs({{"auto_broadcast", str("numpy")}}));
}
Output shape_of(ConvertContext& ctx, Output x) {
    return op(ctx, "ShapeOf", "opset3", {x}, attrs({{"output_type", ElementType::I64}}));
}
Output gather(ConvertContext& ctx, Output data, Output indices, std::int64_t axis) {
    return op(ctx, "Gather", "opset8", {data, indices, ctx.scalar_i64(axis)},
              attrs({{"batch_dims", i64(0)}}));
}
Output slice(ConvertContext& ctx, Output data, std::int64_t begin, std::int64_t end,
             std::int64_t step, std::int64_t axis) {
    return op(ctx, "Slice", "opset8",
              {data, ctx.constant_i64({begin}), ctx.constant_i64({end}), ctx.constant_i64({step}),
               ctx.constant_i64({axis})});
}
Output reshape(ConvertContext& ctx, Output x, Output target, bool special_zero) {
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
Output broadcast(ConvertContext& ctx, Output value, Output target_shape, const char* mode) {
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
Output dim_scalar(ConvertContext& ctx, Output x, std::int64_t i) {
    return squeeze(ctx, dims_of(ctx, x, {i}), {0});
}
Output shape_like(ConvertContext& ctx, Output x) {
    const PartialShape& s = shape_of_value(x);
    if (s.is_static()) return ctx.constant_i64(s.to_shape());
    return shape_of(ctx, x);
}

Output rank_scalar(ConvertContext& ctx, Output x) {
    return squeeze(ctx, shape_of(ctx, shape_of(ctx, x)), {0});
}
Output axes_from(ConvertContext& ctx, Output x, std::int64_t start) {
    if (auto r = static_rank(shape_of_value(x))) {
        if (start < 0 || start > *r)
            ctx.fail(fmt::format("axis {} is out of range for rank {}", start, *r));
        I64s axes;
        for (std::int64_t i = start; i < *r; ++i)
            axes.push_back(i);
        return ctx.constant_i64(axes);
    }
    return op(ctx, "Range", "opset4",
              {ctx.scalar_i64(start), rank_scalar(ctx, x), ctx.scalar_i64(1)},
              attrs({{"output_type", ElementType::I64}}));
}
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

std::string auto_pad(ConvertContext& ctx) {
    std::string mode = ctx.attr_string("auto_pad", "NOTSET");
    if (mode == "NOTSET" || mode.empty()) return "explicit";
    if (mode == "SAME_UPPER") return "same_upper";
    if (mode == "SAME_LOWER") return "same_lower";
    if (mode == "VALID") return "valid";
    ctx.fail(
        fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", mode));
}

Window read_window(ConvertContext& ctx, std::int64_t n) {
    // A data rank below 3 gives n < 1 (found by fuzz_onnx: a ConvTranspose on a rank-1 input).
    if (n < 1)
        ctx.fail(fmt::format("needs at least one spatial dimension (data of rank 3 or more); "
                             "the inputs give {}",
                             n));
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

std::int64_t conv_spatial_rank(ConvertContext& ctx) {
    if (ctx.has_attr("kernel_shape"))
        return static_cast<std::int64_t>(ctx.attr_ints("kernel_shape").size());
    if (auto r = static_rank(ctx.input_shape(1))) return *r - 2;
    if (auto r = static_rank(ctx.input_shape(0))) return *r - 2;
    ctx.unsupported("the number of spatial dims is unknown (no kernel_shape, dynamic ranks)");
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
bool has_spec(ConvertContext& ctx, std::string_view type, std::string_view version) {
    const auto* spec = ctx.registry().find(type, version);
    return spec && spec->version == version;
}

Output select(ConvertContext& ctx, Output cond, Output a, Output b) {
    return op(ctx, "Select", "opset1", {cond, a, b}, attrs({{"auto_broadcast", str("numpy")}}));
}
Output convert_to(ConvertContext& ctx, Output x, ElementType to) {
    if (type_of(x) == to) return x;
    return op(ctx, "Convert", "opset1", {x}, attrs({{"destination_type", to}}));
}
Output to_scalar(ConvertContext& ctx, Output x) {
    if (rank_of(x) == 0) return x;
    return reshape(ctx, x, ctx.constant_i64({}), false);
}
Output range_i64(ConvertContext& ctx, Output start, Output stop, Output step) {
    return op(ctx, "Range", "opset4", {start, stop, step},
              attrs({{"output_type", ElementType::I64}}));
}
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
bool is_empty_constant(ConvertContext& ctx, std::size_t i) {
    const auto* t = ctx.input_constant(i);
    return t && t->size() == 0;
}
bool present(ConvertContext& ctx, std::size_t i) {
    return ctx.has_input(i) && !is_empty_constant(ctx, i);
}

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

Output matmul(ConvertContext& ctx, Output a, Output b) {
    return op(ctx, "MatMul", "opset1", {a, b},
              attrs({{"transpose_a", flag(false)}, {"transpose_b", flag(false)}}));
}

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
    a.set("auto_pad", auto_pad(ctx));
    return a;
}

Output reduce(ConvertContext& ctx, const char* type, const char* version, Output x, Output axes,
              bool keep) {
    return op(ctx, type, version, {x, axes}, attrs({{"keep_dims", flag(keep)}}));
}

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

double lp_order(ConvertContext& ctx) {
    return ctx.opset() < 2 ? ctx.attr_float("p", 2.0) : static_cast<double>(ctx.attr_int("p", 2));
}

} // namespace loom::reader::onnx_fe
