// Convolutions, pooling and MatMul — OpenVINO's specs (opsets 1..14). Interpolate, the
// space/depth rearrangements, ROI ops and GridSample are in image_ops.cpp; RNN cells and
// sequences and the DFT family in rnn_ops.cpp.
//
// Shape contract shared by the window ops (convolution, pooling): a dynamic spatial input or
// kernel dimension gives a dynamic output dimension; a dynamic data rank gives a dynamic output
// unless another input (filters) or an attribute (kernel) fixes the rank.
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

// Bound on dimensions (shape_size refuses more elements anyway).
constexpr std::int64_t k_max_shape = std::int64_t{1} << 62;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// ---------------------------------------------------------------------------------------------
// Window geometry (convolution and pooling)

enum class PadMode { Explicit, SameUpper, SameLower, Valid };
enum class Rounding { Floor, Ceil, CeilTorch };

PadMode pad_mode(const InferContext& ctx) {
    auto s = one_of(ctx, "auto_pad", "explicit",
                    {"explicit", "notset", "same_upper", "same_lower", "valid"});
    if (s == "same_upper") return PadMode::SameUpper;
    if (s == "same_lower") return PadMode::SameLower;
    if (s == "valid") return PadMode::Valid;
    return PadMode::Explicit;
}

struct Window {
    Ints strides, dilations, pads_begin, pads_end;
    PadMode pad = PadMode::Explicit;
};

Ints spatial_ints(const InferContext& ctx, std::string_view name, std::size_t spatial,
                  std::int64_t fallback, bool positive) {
    auto v = ctx.attr_or<Ints>(name, Ints(spatial, fallback));
    LOOM_REQUIRE(v.size() == spatial,
                 "attribute '{}' has {} values but the data has {} spatial "
                 "dimensions",
                 name, v.size(), spatial);
    for (auto x : v)
        LOOM_REQUIRE((!positive || x > 0) && x <= k_max_dim && x >= -k_max_dim,
                     "attribute '{}' must be {}, got {}", name,
                     positive ? "positive" : "within ±2^40", x);
    return v;
}

// Reads strides/dilations/pads for `spatial` axes. Pads are only read when auto_pad is explicit
// (the spec ignores them otherwise); absent pads are zeros.
Window read_window(const InferContext& ctx, std::size_t spatial, bool has_dilations) {
    Window w;
    w.pad = pad_mode(ctx);
    w.strides = spatial_ints(ctx, "strides", spatial, 1, true);
    w.dilations =
        has_dilations ? spatial_ints(ctx, "dilations", spatial, 1, true) : Ints(spatial, 1);
    if (w.pad == PadMode::Explicit) {
        w.pads_begin = spatial_ints(ctx, "pads_begin", spatial, 0, false);
        w.pads_end = spatial_ints(ctx, "pads_end", spatial, 0, false);
    } else {
        w.pads_begin.assign(spatial, 0);
        w.pads_end.assign(spatial, 0);
    }
    return w;
}

// (k − 1) · d + 1, refusing sizes that would overflow.
std::int64_t dilated_kernel(std::int64_t k, std::int64_t d, std::size_t axis) {
    std::int64_t span = 0;
    LOOM_REQUIRE(k >= 1 && !__builtin_mul_overflow(k - 1, d, &span) && span < k_max_dim,
                 "spatial axis {}: kernel size {} with dilation {} is out of range", axis, k, d);
    return span + 1;
}

// One spatial output dimension of a window op over input `in` with kernel `k` on axis `i`.
Dimension window_out(const Dimension& in, const Dimension& k, std::size_t i, const Window& w,
                     Rounding rounding) {
    if (in.is_dynamic() || k.is_dynamic()) return Dimension();
    auto s = w.strides[i];
    if (w.pad == PadMode::SameUpper || w.pad == PadMode::SameLower) return ceil_div(in.length(), s);
    LOOM_REQUIRE(in.length() < k_max_shape, "spatial axis {}: input size {} is out of range", i,
                 in.length());
    auto dk = dilated_kernel(k.length(), w.dilations[i], i);
    auto padded = in.length() + w.pads_begin[i] + w.pads_end[i];
    LOOM_REQUIRE(padded >= dk,
                 "spatial axis {}: padded input size {} is smaller than the dilated kernel {}", i,
                 padded, dk);
    auto out = (rounding == Rounding::Floor ? (padded - dk) / s : ceil_div(padded - dk, s)) + 1;
    // ceil_torch: the last window must start inside the input or the begin padding.
    if (rounding == Rounding::CeilTorch && (out - 1) * s >= in.length() + w.pads_begin[i]) --out;
    return out;
}

