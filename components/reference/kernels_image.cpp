// Reference kernels: image family (see kernel.hpp) — Interpolate-1/4/11. The rearrangements
// (DepthToSpace …) are in kernels_image_space.cpp, ROI ops and GridSample in
// kernels_image_roi.cpp.
//
// Interpolate is separable: every resized axis gets a table of taps (input index, weight) per
// output index, and the data is filtered one axis at a time. Nearest is a pure gather.

#include <cmath>
#include <limits>
#include <string>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

struct InterpAttrs {
    std::string mode, transform = "half_pixel", nearest_mode = "round_prefer_floor";
    bool antialias = false;
    double cube_coeff = -0.75;
};

// Taps of one axis: output index o reads index[start[o] .. start[o+1]) with weight[…].
struct AxisTaps {
    std::int64_t in = 0, out = 0;
    double resized = 0;
    std::vector<std::int64_t> start, index;
    std::vector<double> weight;
};

// `resized` is the output length: scale × input in scales mode (as ONNX Resize computes
// align_corners), the size in sizes mode.
double original_coordinate(const InterpAttrs& a, double x, double scale, std::int64_t in,
                           double resized) {
    const auto& t = a.transform;
    if (t == "half_pixel") return (x + 0.5) / scale - 0.5;
    if (t == "pytorch_half_pixel") return resized > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (t == "asymmetric") return x / scale;
    if (t == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
    if (t == "align_corners")
        return resized == 1 ? 0.0 : x * static_cast<double>(in - 1) / (resized - 1);
    LOOM_THROW(ErrorKind::UNSUPPORTED, "coordinate_transformation_mode '{}' is not supported", t);
}

std::int64_t nearest_index(const std::string& mode, double x, bool downsample) {
    if (mode == "round_prefer_floor")
        return static_cast<std::int64_t>(x == std::floor(x) + 0.5 ? std::floor(x) : std::round(x));
    if (mode == "round_prefer_ceil") return static_cast<std::int64_t>(std::round(x));
    if (mode == "floor") return static_cast<std::int64_t>(std::floor(x));
    if (mode == "ceil") return static_cast<std::int64_t>(std::ceil(x));
    if (mode == "simple")
        return downsample ? static_cast<std::int64_t>(std::ceil(x)) : static_cast<std::int64_t>(x);
    LOOM_THROW(ErrorKind::UNSUPPORTED, "nearest_mode '{}' is not supported", mode);
}

double cubic_weight(double x, double a) {
    x = std::abs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
}

double triangle(double x) {
    return std::max(0.0, 1.0 - std::abs(x));
}

// Appends normalized taps (clamped to the axis) for one output index.
void push_taps(AxisTaps& t, std::vector<std::pair<std::int64_t, double>>& taps) {
    double sum = 0;
    for (auto& [i, w] : taps)
        sum += w;
    for (auto& [i, w] : taps) {
        t.index.push_back(std::clamp<std::int64_t>(i, 0, t.in - 1));
        t.weight.push_back(sum != 0 ? w / sum : 0.0);
    }
    t.start.push_back(static_cast<std::int64_t>(t.index.size()));
    taps.clear();
}

// linear_onnx and cubic as ONNX Resize computes them (antialias widens the kernel by 1/scale
// when downsampling); OpenVINO's `linear` (triangle around the rounded coordinate, skipping
// outside points); the Pillow filters.
void filter_taps(const InterpAttrs& a, AxisTaps& t, double scale) {
    std::vector<std::pair<std::int64_t, double>> taps;
    for (std::int64_t o = 0; o < t.out; ++o) {
        const double x = original_coordinate(a, static_cast<double>(o), scale, t.in, t.resized);
        if (a.mode == "linear_onnx" || a.mode == "cubic") {
            const bool cubic = a.mode == "cubic";
            const double s = a.antialias ? std::min(scale, 1.0) : 1.0;
            double base = std::floor(x), ratio = x - base;
            if (ratio == 0) { // ONNX takes the left neighbour at ratio 1
                ratio = 1;
                base -= 1;
            }
            const auto first = static_cast<std::int64_t>(std::floor((cubic ? -2 : -1) / s) + 1);
            for (std::int64_t i = first; i < 2 - first; ++i) {
                const double d = (static_cast<double>(i) - ratio) * s;
                taps.emplace_back(static_cast<std::int64_t>(base) + i,
                                  cubic ? cubic_weight(d, a.cube_coeff) : triangle(d));
            }
        } else if (a.mode == "linear") {
            const double s = a.antialias ? scale : 1.0;
            const auto r = scale > 1.0 ? 2 : static_cast<std::int64_t>(std::ceil(2.0 / s));
            const auto centre = static_cast<std::int64_t>(std::round(x));
            for (std::int64_t i = centre - r; i <= centre + r; ++i)
                if (i >= 0 && i < t.in)
                    taps.emplace_back(i, s * triangle(s * (x - static_cast<double>(i))));
        } else { // bilinear_pillow, bicubic_pillow
            const bool cubic = a.mode == "bicubic_pillow";
            const double inv = 1.0 / scale, fscale = std::max(inv, 1.0);
            const double centre = (static_cast<double>(o) + 0.5) * inv;
            const double support = (cubic ? 2.0 : 1.0) * fscale;
            const auto lo =
                std::max<std::int64_t>(static_cast<std::int64_t>(centre - support + 0.5), 0);
            const auto hi =
                std::min<std::int64_t>(static_cast<std::int64_t>(centre + support + 0.5), t.in);
            for (std::int64_t i = lo; i < hi; ++i) {
                const double d = (static_cast<double>(i) - centre + 0.5) / fscale;
                taps.emplace_back(i, cubic ? cubic_weight(d, -0.5) : triangle(d));
            }
        }
        push_taps(t, taps);
    }
}

AxisTaps make_taps(const InterpAttrs& a, std::int64_t in, std::int64_t out, double scale,
                   bool by_scales) {
    AxisTaps t;
    t.resized = by_scales ? scale * static_cast<double>(in) : static_cast<double>(out);
    t.in = in;
    t.out = out;
    t.start.push_back(0);
    if (a.mode == "nearest") {
        for (std::int64_t o = 0; o < out; ++o) {
            const double x = original_coordinate(a, static_cast<double>(o), scale, in, t.resized);
            t.index.push_back(
                std::clamp<std::int64_t>(nearest_index(a.nearest_mode, x, scale < 1.0), 0, in - 1));
            t.weight.push_back(1.0);
            t.start.push_back(o + 1);
        }
        return t;
    }
    LOOM_REQUIRE(in > 0, "Interpolate: cannot interpolate an empty axis");
    filter_taps(a, t, scale);
    return t;
}

// Zero padding of every axis (pads may be shorter than the rank).
template <class T>
std::vector<T> pad_values(const Tensor& in, const Shape& padded,
                          const std::vector<std::int64_t>& pb) {
    const auto& shape = in.shape();
    auto src = values<T>(in);
    if (padded == shape) return {src.begin(), src.end()};
    std::vector<T> out(static_cast<std::size_t>(model::shape_size(padded)), T{});
    const auto ps = strides_of(padded);
    for (std::int64_t i = 0; i < in.size(); ++i) {
        std::int64_t rem = i, off = 0;
        bool inside = true;
        for (std::size_t k = shape.size(); k-- > 0;) {
            const auto c = rem % shape[k] + (k < pb.size() ? pb[k] : 0);
            rem /= shape[k];
            inside = inside && c >= 0 && c < padded[k];
            off += c * ps[k];
        }
        if (inside) out[static_cast<std::size_t>(off)] = src[static_cast<std::size_t>(i)];
    }
    return out;
}

template <class A>
std::vector<A> filter_axis(const std::vector<A>& in, Shape& shape, std::size_t axis,
                           const AxisTaps& t) {
    std::int64_t outer = 1, inner = 1;
    for (std::size_t k = 0; k < axis; ++k)
        outer *= shape[k];
    for (std::size_t k = axis + 1; k < shape.size(); ++k)
        inner *= shape[k];
    std::vector<A> out(static_cast<std::size_t>(outer * t.out * inner), A{});
    parallel_for(outer * t.out, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(inner, 1)),
                 [&](std::int64_t b, std::int64_t e) {
                     for (std::int64_t r = b; r < e; ++r) {
                         const auto n = r / t.out, o = r % t.out;
                         A* dst = out.data() + r * inner;
                         for (auto k = t.start[static_cast<std::size_t>(o)];
                              k < t.start[static_cast<std::size_t>(o) + 1]; ++k) {
                             const auto w = static_cast<A>(t.weight[static_cast<std::size_t>(k)]);
                             const A* src =
                                 in.data() +
                                 (n * t.in + t.index[static_cast<std::size_t>(k)]) * inner;
                             for (std::int64_t j = 0; j < inner; ++j)
                                 dst[j] += w * src[j];
                         }
                     }
                 });
    shape[axis] = t.out;
    return out;
}

