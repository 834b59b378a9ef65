#include "plugins/cpu/dnnl_eltwise.hpp"

#include <cctype>
#include <optional>
#include <unordered_map>

#include "plugins/cpu/dnnl_util.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

using dnnl::memory;
using A = dnnl::algorithm;

struct BinaryOp {
    const char* type;
    A algorithm;
    bool commutative;
};
constexpr BinaryOp k_binary[] = {
    {"Add", A::binary_add, true},      {"Subtract", A::binary_sub, false},
    {"Multiply", A::binary_mul, true}, {"Divide", A::binary_div, false},
    {"Maximum", A::binary_max, true},  {"Minimum", A::binary_min, true}};

const BinaryOp* binary_op(const std::string& type) {
    for (const auto& op : k_binary)
        if (type == op.type) return &op;
    return nullptr;
}

bool static_f32(const model::OutputInfo& o) {
    return o.type == model::ElementType::F32 && o.shape.is_static() && o.shape.rank() >= 1 &&
           o.shape.rank() <= DNNL_MAX_NDIMS;
}

// Whether `a` (as `rank` dims) is broadcast onto `out` only along axes where it is 1.
bool broadcasts_onto(const memory::desc& a, const memory::desc& out) {
    for (int i = 0; i < out.data.ndims; ++i)
        if (a.data.dims[i] != out.data.dims[i] && a.data.dims[i] != 1) return false;
    return true;
}

bool same_dims(const memory::desc& a, const memory::desc& b) {
    return a.dims() == b.dims();
}

} // namespace

// Not Log: oneDNN's is approximate (log 1 = -1.4e-6), which fails ONNX's own tests (atol 1e-7).
std::optional<UnaryOp> dnnl_unary_op(const model::Node& node) {
    const auto& t = node.type;
    const auto f = [&](const char* name) {
        return static_cast<float>(node.attrs.get_or<double>(name, 0.0));
    };
    if (t == "Relu") return UnaryOp{A::eltwise_relu};
    if (t == "Sigmoid") return UnaryOp{A::eltwise_logistic};
    if (t == "Tanh") return UnaryOp{A::eltwise_tanh};
    if (t == "HSwish") return UnaryOp{A::eltwise_hardswish};
    if (t == "HSigmoid") return UnaryOp{A::eltwise_linear, 1.0f / 6, 0.5f, true};
    if (t == "HardSigmoid" && node.inputs.size() == 3) {
        const auto* alpha = constant_input(node, 1);
        const auto* beta = constant_input(node, 2);
        if (!alpha || !beta || alpha->value.size() != 1 || beta->value.size() != 1)
            return std::nullopt;
        return UnaryOp{A::eltwise_linear, static_cast<float>(alpha->value.to_f64()[0]),
                       static_cast<float>(beta->value.to_f64()[0]), true};
    }
    if (t == "Exp") return UnaryOp{A::eltwise_exp};
    if (t == "Sqrt") return UnaryOp{A::eltwise_sqrt};
    if (t == "Abs") return UnaryOp{A::eltwise_abs};
    if (t == "Elu") return UnaryOp{A::eltwise_elu, f("alpha")};
    if (t == "Clamp") return UnaryOp{A::eltwise_clip_v2, f("min"), f("max")};
    if (t == "Mish") return UnaryOp{A::eltwise_mish};
    if (t == "SoftPlus") return UnaryOp{A::eltwise_soft_relu, 1.0f};
    if (t == "Swish" && node.inputs.size() == 1) return UnaryOp{A::eltwise_swish, 1.0f};
    if (t == "Gelu") {
        auto mode = node.attrs.get_or<std::string>("approximation_mode", "ERF");
        for (auto& c : mode)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (mode == "ERF") return UnaryOp{A::eltwise_gelu_erf};
        if (mode == "TANH") return UnaryOp{A::eltwise_gelu_tanh};
    }
    return std::nullopt;
}

