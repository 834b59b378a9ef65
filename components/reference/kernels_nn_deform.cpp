// Reference kernels: DeformableConvolution-1 and -8 (2-D spatial).
//
// Output [N, C_out, oH, oW]: for each output position (oh, ow) and filter tap (kh, kw) the input
// is sampled bilinearly at
//   y = oh·sH − pH + kh·dH + Δy,   x = ow·sW − pW + kw·dW + Δx
// where (Δy, Δx) is the offsets pair of the tap (offsets channel (g·kH·kW + kh·kW + kw)·2 and +1
// for deformable group g = input channel / (C_in / deformable_group)), and (opset8) the sample
// is multiplied by the mask channel g·kH·kW + kh·kW + kw. Filters group as in GroupConvolution.
//
// Out-of-range samples (as OpenVINO's reference):
//   bilinear_interpolation_pad = false (and opset1): a sample with y ∉ [0, H) or x ∉ [0, W)
//     contributes nothing; inside, the four neighbours are clamped to the feature map, so a
//     point in (W−1, W) takes the border value.
//   bilinear_interpolation_pad = true: a sample with y ∈ (−1, H) and x ∈ (−1, W) interpolates
//     the zero-padded feature map (neighbours outside count as 0); farther out contributes
//     nothing.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

using I64 = std::int64_t;

struct DeformGeometry {
    I64 n = 0, cin = 0, cout = 0, h = 0, w = 0, oh = 0, ow = 0, kh = 0, kw = 0;
    I64 sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
    I64 group = 1, dg = 1;
};

DeformGeometry deform_geometry(KernelContext& ctx, const Shape& out) {
    const auto& data = ctx.input(0).shape();
    const auto& off = ctx.input(1).shape();
    const auto& fil = ctx.input(2).shape();
    LOOM_REQUIRE(data.size() == 4 && off.size() == 4 && fil.size() == 4 && out.size() == 4,
                 "DeformableConvolution: data, offsets and filters must have rank 4");
    DeformGeometry g;
    g.n = data[0];
    g.cin = data[1];
    g.h = data[2];
    g.w = data[3];
    g.cout = out[1];
    g.oh = out[2];
    g.ow = out[3];
    g.kh = fil[2];
    g.kw = fil[3];
    g.group = ctx.attr_or<I64>("group", 1);
    g.dg = ctx.attr_or<I64>("deformable_group", 1);
    LOOM_REQUIRE(g.group > 0 && g.dg > 0 && g.cin % g.group == 0 && g.cout % g.group == 0 &&
                     g.cin % g.dg == 0,
                 "DeformableConvolution: channels {} / {} do not split into group {} and "
                 "deformable_group {}",
                 g.cin, g.cout, g.group, g.dg);
    LOOM_REQUIRE(fil[1] * g.group == g.cin,
                 "DeformableConvolution: filters {} do not match {} input channels in {} groups",
                 fil[1], g.cin, g.group);
    LOOM_REQUIRE(off[0] == g.n && off[1] == 2 * g.dg * g.kh * g.kw && off[2] == g.oh &&
                     off[3] == g.ow,
                 "DeformableConvolution: offsets must be [N, 2·deformable_group·kH·kW, oH, oW]");
    if (ctx.input_count() > 3) {
        const auto& m = ctx.input(3).shape();
        LOOM_REQUIRE(m.size() == 4 && m[0] == g.n && m[1] == g.dg * g.kh * g.kw && m[2] == g.oh &&
                         m[3] == g.ow,
                     "DeformableConvolution: mask must be [N, deformable_group·kH·kW, oH, oW]");
    }
    const auto& strides = ctx.attr<std::vector<I64>>("strides");
    const auto& dilations = ctx.attr<std::vector<I64>>("dilations");
    const auto& pads = ctx.attr<std::vector<I64>>("pads_begin");
    const auto auto_pad = ctx.attr_or<std::string>("auto_pad", "explicit");
    auto at = [](const std::vector<I64>& v, std::size_t i, I64 fallback) {
        return i < v.size() ? v[i] : fallback;
    };
    g.sh = at(strides, 0, 1);
    g.sw = at(strides, 1, 1);
    g.dh = at(dilations, 0, 1);
    g.dw = at(dilations, 1, 1);
    auto same_pad = [&](I64 in, I64 o, I64 k, I64 s, I64 d) {
        const I64 total = std::max<I64>(0, (o - 1) * s + (k - 1) * d + 1 - in);
        return auto_pad == "same_upper" ? total / 2 : (total + 1) / 2;
    };
    if (auto_pad == "same_upper" || auto_pad == "same_lower") {
        g.ph = same_pad(g.h, g.oh, g.kh, g.sh, g.dh);
        g.pw = same_pad(g.w, g.ow, g.kw, g.sw, g.dw);
    } else if (auto_pad != "valid") {
        g.ph = at(pads, 0, 0);
        g.pw = at(pads, 1, 0);
    }
    return g;
}

