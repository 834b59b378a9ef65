// The CPU graph's steps run by the device's own kernels (own_kernels.hpp), where oneDNN 2.6 is
// slow on channels-last values: concatenation along channels, bf16 max pooling, depthwise
// convolution.

#include "plugins/cpu/dnnl_conv.hpp"
#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/graph_builder.hpp"

namespace loom::plugins::cpu {

namespace {

// The channels-last tag of a data tensor of `rank` (nwc, nhwc, ndhwc); undef for other ranks.
memory::format_tag channels_last_tag(std::size_t rank) {
    using F = memory::format_tag;
    return rank == 3 ? F::acb : rank == 4 ? F::acdb : rank == 5 ? F::acdeb : F::undef;
}

// Whether `desc` is the dense channels-last layout of its dims.
bool channels_last(const memory::desc& desc) {
    const auto tag = channels_last_tag(desc.dims().size());
    return tag != memory::format_tag::undef &&
           desc == memory::desc(desc.dims(), desc.data_type(), tag);
}

// The eltwise entries of `p` as epilogue steps (appended to `out`); false, appending nothing,
// where the kernel lacks one of them.
bool eltwise_epilogue(const PostOp& p, std::vector<DepthwiseEpilogue>& out) {
    using Alg = dnnl::algorithm;
    using K = DepthwiseEpilogue::Kind;
    std::vector<DepthwiseEpilogue> steps;
    for (const auto& e : p.eltwise) {
        if (e.algorithm == Alg::eltwise_linear)
            steps.push_back({K::linear, e.alpha, e.beta, {}});
        else if (e.algorithm == Alg::eltwise_relu)
            steps.push_back({K::relu, e.alpha, 0, {}});
        else if (e.algorithm == Alg::eltwise_clip || e.algorithm == Alg::eltwise_clip_v2)
            steps.push_back({K::clip, e.alpha, e.beta, {}});
        else if (e.algorithm == Alg::eltwise_hardswish)
            steps.push_back({K::hardswish, 0, 0, {}});
        else
            return false;
    }
    out.insert(out.end(), steps.begin(), steps.end());
    return true;
}

// `p` as epilogue steps of a depthwise convolution of `channels` channels (appended to `out`);
// false, appending nothing, where the kernel has no such step.
bool as_epilogue(const PostOp& p, std::int64_t channels, std::vector<DepthwiseEpilogue>& out) {
    using Alg = dnnl::algorithm;
    using K = DepthwiseEpilogue::Kind;
    if (!p.scale.empty()) { // batch normalisation
        out.push_back({K::mul, 0, 0, p.scale});
        out.push_back({K::add, 0, 0, p.shift});
        return true;
    }
    if (p.binary == Alg::undef) return eltwise_epilogue(p, out);
    auto v = per_channel_constant(p, static_cast<std::size_t>(channels));
    if (!v) return false; // a runtime operand
    const bool add = p.binary == Alg::binary_add || p.binary == Alg::binary_sub;
    const bool mul = p.binary == Alg::binary_mul || p.binary == Alg::binary_div;
    if (!add && !mul) return false;
    for (auto& x : *v) {
        if (p.binary == Alg::binary_div && x == 0.0f) return false;
        x = p.binary == Alg::binary_sub ? -x : p.binary == Alg::binary_div ? 1.0f / x : x;
    }
    out.push_back({add ? K::add : K::mul, 0, 0, std::move(*v)});
    return true;
}

} // namespace

ValueId GraphBuilder::emit_own(const model::Node& node, std::shared_ptr<const OwnKernel> kernel,
                               std::vector<Arg> args, const memory::desc& out_desc,
                               const std::string& what, std::vector<const model::Node*> fused) {
    const auto& last = fused.empty() ? node : *fused.back();
    const auto out = last.outputs[0].shape.to_shape();
    const auto y = add_arena(model::ElementType::F32, out, out_desc);
    args.push_back({DNNL_ARG_DST, y});
    Step step;
    step.own = std::move(kernel);
    step.args = std::move(args);
    step.name = node.name;
    step.type = node.type;
    step.exec_type = exec_type_name("loom_" + what, out_desc.data_type());
    m_parts.exec_types[&node] = step.exec_type;
    for (const auto* n : fused) {
        m_parts.exec_types[n] = step.exec_type;
        m_done.insert(n);
    }
    step.fused = std::move(fused);
    m_parts.steps.push_back(std::move(step));
    m_of[{&last, 0}] = y;
    m_names[y] = last.name;
    return y;
}

bool GraphBuilder::emit_concat_channels_last(const model::Node& node, const std::vector<Arg>& args,
                                             std::int64_t axis) {
    if (axis != 1 || args.size() + 1 > k_max_own_args) return false;
    const auto type = m_parts.values[args[0].value].desc.data_type();
    std::vector<std::int64_t> channels;
    for (const auto& a : args) {
        const auto& desc = m_parts.values[a.value].desc;
        if (!channels_last(desc) || desc.data_type() != type || desc.data.offset0 != 0)
            return false;
        channels.push_back(desc.dims()[1]);
    }
    const auto out = node.outputs[0].shape.to_shape();
    std::int64_t pixels = out[0];
    for (std::size_t i = 2; i < out.size(); ++i)
        pixels *= out[i];
    const auto tag = channels_last_tag(out.size());
    emit_own(node,
             make_concat_channels_last(pixels, std::move(channels), memory::data_type_size(type)),
             args, memory::desc(dims_of(out), type, tag), "concat_channels_last");
    return true;
}

bool GraphBuilder::emit_own_reorder(const std::string& name, ValueId from, ValueId to) {
    const auto& src = m_parts.values[from].desc;
    const auto& dst = m_parts.values[to].desc;
    const auto dims = src.dims();
    if (dims.size() != 4 || dims[1] != 3 || src.data_type() != memory::data_type::f32 ||
        src != memory::desc(dims, memory::data_type::f32, memory::format_tag::abcd) ||
        dst != memory::desc(dims, memory::data_type::bf16, memory::format_tag::acdb) ||
        !rgb_to_bf16_nhwc_available())
        return false;
    Step step;
    step.own = make_rgb_to_bf16_nhwc(dims[0], dims[2] * dims[3]);
    step.args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    step.name = name;
    step.type = "Reorder";
    step.exec_type = exec_type_name("loom_rgb_to_nhwc", memory::data_type::bf16);
    m_parts.steps.push_back(std::move(step));
    return true;
}

bool GraphBuilder::emit_max_pool_nhwc(const model::Node& node, ValueId src, const Pool2d& pool) {
    const auto& desc = m_parts.values[src].desc;
    const auto type = desc.data_type();
    const bool f32 = type == memory::data_type::f32;
    if ((!f32 && type != memory::data_type::bf16) || !max_pool_nhwc_available(f32) ||
        desc.dims().size() != 4 || !channels_last(desc) || desc.data.offset0 != 0)
        return false;
    const auto out = node.outputs[0].shape.to_shape();
    emit_own(node, make_max_pool_nhwc(pool, f32), {{DNNL_ARG_SRC, src}},
             memory::desc(dims_of(out), type, memory::format_tag::acdb), "max_pool_nhwc");
    return true;
}

bool GraphBuilder::emit_upsample_add(const model::Node& node, ValueId src) {
    const auto consumers = m_model.consumers(const_cast<model::Node&>(node).output(0));
    if (consumers.size() != 1) return false;
    const auto& [add, port] = consumers[0];
    const auto out = node.outputs[0].shape.to_shape();
    if (add->type != "Add" || add->inputs.size() != 2 || add->outputs.size() != 1 ||
        out.size() != 4 || add->outputs[0].type != model::ElementType::F32 ||
        !add->outputs[0].shape.is_static() || add->outputs[0].shape.to_shape() != out)
        return false;
    const auto& other = add->inputs[1 - port];
    if (!m_of.contains({other.node, other.index})) return false; // made later
    const auto a = value_of(other);
    if (!dnnl_value(a)) return false;
    const auto& a_desc = m_parts.values[a].desc;
    const bool bf16 = a_desc.data_type() == memory::data_type::bf16;
    if (!channels_last(a_desc) || a_desc.data.offset0 != 0 || m_parts.values[a].shape != out ||
        !upsample_add_available(bf16))
        return false;
    const auto in = m_parts.values[src].shape;
    UpsampleAdd shape;
    shape.batch = out[0];
    shape.channels = out[1];
    shape.height = out[2];
    shape.width = out[3];
    shape.factor_h = out[2] / in[2];
    shape.factor_w = out[3] / in[3];
    shape.bf16 = bf16;
    const auto b =
        in_layout(src, memory::desc(dims_of(in), a_desc.data_type(), memory::format_tag::acdb));
    emit_own(node, make_upsample_add_nhwc(shape), {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}},
             memory::desc(dims_of(out), a_desc.data_type(), memory::format_tag::acdb),
             "upsample_add", {add});
    return true;
}

