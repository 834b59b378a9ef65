#include "plugins/cpu/dnnl_deconv.hpp"

#include <cstring>

#include <unordered_map>

#include "plugins/cpu/dnnl_util.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

using dnnl::memory;
using I64 = std::int64_t;

bool deconv_grouped(const model::Node& node) {
    return node.type == "GroupConvolutionBackpropData";
}

// OpenVINO's weights ([G,] C_in, C_out, k…, dense) as oneDNN's logical ([G,] OC, IC, k…): the
// same bytes, the two channel axes' strides swapped.
memory::desc user_weights(const model::Shape& w, bool groups) {
    memory::dims dims = dims_of(w), strides(w.size());
    memory::dim step = 1;
    for (std::size_t i = w.size(); i-- > 0;) {
        strides[i] = step;
        step *= dims[i];
    }
    const std::size_t c = groups ? 1 : 0; // the C_in axis
    std::swap(dims[c], dims[c + 1]);
    std::swap(strides[c], strides[c + 1]);
    return memory::desc(dims, memory::data_type::f32, strides);
}

} // namespace

bool dnnl_deconv_applies(const model::Node& node) noexcept {
    try {
        if (node.type != "ConvolutionBackpropData" && node.type != "GroupConvolutionBackpropData")
            return false;
        if (node.inputs.size() < 2 || node.outputs.size() != 1 || !constant_input(node, 1))
            return false;
        const auto& x = input_info(node, 0);
        const auto& y = node.outputs[0];
        if (x.type != model::ElementType::F32 || y.type != model::ElementType::F32) return false;
        if (!x.shape.is_static() || !y.shape.is_static()) return false;
        return x.shape.rank() >= 3 && x.shape.rank() <= 5;
    } catch (...) {
        return false;
    }
}

DeconvSetup make_deconv(const dnnl::engine& engine, const model::Node& node,
                        const memory::desc& src, const memory::desc& dst, const dnnl::post_ops& ops,
                        const Affine* affine) {
    LOOM_REQUIRE(dnnl_deconv_applies(node), "node '{}' ({}) cannot run as a oneDNN deconvolution",
                 node.name, node.type);
    const auto in = input_info(node, 0).shape.to_shape();
    const auto out = node.outputs[0].shape.to_shape();
    const auto& w = constant_input(node, 1)->value;
    const bool groups = deconv_grouped(node);
    const std::size_t sp = in.size() - 2;
    const auto strides = spatial(node, "strides", sp, 1);
    const auto dilations = spatial(node, "dilations", sp, 1);
    const auto pads_begin = spatial(node, "pads_begin", sp, 0);
    const auto auto_pad = node.attrs.get_or<std::string>("auto_pad", "explicit");
    memory::dims d_strides, d_dilations, pad_l, pad_r;
    for (std::size_t i = 0; i < sp; ++i) {
        const I64 s = strides[i], d = dilations[i], k = w.shape()[w.shape().size() - sp + i];
        const I64 natural = (in[2 + i] - 1) * s + (k - 1) * d + 1; // before any padding
        I64 pl = auto_pad == "valid" ? 0 : pads_begin[i];
        if (auto_pad == "same_upper" || auto_pad == "same_lower") {
            const I64 total = std::max<I64>(0, natural - out[2 + i]);
            pl = auto_pad == "same_upper" ? total / 2 : (total + 1) / 2;
        }
        d_strides.push_back(s);
        d_dilations.push_back(d - 1);
        pad_l.push_back(pl);
        pad_r.push_back(natural - pl - out[2 + i]);
    }
    using DT = memory::data_type;
    const auto w_user = user_weights(w.shape(), groups);
    const memory::desc w_any(w_user.dims(), DT::f32, memory::format_tag::any);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user); // see dnnl_conv.cpp
    DeconvSetup setup;
    const auto channels = out[1];
    const memory::desc bias_md =
        affine ? memory::desc({channels}, DT::f32, memory::format_tag::x) : memory::desc();
    try {
        dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::deconvolution_direct, src, w_any,
                                               bias_md, dst, d_strides, d_dilations, pad_l, pad_r);
        setup.pd = dnnl::deconvolution_forward::primitive_desc(desc, attr, engine);
    } catch (const dnnl::error& e) {
        LOOM_THROW(ErrorKind::UNSUPPORTED, "oneDNN has no deconvolution for node '{}': {}",
                   node.name, e.what());
    }
    // y·scale + shift folded in: weights ([G,] C_in, C_out, k…) scaled per output channel, the
    // shift as a bias.
    std::vector<float> weights(w.data<float>(), w.data<float>() + w.size());
    if (affine) {
        const auto& ws = w.shape();
        const I64 g_count = groups ? ws[0] : 1, c_in = ws[groups ? 1 : 0],
                  c_out = ws[groups ? 2 : 1];
        const I64 taps = w.size() / (g_count * c_in * c_out);
        for (I64 g = 0; g < g_count; ++g)
            for (I64 i = 0; i < c_in; ++i)
                for (I64 o = 0; o < c_out; ++o) {
                    const float scale = affine->scale[static_cast<std::size_t>(g * c_out + o)];
                    float* row = weights.data() + ((g * c_in + i) * c_out + o) * taps;
                    for (I64 t = 0; t < taps; ++t)
                        row[t] *= scale;
                }
        setup.bias = memory(bias_md, engine);
        std::memcpy(setup.bias.get_data_handle(), affine->shift.data(),
                    static_cast<std::size_t>(channels) * sizeof(float));
    }
    dnnl::stream stream(engine);
    flush_denormals(weights);
    memory user(w_user, engine, weights.data());
    setup.weights = memory(setup.pd.weights_desc(), engine);
    dnnl::reorder(user, setup.weights).execute(stream, user, setup.weights);
    stream.wait();
    return setup;
}

DnnlDeconv::DnnlDeconv(const dnnl::engine& engine, const model::Node& node)
    : m_engine(engine) {
    LOOM_REQUIRE(dnnl_deconv_applies(node), "node '{}' ({}) cannot run as a oneDNN deconvolution",
                 node.name, node.type);
    const auto in = input_info(node, 0).shape.to_shape();
    const auto out = node.outputs[0].shape.to_shape();
    m_src = memory::desc(dims_of(in), memory::data_type::f32, plain_data(in.size()));
    m_dst = memory::desc(dims_of(out), memory::data_type::f32, plain_data(out.size()));
    auto setup = make_deconv(engine, node, m_src, m_dst, dnnl::post_ops(), nullptr);
    m_primitive = dnnl::deconvolution_forward(setup.pd);
    m_impl = setup.pd.impl_info_str();
    m_scratchpad = setup.pd.scratchpad_desc();
    m_weights = setup.weights;
}

void DnnlDeconv::run(dnnl::stream& stream, const float* src, float* dst) const {
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(m_src, m_engine, const_cast<float*>(src))},
        {DNNL_ARG_WEIGHTS, m_weights},
        {DNNL_ARG_DST, memory(m_dst, m_engine, dst)}};
    execute_with_scratchpad(m_primitive, stream, args, m_scratchpad, m_engine);
}

} // namespace loom::plugins::cpu
