// The compiled CPU graph (graph_compiler) against the reference Plan (the oracle) on the shapes of
// graph PP-OCR has: convolutions with chains of activations and arithmetic folded in as
// post-ops, depthwise convolutions with per-channel biases, squeeze-and-excitation gates,
// residual adds, reference-kernel nodes between blocked values, in-place reshapes; the memory
// plan; and the per-shape cache of dynamic models.

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reference/kernel.hpp"
#include "plugins/cpu/dnnl_test_util.hpp"
#include "plugins/cpu/graph_compiler.hpp"
#include "plugins/cpu/memory_plan.hpp"
#include "plugins/cpu/shape_cache.hpp"

namespace loom::plugins::cpu {
namespace {

using model::Attributes;
using model::Output;
using model::Shape;
using model::Tensor;
using ElementType = model::ElementType;

// A model under construction, and both ways of running it.
class GraphCase {
public:
    GraphCase()
        : m_registry(model::make_native_registry())
        , m_kernels(loom::reference::make_reference_kernels()) {}

    model::Model& model() { return m_model; }
    Output input(const Shape& shape) {
        m_inputs.push_back(test::random_f32(shape, static_cast<std::uint32_t>(m_inputs.size() + 7)));
        return m_model
            .add_parameter(ElementType::F32, model::PartialShape(shape),
                           "x" + std::to_string(m_inputs.size()))
            .output();
    }
    Output constant(const Shape& shape, float scale = 1.0f) {
        auto t = test::random_f32(shape, m_seed++);
        for (std::int64_t i = 0; i < t.size(); ++i)
            test::f32_data(t)[i] *= scale;
        return m_model.add_constant(t).output();
    }
    Output scalar(float v) {
        auto t = Tensor::allocate(ElementType::F32, {});
        *test::f32_data(t) = v;
        return m_model.add_constant(t).output();
    }
    Output op(const std::string& type, std::vector<Output> inputs, Attributes attrs = {},
              const std::string& version = "opset1") {
        auto& n = m_model.add(type, version, std::move(inputs), std::move(attrs), 1,
                              type + std::to_string(m_model.size()));
        return n.output();
    }
    Output conv(Output x, std::int64_t in, std::int64_t out, std::int64_t k,
                std::int64_t groups = 1) {
        Attributes a;
        const auto pad = k / 2;
        a.set("strides", std::vector<std::int64_t>{1, 1});
        a.set("dilations", std::vector<std::int64_t>{1, 1});
        a.set("pads_begin", std::vector<std::int64_t>{pad, pad});
        a.set("pads_end", std::vector<std::int64_t>{pad, pad});
        if (groups == 1) return op("Convolution", {x, constant({out, in, k, k}, 0.3f)}, a);
        return op("GroupConvolution", {x, constant({groups, out / groups, in / groups, k, k})},
                  a);
    }

    // Compiles the model into a CpuGraph and checks it against the reference Plan.
    std::shared_ptr<const CpuGraph> expect_matches_reference(std::vector<Output> results) {
        for (auto& r : results)
            m_model.add_result(r);
        model::infer_and_validate(m_model, *m_registry);
        auto graph = compile_graph(m_model, *m_registry, *m_kernels, {}, m_engine);
        EXPECT_TRUE(graph);
        if (!graph) return nullptr;
        loom::reference::Plan plan(m_model, *m_registry, *m_kernels);
        const loom::reference::RunState run{m_registry.get(), m_kernels.get()};
        const auto want = plan.run(m_inputs, run, nullptr);
        for (int round = 0; round < 2; ++round) { // the second reuses the workspace
            const auto got = graph->run(m_inputs, run, nullptr);
            EXPECT_EQ(got.size(), want.size());
            for (std::size_t i = 0; i < got.size() && i < want.size(); ++i)
                test::expect_close(got[i], want[i]);
        }
        return graph;
    }

    std::vector<Tensor>& inputs() { return m_inputs; }
    const model::OpRegistry& registry() const { return *m_registry; }
    const loom::reference::KernelTable& kernels() const { return *m_kernels; }
    const dnnl::engine& engine() const { return m_engine; }

private:
    std::shared_ptr<const model::OpRegistry> m_registry;
    std::shared_ptr<const loom::reference::KernelTable> m_kernels;
    dnnl::engine m_engine{dnnl::engine::kind::cpu, 0};
    model::Model m_model;
    std::vector<Tensor> m_inputs;
    std::uint32_t m_seed = 100;
};

// PP-OCRv4's "learnable affine" block after a convolution: ·a + b, activation, ·a + b.
TEST(CpuGraph, FoldsActivationsAndScalarArithmeticIntoTheConvolution) {
    GraphCase g;
    auto y = g.conv(g.input({1, 16, 20, 20}), 16, 16, 3);
    y = g.op("Add", {g.op("Multiply", {g.scalar(0.5f), y}), g.scalar(0.25f)});
    y = g.op("HSwish", {y}, {}, "opset4");
    y = g.op("Add", {g.op("Multiply", {y, g.scalar(1.5f)}), g.scalar(-0.1f)});
    auto graph = g.expect_matches_reference({y});
    ASSERT_TRUE(graph);
    // One convolution, a reorder in and out at most: the five nodes after it are post-ops.
    EXPECT_LE(graph->step_count(), 3u);
}

} // namespace
} // namespace loom::plugins::cpu