// The spatial rank of a convolution whose filters have `prefix` leading non-spatial dims;
// nullopt when neither rank is known. Checks data rank ≥ 3 and that the ranks agree.
std::optional<std::size_t> conv_spatial_rank(const PartialShape& data, const PartialShape& filters,
                                             std::size_t prefix) {
    if (data.rank_is_static())
        LOOM_REQUIRE(data.rank() >= 3, "data must have rank 3 or more ([N, C, spatial...]), got {}",
                     data.to_string());
    if (filters.rank_is_static())
        LOOM_REQUIRE(filters.rank() >= static_cast<std::int64_t>(prefix) + 1,
                     "filters must have rank {} or more, got {}", prefix + 1, filters.to_string());
    if (data.rank_is_static() && filters.rank_is_static())
        LOOM_REQUIRE(filters.rank() == data.rank() + static_cast<std::int64_t>(prefix) - 2,
                     "data {} and filters {} have mismatching ranks (filters must have rank {})",
                     data.to_string(), filters.to_string(),
                     data.rank() + static_cast<std::int64_t>(prefix) - 2);
    if (data.rank_is_static()) return static_cast<std::size_t>(data.rank() - 2);
    if (filters.rank_is_static()) return static_cast<std::size_t>(filters.rank()) - prefix;
    return std::nullopt;
}

// When neither data nor filters has a static rank, the strides still fix it.
PartialShape rank_from_strides(const InferContext& ctx) {
    auto n = ctx.attr<Ints>("strides").size();
    if (n == 0) return PartialShape::dynamic();
    return PartialShape::dynamic(static_cast<std::int64_t>(n) + 2);
}

Dims conv_spatial(const InferContext& ctx, const PartialShape& data, const PartialShape& filters,
                  std::size_t prefix, std::size_t spatial) {
    auto w = read_window(ctx, spatial, true);
    Dims out;
    for (std::size_t i = 0; i < spatial; ++i)
        out.push_back(window_out(dim_or_dynamic(data, 2 + i), dim_or_dynamic(filters, prefix + i),
                                 i, w, Rounding::Floor));
    return out;
}

void check_channels(const Dimension& data_c, const Dimension& expected,
                    const PartialShape& filters) {
    LOOM_REQUIRE(data_c.compatible(expected), "data has {} input channels but filters {} expect {}",
                 data_c.to_string(), filters.to_string(), expected.to_string());
}

