#include "plugins/cpu/dnnl_conv.hpp"

#include "plugins/cpu/dnnl_util.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

using dnnl::memory;
using I64 = std::int64_t;
using Tag = memory::format_tag;

bool conv_grouped(const model::Node& node) {
    return node.type == "GroupConvolution";
}

// By the rank of the data (grouped weights have one more axis: G first).
Tag plain_weights(std::size_t rank, bool groups) {
    if (groups) return rank == 3 ? Tag::goiw : rank == 4 ? Tag::goihw : Tag::goidhw;
    return rank == 3 ? Tag::oiw : rank == 4 ? Tag::oihw : Tag::oidhw;
}

} // namespace

ConvGeometry conv_geometry(const model::Node& node, const model::Shape& in, const model::Shape& w,
                           const model::Shape& out) {
    const std::size_t sp = in.size() - 2;
    const auto strides = spatial(node, "strides", sp, 1);
    const auto dilations = spatial(node, "dilations", sp, 1);
    const auto pads_begin = spatial(node, "pads_begin", sp, 0);
    const auto pads_end = spatial(node, "pads_end", sp, 0);
    const auto auto_pad = node.attrs.get_or<std::string>("auto_pad", "explicit");
    ConvGeometry g;
    for (std::size_t i = 0; i < sp; ++i) {
        const I64 s = strides[i];
        const I64 d = dilations[i];
        const I64 k = w[w.size() - sp + i];
        I64 pl = 0, pr = 0;
        if (auto_pad == "same_upper" || auto_pad == "same_lower") {
            const I64 total = std::max<I64>(0, (out[2 + i] - 1) * s + (k - 1) * d + 1 - in[2 + i]);
            pl = auto_pad == "same_upper" ? total / 2 : (total + 1) / 2;
            pr = total - pl;
        } else if (auto_pad != "valid") {
            pl = pads_begin[i];
            pr = pads_end[i];
        }
        g.strides.push_back(s);
        g.dilations.push_back(d - 1);
        g.pad_l.push_back(pl);
        g.pad_r.push_back(pr);
    }
    return g;
}

bool dnnl_conv_applies(const model::Node& node) noexcept {
    try {
        if (node.type != "Convolution" && node.type != "GroupConvolution" &&
            node.type != "FusedConvolution")
            return false;
        const bool fused = node.type == "FusedConvolution";
        if (node.inputs.size() != (fused ? 3u : 2u) || node.outputs.size() != 1) return false;
        if (!constant_input(node, 1) || (fused && !constant_input(node, 2))) return false;
        const auto& x = input_info(node, 0);
        const auto& y = node.outputs[0];
        if (x.type != model::ElementType::F32 || y.type != model::ElementType::F32) return false;
        if (!x.shape.is_static() || !y.shape.is_static()) return false;
        const auto rank = x.shape.rank();
        if (rank < 3 || rank > 5) return false;
        dnnl::post_ops ops;
        return append_activation(node, ops);
    } catch (...) {
        return false;
    }
}

ConvSetup make_conv(const dnnl::engine& engine, const model::Node& node, const memory::desc& src,
                    const memory::desc& dst, const dnnl::post_ops& ops, const Affine* affine) {
    LOOM_REQUIRE(dnnl_conv_applies(node), "node '{}' ({}) cannot run as a oneDNN convolution",
                 node.name, node.type);
    const auto in = input_info(node, 0).shape.to_shape();
    const auto out = node.outputs[0].shape.to_shape();
    const auto& w_tensor = constant_input(node, 1)->value;
    const auto& w_shape = w_tensor.shape();
    const auto g = conv_geometry(node, in, w_shape, out);
    using DT = memory::data_type;
    // Weights of the source's type (bf16 with the bf16 hint; bias and post-ops stay f32).
    const memory::desc w_any(dims_of(w_shape), src.data_type(), Tag::any);
    const auto* bias_node = node.type == "FusedConvolution" ? constant_input(node, 2) : nullptr;
    const bool has_bias = bias_node || affine;
    const memory::desc bias_md =
        has_bias ? memory::desc({out[1]}, DT::f32, Tag::x) : memory::desc();

    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    // The scratchpad is ours: oneDNN's own is sized per thread when a primitive is created, so a
    // primitive run on another thread (a request's) would write through an unsized one.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    ConvSetup setup;
    try {
        dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, w_any,
            bias_md, dst, g.strides, g.dilations, g.pad_l, g.pad_r);
        setup.pd = dnnl::convolution_forward::primitive_desc(desc, attr, engine);
    } catch (const dnnl::error& e) {
        LOOM_THROW(ErrorKind::UNSUPPORTED, "oneDNN has no convolution for node '{}': {}", node.name,
                   e.what());
    }
    // Weights: reordered once from the node's plain layout into the primitive's.
    dnnl::stream stream(engine);
    const memory::desc w_plain(dims_of(w_shape), DT::f32,
                               plain_weights(in.size(), conv_grouped(node)));
    // y·scale + shift folded in: each output channel's weights scaled, its bias scaled and
    // shifted.
    const auto channels = static_cast<std::size_t>(out[1]);
    std::vector<float> weights(w_tensor.data<float>(), w_tensor.data<float>() + w_tensor.size());
    std::vector<float> bias(channels, 0.0f);
    if (bias_node) std::memcpy(bias.data(), bias_node->value.data<float>(), channels * 4);
    if (affine) {
        const std::size_t row = weights.size() / channels;
        for (std::size_t o = 0; o < channels; ++o) {
            for (std::size_t i = 0; i < row; ++i)
                weights[o * row + i] *= affine->scale[o];
            bias[o] = bias[o] * affine->scale[o] + affine->shift[o];
        }
    }
    flush_denormals(weights);
    flush_denormals(bias);
    memory user(w_plain, engine, weights.data());
    setup.weights = memory(setup.pd.weights_desc(), engine);
    dnnl::reorder(user, setup.weights).execute(stream, user, setup.weights);
    if (has_bias) {
        setup.bias = memory(bias_md, engine);
        std::memcpy(setup.bias.get_data_handle(), bias.data(), channels * 4);
    }
    stream.wait();
    return setup;
}

DnnlConv::DnnlConv(const dnnl::engine& engine, const model::Node& node)
    : m_engine(engine) {
    LOOM_REQUIRE(dnnl_conv_applies(node), "node '{}' ({}) cannot run as a oneDNN convolution",
                 node.name, node.type);
    const auto in = input_info(node, 0).shape.to_shape();
    const auto out = node.outputs[0].shape.to_shape();
    m_src = memory::desc(dims_of(in), memory::data_type::f32, plain_data(in.size()));
    m_dst = memory::desc(dims_of(out), memory::data_type::f32, plain_data(out.size()));
    dnnl::post_ops ops;
    append_activation(node, ops);
    auto setup = make_conv(engine, node, m_src, m_dst, ops, nullptr);
    m_primitive = dnnl::convolution_forward(setup.pd);
    m_impl = setup.pd.impl_info_str();
    m_scratchpad = setup.pd.scratchpad_desc();
    m_weights = setup.weights;
    m_bias = setup.bias;
}

void DnnlConv::run(dnnl::stream& stream, const float* src, float* dst) const {
    memory src_mem(m_src, m_engine, const_cast<float*>(src));
    memory dst_mem(m_dst, m_engine, dst);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, m_weights}, {DNNL_ARG_DST, dst_mem}};
    if (m_bias) args.emplace(DNNL_ARG_BIAS, m_bias);
    execute_with_scratchpad(m_primitive, stream, args, m_scratchpad, m_engine);
}

} // namespace loom::plugins::cpu
