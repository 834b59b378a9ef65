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

// What every oneDNN node checks and makes: its inputs' static shapes and its one f32 output.
class DnnlNode : public PreparedNode {
public:
    DnnlNode(std::shared_ptr<const dnnl::engine> engine, const model::Node& node)
        : m_engine(std::move(engine))
        , m_name(node.name)
        , m_out(node.outputs[0].shape.to_shape()) {
        for (std::size_t i = 0; i < node.inputs.size(); ++i)
            m_in.push_back(input_info(node, i).shape.to_shape());
    }

protected:
    // invalid_argument when an input's shape is not the one the primitive was made for.
    void check(std::span<const Tensor> inputs) const {
        for (std::size_t i = 0; i < inputs.size() && i < m_in.size(); ++i)
            LOOM_REQUIRE(inputs[i].shape() == m_in[i],
                         "input {} of '{}' has shape {}, the compiled model expects {}", i, m_name,
                         model::to_string(inputs[i].shape()), model::to_string(m_in[i]));
    }
    Tensor output() const { return Tensor::allocate(model::ElementType::F32, m_out); }
    static float* data(const Tensor& t) { return reinterpret_cast<float*>(t.mutable_data()); }

    std::shared_ptr<const dnnl::engine> m_engine;

private:
    std::string m_name;
    std::vector<model::Shape> m_in;
    model::Shape m_out;
};

class ConvNode final : public DnnlNode {
public:
    ConvNode(std::shared_ptr<const dnnl::engine> engine, const model::Node& node)
        : DnnlNode(engine, node)
        , m_conv(*engine, node)
        , m_exec_type(exec_type_name(m_conv.implementation())) {}
    const std::string& exec_type() const override { return m_exec_type; }
    std::vector<Tensor> run(std::span<const Tensor> inputs, const RunState&) const override {
        check(inputs);
        auto y = output();
        dnnl::stream stream(*m_engine);
        m_conv.run(stream, inputs[0].data<float>(), data(y));
        return {y};
    }

private:
    DnnlConv m_conv;
    std::string m_exec_type;
};

class DeconvNode final : public DnnlNode {
public:
    DeconvNode(std::shared_ptr<const dnnl::engine> engine, const model::Node& node)
        : DnnlNode(engine, node)
        , m_deconv(*engine, node)
        , m_exec_type(exec_type_name(m_deconv.implementation())) {}
    const std::string& exec_type() const override { return m_exec_type; }
    std::vector<Tensor> run(std::span<const Tensor> inputs, const RunState&) const override {
        check(inputs);
        auto y = output();
        dnnl::stream stream(*m_engine);
        m_deconv.run(stream, inputs[0].data<float>(), data(y));
        return {y};
    }

private:
    DnnlDeconv m_deconv;
    std::string m_exec_type;
};

class ElementwiseNode final : public DnnlNode {
public:
    ElementwiseNode(std::shared_ptr<const dnnl::engine> engine, const model::Node& node)
        : DnnlNode(engine, node)
        , m_op(*engine, node)
        , m_exec_type(exec_type_name(m_op.implementation())) {}
    const std::string& exec_type() const override { return m_exec_type; }
    std::vector<Tensor> run(std::span<const Tensor> inputs, const RunState&) const override {
        check(inputs);
        auto y = output();
        dnnl::stream stream(*m_engine);
        m_op.run(stream, inputs[0].data<float>(),
                 inputs.size() > 1 ? inputs[1].data<float>() : nullptr, data(y));
        return {y};
    }

private:
    DnnlElementwise m_op;
    std::string m_exec_type;
};

class MatMulNode final : public DnnlNode {
public:
    MatMulNode(std::shared_ptr<const dnnl::engine> engine, const model::Node& node)
        : DnnlNode(engine, node)
        , m_matmul(*engine, node)
        , m_exec_type(exec_type_name(m_matmul.implementation())) {}
    const std::string& exec_type() const override { return m_exec_type; }
    std::vector<Tensor> run(std::span<const Tensor> inputs, const RunState&) const override {
        check(inputs);
        auto y = output();
        dnnl::stream stream(*m_engine);
        m_matmul.run(stream, inputs[0].data<float>(),
                     m_matmul.constant_b() ? nullptr : inputs[1].data<float>(), data(y));
        return {y};
    }

private:
    DnnlMatMul m_matmul;
    std::string m_exec_type;
};

} // namespace

loom::reference::NodePreparer make_dnnl_preparer() {
    auto engine = std::make_shared<const dnnl::engine>(dnnl::engine::kind::cpu, 0);
    return [engine](const model::Node& node) -> std::shared_ptr<const PreparedNode> {
        try {
            if (dnnl_conv_applies(node)) return std::make_shared<ConvNode>(engine, node);
            if (dnnl_deconv_applies(node)) return std::make_shared<DeconvNode>(engine, node);
            if (dnnl_matmul_applies(node)) return std::make_shared<MatMulNode>(engine, node);
            if (dnnl_binary_applies(node) || dnnl_unary_applies(node))
                return std::make_shared<ElementwiseNode>(engine, node);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::UNSUPPORTED) throw;
        }
        return nullptr;
    };
}

} // namespace loom::plugins::cpu