// Convolution (groups = false) and GroupConvolution (groups = true).
void infer_conv_common(InferContext& ctx, bool groups) {
    auto type = merge_types(ctx, 0, 1);
    const auto& data = ctx.input_shape(0);
    const auto& filters = ctx.input_shape(1);
    std::size_t prefix = groups ? 3 : 2;
    auto spatial = conv_spatial_rank(data, filters, prefix);
    if (!spatial) return ctx.set_output(0, type, rank_from_strides(ctx));
    Dimension c_out;
    if (filters.rank_is_static()) {
        auto c_in = groups ? filters[0] * filters[2] : filters[1];
        check_channels(dim_or_dynamic(data, 1), c_in, filters);
        c_out = groups ? filters[0] * filters[1] : filters[0];
    }
    Dims out{dim_or_dynamic(data, 0), c_out};
    for (auto& d : conv_spatial(ctx, data, filters, prefix, *spatial))
        out.push_back(d);
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

void infer_convolution(InferContext& ctx) {
    infer_conv_common(ctx, false);
}

void infer_group_convolution(InferContext& ctx) {
    infer_conv_common(ctx, true);
}

// ConvolutionBackpropData / GroupConvolutionBackpropData: filters [C_in, C_out, k...] or
// [G, C_in/G, C_out/G, k...]; optional input 2 gives the output's spatial shape.
void infer_backprop_common(InferContext& ctx, bool groups) {
    auto type = merge_types(ctx, 0, 1);
    const auto& data = ctx.input_shape(0);
    const auto& filters = ctx.input_shape(1);
    std::size_t prefix = groups ? 3 : 2;
    auto spatial = conv_spatial_rank(data, filters, prefix);
    std::optional<PartialShape> given;
    if (ctx.input_count() > 2) {
        given = shape_from_input(ctx, 2);
        if (!spatial && given->rank_is_static()) spatial = static_cast<std::size_t>(given->rank());
        if (spatial && given->rank_is_static())
            LOOM_REQUIRE(given->rank() == static_cast<std::int64_t>(*spatial),
                         "output_shape has {} values but the data has {} spatial dimensions",
                         given->rank(), *spatial);
    }
    if (!spatial) return ctx.set_output(0, type, rank_from_strides(ctx));
    Dimension c_out;
    if (filters.rank_is_static()) {
        auto c_in = groups ? filters[0] * filters[1] : filters[0];
        check_channels(dim_or_dynamic(data, 1), c_in, filters);
        c_out = groups ? filters[0] * filters[2] : filters[1];
    }
    Dims out{dim_or_dynamic(data, 0), c_out};
    auto w = read_window(ctx, *spatial, true);
    auto out_pad = spatial_ints(ctx, "output_padding", *spatial, 0, false);
    for (std::size_t i = 0; i < *spatial; ++i) {
        if (given) {
            out.push_back(given->rank_is_static() ? (*given)[i] : Dimension());
            continue;
        }
        auto in = dim_or_dynamic(data, 2 + i), k = dim_or_dynamic(filters, prefix + i);
        if (in.is_dynamic() || k.is_dynamic()) {
            out.emplace_back();
            continue;
        }
        auto dk = dilated_kernel(k.length(), w.dilations[i], i);
        std::int64_t v = 0;
        LOOM_REQUIRE(!__builtin_mul_overflow(w.strides[i], in.length() - 1, &v) && v < k_max_shape,
                     "spatial axis {}: input size {} with stride {} is out of range", i,
                     in.length(), w.strides[i]);
        v += dk - w.pads_begin[i] - w.pads_end[i] + out_pad[i];
        LOOM_REQUIRE(v >= 0, "spatial axis {}: computed output size {} is negative", i, v);
        out.push_back(v);
    }
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

void infer_conv_backprop(InferContext& ctx) {
    infer_backprop_common(ctx, false);
}

void infer_group_conv_backprop(InferContext& ctx) {
    infer_backprop_common(ctx, true);
}

// DeformableConvolution-1/8: data [N, C_in, H, W], offsets [N, 2·dg·kH·kW, oH, oW], filters
// [C_out, C_in/group, kH, kW], optional (8) mask [N, dg·kH·kW, oH, oW].
void infer_deformable_conv(InferContext& ctx) {
    auto type = merge_types(ctx, 0, 2);
    const auto& data = ctx.input_shape(0);
    const auto& offsets = ctx.input_shape(1);
    const auto& filters = ctx.input_shape(2);
    auto group = positive_int(ctx, "group", 1);
    auto dg = positive_int(ctx, "deformable_group", 1);
    require_rank(data, 4, "data");
    require_rank(offsets, 4, "offsets");
    require_rank(filters, 4, "filters");
    if (ctx.input_count() > 3) require_rank(ctx.input_shape(3), 4, "mask");
    Dimension c_out;
    if (filters.rank_is_static()) {
        check_channels(dim_or_dynamic(data, 1), filters[1] * Dimension(group), filters);
        c_out = filters[0];
        auto kernel = filters[2] * filters[3];
        if (kernel.is_static() && offsets.rank_is_static())
            LOOM_REQUIRE(offsets[1].compatible(Dimension(2 * dg * kernel.length())),
                         "offsets {} must have 2 * deformable_group * kH * kW = {} channels",
                         offsets.to_string(), 2 * dg * kernel.length());
    }
    auto n = merge_dim(dim_or_dynamic(data, 0), offsets, 0, "batch");
    Dims out{n, c_out};
    for (auto& d : conv_spatial(ctx, data, filters, 2, 2))
        out.push_back(d);
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

// ---------------------------------------------------------------------------------------------
// Pooling

// Output shape of MaxPool/AvgPool (`dilations` only from opset8, ceil_torch from opset14).
PartialShape pool_shape(const InferContext& ctx, bool has_dilations, bool allow_ceil_torch) {
    const auto& data = ctx.input_shape(0);
    const auto& kernel = ctx.attr<Ints>("kernel");
    auto spatial = kernel.size();
    LOOM_REQUIRE(spatial >= 1, "attribute 'kernel' is empty");
    for (auto k : kernel)
        LOOM_REQUIRE(k > 0, "attribute 'kernel' must be positive, got {}", k);
    auto rounding = allow_ceil_torch
                        ? one_of(ctx, "rounding_type", "floor", {"floor", "ceil", "ceil_torch"})
                        : one_of(ctx, "rounding_type", "floor", {"floor", "ceil"});
    auto r = rounding == "floor"  ? Rounding::Floor
             : rounding == "ceil" ? Rounding::Ceil
                                  : Rounding::CeilTorch;
    auto w = read_window(ctx, spatial, has_dilations);
    if (data.rank_is_dynamic())
        return PartialShape::dynamic(static_cast<std::int64_t>(spatial) + 2);
    LOOM_REQUIRE(data.rank() == static_cast<std::int64_t>(spatial) + 2,
                 "data {} must have rank {} (N, C and {} spatial dims from 'kernel')",
                 data.to_string(), spatial + 2, spatial);
    Dims out{data[0], data[1]};
    for (std::size_t i = 0; i < spatial; ++i)
        out.push_back(window_out(data[2 + i], Dimension(kernel[i]), i, w, r));
    return PartialShape(std::move(out));
}

ElementType index_type(const InferContext& ctx) {
    auto t = ctx.attr_or<ElementType>("index_element_type", ElementType::I64);
    LOOM_REQUIRE(t == ElementType::I64 || t == ElementType::I32,
                 "index_element_type must be i64 or i32, got {}", loom::to_string(t));
    return t;
}

void infer_max_pool1(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), pool_shape(ctx, false, false));
}

void infer_max_pool8_common(InferContext& ctx, bool allow_ceil_torch) {
    auto shape = pool_shape(ctx, true, allow_ceil_torch);
    auto itype = index_type(ctx);
    (void)normalize_axis(ctx.attr_or<std::int64_t>("axis", 0), shape.rank(), "axis");
    ctx.set_output(0, ctx.input_type(0), shape);
    ctx.set_output(1, itype, shape);
}

void infer_max_pool8(InferContext& ctx) {
    infer_max_pool8_common(ctx, false);
}

void infer_max_pool14(InferContext& ctx) {
    infer_max_pool8_common(ctx, true);
}

void infer_avg_pool1(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), pool_shape(ctx, false, false));
}

