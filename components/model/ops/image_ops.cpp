// Image and spatial ops — OpenVINO's specs: Interpolate-1/4/11, the space/depth/batch
// rearrangements (DepthToSpace, SpaceToDepth, ShuffleChannels, BatchToSpace, SpaceToBatch),
// ROIAlign, ROIPooling and GridSample.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/nn_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

using K = AttrKind;

// ---------------------------------------------------------------------------------------------
// Interpolate

void check_interpolate_modes(const InferContext& ctx, bool pillow) {
    if (pillow)
        one_of(ctx, "mode", "",
               {"nearest", "linear", "linear_onnx", "cubic", "bilinear_pillow", "bicubic_pillow"});
    else
        one_of(ctx, "mode", "", {"nearest", "linear", "linear_onnx", "cubic"});
    one_of(ctx, "coordinate_transformation_mode", "half_pixel",
           {"half_pixel", "pytorch_half_pixel", "asymmetric", "tf_half_pixel_for_nn",
            "align_corners"});
    one_of(ctx, "nearest_mode", "round_prefer_floor",
           {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple"});
}

// Interpolate-4/11. `target` is the input holding sizes or scales (per shape_calculation_mode);
// `axes_input` the optional axes input. Pads apply to every axis; interpolated axes become
// sizes[i] or floor(padded · scales[i]).
void infer_interpolate_common(InferContext& ctx, std::size_t sizes_input, std::size_t scales_input,
                              std::size_t axes_input, bool pillow) {
    check_interpolate_modes(ctx, pillow);
    auto mode = one_of(ctx, "shape_calculation_mode", "", {"sizes", "scales"});
    const auto& data = ctx.input_shape(0);
    if (data.rank_is_dynamic()) return ctx.set_output(0, ctx.input_type(0), data);
    auto rank = data.rank();
    auto pb = ctx.attr_or<Ints>("pads_begin", {}), pe = ctx.attr_or<Ints>("pads_end", {});
    LOOM_REQUIRE(pb.size() <= static_cast<std::size_t>(rank) &&
                     pe.size() <= static_cast<std::size_t>(rank),
                 "pads_begin/pads_end have more values than the data rank {}", rank);
    pb.resize(static_cast<std::size_t>(rank), 0);
    pe.resize(static_cast<std::size_t>(rank), 0);
    Dims out = data.dims();
    for (std::size_t i = 0; i < out.size(); ++i)
        if (out[i].is_static()) {
            auto v = out[i].length() + pb[i] + pe[i];
            LOOM_REQUIRE(v >= 0, "padding makes axis {} negative ({})", i, v);
            out[i] = v;
        } else {
            out[i] = Dimension();
        }
    Ints axes;
    if (ctx.input_count() > axes_input) {
        auto values = ctx.input_values(axes_input);
        if (!values) return ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic(rank));
        axes = normalize_axes(*values, rank, "axes");
    } else {
        for (std::int64_t i = 0; i < rank; ++i)
            axes.push_back(i);
    }
    std::size_t count = 0;
    std::optional<Ints> sizes;
    std::optional<std::vector<double>> scales;
    if (mode == "sizes") {
        sizes = ctx.input_values(sizes_input);
        if (sizes) count = sizes->size();
    } else if (const Tensor* t = ctx.input_constant(scales_input)) {
        LOOM_REQUIRE(is_floating(t->element_type()), "scales must be a floating-point tensor");
        scales = t->to_f64();
        count = scales->size();
        for (double x : *scales)
            LOOM_REQUIRE(x > 0 && x < 1e9, "scales must be positive and finite, got {}", x);
    }
    if (sizes || scales)
        LOOM_REQUIRE(count == axes.size(), "{} has {} values but there are {} axes", mode, count,
                     axes.size());
    for (std::size_t i = 0; i < axes.size(); ++i) {
        auto& d = out[static_cast<std::size_t>(axes[i])];
        if (sizes)
            d = Dimension((*sizes)[i]); // negative: dynamic
        else if (scales && d.is_static())
            d = static_cast<std::int64_t>(
                std::floor(static_cast<double>(d.length()) * (*scales)[i] + 1e-5));
        else
            d = Dimension();
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_interpolate4(InferContext& ctx) {
    infer_interpolate_common(ctx, 1, 2, 3, false);
}

void infer_interpolate11(InferContext& ctx) {
    infer_interpolate_common(ctx, 1, 1, 2, true);
}

// Interpolate-1: the dims listed in `axes` take the values of target_spatial_shape.
void infer_interpolate1(InferContext& ctx) {
    one_of(ctx, "mode", "", {"nearest", "linear", "cubic", "area"});
    const auto& data = ctx.input_shape(0);
    if (data.rank_is_dynamic()) return ctx.set_output(0, ctx.input_type(0), data);
    auto axes = normalize_axes(ctx.attr<Ints>("axes"), data.rank(), "axes");
    auto target = ctx.input_values(1);
    if (target)
        LOOM_REQUIRE(target->size() == axes.size(),
                     "target_spatial_shape has {} values but there are {} axes", target->size(),
                     axes.size());
    Dims out = data.dims();
    for (std::size_t i = 0; i < axes.size(); ++i)
        out[static_cast<std::size_t>(axes[i])] = target ? Dimension((*target)[i]) : Dimension();
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

// ---------------------------------------------------------------------------------------------
// Rearrangements

// DepthToSpace (to_space) and SpaceToDepth: data [N, C, D1..Dk], block_size bs.
void infer_depth_space(InferContext& ctx, bool to_space) {
    one_of(ctx, "mode", "", {"blocks_first", "depth_first"});
    auto bs = positive_int(ctx, "block_size", 1);
    const auto& data = ctx.input_shape(0);
    if (data.rank_is_dynamic()) return ctx.set_output(0, ctx.input_type(0), data);
    LOOM_REQUIRE(data.rank() >= 3, "data must have rank 3 or more, got {}", data.to_string());
    std::int64_t factor = 1;
    for (std::int64_t i = 2; i < data.rank(); ++i) {
        LOOM_REQUIRE(factor <= k_max_dim / bs, "block_size {} is too large", bs);
        factor *= bs;
    }
    Dims out = data.dims();
    auto& c = out[1];
    if (c.is_static() && to_space) {
        LOOM_REQUIRE(c.length() % factor == 0,
                     "channels {} are not divisible by block_size^{} = {}", c.length(),
                     data.rank() - 2, factor);
        c = c.length() / factor;
    } else {
        c = c.is_static() ? Dimension(c.length() * factor) : Dimension();
    }
    for (std::size_t i = 2; i < out.size(); ++i) {
        auto& d = out[i];
        if (d.is_dynamic()) {
            d = Dimension();
        } else if (to_space) {
            d = d.length() * bs;
        } else {
            LOOM_REQUIRE(d.length() % bs == 0,
                         "spatial dim {} ({}) is not divisible by "
                         "block_size {}",
                         i, d.length(), bs);
            d = d.length() / bs;
        }
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_depth_to_space(InferContext& ctx) {
    infer_depth_space(ctx, true);
}

void infer_space_to_depth(InferContext& ctx) {
    infer_depth_space(ctx, false);
}

void infer_shuffle_channels(InferContext& ctx) {
    auto group = positive_int(ctx, "group", 1);
    const auto& data = ctx.input_shape(0);
    if (data.rank_is_static()) {
        LOOM_REQUIRE(data.rank() >= 1, "data must not be a scalar");
        auto axis = normalize_axis(ctx.attr_or<std::int64_t>("axis", 1), data.rank(), "axis");
        const auto& d = data[static_cast<std::size_t>(axis)];
        LOOM_REQUIRE(d.is_dynamic() || d.length() % group == 0,
                     "dimension {} of axis {} is not divisible by group {}", d.to_string(), axis,
                     group);
    }
    ctx.set_output(0, ctx.input_type(0), data);
}

// BatchToSpace-2 (to_space) / SpaceToBatch-2: inputs 1..3 are 1-D constants of length rank.
void infer_batch_space(InferContext& ctx, bool to_space) {
    const auto& data = ctx.input_shape(0);
    if (data.rank_is_dynamic()) return ctx.set_output(0, ctx.input_type(0), data);
    auto rank = static_cast<std::size_t>(data.rank());
    LOOM_REQUIRE(rank >= 2, "data must have rank 2 or more, got {}", data.to_string());
    std::optional<Ints> v[3];
    const char* names[3] = {"block_shape", to_space ? "crops_begin" : "pads_begin",
                            to_space ? "crops_end" : "pads_end"};
    for (std::size_t j = 0; j < 3; ++j) {
        v[j] = ctx.input_values(j + 1);
        const auto& s = ctx.input_shape(j + 1);
        LOOM_REQUIRE(
            s.rank_is_dynamic() ||
                (s.rank() == 1 && s[0].compatible(Dimension(static_cast<std::int64_t>(rank)))),
            "{} must be 1-D with {} values, got {}", names[j], rank, s.to_string());
    }
    if (!v[0] || !v[1] || !v[2])
        return ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic(data.rank()));
    const Ints &block = *v[0], &lo = *v[1], &hi = *v[2];
    std::int64_t prod = 1;
    for (auto b : block) {
        LOOM_REQUIRE(b > 0 && prod <= k_max_dim / b,
                     "block_shape value {} is not positive or "
                     "too large",
                     b);
        prod *= b;
    }
    Dims out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const auto& d = data[i];
        if (d.is_dynamic()) continue;
        if (i == 0 && to_space) {
            LOOM_REQUIRE(d.length() % prod == 0,
                         "batch {} is not divisible by the block_shape product {}", d.length(),
                         prod);
            out[0] = d.length() / prod;
        } else if (i == 0) {
            out[0] = d.length() * prod;
        } else if (to_space) {
            auto x = d.length() * block[i] - lo[i] - hi[i];
            LOOM_REQUIRE(x >= 0, "crops make dimension {} negative ({})", i, x);
            out[i] = x;
        } else {
            auto x = d.length() + lo[i] + hi[i];
            LOOM_REQUIRE(x % block[i] == 0,
                         "padded dimension {} ({}) is not divisible by "
                         "block_shape {}",
                         i, x, block[i]);
            out[i] = x / block[i];
        }
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_batch_to_space(InferContext& ctx) {
    infer_batch_space(ctx, true);
}

void infer_space_to_batch(InferContext& ctx) {
    infer_batch_space(ctx, false);
}

// ---------------------------------------------------------------------------------------------
// ROI ops, GridSample

void infer_roi_align(InferContext& ctx) {
    one_of(ctx, "mode", "", {"avg", "max"});
    one_of(ctx, "aligned_mode", "asymmetric", {"asymmetric", "half_pixel_for_nn", "half_pixel"});
    auto ph = positive_int(ctx, "pooled_h", 0), pw = positive_int(ctx, "pooled_w", 0);
    LOOM_REQUIRE(ctx.attr<std::int64_t>("sampling_ratio") >= 0,
                 "attribute 'sampling_ratio' must be >= 0");
    LOOM_REQUIRE(ctx.attr<double>("spatial_scale") > 0, "attribute 'spatial_scale' must be > 0");
    const auto& data = ctx.input_shape(0);
    const auto& rois = ctx.input_shape(1);
    const auto& idx = ctx.input_shape(2);
    require_rank(data, 4, "data");
    check_weights(rois, {Dimension(), 4}, "rois");
    require_rank(idx, 1, "batch_indices");
    LOOM_REQUIRE(is_integral(ctx.input_type(2)) || ctx.input_type(2) == ElementType::UNDEFINED,
                 "batch_indices must be an integer tensor");
    auto n = merge_dim(dim_or_dynamic(rois, 0), idx, 0, "number of ROIs");
    ctx.set_output(0, ctx.input_type(0), PartialShape({n, dim_or_dynamic(data, 1), ph, pw}));
}

void infer_roi_pooling(InferContext& ctx) {
    one_of(ctx, "method", "max", {"max", "bilinear"});
    auto ph = positive_int(ctx, "pooled_h", 0), pw = positive_int(ctx, "pooled_w", 0);
    LOOM_REQUIRE(ctx.attr<double>("spatial_scale") > 0, "attribute 'spatial_scale' must be > 0");
    const auto& data = ctx.input_shape(0);
    const auto& rois = ctx.input_shape(1);
    require_rank(data, 4, "data");
    check_weights(rois, {Dimension(), 5}, "rois");
    ctx.set_output(0, ctx.input_type(0),
                   PartialShape({dim_or_dynamic(rois, 0), dim_or_dynamic(data, 1), ph, pw}));
}

void infer_grid_sample(InferContext& ctx) {
    one_of(ctx, "mode", "bilinear", {"bilinear", "bicubic", "nearest"});
    one_of(ctx, "padding_mode", "zeros", {"zeros", "border", "reflection"});
    const auto& data = ctx.input_shape(0);
    const auto& grid = ctx.input_shape(1);
    require_rank(data, 4, "data");
    check_weights(grid, {Dimension(), Dimension(), Dimension(), 2}, "grid");
    auto n = merge_dim(dim_or_dynamic(data, 0), grid, 0, "batch size");
    ctx.set_output(0, ctx.input_type(0),
                   PartialShape({n, dim_or_dynamic(data, 1), dim_or_dynamic(grid, 1),
                                 dim_or_dynamic(grid, 2)}));
}

std::vector<AttrSpec> interpolate_attrs() {
    return {{"mode", K::String},
            {"shape_calculation_mode", K::String},
            {"coordinate_transformation_mode", K::String, false},
            {"nearest_mode", K::String, false},
            {"antialias", K::Bool, false},
            {"pads_begin", K::Ints, false},
            {"pads_end", K::Ints, false},
            {"cube_coeff", K::Float, false}};
}

} // namespace

void add_image_ops(OpRegistry& r) {
    add_spec(r, "Interpolate", "opset1",
             {{"axes", K::Ints},
              {"mode", K::String},
              {"align_corners", K::Bool, false},
              {"antialias", K::Bool, false},
              {"pads_begin", K::Ints, false},
              {"pads_end", K::Ints, false}},
             2, 2, infer_interpolate1);
    add_spec(r, "Interpolate", "opset4", interpolate_attrs(), 3, 4, infer_interpolate4);
    add_spec(r, "Interpolate", "opset11", interpolate_attrs(), 2, 3, infer_interpolate11);
    std::vector<AttrSpec> block{{"mode", K::String}, {"block_size", K::Int, false}};
    add_spec(r, "DepthToSpace", "opset1", block, 1, 1, infer_depth_to_space);
    add_spec(r, "SpaceToDepth", "opset1", block, 1, 1, infer_space_to_depth);
    add_spec(r, "ShuffleChannels", "opset1", {{"axis", K::Int, false}, {"group", K::Int, false}}, 1,
             1, infer_shuffle_channels);
    add_spec(r, "BatchToSpace", "opset2", {}, 4, 4, infer_batch_to_space);
    add_spec(r, "SpaceToBatch", "opset2", {}, 4, 4, infer_space_to_batch);
    std::vector<AttrSpec> roi_align{{"pooled_h", K::Int},
                                    {"pooled_w", K::Int},
                                    {"sampling_ratio", K::Int},
                                    {"spatial_scale", K::Float},
                                    {"mode", K::String}};
    add_spec(r, "ROIAlign", "opset3", roi_align, 3, 3, infer_roi_align);
    roi_align.push_back({"aligned_mode", K::String, false});
    add_spec(r, "ROIAlign", "opset9", roi_align, 3, 3, infer_roi_align);
    add_spec(r, "ROIPooling", "opset2",
             {{"pooled_h", K::Int},
              {"pooled_w", K::Int},
              {"spatial_scale", K::Float},
              {"method", K::String, false}},
             2, 2, infer_roi_pooling);
    add_spec(r, "GridSample", "opset9",
             {{"align_corners", K::Bool, false},
              {"mode", K::String, false},
              {"padding_mode", K::String, false}},
             2, 2, infer_grid_sample);
}

} // namespace loom::model::ops
