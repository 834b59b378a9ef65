#include "plugins/cpu/cpu_nodes.hpp"

#include <algorithm>

#include "plugins/cpu/dnnl_conv.hpp"
#include "plugins/cpu/dnnl_deconv.hpp"
#include "plugins/cpu/dnnl_eltwise.hpp"
#include "plugins/cpu/dnnl_matmul.hpp"
#include "plugins/cpu/dnnl_util.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

using loom::reference::PreparedNode;
using loom::reference::RunState;
using model::Tensor;

// How each building block runs on a node's inputs (port order) into its one f32 output.
void execute(const DnnlConv& op, dnnl::stream& s, std::span<const Tensor> in, float* y) {
    op.run(s, in[0].data<float>(), y);
}
void execute(const DnnlDeconv& op, dnnl::stream& s, std::span<const Tensor> in, float* y) {
    op.run(s, in[0].data<float>(), y);
}
void execute(const DnnlElementwise& op, dnnl::stream& s, std::span<const Tensor> in, float* y) {
    op.run(s, in[0].data<float>(), in.size() > 1 ? in[1].data<float>() : nullptr, y);
}
void execute(const DnnlMatMul& op, dnnl::stream& s, std::span<const Tensor> in, float* y) {
    op.run(s, in[0].data<float>(), op.constant_b() ? nullptr : in[1].data<float>(), y);
}

// A node run by one oneDNN building block (Op): its inputs' static shapes checked, its one f32
// output allocated, a stream per run.
template <class Op>
class DnnlNode final : public PreparedNode {
public:
    DnnlNode(std::shared_ptr<const dnnl::engine> engine, const model::Node& node)
        : m_engine(std::move(engine))
        , m_name(node.name)
        , m_out(node.outputs[0].shape.to_shape())
        , m_op(*m_engine, node)
        , m_exec_type(exec_type_name(m_op.implementation())) {
        for (std::size_t i = 0; i < node.inputs.size(); ++i)
            m_in.push_back(input_info(node, i).shape.to_shape());
    }
    const std::string& exec_type() const override { return m_exec_type; }
    std::vector<Tensor> run(std::span<const Tensor> inputs, const RunState&) const override {
        // invalid_argument when an input's shape is not the one the primitive was made for.
        for (std::size_t i = 0; i < inputs.size() && i < m_in.size(); ++i)
            LOOM_REQUIRE(inputs[i].shape() == m_in[i],
                         "input {} of '{}' has shape {}, the compiled model expects {}", i, m_name,
                         model::to_string(inputs[i].shape()), model::to_string(m_in[i]));
        auto y = Tensor::allocate(model::ElementType::F32, m_out);
        dnnl::stream stream(*m_engine);
        execute(m_op, stream, inputs, reinterpret_cast<float*>(y.mutable_data()));
        return {y};
    }

private:
    std::shared_ptr<const dnnl::engine> m_engine;
    std::string m_name;
    std::vector<model::Shape> m_in;
    model::Shape m_out;
    Op m_op;
    std::string m_exec_type;
};

// An extension's op with a CPU kernel (issue 13): outputs allocated from the op's shape
// inference, filled by the kernel with the host's parallel_for (the stream's team).
class ExtensionCpuNode final : public PreparedNode {
public:
    ExtensionCpuNode(const model::Node& node, const model::OpSpec& spec)
        : m_node(node)
        , m_spec(spec) {}
    const std::string& exec_type() const override {
        static const std::string type = "extension_cpu";
        return type;
    }
    std::vector<Tensor> run(std::span<const Tensor> inputs, const RunState&) const override {
        std::vector<Tensor> outputs;
        for (const auto& o : m_node.outputs)
            outputs.push_back(Tensor::allocate(o.type, o.shape.to_shape()));
        const model::ParallelFor host = [](std::size_t n, const auto& body) {
            loom::reference::parallel_for(
                static_cast<std::int64_t>(n), 1, [&](std::int64_t b, std::int64_t e) {
                    body(static_cast<std::size_t>(b), static_cast<std::size_t>(e));
                });
        };
        model::CpuKernelContext ctx{m_node, inputs, outputs, host};
        m_spec.cpu_kernel(ctx);
        return outputs;
    }

private:
    const model::Node& m_node;
    const model::OpSpec& m_spec; // the registry the plan was made for outlives it
};

std::shared_ptr<const PreparedNode> prepare_extension(const model::Node& node,
                                                      const model::OpRegistry& registry) {
    const auto* spec = registry.find(node.type, node.version);
    if (!spec || spec->origin.empty() || !spec->cpu_kernel) return nullptr;
    for (const auto& o : node.outputs)
        if (!o.shape.is_static() || o.type == model::ElementType::UNDEFINED) return nullptr;
    return std::make_shared<ExtensionCpuNode>(node, *spec);
}

} // namespace

loom::reference::NodePreparer make_dnnl_preparer() {
    auto engine = std::make_shared<const dnnl::engine>(dnnl::engine::kind::cpu, 0);
    return [engine](const model::Node& node,
                    const model::OpRegistry& registry) -> std::shared_ptr<const PreparedNode> {
        if (auto extension = prepare_extension(node, registry)) return extension;
        try {
            if (dnnl_conv_applies(node)) return std::make_shared<DnnlNode<DnnlConv>>(engine, node);
            if (dnnl_deconv_applies(node))
                return std::make_shared<DnnlNode<DnnlDeconv>>(engine, node);
            if (dnnl_matmul_applies(node))
                return std::make_shared<DnnlNode<DnnlMatMul>>(engine, node);
            if (dnnl_binary_applies(node) || dnnl_unary_applies(node))
                return std::make_shared<DnnlNode<DnnlElementwise>>(engine, node);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::UNSUPPORTED) throw;
        }
        return nullptr;
    };
}

} // namespace loom::plugins::cpu