void infer_avg_pool14(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), pool_shape(ctx, false, true));
}

// AdaptiveAvgPool/AdaptiveMaxPool-8: data [N, C, spatial...] (or [C, spatial...]) and a 1-D
// output_shape input giving the spatial dims.
PartialShape adaptive_pool_shape(const InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    auto spatial = shape_from_input(ctx, 1);
    if (data.rank_is_dynamic()) return PartialShape::dynamic();
    LOOM_REQUIRE(data.rank() >= 3 && data.rank() <= 5, "data must have rank 3, 4 or 5, got {}",
                 data.to_string());
    auto n = static_cast<std::size_t>(data.rank()) - 2;
    LOOM_REQUIRE(spatial.rank_is_dynamic() || spatial.rank() == static_cast<std::int64_t>(n),
                 "output_shape has {} values but the data has {} spatial dimensions",
                 spatial.rank(), n);
    Dims out{data[0], data[1]};
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(dim_or_dynamic(spatial, i));
    return PartialShape(std::move(out));
}

void infer_adaptive_avg_pool(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), adaptive_pool_shape(ctx));
}

void infer_adaptive_max_pool(InferContext& ctx) {
    auto shape = adaptive_pool_shape(ctx);
    ctx.set_output(0, ctx.input_type(0), shape);
    ctx.set_output(1, index_type(ctx), shape);
}

