// Reference kernels: Convolution-1 and GroupConvolution-1 (direct loops, 1-D/2-D/3-D spatial).

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

using I64 = std::int64_t;

// Spatial geometry padded to 3 dims (leading dims of size 1).
struct ConvGeometry {
    std::array<I64, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1};
    std::array<I64, 3> stride{1, 1, 1}, dil{1, 1, 1}, pad{0, 0, 0};
};

ConvGeometry conv_geometry(KernelContext& ctx, const Shape& in, const Shape& w, const Shape& out) {
    const std::size_t sp = in.size() - 2;
    LOOM_REQUIRE(sp >= 1 && sp <= 3, "Convolution: 1 to 3 spatial dimensions are supported");
    const auto& strides = ctx.attr<std::vector<I64>>("strides");
    const auto& dilations = ctx.attr<std::vector<I64>>("dilations");
    const auto& pads = ctx.attr<std::vector<I64>>("pads_begin");
    const auto auto_pad = ctx.attr_or<std::string>("auto_pad", "explicit");
    ConvGeometry g;
    for (std::size_t i = 0; i < sp; ++i) {
        const std::size_t o = 3 - sp + i;
        g.in[o] = in[2 + i];
        g.out[o] = out[2 + i];
        g.k[o] = w[w.size() - sp + i];
        g.stride[o] = i < strides.size() ? strides[i] : 1;
        g.dil[o] = i < dilations.size() ? dilations[i] : 1;
        if (auto_pad == "same_upper" || auto_pad == "same_lower") {
            const I64 total = std::max<I64>(0, (g.out[o] - 1) * g.stride[o] +
                                                   (g.k[o] - 1) * g.dil[o] + 1 - g.in[o]);
            g.pad[o] = auto_pad == "same_upper" ? total / 2 : (total + 1) / 2;
        } else if (auto_pad != "valid") {
            g.pad[o] = i < pads.size() ? pads[i] : 0;
        }
    }
    return g;
}

// out[oc] += sum over ic in group, kernel offsets of w * in.
template <class T>
void conv_channel(const ConvGeometry& g, const T* in, const T* w, T* out, I64 cin) {
    const I64 in_plane = g.in[0] * g.in[1] * g.in[2];
    const I64 k_plane = g.k[0] * g.k[1] * g.k[2];
    for (I64 ic = 0; ic < cin; ++ic) {
        const T* src = in + ic * in_plane;
        for (I64 kd = 0; kd < g.k[0]; ++kd)
            for (I64 kh = 0; kh < g.k[1]; ++kh)
                for (I64 kw = 0; kw < g.k[2]; ++kw) {
                    const T wv = w[ic * k_plane + (kd * g.k[1] + kh) * g.k[2] + kw];
                    const I64 off_w = kw * g.dil[2] - g.pad[2];
                    // ow range with 0 <= ow*s + off_w < W.
                    I64 ow0 = 0;
                    while (ow0 < g.out[2] && ow0 * g.stride[2] + off_w < 0)
                        ++ow0;
                    I64 ow1 = g.out[2];
                    while (ow1 > ow0 && (ow1 - 1) * g.stride[2] + off_w >= g.in[2])
                        --ow1;
                    for (I64 od = 0; od < g.out[0]; ++od) {
                        const I64 id = od * g.stride[0] + kd * g.dil[0] - g.pad[0];
                        if (id < 0 || id >= g.in[0]) continue;
                        for (I64 oh = 0; oh < g.out[1]; ++oh) {
                            const I64 ih = oh * g.stride[1] + kh * g.dil[1] - g.pad[1];
                            if (ih < 0 || ih >= g.in[1]) continue;
                            const T* row = src + (id * g.in[1] + ih) * g.in[2] + off_w;
                            T* dst = out + (od * g.out[1] + oh) * g.out[2];
                            const I64 s = g.stride[2];
                            for (I64 ow = ow0; ow < ow1; ++ow)
                                dst[ow] += wv * row[ow * s];
                        }
                    }
                }
    }
}

template <class T>
void conv_typed(KernelContext& ctx, const Tensor& out, I64 groups) {
    const auto& in = ctx.input(0);
    const auto& w = ctx.input(1);
    const auto g = conv_geometry(ctx, in.shape(), w.shape(), out.shape());
    const I64 n = in.shape()[0];
    const I64 cin = in.shape()[1] / groups;
    const I64 cout = out.shape()[1];
    const I64 cout_g = cout / groups;
    const I64 in_plane = g.in[0] * g.in[1] * g.in[2];
    const I64 out_plane = g.out[0] * g.out[1] * g.out[2];
    const I64 w_per_oc = cin * g.k[0] * g.k[1] * g.k[2];
    auto src = values<T>(in);
    auto wv = values<T>(w);
    auto dst = mutable_values<T>(out);
    parallel_for(n * cout, 1, [&](I64 begin, I64 end) {
        for (I64 idx = begin; idx < end; ++idx) {
            const I64 b = idx / cout;
            const I64 oc = idx % cout;
            const I64 grp = oc / cout_g;
            conv_channel<T>(g, src.data() + (b * groups + grp) * cin * in_plane,
                            wv.data() + oc * w_per_oc, dst.data() + idx * out_plane, cin);
        }
    });
}

