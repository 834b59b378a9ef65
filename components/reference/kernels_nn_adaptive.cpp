// Reference kernels: AdaptiveAvgPool-8 and AdaptiveMaxPool-8 (1-D/2-D/3-D spatial).
//
// Output bin i of a spatial axis of input length L and output length O covers the input range
// [floor(i·L/O), ceil((i+1)·L/O)). Avg: the mean of the bin. Max: its maximum, plus (output 1)
// the flat index of the maximum within the input's spatial plane of the same (N, C) — the first
// one on ties.

#include <array>
#include <limits>
#include <type_traits>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

using I64 = std::int64_t;

// Spatial dims padded to 3 (leading dims of size 1), as the pooling kernels do.
struct AdaptiveGeometry {
    std::array<I64, 3> in{1, 1, 1}, out{1, 1, 1};
};

AdaptiveGeometry adaptive_geometry(const Shape& in, const Shape& out, const char* what) {
    LOOM_REQUIRE(in.size() >= 3 && in.size() <= 5 && out.size() == in.size(),
                 "{}: data must have rank 3, 4 or 5", what);
    const std::size_t sp = in.size() - 2;
    AdaptiveGeometry g;
    for (std::size_t i = 0; i < sp; ++i) {
        const std::size_t o = 3 - sp + i;
        g.in[o] = in[2 + i];
        g.out[o] = out[2 + i];
        LOOM_REQUIRE(g.out[o] > 0 || g.in[o] == 0, "{}: output_shape must be positive", what);
    }
    return g;
}

// [floor(i·L/O), ceil((i+1)·L/O)) — both non-negative, so integer division suffices.
std::array<I64, 2> bin(I64 i, I64 len, I64 out) {
    return {i * len / out, ((i + 1) * len + out - 1) / out};
}

template <bool Max, class T>
void adaptive_plane(const AdaptiveGeometry& g, const T* src, T* dst, I64* idx) {
    I64 o = 0;
    for (I64 od = 0; od < g.out[0]; ++od) {
        const auto bd = bin(od, g.in[0], g.out[0]);
        for (I64 oh = 0; oh < g.out[1]; ++oh) {
            const auto bh = bin(oh, g.in[1], g.out[1]);
            for (I64 ow = 0; ow < g.out[2]; ++ow, ++o) {
                const auto bw = bin(ow, g.in[2], g.out[2]);
                double acc = Max ? -std::numeric_limits<double>::infinity() : 0.0;
                I64 best = -1;
                I64 count = 0;
                for (I64 id = bd[0]; id < bd[1]; ++id)
                    for (I64 ih = bh[0]; ih < bh[1]; ++ih)
                        for (I64 iw = bw[0]; iw < bw[1]; ++iw) {
                            const I64 flat = (id * g.in[1] + ih) * g.in[2] + iw;
                            const double v = static_cast<double>(src[flat]);
                            ++count;
                            if (!Max) {
                                acc += v;
                            } else if (best < 0 || v > acc) {
                                acc = v;
                                best = flat;
                            }
                        }
                if constexpr (Max) {
                    dst[o] = static_cast<T>(acc);
                    idx[o] = best < 0 ? 0 : best;
                } else {
                    dst[o] = count > 0 ? static_cast<T>(acc / static_cast<double>(count)) : T{};
                }
            }
        }
    }
}

template <bool Max>
std::vector<Tensor> adaptive_pool(KernelContext& ctx) {
    const char* what = Max ? "AdaptiveMaxPool" : "AdaptiveAvgPool";
    const auto& in = ctx.input(0);
    auto out = ctx.allocate_output(0);
    const auto g = adaptive_geometry(in.shape(), out.shape(), what);
    Tensor idx_t = Max ? Tensor::allocate(ElementType::I64, out.shape()) : Tensor{};
    const I64 planes = in.shape()[0] * in.shape()[1];
    const I64 in_plane = g.in[0] * g.in[1] * g.in[2];
    const I64 out_plane = g.out[0] * g.out[1] * g.out[2];
    auto run = [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: boolean is not supported", what);
        } else {
            auto src = values<T>(in);
            auto dst = mutable_values<T>(out);
            I64* idx = Max ? mutable_values<I64>(idx_t).data() : nullptr;
            parallel_for(planes, 1, [&](I64 begin, I64 end) {
                for (I64 p = begin; p < end; ++p)
                    adaptive_plane<Max, T>(g, src.data() + p * in_plane, dst.data() + p * out_plane,
                                           idx ? idx + p * out_plane : nullptr);
            });
        }
    };
    // Averages are floating only (as OpenVINO); the maximum works on any numeric type.
    if constexpr (Max) {
        dispatch_type(in.element_type(), what, run);
        return {out, convert_tensor(idx_t, ctx.output_type(1))};
    } else {
        dispatch_float(in.element_type(), what, run);
        return {out};
    }
}

} // namespace

void add_nn_adaptive_kernels(KernelTable& table) {
    table.add("AdaptiveAvgPool", "opset8", adaptive_pool<false>);
    table.add("AdaptiveMaxPool", "opset8", adaptive_pool<true>);
}

} // namespace loom::reference