// Nearest: out[...] = in[index tables], one row (last axis) at a time.
template <class T>
void gather_nearest(const std::vector<T>& in, const Shape& in_shape,
                    const std::vector<AxisTaps>& taps, std::span<T> out, const Shape& out_shape) {
    const auto rank = out_shape.size();
    const auto is = strides_of(in_shape);
    const std::int64_t inner = rank ? out_shape.back() : 1;
    const std::int64_t rows = inner ? static_cast<std::int64_t>(out.size()) / inner : 0;
    parallel_for(
        rows, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(inner, 1)),
        [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t r = b; r < e; ++r) {
                std::int64_t rem = r, off = 0;
                for (std::size_t k = rank - 1; k-- > 0;) {
                    off += taps[k].index[static_cast<std::size_t>(rem % out_shape[k])] * is[k];
                    rem /= out_shape[k];
                }
                const auto& last = taps[rank - 1].index;
                T* dst = out.data() + r * inner;
                for (std::int64_t j = 0; j < inner; ++j)
                    dst[j] = in[static_cast<std::size_t>(off + last[static_cast<std::size_t>(j)])];
            }
        });
}

struct InterpPlan {
    InterpAttrs attrs;
    std::vector<std::int64_t> pads_begin, pads_end;
    std::vector<double> scales; // per axis; 1 where not resized
    bool by_scales = false;
};

