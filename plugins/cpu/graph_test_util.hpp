#pragma once
// The compiled CPU graph's tests (graph_test.cpp, graph_own_test.cpp): a model built node by
// node, compiled into a CpuGraph and checked against the reference Plan (the oracle).

#include <span>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reference/kernel.hpp"
#include "plugins/cpu/dnnl_test_util.hpp"
#include "plugins/cpu/graph_compiler.hpp"

namespace loom::plugins::cpu::test {

using model::Attributes;
using model::Output;
using model::Shape;
using model::Tensor;
using ElementType = model::ElementType;

// A 2-D (Group)Convolution's attributes: strides, `pad` on every side, dilation.
inline Attributes conv_attributes(std::int64_t stride_h, std::int64_t stride_w, std::int64_t pad,
                                  std::int64_t dilation = 1) {
    Attributes a;
    a.set("strides", std::vector<std::int64_t>{stride_h, stride_w});
    a.set("dilations", std::vector<std::int64_t>{dilation, dilation});
    a.set("pads_begin", std::vector<std::int64_t>{pad, pad});
    a.set("pads_end", std::vector<std::int64_t>{pad, pad});
    return a;
}

// A model under construction, and both ways of running it.
class GraphCase {
public:
    GraphCase()
        : m_registry(model::make_native_registry())
        , m_kernels(loom::reference::make_reference_kernels()) {}

    model::Model& model() { return m_model; }
    Output input(const Shape& shape) {
        m_inputs.push_back(random_f32(shape, static_cast<std::uint32_t>(m_inputs.size() + 7)));
        return m_model
            .add_parameter(ElementType::F32, model::PartialShape(shape),
                           "x" + std::to_string(m_inputs.size()))
            .output();
    }
    Output constant(const Shape& shape, float scale = 1.0f) {
        auto t = random_f32(shape, m_seed++);
        for (std::int64_t i = 0; i < t.size(); ++i)
            f32_data(t)[i] *= scale;
        return m_model.add_constant(t).output();
    }
    Output scalar(float v) {
        auto t = Tensor::allocate(ElementType::F32, {});
        *f32_data(t) = v;
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
        const auto a = conv_attributes(1, 1, k / 2);
        if (groups == 1) return op("Convolution", {x, constant({out, in, k, k}, 0.3f)}, a);
        return op("GroupConvolution", {x, constant({groups, out / groups, in / groups, k, k})}, a);
    }

    // Interpolate-11, nearest (asymmetric, floor), of a 4-D value by `factor` on both spatial
    // axes — PP-OCR's FPN upsampling.
    Output upsample_nearest(Output x, float factor) {
        Attributes a;
        a.set("mode", std::string("nearest"));
        a.set("shape_calculation_mode", std::string("scales"));
        a.set("coordinate_transformation_mode", std::string("asymmetric"));
        a.set("nearest_mode", std::string("floor"));
        const float scales[] = {1.0f, 1.0f, factor, factor};
        auto& s = m_model.add_constant(
            Tensor::copy_of(ElementType::F32, {4}, std::as_bytes(std::span<const float>(scales))));
        return op("Interpolate", {x, s.output()}, a, "opset11");
    }

    // SqueezeNet's fire module on a [1,16,9,10] input: a 1×1 squeeze, then 1×1 (32) and 3×3 (16)
    // expansions concatenated along channels; the concatenation.
    Output fire_module() {
        const auto x = input({1, 16, 9, 10});
        Attributes axis;
        axis.set("axis", std::int64_t{1});
        const auto squeeze = op("Relu", {conv(x, 16, 16, 1)});
        return op("Concat",
                  {op("Relu", {conv(squeeze, 16, 32, 1)}), op("Relu", {conv(squeeze, 16, 16, 3)})},
                  axis);
    }

    // Compiles the model into a CpuGraph and checks it against the reference Plan: to f32's
    // rounding, or with `bf16` to bf16's (8 significant bits: 3 % of each output's largest
    // magnitude).
    std::shared_ptr<const CpuGraph> expect_matches_reference(std::vector<Output> results,
                                                             bool bf16 = false) {
        for (auto& r : results)
            m_model.add_result(r);
        model::infer_and_validate(m_model, *m_registry);
        auto graph = compile_graph(m_model, *m_registry, *m_kernels, {}, m_engine, bf16);
        EXPECT_TRUE(graph);
        if (!graph) return nullptr;
        loom::reference::Plan plan(m_model, *m_registry, *m_kernels);
        const loom::reference::RunState run{m_registry.get(), m_kernels.get()};
        const auto want = plan.run(m_inputs, run, nullptr);
        for (int round = 0; round < 2; ++round) { // the second reuses the workspace
            const auto got = graph->run(m_inputs, run, nullptr);
            EXPECT_EQ(got.size(), want.size());
            for (std::size_t i = 0; i < got.size() && i < want.size(); ++i)
                if (bf16)
                    expect_bf16_close(got[i], want[i]);
                else
                    expect_close(got[i], want[i]);
        }
        return graph;
    }

    static void expect_bf16_close(const Tensor& got, const Tensor& want) {
        ASSERT_EQ(got.shape(), want.shape());
        float scale = 0;
        for (std::int64_t i = 0; i < want.size(); ++i)
            scale = std::max(scale, std::fabs(want.data<float>()[i]));
        for (std::int64_t i = 0; i < got.size(); ++i)
            ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-3f + 0.03f * scale)
                << "element " << i;
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

// Whether oneDNN computes bf16 natively here (avx512_bf16 or AMX).
inline bool bf16_native() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

// Whether oneDNN lays the output of a 1×1 convolution of `x` to `out` channels out in channel
// blocks (nChw8c/nChw16c: its jit kernels) — the layout a concatenation is done in place in —
// rather than channels last (its brgemm kernels on AVX-512).
inline bool channel_blocked(const dnnl::engine& engine, dnnl::memory::data_type type,
                            const Shape& x, std::int64_t out) {
    using memory = dnnl::memory;
    const memory::dims src(x.begin(), x.end()), dst{x[0], out, x[2], x[3]};
    const memory::desc any_src(src, type, memory::format_tag::any),
        any_w({out, x[1], 1, 1}, type, memory::format_tag::any),
        any_dst(dst, type, memory::format_tag::any);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::convolution_direct, any_src, any_w, any_dst,
                                      {1, 1}, {0, 0}, {0, 0});
    dnnl::convolution_forward::primitive_desc pd(d, engine);
    return pd.dst_desc().data.format_desc.blocking.inner_nblks > 0;
}

} // namespace loom::plugins::cpu::test