// ---------------------------------------------------------------------------------------------
// MatMul-1: numpy matmul with transpose_a/b; a 1-D operand is [1, K] (A) or [K, 1] (B) and its
// unit dimension is removed from the result; transposes are ignored for 1-D operands.
void infer_matmul(InferContext& ctx) {
    auto type = merge_types(ctx, 0, 1);
    const auto& a = ctx.input_shape(0);
    const auto& b = ctx.input_shape(1);
    if (a.rank_is_dynamic() || b.rank_is_dynamic())
        return ctx.set_output(0, type, PartialShape::dynamic());
    LOOM_REQUIRE(a.rank() >= 1 && b.rank() >= 1,
                 "MatMul inputs must have rank 1 or more, got {} "
                 "and {}",
                 a.to_string(), b.to_string());
    Dims da = a.dims(), db = b.dims();
    bool a1 = da.size() == 1, b1 = db.size() == 1;
    if (a1)
        da.insert(da.begin(), Dimension(1));
    else if (ctx.attr_or<bool>("transpose_a", false))
        std::swap(da[da.size() - 1], da[da.size() - 2]);
    if (b1)
        db.push_back(Dimension(1));
    else if (ctx.attr_or<bool>("transpose_b", false))
        std::swap(db[db.size() - 1], db[db.size() - 2]);
    const auto& ka = da.back();
    const auto& kb = db[db.size() - 2];
    LOOM_REQUIRE(ka.compatible(kb),
                 "MatMul inner dimensions differ: {} (A {}) vs {} (B {}) after transposes",
                 ka.to_string(), a.to_string(), kb.to_string(), b.to_string());
    auto batch = broadcast_numpy(PartialShape(Dims(da.begin(), da.end() - 2)),
                                 PartialShape(Dims(db.begin(), db.end() - 2)));
    Dims out = batch.dims();
    if (!a1) out.push_back(da[da.size() - 2]);
    if (!b1) out.push_back(db.back());
    ctx.set_output(0, type, PartialShape(std::move(out)));
}

// ---------------------------------------------------------------------------------------------
// Tables

std::vector<AttrSpec> conv_attrs() {
    return {{"strides", K::Ints},
            {"pads_begin", K::Ints},
            {"pads_end", K::Ints},
            {"dilations", K::Ints},
            {"auto_pad", K::String, false}};
}

std::vector<AttrSpec> backprop_attrs() {
    auto a = conv_attrs();
    a.push_back({"output_padding", K::Ints, false});
    return a;
}

void add_conv_and_pool(OpRegistry& r) {
    add_spec(r, "Convolution", "opset1", conv_attrs(), 2, 2, infer_convolution);
    add_spec(r, "GroupConvolution", "opset1", conv_attrs(), 2, 2, infer_group_convolution);
    add_spec(r, "ConvolutionBackpropData", "opset1", backprop_attrs(), 2, 3, infer_conv_backprop);
    add_spec(r, "GroupConvolutionBackpropData", "opset1", backprop_attrs(), 2, 3,
             infer_group_conv_backprop);
    auto deformable = conv_attrs();
    deformable.push_back({"group", K::Int, false});
    deformable.push_back({"deformable_group", K::Int, false});
    add_spec(r, "DeformableConvolution", "opset1", deformable, 3, 3, infer_deformable_conv);
    deformable.push_back({"bilinear_interpolation_pad", K::Bool, false});
    add_spec(r, "DeformableConvolution", "opset8", deformable, 3, 4, infer_deformable_conv);

    std::vector<AttrSpec> pool{{"strides", K::Ints},
                               {"pads_begin", K::Ints},
                               {"pads_end", K::Ints},
                               {"kernel", K::Ints},
                               {"rounding_type", K::String, false},
                               {"auto_pad", K::String, false}};
    add_spec(r, "MaxPool", "opset1", pool, 1, 1, infer_max_pool1);
    auto avg = pool;
    avg.push_back({"exclude-pad", K::Bool});
    add_spec(r, "AvgPool", "opset1", avg, 1, 1, infer_avg_pool1);
    add_spec(r, "AvgPool", "opset14", avg, 1, 1, infer_avg_pool14);
    pool.push_back({"dilations", K::Ints, false});
    pool.push_back({"index_element_type", K::Type, false});
    pool.push_back({"axis", K::Int, false});
    add_spec(r, "MaxPool", "opset8", pool, 1, 1, infer_max_pool8);
    add_spec(r, "MaxPool", "opset14", pool, 1, 1, infer_max_pool14);
    add_spec(r, "AdaptiveAvgPool", "opset8", {}, 2, 2, infer_adaptive_avg_pool);
    add_spec(r, "AdaptiveMaxPool", "opset8", {{"index_element_type", K::Type, false}}, 2, 2,
             infer_adaptive_max_pool);
}

} // namespace

void add_nn_ops(OpRegistry& r) {
    add_conv_and_pool(r);
    add_spec(r, "MatMul", "opset1",
             {{"transpose_a", K::Bool, false}, {"transpose_b", K::Bool, false}}, 2, 2,
             infer_matmul);
}

} // namespace loom::model::ops