template <class T>
void run_interpolate(const Tensor& data, const InterpPlan& p, const Tensor& out) {
    const auto& shape = data.shape();
    const auto& out_shape = out.shape();
    Shape padded(shape.size());
    for (std::size_t k = 0; k < shape.size(); ++k)
        padded[k] = shape[k] + (k < p.pads_begin.size() ? p.pads_begin[k] : 0) +
                    (k < p.pads_end.size() ? p.pads_end[k] : 0);
    auto in = pad_values<T>(data, padded, p.pads_begin);
    std::vector<AxisTaps> taps(shape.size());
    for (std::size_t k = 0; k < shape.size(); ++k)
        taps[k] = make_taps(p.attrs, padded[k], out_shape[k], p.scales[k], p.by_scales);
    auto dst = mutable_values<T>(out);
    if (dst.empty()) return;
    if (p.attrs.mode == "nearest" || shape.empty()) {
        if (shape.empty())
            dst[0] = in[0];
        else
            gather_nearest<T>(in, padded, taps, dst, out_shape);
        return;
    }
    using A = std::conditional_t<std::is_same_v<T, float>, float, double>;
    std::vector<A> cur(in.begin(), in.end());
    Shape cur_shape = padded;
    for (std::size_t k = 0; k < shape.size(); ++k)
        if (padded[k] != out_shape[k] || p.scales[k] != 1.0)
            cur = filter_axis(cur, cur_shape, k, taps[k]);
    for (std::size_t i = 0; i < dst.size(); ++i) {
        if constexpr (std::is_floating_point_v<T>)
            dst[i] = static_cast<T>(cur[i]);
        else
            dst[i] = static_cast<T>(std::clamp<A>(cur[i],
                                                  static_cast<A>(std::numeric_limits<T>::lowest()),
                                                  static_cast<A>(std::numeric_limits<T>::max())));
    }
}

Tensor interpolate(const Tensor& data, const InterpPlan& plan, Tensor out) {
    dispatch_type(data.element_type(), "Interpolate", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>)
            LOOM_THROW(ErrorKind::UNSUPPORTED, "Interpolate: boolean data is not supported");
        else
            run_interpolate<T>(data, plan, out);
    });
    return out;
}

std::vector<std::int64_t> all_axes(std::size_t rank) {
    std::vector<std::int64_t> axes(rank);
    for (std::size_t i = 0; i < rank; ++i)
        axes[i] = static_cast<std::int64_t>(i);
    return axes;
}

std::vector<std::int64_t> normalized_axes(std::vector<std::int64_t> axes, std::size_t rank) {
    for (auto& a : axes) {
        if (a < 0) a += static_cast<std::int64_t>(rank);
        LOOM_REQUIRE(a >= 0 && a < static_cast<std::int64_t>(rank), "axis {} is out of range", a);
    }
    return axes;
}

