// Reference kernels: index family, part 2 — Slice, StridedSlice and ExtractImagePatches. All
// move raw bytes (every element type).

#include "components/reference/kernel_bytes.hpp"

#include <limits>

namespace loom::reference {

namespace {

// Source positions of a Python-style slice [start:stop:step] of an axis of length dim.
std::vector<std::int64_t> slice_positions(std::int64_t dim, std::int64_t start, std::int64_t stop,
                                          std::int64_t step) {
    LOOM_REQUIRE(step != 0, "slice step is zero");
    auto norm = [&](std::int64_t v) {
        if (v < 0) v = v < -dim ? (step > 0 ? 0 : -1) : v + dim;
        return step > 0 ? std::clamp<std::int64_t>(v, 0, dim)
                        : std::clamp<std::int64_t>(v, -1, dim - 1);
    };
    const auto b = norm(start), e = norm(stop);
    std::vector<std::int64_t> pos;
    for (auto i = b; step > 0 ? i < e : i > e; i += step) {
        pos.push_back(i);
        if ((step > 0 && i > std::numeric_limits<std::int64_t>::max() - step) ||
            (step < 0 && i < std::numeric_limits<std::int64_t>::min() - step))
            break;
    }
    return pos;
}

// Remaps `in` by per-axis positions into a new tensor, then gives it `out_shape` (same element
// count; new/shrunk axes of 1).
Tensor gather_positions(const Tensor& in, const std::vector<std::vector<std::int64_t>>& maps,
                        const Shape& out_shape) {
    Shape mid;
    for (const auto& m : maps)
        mid.push_back(static_cast<std::int64_t>(m.size()));
    auto out = Tensor::allocate(in.element_type(), mid);
    remap_axes(in, out, maps);
    LOOM_REQUIRE(dims_product(mid, 0, mid.size()) == dims_product(out_shape, 0, out_shape.size()),
                 "slice result {} does not match the inferred shape {}", model::to_string(mid),
                 model::to_string(out_shape));
    return out.reshaped(out_shape);
}

std::vector<std::int64_t> full_axis(std::int64_t dim) {
    std::vector<std::int64_t> v(to_size(dim));
    for (std::int64_t i = 0; i < dim; ++i)
        v[to_size(i)] = i;
    return v;
}

std::vector<Tensor> slice(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<std::int64_t>(shape.size());
    const auto start = read_indices(ctx.input(1));
    const auto stop = read_indices(ctx.input(2));
    const auto step = read_indices(ctx.input(3));
    std::vector<std::int64_t> axes;
    if (ctx.has_input(4))
        axes = read_indices(ctx.input(4));
    else
        axes = full_axis(static_cast<std::int64_t>(start.size()));
    LOOM_REQUIRE(start.size() == stop.size() && start.size() == step.size() &&
                     start.size() == axes.size(),
                 "Slice start, stop, step and axes need the same length");
    std::vector<std::vector<std::int64_t>> maps(shape.size());
    std::vector<bool> done(shape.size(), false);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const auto a = to_size(checked_axis(axes[i], rank, "Slice axis"));
        LOOM_REQUIRE(!done[a], "Slice axes repeat axis {}", a);
        done[a] = true;
        maps[a] = slice_positions(shape[a], start[i], stop[i], step[i]);
    }
    for (std::size_t k = 0; k < shape.size(); ++k)
        if (!done[k]) maps[k] = full_axis(shape[k]);
    return {gather_positions(in, maps, ctx.output_shape(0))};
}

bool bit(const std::vector<std::int64_t>& mask, std::size_t i) {
    return i < mask.size() && mask[i] != 0;
}

std::vector<Tensor> strided_slice(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto begin_mask = ctx.attr<std::vector<std::int64_t>>("begin_mask");
    const auto end_mask = ctx.attr<std::vector<std::int64_t>>("end_mask");
    const auto new_axis = ctx.attr_or<std::vector<std::int64_t>>("new_axis_mask", {});
    const auto shrink = ctx.attr_or<std::vector<std::int64_t>>("shrink_axis_mask", {});
    const auto ellipsis = ctx.attr_or<std::vector<std::int64_t>>("ellipsis_mask", {});
    const auto begin = read_indices(ctx.input(1));
    const auto end = read_indices(ctx.input(2));
    auto strides =
        ctx.has_input(3) ? read_indices(ctx.input(3)) : std::vector<std::int64_t>(begin.size(), 1);
    LOOM_REQUIRE(end.size() == begin.size() && strides.size() == begin.size(),
                 "StridedSlice begin, end and stride need the same length");
    std::int64_t consuming = 0;
    for (std::size_t i = 0; i < begin.size(); ++i)
        if (!bit(ellipsis, i) && !bit(new_axis, i)) ++consuming;
    const auto rank = static_cast<std::int64_t>(shape.size());
    LOOM_REQUIRE(consuming <= rank, "StridedSlice slices {} axes of rank {}", consuming, rank);
    std::vector<std::vector<std::int64_t>> maps;
    for (std::size_t i = 0; i < begin.size(); ++i) {
        if (bit(ellipsis, i)) {
            for (auto k = rank - consuming; k > 0; --k)
                maps.push_back(full_axis(shape[maps.size()]));
            continue;
        }
        if (bit(new_axis, i)) continue;
        const auto dim = shape[maps.size()];
        if (bit(shrink, i)) {
            const auto b = begin[i];
            LOOM_REQUIRE(b >= -dim && b < dim, "StridedSlice shrinks axis {} at {}, outside {}",
                         maps.size(), b, dim);
            maps.push_back({b < 0 ? b + dim : b});
            continue;
        }
        const auto s = strides[i];
        LOOM_REQUIRE(s != 0, "StridedSlice stride {} is zero", i);
        const auto lo = std::numeric_limits<std::int64_t>::min() / 2;
        const auto hi = std::numeric_limits<std::int64_t>::max() / 2;
        const auto b = bit(begin_mask, i) ? (s > 0 ? 0 : hi) : begin[i];
        const auto e = bit(end_mask, i) ? (s > 0 ? hi : lo) : end[i];
        maps.push_back(slice_positions(dim, b, e, s));
    }
    while (static_cast<std::int64_t>(maps.size()) < rank)
        maps.push_back(full_axis(shape[maps.size()]));
    return {gather_positions(in, maps, ctx.output_shape(0))};
}

// Output [N, C*kh*kw, OH, OW]; output channel (i*kw + j)*C + c holds input channel c at kernel
// position (i, j) (TensorFlow's patch layout); padding is zeros.
std::vector<Tensor> extract_image_patches(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& s = in.shape();
    LOOM_REQUIRE(s.size() == 4, "ExtractImagePatches input must be 4-D");
    const auto sizes = ctx.attr<std::vector<std::int64_t>>("sizes");
    const auto strides = ctx.attr<std::vector<std::int64_t>>("strides");
    const auto rates = ctx.attr<std::vector<std::int64_t>>("rates");
    const auto pad = ctx.attr<std::string>("auto_pad");
    auto out = ctx.allocate_output(0);
    const auto& o = out.shape();
    const auto n = s[0], c = s[1], h = s[2], w = s[3];
    std::int64_t pad_top = 0, pad_left = 0;
    if (pad != "valid") {
        auto total = [&](std::int64_t in_dim, std::int64_t out_dim, std::size_t k) {
            return std::max<std::int64_t>(0, (out_dim - 1) * strides[k] +
                                                 rates[k] * (sizes[k] - 1) + 1 - in_dim);
        };
        const auto th = total(h, o[2], 0), tw = total(w, o[3], 1);
        pad_top = pad == "same_upper" ? th / 2 : (th + 1) / 2;
        pad_left = pad == "same_upper" ? tw / 2 : (tw + 1) / 2;
    }
    const auto es = element_size(in.element_type());
    auto* dst = out.mutable_data();
    std::int64_t pos = 0;
    for (std::int64_t b = 0; b < n; ++b)
        for (std::int64_t oc = 0; oc < o[1]; ++oc) {
            const auto ch = oc % c, kj = (oc / c) % sizes[1], ki = oc / c / sizes[1];
            for (std::int64_t y = 0; y < o[2]; ++y)
                for (std::int64_t x = 0; x < o[3]; ++x, ++pos) {
                    const auto iy = y * strides[0] + ki * rates[0] - pad_top;
                    const auto ix = x * strides[1] + kj * rates[1] - pad_left;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                    std::memcpy(dst + to_size(pos) * es,
                                element_ptr(in, ((b * c + ch) * h + iy) * w + ix), es);
                }
        }
    return {out};
}

} // namespace

void add_index_slice_kernels(KernelTable& table) {
    const KernelOptions bytes{.half_via_f32 = false};
    table.add("Slice", "opset8", slice, bytes);
    table.add("StridedSlice", "opset1", strided_slice, bytes);
    table.add("ExtractImagePatches", "opset3", extract_image_patches, bytes);
}

} // namespace loom::reference
