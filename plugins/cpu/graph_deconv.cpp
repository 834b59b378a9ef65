// A deconvolution whose windows do not overlap (stride = kernel, no padding: PP-OCRv4 det's two
// 2×2 stride-2 upsamplings) as what it is — a 1×1 convolution to O·kh·kw channels, then a
// depth-to-space reorder: y[n, o, h·kh + i, w·kw + j] = Σc x[n, c, h, w] · W[c, o, i, j].
// oneDNN 2.6's deconvolutions are far slower on these (measured, det 640×640 on AVX-512: the
// gemm one 6.1 ms and 2.4 ms, the jit one 6.7 and 10.5 ms, for 59 and 4 MFLOP); a 1×1
// convolution runs on its best kernels, in bf16 too, with the batch norm after it folded into
// its weights and the activations as post-ops (both commute with the reorder).

#include <cstring>

#include "plugins/cpu/dnnl_deconv.hpp"
#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/graph_builder.hpp"

namespace loom::plugins::cpu {

namespace {

using I64 = std::int64_t;

// The kernel's spatial size when `node` is a 2-D ConvolutionBackpropData without overlap; else
// empty.
std::vector<I64> non_overlapping_kernel(const model::Node& node) {
    if (node.type != "ConvolutionBackpropData" || node.inputs.size() != 2) return {};
    const auto in = input_info(node, 0).shape.to_shape();
    const auto out = node.outputs[0].shape.to_shape();
    const auto& w = constant_input(node, 1)->value.shape();
    if (in.size() != 4 || w.size() != 4 || out.size() != 4 || w[0] != in[1] || w[1] != out[1])
        return {};
    const auto strides = spatial(node, "strides", 2, 1);
    const auto dilations = spatial(node, "dilations", 2, 1);
    const auto pads_begin = spatial(node, "pads_begin", 2, 0);
    const auto pads_end = spatial(node, "pads_end", 2, 0);
    const auto output_padding = spatial(node, "output_padding", 2, 0);
    const auto auto_pad = node.attrs.get_or<std::string>("auto_pad", "explicit");
    if (auto_pad != "explicit" && auto_pad != "valid" && auto_pad != "notset") return {};
    for (std::size_t i = 0; i < 2; ++i) {
        const bool unpadded = auto_pad == "valid" || (pads_begin[i] == 0 && pads_end[i] == 0);
        if (strides[i] != w[2 + i] || dilations[i] != 1 || !unpadded || output_padding[i] != 0 ||
            out[2 + i] != in[2 + i] * w[2 + i])
            return {};
    }
    return {w[2], w[3]};
}

// W'[(i·kw + j)·O + o, c] = W[c, o, i, j] · scale[o] and bias'[…] = shift[o] (tap-major: each
// tap's O channels side by side, so channels last they are one contiguous run): the 1×1
// convolution's weights and bias from the deconvolution's W [C, O, kh, kw] and the per-channel
// arithmetic after it (`affine`, or none).
std::pair<std::vector<float>, std::vector<float>> pointwise_weights(const model::Tensor& w,
                                                                    const Affine* affine) {
    const auto& shape = w.shape();
    const I64 c = shape[0], o = shape[1], taps = shape[2] * shape[3];
    const float* wd = w.data<float>();
    std::vector<float> weights(static_cast<std::size_t>(o * taps * c)),
        bias(static_cast<std::size_t>(o * taps), 0.0f);
    for (I64 oc = 0; oc < o; ++oc)
        for (I64 t = 0; t < taps; ++t) {
            const auto row = static_cast<std::size_t>(t * o + oc);
            const float scale = affine ? affine->scale[oc] : 1.0f;
            bias[row] = affine ? affine->shift[oc] : 0.0f;
            for (I64 ic = 0; ic < c; ++ic)
                weights[row * c + ic] = wd[(ic * o + oc) * taps + t] * scale;
        }
    return {std::move(weights), std::move(bias)};
}

// What follows the deconvolution and folds into the 1×1 convolution: its leading per-channel
// constant arithmetic (into `affine`; how many entries in `folded`), then activations only.
std::vector<PostOp> foldable_chain(const model::Model& model, const model::Node& node,
                                   std::int64_t channels, Affine& affine, std::size_t& folded) {
    auto chain = fusible_chain(model, node);
    folded = leading_affine(chain, channels, affine);
    auto end = folded;
    while (end < chain.size() && chain[end].binary == dnnl::algorithm::undef &&
           chain[end].scale.empty() && !chain[end].eltwise.empty())
        ++end;
    chain.resize(end);
    return chain;
}

// The 1×1 convolution of `src` (dims N, C, H, W) to `out` channels of src's type. The source
// as it is first (no reorder), else as oneDNN likes it; channels last first (brgemm's layout on
// AVX-512), else channels first: plain either way, so the depth-to-space is a strided view.
// Null when oneDNN has no optimised kernel for it.
dnnl::convolution_forward::primitive_desc pointwise_pd(const dnnl::engine& engine,
                                                       const dnnl::memory::desc& src, I64 out,
                                                       const dnnl::primitive_attr& attr) {
    using Format = memory::format_tag;
    const auto dims = src.dims();
    const auto type = src.data_type();
    const memory::desc any(dims, type, Format::any);
    for (const auto* source : {&src, &any})
        for (const auto tag : {Format::nhwc, Format::nchw}) {
            try {
                dnnl::convolution_forward::desc d(
                    dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                    *source, memory::desc({out, dims[1], 1, 1}, type, Format::any),
                    memory::desc({out}, memory::data_type::f32, Format::x),
                    memory::desc({dims[0], out, dims[2], dims[3]}, type, tag), {1, 1}, {0, 0},
                    {0, 0});
                dnnl::convolution_forward::primitive_desc pd(d, attr, engine);
                // On a layout only the gemm kernel takes, a reorder to another is cheaper.
                const std::string_view impl = pd.impl_info_str();
                if (optimised(impl) && (source == &any || impl.find("gemm") == impl.npos))
                    return pd;
            } catch (const dnnl::error&) {
            }
        }
    return {};
}

} // namespace

bool GraphBuilder::emit_deconv_as_conv(const model::Node& node) {
    if (!dnnl_deconv_applies(node)) return false;
    const auto k = non_overlapping_kernel(node);
    const auto src = value_of(node.inputs[0]);
    if (k.empty() || !dnnl_value(src)) return false;
    const auto in = m_parts.values[src].shape;
    const auto out = node.outputs[0].shape.to_shape();
    const I64 c = in[1], o = out[1], taps = k[0] * k[1];
    Affine affine;
    std::size_t folded = 0;
    const auto chain = foldable_chain(m_model, node, o, affine, folded);
    const std::vector<PostOp> activations(chain.begin() + static_cast<std::ptrdiff_t>(folded),
                                          chain.end());
    BuiltPostOps built;
    try {
        built = build_post_ops({}, activations,
                               std::vector<memory::desc>(activations.size(), memory::desc()));
    } catch (const Error&) {
        return false;
    }
    using DT = memory::data_type;
    using Format = memory::format_tag;
    const auto type = m_bf16 ? DT::bf16 : DT::f32;
    const auto pd = pointwise_pd(m_parts.engine, retyped(m_parts.values[src].desc, type), o * taps,
                                 user_scratchpad(built.ops));
    if (!pd) return false;
    auto [weights, bias] =
        pointwise_weights(constant_input(node, 1)->value, folded ? &affine : nullptr);
    flush_denormals(weights);
    flush_denormals(bias);
    const auto& engine = m_parts.engine;
    memory user({{o * taps, c, 1, 1}, DT::f32, Format::oihw}, engine,
                const_cast<float*>(weights.data()));
    memory packed(pd.weights_desc(), engine), bias_mem({{o * taps}, DT::f32, Format::x}, engine);
    dnnl::stream stream(engine);
    dnnl::reorder(user, packed).execute(stream, user, packed);
    stream.wait();
    std::memcpy(bias_mem.get_data_handle(), bias.data(), bias.size() * sizeof(float));

    // The 1×1 convolution into a plain value of O·kh·kw channels …
    const model::Shape mid_shape{in[0], o * taps, in[2], in[3]};
    const auto mid_desc = pd.dst_desc();
    const auto mid = add_arena(model::ElementType::F32, mid_shape, mid_desc);
    std::vector<const model::Node*> fused;
    for (const auto& p : chain)
        fused.push_back(p.node);
    emit(node, Made{pd, {{DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_BIAS, bias_mem}}},
         {{DNNL_ARG_SRC, in_layout(src, pd.src_desc())}, {DNNL_ARG_DST, mid}}, fused);
    // … seen as [N, O, H, kh, W, kw] — y's own dims — and reordered into y, channels last when
    // the convolution wrote channels last (each tap's O values then move as one run, and a
    // convolution after it reads y as it is).
    const memory::dims six{in[0], o, in[2], k[0], in[3], k[1]};
    const auto* st = mid_desc.data.format_desc.blocking.strides; // n, c, h, w
    const memory::desc from(six, type,
                            memory::dims{st[0], st[1], st[2], k[1] * o * st[1], st[3], o * st[1]});
    const bool last = st[1] == 1;
    const I64 ho = out[2], wo = out[3];
    const memory::desc to =
        last ? memory::desc(six, type,
                            memory::dims{ho * wo * o, 1, k[0] * wo * o, wo * o, k[1] * o, o})
             : memory::desc(six, type, Format::abcdef);
    const auto y = add_arena(model::ElementType::F32, out,
                             memory::desc(dims_of(out), type, last ? Format::nhwc : Format::nchw));
    const model::Shape six_shape(six.begin(), six.end());
    emit_reorder(node.name + "/depth_to_space", "DepthToSpace", view_of(mid, six_shape, from),
                 view_of(y, six_shape, to));
    const auto& end = chain.empty() ? node : *chain.back().node;
    m_of[{&end, 0}] = y;
    m_names[y] = end.name;
    for (const auto* n : fused)
        m_done.insert(n);
    return true;
}

} // namespace loom::plugins::cpu