bool GraphBuilder::emit_depthwise(const model::Node& node) {
    if (node.type != "GroupConvolution" || !dnnl_conv_applies(node)) return false;
    const auto src = value_of(node.inputs[0]);
    if (!dnnl_value(src)) return false;
    const auto in = m_parts.values[src].shape;
    const auto out = node.outputs[0].shape.to_shape();
    const auto& w = constant_input(node, 1)->value;
    const auto& ws = w.shape();
    if (in.size() != 4 || ws.size() != 5 || ws[0] != in[1] || ws[1] != 1 || ws[2] != 1 ||
        out[1] != in[1])
        return false;
    const auto g = conv_geometry(node, in, ws, out);
    if (g.dilations[0] != 0 || g.dilations[1] != 0) return false;
    Depthwise2d d;
    d.batch = in[0];
    d.channels = in[1];
    d.in_h = in[2];
    d.in_w = in[3];
    d.out_h = out[2];
    d.out_w = out[3];
    d.kernel_h = ws[3];
    d.kernel_w = ws[4];
    d.stride_h = g.strides[0];
    d.stride_w = g.strides[1];
    d.pad_top = g.pad_l[0];
    d.pad_left = g.pad_l[1];
    d.bf16 = m_bf16;
    if (!depthwise_nhwc_available(d)) return false;
    // The chain after it: leading constant arithmetic into the weights, then what the
    // kernel's epilogue has (up to the first it has not; the rest runs as steps of its own).
    const auto chain = fusible_chain(m_model, node);
    Affine affine;
    const auto folded = leading_affine(chain, d.channels, affine);
    std::vector<DepthwiseEpilogue> epilogue;
    std::vector<const model::Node*> fused;
    for (std::size_t k = 0; k < chain.size(); ++k) {
        if (k >= folded && !as_epilogue(chain[k], d.channels, epilogue)) break;
        fused.push_back(chain[k].node);
    }
    const auto channels = static_cast<std::size_t>(d.channels);
    std::vector<float> weights(w.data<float>(), w.data<float>() + w.size()), bias(channels, 0.0f);
    const std::size_t taps = weights.size() / channels;
    for (std::size_t c = 0; c < channels; ++c) {
        for (std::size_t t = 0; t < taps; ++t)
            weights[c * taps + t] *= affine.scale[c];
        bias[c] = affine.shift[c];
    }
    flush_denormals(weights);
    flush_denormals(bias);
    const auto type = m_bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    const auto x = in_layout(src, memory::desc(dims_of(in), type, memory::format_tag::acdb));
    const auto* last = fused.empty() ? &node : fused.back();
    emit_own(
        node, make_depthwise_nhwc(d, weights, bias, std::move(epilogue)), {{DNNL_ARG_SRC, x}},
        memory::desc(dims_of(last->outputs[0].shape.to_shape()), type, memory::format_tag::acdb),
        "depthwise_nhwc", std::move(fused));
    return true;
}

} // namespace loom::plugins::cpu
