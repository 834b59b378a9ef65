#include "plugins/cpu/dnnl_matmul.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "plugins/cpu/dnnl_util.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

using dnnl::memory;
using DT = memory::data_type;

} // namespace

bool dnnl_matmul_applies(const model::Node& node) noexcept {
    try {
        if (node.type != "MatMul" && node.type != "FusedMatMul") return false;
        const bool fused = node.type == "FusedMatMul";
        if (node.inputs.size() != (fused ? 3u : 2u) || node.outputs.size() != 1) return false;
        if (fused && !constant_input(node, 2)) return false;
        for (std::size_t i = 0; i < 2; ++i) {
            const auto& in = input_info(node, i);
            if (in.type != model::ElementType::F32 || !in.shape.is_static()) return false;
            if (in.shape.rank() < 2 || in.shape.rank() > DNNL_MAX_NDIMS) return false;
        }
        const auto& y = node.outputs[0];
        if (y.type != model::ElementType::F32 || !y.shape.is_static()) return false;
        dnnl::post_ops ops;
        return append_activation(node, ops);
    } catch (...) {
        return false;
    }
}

DnnlMatMul::DnnlMatMul(const dnnl::engine& engine, const model::Node& node)
    : m_engine(engine) {
    LOOM_REQUIRE(dnnl_matmul_applies(node), "node '{}' ({}) cannot run as a oneDNN matmul",
                 node.name, node.type);
    const auto a_shape = input_info(node, 0).shape.to_shape();
    const auto b_shape = input_info(node, 1).shape.to_shape();
    const auto out = node.outputs[0].shape.to_shape();
    const std::size_t rank = out.size();
    m_a = dense_desc(a_shape, rank, node.attrs.get_or<bool>("transpose_a", false));
    m_b = dense_desc(b_shape, rank, node.attrs.get_or<bool>("transpose_b", false));
    m_dst = dense_desc(out, rank, false);
    const auto* b_const = constant_input(node, 1);
    m_constant_b = b_const != nullptr;
    // A constant B in the layout the primitive prefers; a runtime one as it comes.
    const memory::desc b_md =
        m_constant_b ? memory::desc(m_b.dims(), DT::f32, memory::format_tag::any) : m_b;
    const auto* bias_node = node.type == "FusedMatMul" ? constant_input(node, 2) : nullptr;
    // The bias [N] as a dense [1, …, 1, N]: oneDNN broadcasts it over the rows.
    memory::desc bias_md;
    if (bias_node) bias_md = dense_desc({out.back()}, rank, false);
    dnnl::primitive_attr attr;
    dnnl::post_ops ops;
    append_activation(node, ops);
    attr.set_post_ops(ops);
    // The scratchpad is ours: oneDNN's own is sized per thread when a primitive is created, so a
    // primitive run on another thread (a request's) would write through an unsized one.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::matmul::primitive_desc pd;
    try {
        dnnl::matmul::desc desc = bias_node ? dnnl::matmul::desc(m_a, b_md, bias_md, m_dst)
                                            : dnnl::matmul::desc(m_a, b_md, m_dst);
        pd = dnnl::matmul::primitive_desc(desc, attr, engine);
    } catch (const dnnl::error& e) {
        LOOM_THROW(ErrorKind::UNSUPPORTED, "oneDNN has no matmul for node '{}': {}", node.name,
                   e.what());
    }
    m_primitive = dnnl::matmul(pd);
    m_impl = pd.impl_info_str();
    m_scratchpad = pd.scratchpad_desc();
    dnnl::stream stream(engine);
    if (m_constant_b) {
        memory user(m_b, engine, const_cast<std::byte*>(b_const->value.data<std::byte>()));
        m_packed_b = memory(pd.weights_desc(), engine);
        dnnl::reorder(user, m_packed_b).execute(stream, user, m_packed_b);
    }
    if (bias_node) {
        m_bias = memory(bias_md, engine);
        std::memcpy(m_bias.get_data_handle(), bias_node->value.data<std::byte>(),
                    bias_node->value.byte_size());
    }
    stream.wait();
}

void DnnlMatMul::run(dnnl::stream& stream, const float* a, const float* b, float* dst) const {
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(m_a, m_engine, const_cast<float*>(a))},
        {DNNL_ARG_WEIGHTS,
         m_constant_b ? m_packed_b : memory(m_b, m_engine, const_cast<float*>(b))},
        {DNNL_ARG_DST, memory(m_dst, m_engine, dst)}};
    if (m_bias) args.emplace(DNNL_ARG_BIAS, m_bias);
    execute_with_scratchpad(m_primitive, stream, args, m_scratchpad, m_engine);
}

} // namespace loom::plugins::cpu