bool dnnl_binary_applies(const model::Node& node) noexcept {
    try {
        const auto* op = binary_op(node.type);
        if (!op || node.inputs.size() != 2 || node.outputs.size() != 1) return false;
        const auto mode = node.attrs.get_or<std::string>("auto_broadcast", "numpy");
        if (mode != "numpy" && mode != "none") return false;
        const auto &a = input_info(node, 0), &b = input_info(node, 1), &y = node.outputs[0];
        if (!static_f32(a) || !static_f32(b) || !static_f32(y)) return false;
        const auto rank = static_cast<std::size_t>(y.shape.rank());
        const auto out = dense_desc(y.shape.to_shape(), rank);
        const auto pa = dense_desc(a.shape.to_shape(), rank),
                   pb = dense_desc(b.shape.to_shape(), rank);
        if (same_dims(pa, out) && broadcasts_onto(pb, out)) return true;
        return op->commutative && same_dims(pb, out) && broadcasts_onto(pa, out);
    } catch (...) {
        return false;
    }
}

bool dnnl_unary_applies(const model::Node& node) noexcept {
    try {
        if (node.inputs.empty() || node.outputs.size() != 1 || !dnnl_unary_op(node)) return false;
        return static_f32(input_info(node, 0)) && static_f32(node.outputs[0]);
    } catch (...) {
        return false;
    }
}

DnnlElementwise::DnnlElementwise(const dnnl::engine& engine, const model::Node& node)
    : m_engine(engine) {
    m_binary = dnnl_binary_applies(node);
    LOOM_REQUIRE(m_binary || dnnl_unary_applies(node),
                 "node '{}' ({}) cannot run as a oneDNN elementwise op", node.name, node.type);
    const auto out = node.outputs[0].shape.to_shape();
    m_dst = dense_desc(out, out.size());
    m_src0 = dense_desc(input_info(node, 0).shape.to_shape(), out.size());
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user); // see dnnl_conv.cpp
    try {
        if (m_binary) {
            m_src1 = dense_desc(input_info(node, 1).shape.to_shape(), out.size());
            m_swapped = !same_dims(m_src0, m_dst);
            if (m_swapped) std::swap(m_src0, m_src1);
            dnnl::binary::desc desc(binary_op(node.type)->algorithm, m_src0, m_src1, m_dst);
            dnnl::binary::primitive_desc pd(desc, attr, engine);
            m_impl = pd.impl_info_str();
            m_scratchpad = pd.scratchpad_desc();
            m_primitive = dnnl::binary(pd);
        } else {
            const auto op = *dnnl_unary_op(node);
            if (op.clip_01) {
                dnnl::post_ops ops;
                ops.append_eltwise(1.0f, A::eltwise_clip, 0.0f, 1.0f);
                attr.set_post_ops(ops);
            }
            dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, op.algorithm,
                                             m_src0, op.alpha, op.beta);
            dnnl::eltwise_forward::primitive_desc pd(desc, attr, engine);
            m_impl = pd.impl_info_str();
            // oneDNN 2.6's reference eltwise with a post-op writes nothing (see graph_compiler).
            if (op.clip_01 && m_impl.starts_with("ref"))
                LOOM_THROW(ErrorKind::UNSUPPORTED, "no optimised {} for node '{}'", node.type,
                           node.name);
            m_scratchpad = pd.scratchpad_desc();
            m_primitive = dnnl::eltwise_forward(pd);
        }
    } catch (const dnnl::error& e) {
        LOOM_THROW(ErrorKind::UNSUPPORTED, "oneDNN has no {} for node '{}': {}", node.type,
                   node.name, e.what());
    }
}

void DnnlElementwise::run(dnnl::stream& stream, const float* a, const float* b, float* dst) const {
    if (m_swapped) std::swap(a, b);
    std::unordered_map<int, memory> args{{DNNL_ARG_DST, memory(m_dst, m_engine, dst)}};
    if (m_binary) {
        args.emplace(DNNL_ARG_SRC_0, memory(m_src0, m_engine, const_cast<float*>(a)));
        args.emplace(DNNL_ARG_SRC_1, memory(m_src1, m_engine, const_cast<float*>(b)));
    } else {
        args.emplace(DNNL_ARG_SRC, memory(m_src0, m_engine, const_cast<float*>(a)));
    }
    execute_with_scratchpad(m_primitive, stream, args, m_scratchpad, m_engine);
}

} // namespace loom::plugins::cpu