// Bilinear sample of one H×W plane at (y, x); see the header comment for the two pad modes.
template <class T>
double sample(const T* plane, I64 h, I64 w, double y, double x, bool pad) {
    if (pad) {
        if (!(y > -1.0 && y < static_cast<double>(h) && x > -1.0 && x < static_cast<double>(w)))
            return 0.0;
    } else if (!(y >= 0.0 && y < static_cast<double>(h) && x >= 0.0 &&
                 x < static_cast<double>(w))) {
        return 0.0;
    }
    const I64 fy = static_cast<I64>(std::floor(y));
    const I64 fx = static_cast<I64>(std::floor(x));
    const I64 y1 = pad ? fy : std::max<I64>(fy, 0);
    const I64 x1 = pad ? fx : std::max<I64>(fx, 0);
    const I64 y2 = pad ? y1 + 1 : std::min<I64>(static_cast<I64>(std::ceil(y)), h - 1);
    const I64 x2 = pad ? x1 + 1 : std::min<I64>(static_cast<I64>(std::ceil(x)), w - 1);
    const double ly = y - static_cast<double>(y1);
    const double lx = x - static_cast<double>(x1);
    auto at = [&](I64 yy, I64 xx) {
        return yy >= 0 && yy < h && xx >= 0 && xx < w ? static_cast<double>(plane[yy * w + xx])
                                                      : 0.0;
    };
    return (1 - ly) * (1 - lx) * at(y1, x1) + (1 - ly) * lx * at(y1, x2) +
           ly * (1 - lx) * at(y2, x1) + ly * lx * at(y2, x2);
}

template <class T>
void deform_typed(KernelContext& ctx, const Tensor& out, bool pad) {
    const auto g = deform_geometry(ctx, out.shape());
    const bool has_mask = ctx.input_count() > 3;
    auto src = values<T>(ctx.input(0));
    auto off = values<T>(ctx.input(1));
    auto fil = values<T>(ctx.input(2));
    const T* mask = has_mask ? values<T>(ctx.input(3)).data() : nullptr;
    auto dst = mutable_values<T>(out);
    const I64 taps = g.kh * g.kw;
    const I64 out_plane = g.oh * g.ow;
    const I64 in_plane = g.h * g.w;
    const I64 cin_g = g.cin / g.group;
    const I64 cout_g = g.cout / g.group;
    const I64 cin_dg = g.cin / g.dg;
    parallel_for(g.n * g.cout, 1, [&](I64 begin, I64 end) {
        for (I64 idx = begin; idx < end; ++idx) {
            const I64 b = idx / g.cout;
            const I64 oc = idx % g.cout;
            const I64 grp = oc / cout_g;
            T* o = dst.data() + idx * out_plane;
            for (I64 oy = 0; oy < g.oh; ++oy)
                for (I64 ox = 0; ox < g.ow; ++ox) {
                    const I64 pos = oy * g.ow + ox;
                    double acc = 0.0;
                    for (I64 ic = 0; ic < cin_g; ++ic) {
                        const I64 c = grp * cin_g + ic;
                        const I64 d = c / cin_dg;
                        const T* plane = src.data() + (b * g.cin + c) * in_plane;
                        const T* wk = fil.data() + (oc * cin_g + ic) * taps;
                        for (I64 ky = 0; ky < g.kh; ++ky)
                            for (I64 kx = 0; kx < g.kw; ++kx) {
                                const I64 tap = ky * g.kw + kx;
                                const I64 oc_y = (b * g.dg + d) * 2 * taps + 2 * tap;
                                const double dy = static_cast<double>(off[oc_y * out_plane + pos]);
                                const double dx =
                                    static_cast<double>(off[(oc_y + 1) * out_plane + pos]);
                                const double y =
                                    static_cast<double>(oy * g.sh - g.ph + ky * g.dh) + dy;
                                const double x =
                                    static_cast<double>(ox * g.sw - g.pw + kx * g.dw) + dx;
                                double v = sample(plane, g.h, g.w, y, x, pad);
                                if (mask)
                                    v *= static_cast<double>(
                                        mask[((b * g.dg + d) * taps + tap) * out_plane + pos]);
                                acc += v * static_cast<double>(wk[tap]);
                            }
                    }
                    o[pos] = static_cast<T>(acc);
                }
        }
    });
}

std::vector<Tensor> deformable_convolution(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const bool pad = ctx.attr_or<bool>("bilinear_interpolation_pad", false);
    dispatch_float(out.element_type(), "DeformableConvolution",
                   [&](auto tag) { deform_typed<decltype(tag)>(ctx, out, pad); });
    return {out};
}

} // namespace

void add_nn_deform_kernels(KernelTable& table) {
    table.add("DeformableConvolution", "opset1", deformable_convolution);
    table.add("DeformableConvolution", "opset8", deformable_convolution);
}

} // namespace loom::reference
