// Reference kernels: MaxPool-1/8/14 and AvgPool-1/14 (1-D/2-D/3-D spatial).

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

using I64 = std::int64_t;

struct PoolGeometry {
    std::array<I64, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1};
    std::array<I64, 3> stride{1, 1, 1}, dil{1, 1, 1}, pad{0, 0, 0}, pad_end{0, 0, 0};
};

I64 at_or(const std::vector<I64>& v, std::size_t i, I64 fallback) {
    return i < v.size() ? v[i] : fallback;
}

PoolGeometry pool_geometry(KernelContext& ctx, const Shape& in, const Shape& out) {
    const std::size_t sp = in.size() - 2;
    LOOM_REQUIRE(in.size() >= 3 && sp <= 3, "Pool: 1 to 3 spatial dimensions are supported");
    const auto& kernel = ctx.attr<std::vector<I64>>("kernel");
    const auto& strides = ctx.attr<std::vector<I64>>("strides");
    const auto& pb = ctx.attr<std::vector<I64>>("pads_begin");
    const auto& pe = ctx.attr<std::vector<I64>>("pads_end");
    const auto dil = ctx.attr_or<std::vector<I64>>("dilations", {});
    const auto auto_pad = ctx.attr_or<std::string>("auto_pad", "explicit");
    PoolGeometry g;
    for (std::size_t i = 0; i < sp; ++i) {
        const std::size_t o = 3 - sp + i;
        g.in[o] = in[2 + i];
        g.out[o] = out[2 + i];
        g.k[o] = at_or(kernel, i, 1);
        g.stride[o] = at_or(strides, i, 1);
        g.dil[o] = at_or(dil, i, 1);
        if (auto_pad == "same_upper" || auto_pad == "same_lower") {
            const I64 total = std::max<I64>(0, (g.out[o] - 1) * g.stride[o] +
                                                   (g.k[o] - 1) * g.dil[o] + 1 - g.in[o]);
            g.pad[o] = auto_pad == "same_upper" ? total / 2 : (total + 1) / 2;
            g.pad_end[o] = total - g.pad[o];
        } else if (auto_pad != "valid") {
            g.pad[o] = at_or(pb, i, 0);
            g.pad_end[o] = at_or(pe, i, 0);
        }
    }
    return g;
}

template <bool Max, class T>
void pool_plane(const PoolGeometry& g, const T* src, T* dst, I64* idx, I64 idx_base,
                bool exclude_pad) {
    I64 o = 0;
    for (I64 od = 0; od < g.out[0]; ++od)
        for (I64 oh = 0; oh < g.out[1]; ++oh)
            for (I64 ow = 0; ow < g.out[2]; ++ow, ++o) {
                const std::array<I64, 3> start{od * g.stride[0] - g.pad[0],
                                               oh * g.stride[1] - g.pad[1],
                                               ow * g.stride[2] - g.pad[2]};
                double acc = Max ? -std::numeric_limits<double>::infinity() : 0.0;
                I64 best = -1;
                I64 valid = 0;
                I64 padded = 1;
                for (int a = 0; a < 3; ++a) {
                    I64 n = 0;
                    for (I64 kk = 0; kk < g.k[a]; ++kk) {
                        const I64 p = start[a] + kk * g.dil[a];
                        if (p >= -g.pad[a] && p < g.in[a] + g.pad_end[a]) ++n;
                    }
                    padded *= n;
                }
                for (I64 kd = 0; kd < g.k[0]; ++kd) {
                    const I64 id = start[0] + kd * g.dil[0];
                    if (id < 0 || id >= g.in[0]) continue;
                    for (I64 kh = 0; kh < g.k[1]; ++kh) {
                        const I64 ih = start[1] + kh * g.dil[1];
                        if (ih < 0 || ih >= g.in[1]) continue;
                        for (I64 kw = 0; kw < g.k[2]; ++kw) {
                            const I64 iw = start[2] + kw * g.dil[2];
                            if (iw < 0 || iw >= g.in[2]) continue;
                            const I64 flat = (id * g.in[1] + ih) * g.in[2] + iw;
                            const double v = static_cast<double>(src[flat]);
                            ++valid;
                            if (!Max) {
                                acc += v;
                            } else if (best < 0 || v > acc) {
                                acc = v;
                                best = flat;
                            }
                        }
                    }
                }
                if (Max) {
                    dst[o] = static_cast<T>(acc);
                    if (idx) idx[o] = best < 0 ? 0 : idx_base + best;
                } else {
                    const I64 count = exclude_pad ? valid : padded;
                    dst[o] = count > 0 ? static_cast<T>(acc / static_cast<double>(count)) : T{};
                }
            }
}

template <bool Max>
std::vector<Tensor> pool(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto out = ctx.allocate_output(0);
    const bool with_idx = Max && ctx.output_count() > 1;
    Tensor idx_t = with_idx ? Tensor::allocate(ElementType::I64, out.shape()) : Tensor{};
    const auto g = pool_geometry(ctx, in.shape(), out.shape());
    const I64 planes = in.shape()[0] * in.shape()[1];
    const I64 in_plane = g.in[0] * g.in[1] * g.in[2];
    const I64 out_plane = g.out[0] * g.out[1] * g.out[2];
    I64 axis = Max ? ctx.attr_or<I64>("axis", 0) : 0;
    if (axis < 0) axis += static_cast<I64>(in.shape().size());
    const bool exclude_pad = Max ? false : ctx.attr<bool>("exclude-pad");
    dispatch_type(in.element_type(), "Pool", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "Pool: boolean is not supported");
        } else {
            auto src = values<T>(in);
            auto dst = mutable_values<T>(out);
            I64* idx = with_idx ? mutable_values<I64>(idx_t).data() : nullptr;
            parallel_for(planes, 1, [&](I64 begin, I64 end) {
                for (I64 p = begin; p < end; ++p) {
                    // Flat index from `axis` on: batch dim counted only for axis 0.
                    const I64 base = axis == 0 ? p * in_plane : (p % in.shape()[1]) * in_plane;
                    pool_plane<Max, T>(g, src.data() + p * in_plane, dst.data() + p * out_plane,
                                       idx ? idx + p * out_plane : nullptr, base, exclude_pad);
                }
            });
        }
    });
    if (!with_idx) return {out};
    return {out, convert_tensor(idx_t, ctx.output_type(1))};
}

} // namespace

void add_nn_pool_kernels(KernelTable& table) {
    table.add("MaxPool", "opset1", pool<true>);
    table.add("MaxPool", "opset8", pool<true>);
    table.add("MaxPool", "opset14", pool<true>);
    table.add("AvgPool", "opset1", pool<false>);
    table.add("AvgPool", "opset14", pool<false>);
}

} // namespace loom::reference
