// ONNX → native converters for convolutions, pooling, MatMul/Gemm, normalizations, MaxUnpool and
// Resize/Upsample (default domain, opsets 1..17). Each converter produces OpenVINO-opset nodes with
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

Outs convert_conv(ConvertContext& ctx) {
    Output y = conv_core(ctx, ctx.input(0), ctx.input(1));
    if (ctx.has_input(2)) y = binary(ctx, "Add", y, per_channel(ctx, ctx.input(2), y));
    return {y};
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

// training_mode=1: normalise with the batch's statistics (mean and population variance over
// every axis but 1); outputs 1, 2 are the running statistics updated with `momentum`.
Outs batch_norm_training(ConvertContext& ctx) {
    const double eps = ctx.attr_float("epsilon", 1e-5);
    const double momentum = ctx.attr_float("momentum", 0.9);
    Output x = ctx.input(0);
    const ElementType t = ctx.input_type(0);
    const auto& xs = shape_of_value(x);
    if (!xs.rank_is_static() || xs.rank() < 2) ctx.fail("X needs a static rank of at least 2");
    I64s axes{0};
    for (std::int64_t a = 2; a < xs.rank(); ++a)
        axes.push_back(a);
    auto mean = [&](Output v) {
        return op(ctx, "ReduceMean", "opset1", {v, ctx.constant_i64(axes)},
                  attrs({{"keep_dims", flag(true)}}));
    };
    Output batch_mean = mean(x);
    Output centered = binary(ctx, "Subtract", x, batch_mean);
    Output batch_var = mean(binary(ctx, "Multiply", centered, centered));
    Output y =
        binary(ctx, "Divide", centered,
               op(ctx, "Sqrt", "opset1", {binary(ctx, "Add", batch_var, ctx.scalar_like(eps, t))}));
    y = binary(ctx, "Add", binary(ctx, "Multiply", y, per_channel(ctx, ctx.input(1), x)),
               per_channel(ctx, ctx.input(2), x));
    auto running = [&](Output old, Output batch) {
        Output flat = reshape(ctx, batch, ctx.constant_i64({-1}), false);
        return binary(ctx, "Add", binary(ctx, "Multiply", old, ctx.scalar_like(momentum, t)),
                      binary(ctx, "Multiply", flat, ctx.scalar_like(1.0 - momentum, t)));
    };
    return {y, running(ctx.input(3), batch_mean), running(ctx.input(4), batch_var)};
}

Outs convert_batch_norm(ConvertContext& ctx) {
    if (ctx.opset() >= 14 && ctx.attr_int("training_mode", 0) != 0) return batch_norm_training(ctx);
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
    auto rank = static_rank(shape_of_value(x));
    // ONNX: axis in [-r, r); unknown rank: no tensor has more than 64 dimensions.
    std::int64_t limit = rank ? *rank : 64;
    if (axis < -limit || axis >= limit)
        ctx.fail(fmt::format("axis {} is out of range for rank {}", axis,
                             rank ? std::to_string(*rank) : std::string("<= 64")));
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

Outs convert_matmul(ConvertContext& ctx) {
    return {matmul(ctx, ctx.input(0), ctx.input(1))};
}

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

// MaxUnpool: scatter X into a zero tensor at the flat indices I, then reshape. The indices count
// positions of the default output shape (as MaxPool's input had it); a larger output_shape pads
// zeros after each spatial dimension's end (as ONNX's reference implementation places them).
Outs convert_max_unpool(ConvertContext& ctx) {
    Output x = ctx.input(0), indices = ctx.input(1);
    auto kernel = ctx.attr_ints("kernel_shape");
    if (kernel.empty()) ctx.fail("attribute kernel_shape is required");
    auto strides = ctx.attr_ints("strides", I64s(kernel.size(), 1));
    auto pads = ctx.attr_ints("pads", I64s(2 * kernel.size(), 0));
    if (strides.size() != kernel.size() || pads.size() != 2 * kernel.size())
        ctx.fail("strides and pads must match kernel_shape");
    Output out_shape = unpool_shape(ctx, x, kernel, strides, pads);
    auto total = op(ctx, "ReduceProd", "opset1", {out_shape, ctx.constant_i64({0})},
                    attrs({{"keep_dims", flag(true)}}));
    auto zeros = op(ctx, "Broadcast", "opset3", {ctx.scalar_like(0.0, type_of(x)), total},
                    attrs({{"mode", str("numpy")}}));
    auto flat_i = reshape(ctx, indices, ctx.constant_i64({-1}), false);
    auto flat_x = reshape(ctx, x, ctx.constant_i64({-1}), false);
    auto scattered =
        op(ctx, "ScatterElementsUpdate", "opset3", {zeros, flat_i, flat_x, ctx.scalar_i64(0)});
    auto y = reshape(ctx, scattered, out_shape, false);
    if (!ctx.has_input(2)) return {y};
    auto wanted = convert_to(ctx, ctx.input(2), ElementType::I64);
    auto pads_end = binary(ctx, "Subtract", wanted, out_shape);
    auto pads_begin = op(ctx, "Broadcast", "opset3", {ctx.scalar_i64(0), shape_of(ctx, wanted)},
                         attrs({{"mode", str("numpy")}}));
    return {op(ctx, "Pad", "opset1", {y, pads_begin, pads_end, ctx.scalar_like(0.0, type_of(x))},
               attrs({{"pad_mode", str("constant")}}))};
}

Outs convert_mvn(ConvertContext& ctx) {
    auto axes = ctx.attr_ints("axes", {0, 2, 3});
    return {op(ctx, "MVN", "opset6", {ctx.input(0), ctx.constant_i64(axes)},
               attrs({{"eps", f64(1e-9)},
                      {"normalize_variance", flag(true)},
                      {"eps_mode", str("outside_sqrt")}}))};
}

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
    return op(ctx, "Interpolate", "opset11", {x, convert_to(ctx, scales, ElementType::F32)},
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
        in.push_back(convert_to(ctx, ctx.input(3), ElementType::I64));
    } else if (present(ctx, 2)) {
        calc = "scales";
        in.push_back(convert_to(ctx, ctx.input(2), ElementType::F32));
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

} // namespace

void add_converters_nn(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"AveragePool", 1, convert_average_pool},
        {"BatchNormalization", 1, convert_batch_norm},
        {"Conv", 1, convert_conv},
        {"ConvTranspose", 1, convert_conv_transpose},
        {"Gemm", 1, convert_gemm},
        {"InstanceNormalization", 1, convert_instance_norm},
        {"LRN", 1, convert_lrn},
        {"LayerNormalization", 17, convert_layer_norm},
        {"LpPool", 1, convert_lp_pool},
        {"MatMul", 1, convert_matmul},
        {"MaxPool", 1, convert_max_pool},
        {"MaxUnpool", 9, convert_max_unpool},
        {"MeanVarianceNormalization", 9, convert_mvn},
        {"Resize", 10, convert_resize},
        {"Upsample", 1, convert_upsample},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