// Interpolate-4 (inputs data, sizes, scales[, axes]) and -11 (data, scales_or_sizes[, axes]).
std::vector<Tensor> interpolate_4_11(KernelContext& ctx, bool v11) {
    const auto& data = ctx.input(0);
    const auto rank = data.shape().size();
    InterpPlan p;
    p.attrs.mode = ctx.attr<std::string>("mode");
    p.attrs.transform = ctx.attr_or<std::string>("coordinate_transformation_mode", "half_pixel");
    p.attrs.nearest_mode = ctx.attr_or<std::string>("nearest_mode", "round_prefer_floor");
    p.attrs.antialias = ctx.attr_or<bool>("antialias", false);
    p.attrs.cube_coeff = ctx.attr_or<double>("cube_coeff", -0.75);
    p.pads_begin = ctx.attr_or<std::vector<std::int64_t>>("pads_begin", {});
    p.pads_end = ctx.attr_or<std::vector<std::int64_t>>("pads_end", {});
    const std::size_t axes_port = v11 ? 2 : 3;
    auto axes = ctx.has_input(axes_port) ? normalized_axes(read_indices(ctx.input(axes_port)), rank)
                                         : all_axes(rank);
    auto out = ctx.allocate_output(0);
    p.scales.assign(rank, 1.0);
    const bool by_scales = ctx.attr<std::string>("shape_calculation_mode") == "scales";
    p.by_scales = by_scales;
    if (by_scales) {
        auto s = ctx.input(v11 ? 1 : 2).to_f64();
        LOOM_REQUIRE(s.size() == axes.size(), "Interpolate: {} scales for {} axes", s.size(),
                     axes.size());
        for (std::size_t i = 0; i < axes.size(); ++i)
            p.scales[static_cast<std::size_t>(axes[i])] = s[i];
    } else {
        for (auto ax : axes) {
            const auto k = static_cast<std::size_t>(ax);
            const auto padded = data.shape()[k] + (k < p.pads_begin.size() ? p.pads_begin[k] : 0) +
                                (k < p.pads_end.size() ? p.pads_end[k] : 0);
            p.scales[k] =
                padded ? static_cast<double>(out.shape()[k]) / static_cast<double>(padded) : 1.0;
        }
    }
    return {interpolate(data, p, out)};
}

std::vector<Tensor> interpolate4(KernelContext& ctx) {
    return interpolate_4_11(ctx, false);
}
std::vector<Tensor> interpolate11(KernelContext& ctx) {
    return interpolate_4_11(ctx, true);
}

// Interpolate-1 as OpenVINO runs it (through Interpolate-4: sizes, simple nearest rounding,
// asymmetric coordinates unless align_corners, half_pixel for linear without pads).
std::vector<Tensor> interpolate1(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto rank = data.shape().size();
    InterpPlan p;
    const auto mode = ctx.attr<std::string>("mode");
    if (mode == "area")
        LOOM_THROW(ErrorKind::UNSUPPORTED, "Interpolate-1: mode 'area' is not supported");
    p.attrs.mode = mode == "linear" ? (rank < 5 ? "linear_onnx" : "linear") : mode;
    p.attrs.nearest_mode = "simple";
    p.attrs.antialias = ctx.attr_or<bool>("antialias", false);
    p.pads_begin = ctx.attr_or<std::vector<std::int64_t>>("pads_begin", {});
    p.pads_end = ctx.attr_or<std::vector<std::int64_t>>("pads_end", {});
    auto axes = normalized_axes(ctx.attr<std::vector<std::int64_t>>("axes"), rank);
    const bool no_pads =
        std::all_of(p.pads_begin.begin(), p.pads_begin.end(), [](auto v) { return v == 0; }) &&
        std::all_of(p.pads_end.begin(), p.pads_end.end(), [](auto v) { return v == 0; });
    const bool spatial_hw = rank == 4 && axes == std::vector<std::int64_t>{2, 3};
    if (ctx.attr_or<bool>("align_corners", false))
        p.attrs.transform = "align_corners";
    else if (mode == "linear" && no_pads && !spatial_hw)
        p.attrs.transform = "half_pixel";
    else
        p.attrs.transform = "asymmetric";
    auto out = ctx.allocate_output(0);
    p.scales.assign(rank, 1.0);
    for (auto ax : axes) {
        const auto k = static_cast<std::size_t>(ax);
        const auto padded = data.shape()[k] + (k < p.pads_begin.size() ? p.pads_begin[k] : 0) +
                            (k < p.pads_end.size() ? p.pads_end[k] : 0);
        p.scales[k] =
            padded ? static_cast<double>(out.shape()[k]) / static_cast<double>(padded) : 1.0;
    }
    return {interpolate(data, p, out)};
}

} // namespace

void add_image_space_kernels(KernelTable& table); // kernels_image_space.cpp
void add_image_roi_kernels(KernelTable& table);   // kernels_image_roi.cpp

void add_image_kernels(KernelTable& table) {
    table.add("Interpolate", "opset1", interpolate1);
    table.add("Interpolate", "opset4", interpolate4);
    table.add("Interpolate", "opset11", interpolate11);
    add_image_space_kernels(table);
    add_image_roi_kernels(table);
}

} // namespace loom::reference