template <bool Grouped>
std::vector<Tensor> convolution(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const auto& w = ctx.input(1).shape();
    const auto& in = ctx.input(0).shape();
    const I64 groups = Grouped ? w[0] : 1;
    LOOM_REQUIRE(groups > 0 && in[1] % groups == 0 && w.size() == in.size() + (Grouped ? 1 : 0),
                 "Convolution: weights do not match the data channels");
    LOOM_REQUIRE(in[1] / groups == w[Grouped ? 2 : 1],
                 "Convolution: input channels {} do not match the weights", in[1]);
    dispatch_arith(out.element_type(), "Convolution",
                   [&](auto tag) { conv_typed<decltype(tag)>(ctx, out, groups); });
    return {out};
}

// Transposed convolution: out[oc] += x[ic][i] * w[ic][oc][k] at o = i * s - p + k * d.
template <class T>
void deconv_typed(KernelContext& ctx, const Tensor& out, I64 groups) {
    const auto& in = ctx.input(0);
    const auto& w = ctx.input(1);
    auto g = conv_geometry(ctx, in.shape(), w.shape(), out.shape());
    const auto auto_pad = ctx.attr_or<std::string>("auto_pad", "explicit");
    if (auto_pad == "same_upper" || auto_pad == "same_lower") {
        for (int a = 0; a < 3; ++a) {
            const I64 total = std::max<I64>(0, (g.in[a] - 1) * g.stride[a] +
                                                   (g.k[a] - 1) * g.dil[a] + 1 - g.out[a]);
            g.pad[a] = auto_pad == "same_upper" ? total / 2 : (total + 1) / 2;
        }
    }
    const I64 cin = in.shape()[1] / groups;
    const I64 cout = out.shape()[1];
    const I64 cout_g = cout / groups;
    const I64 in_plane = g.in[0] * g.in[1] * g.in[2];
    const I64 out_plane = g.out[0] * g.out[1] * g.out[2];
    const I64 k_plane = g.k[0] * g.k[1] * g.k[2];
    auto src = values<T>(in);
    auto wv = values<T>(w);
    auto dst = mutable_values<T>(out);
    parallel_for(in.shape()[0] * cout, 1, [&](I64 begin, I64 end) {
        for (I64 idx = begin; idx < end; ++idx) {
            const I64 b = idx / cout;
            const I64 oc = idx % cout;
            const I64 grp = oc / cout_g;
            T* o = dst.data() + idx * out_plane;
            for (I64 ic = 0; ic < cin; ++ic) {
                const T* x = src.data() + ((b * groups + grp) * cin + ic) * in_plane;
                const T* wk = wv.data() + ((grp * cin + ic) * cout_g + oc % cout_g) * k_plane;
                for (I64 i = 0; i < in_plane; ++i) {
                    const I64 id = i / (g.in[1] * g.in[2]);
                    const I64 ih = (i / g.in[2]) % g.in[1];
                    const I64 iw = i % g.in[2];
                    for (I64 kk = 0; kk < k_plane; ++kk) {
                        const I64 od =
                            id * g.stride[0] - g.pad[0] + (kk / (g.k[1] * g.k[2])) * g.dil[0];
                        const I64 oh =
                            ih * g.stride[1] - g.pad[1] + ((kk / g.k[2]) % g.k[1]) * g.dil[1];
                        const I64 ow = iw * g.stride[2] - g.pad[2] + (kk % g.k[2]) * g.dil[2];
                        if (od < 0 || od >= g.out[0] || oh < 0 || oh >= g.out[1] || ow < 0 ||
                            ow >= g.out[2])
                            continue;
                        o[(od * g.out[1] + oh) * g.out[2] + ow] += x[i] * wk[kk];
                    }
                }
            }
        }
    });
}

template <bool Grouped>
std::vector<Tensor> deconvolution(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const auto& w = ctx.input(1).shape();
    const auto& in = ctx.input(0).shape();
    const I64 groups = Grouped ? w[0] : 1;
    LOOM_REQUIRE(groups > 0 && in[1] % groups == 0 && w.size() == in.size() + (Grouped ? 1 : 0),
                 "ConvolutionBackpropData: weights do not match the data channels");
    LOOM_REQUIRE(in[1] / groups == w[Grouped ? 1 : 0],
                 "ConvolutionBackpropData: input channels {} do not match the weights", in[1]);
    dispatch_arith(out.element_type(), "ConvolutionBackpropData",
                   [&](auto tag) { deconv_typed<decltype(tag)>(ctx, out, groups); });
    return {out};
}

} // namespace

std::vector<Tensor> nn_convolution(KernelContext& ctx) {
    return convolution<false>(ctx);
}

void add_nn_conv_kernels(KernelTable& table) {
    table.add("Convolution", "opset1", convolution<false>);
    table.add("GroupConvolution", "opset1", convolution<true>);
    table.add("ConvolutionBackpropData", "opset1", deconvolution<false>);
    table.add("GroupConvolutionBackpropData", "opset1", deconvolution<true>);
}

} // namespace loom::reference
