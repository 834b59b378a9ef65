// The CPU device (issue 13) through the public API: on models with convolutions, matmuls and
// activations of static shape its outputs equal REFERENCE's (the oracle), those nodes run on
// oneDNN — as the runtime model and the profile say — and the rest on reference kernels; a dynamic
// model still runs (its nodes all on reference kernels until shapes are known).

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "components/model/op_registry.hpp"
#include "schemas/error.hpp"
#include <loom/core.hpp>

namespace loom {
namespace {

model::Tensor random(ElementType type, const Shape& shape, std::uint32_t seed) {
    auto t = model::Tensor::allocate(type, shape);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::int64_t i = 0; i < t.size(); ++i)
        reinterpret_cast<float*>(t.mutable_data())[i] = dist(rng);
    return t;
}

model::Attributes conv_attrs() {
    model::Attributes a;
    a.set("strides", std::vector<std::int64_t>{1, 1});
    a.set("dilations", std::vector<std::int64_t>{1, 1});
    a.set("pads_begin", std::vector<std::int64_t>{1, 1});
    a.set("pads_end", std::vector<std::int64_t>{1, 1});
    a.set("auto_pad", std::string("explicit"));
    return a;
}

// x [N,3,12,12] → Convolution (8×3×3×3) → Relu → depthwise GroupConvolution → reshaped to
// [N, 8·144] → MatMul with a constant [1152, 10] → y.
std::shared_ptr<model::Model> conv_model(model::Dimension batch) {
    auto m = std::make_shared<model::Model>();
    auto& x = m->add_parameter(ElementType::F32, PartialShape{batch, 3, 12, 12}, "x");
    x.outputs[0].names = {"x"};
    auto& w = m->add_constant(random(ElementType::F32, {8, 3, 3, 3}, 1), "w");
    auto& conv =
        m->add("Convolution", "opset1", {x.output(0), w.output(0)}, conv_attrs(), 1, "conv");
    auto& relu = m->add("Relu", "opset1", {conv.output(0)}, {}, 1, "relu");
    auto& dw_w = m->add_constant(random(ElementType::F32, {8, 1, 1, 3, 3}, 2), "dw_w");
    auto& dw = m->add("GroupConvolution", "opset1", {relu.output(0), dw_w.output(0)}, conv_attrs(),
                      1, "depthwise");
    auto shape = model::Tensor::allocate(ElementType::I64, {2});
    reinterpret_cast<std::int64_t*>(shape.mutable_data())[0] = -1;
    reinterpret_cast<std::int64_t*>(shape.mutable_data())[1] = 8 * 144;
    auto& target = m->add_constant(shape, "target");
    model::Attributes keep;
    keep.set("special_zero", false);
    auto& flat = m->add("Reshape", "opset1", {dw.output(0), target.output(0)}, keep, 1, "flat");
    auto& fc_w = m->add_constant(random(ElementType::F32, {8 * 144, 10}, 3), "fc_w");
    auto& fc = m->add("MatMul", "opset1", {flat.output(0), fc_w.output(0)}, {}, 1, "fc");
    fc.outputs[0].names = {"y"};
    m->add_result(fc.output(0), "y");
    model::infer_and_validate(*m, *model::make_native_registry());
    return m;
}

std::vector<float> run(Core& core, const std::shared_ptr<model::Model>& m,
                       const std::string& device, const Tensor& x, const Properties& p = {}) {
    auto request = core.compile_model(Model(m), device, p).create_infer_request();
    request.set_tensor("x", x);
    request.infer();
    auto y = request.get_tensor("y");
    return {y.data<float>(), y.data<float>() + y.size()};
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-3f + 1e-4f * std::fabs(want[i])) << "element " << i;
}

// Each node's execType in the compiled model's runtime model.
std::map<std::string, std::string> exec_types(const CompiledModel& compiled) {
    std::map<std::string, std::string> exec;
    const auto runtime = compiled.runtime_model();
    for (const auto& n : runtime.impl()->nodes())
        for (const auto& child : n->rt_info.children)
            for (const auto& [key, value] : child.attributes)
                if (key == "execType") exec[n->name] = value;
    return exec;
}

TEST(CpuDevice, StaticConvolutionsAndMatMulsRunOnOneDnnWithTheReferencesResults) {
    Core core;
    auto m = conv_model(2);
    Tensor x(random(ElementType::F32, {2, 3, 12, 12}, 4));
    expect_close(run(core, m, "CPU", x), run(core, m, "REFERENCE", x));

    auto compiled =
        core.compile_model(Model(m), "CPU", Properties().set(props::enable_profiling, true));
    auto exec = exec_types(compiled);
    for (const char* onednn : {"conv", "relu", "depthwise", "fc"}) {
        EXPECT_NE(exec[onednn], "ref") << onednn;
        EXPECT_TRUE(exec[onednn].ends_with(":f32")) << onednn << ": " << exec[onednn];
    }
    EXPECT_EQ(exec["flat"], "view") << "Reshape is done in place (the same bytes)";
    auto request = compiled.create_infer_request();
    request.set_tensor("x", x);
    request.infer();
    for (const auto& p : request.get_profiling_info()) {
        if (exec.contains(p.node_name) && p.status == ProfilingInfo::Status::EXECUTED) {
            EXPECT_EQ(p.exec_type, exec[p.node_name]) << p.node_name;
        }
    }
}

// As OpenVINO's CPU device: an f16 model is computed in f32 without a precision hint (REFERENCE
// keeps the model's precision), so its convolution runs on oneDNN.
TEST(CpuDevice, AnF16ModelIsComputedInF32ByDefault) {
    auto m = std::make_shared<model::Model>();
    auto& x = m->add_parameter(ElementType::F16, PartialShape{1, 3, 8, 8}, "x");
    x.outputs[0].names = {"x"};
    auto w = model::Tensor::allocate(ElementType::F16, {4, 3, 3, 3});
    for (std::int64_t i = 0; i < w.size(); ++i)
        reinterpret_cast<std::uint16_t*>(w.mutable_data())[i] = model::f32_to_f16(0.125f);
    auto& wc = m->add_constant(w, "w");
    auto& conv =
        m->add("Convolution", "opset1", {x.output(0), wc.output(0)}, conv_attrs(), 1, "conv");
    conv.outputs[0].names = {"y"};
    m->add_result(conv.output(0), "y");
    model::infer_and_validate(*m, *model::make_native_registry());
    Core core;
    auto exec_type = [&](const std::string& device) {
        const auto runtime = core.compile_model(Model(m), device).runtime_model();
        for (const auto& n : runtime.impl()->nodes())
            if (n->name == "conv")
                for (const auto& child : n->rt_info.children)
                    for (const auto& [key, value] : child.attributes)
                        if (key == "execType") return value;
        return std::string("(none)");
    };
    EXPECT_TRUE(exec_type("CPU").ends_with(":f32")) << exec_type("CPU");
    EXPECT_EQ(exec_type("REFERENCE"), "ref");
}

// A dynamic batch: compiled for each batch on its first inference (ShapeCache), on oneDNN.
TEST(CpuDevice, ADynamicModelIsCompiledPerInputShapeAndGivesTheSameResults) {
    Core core;
    auto m = conv_model(model::Dimension::dynamic());
    auto compiled = core.compile_model(Model(m), "CPU");
    auto request = compiled.create_infer_request();
    for (std::int64_t batch : {1, 3, 1}) {
        Tensor x(random(ElementType::F32, {batch, 3, 12, 12}, 5));
        request.set_tensor("x", x);
        request.infer();
        auto y = request.get_tensor("y");
        expect_close({y.data<float>(), y.data<float>() + y.size()}, run(core, m, "REFERENCE", x));
    }
    std::string conv_exec;
    const auto runtime = compiled.runtime_model();
    for (const auto& n : runtime.impl()->nodes())
        for (const auto& child : n->rt_info.children)
            for (const auto& [key, value] : child.attributes)
                if (key == "execType" && n->name == "conv") conv_exec = value;
    EXPECT_TRUE(conv_exec.ends_with(":f32")) << conv_exec;
}

// THROUGHPUT: a compiled model reports its streams and the requests to keep in flight (two per
// stream); requests started together run on them and give REFERENCE's results.
TEST(CpuDevice, ThroughputStreamsRunRequestsInFlight) {
    Core core;
    auto m = conv_model(2);
    const auto p = Properties()
                       .set(props::performance_mode, PerformanceMode::THROUGHPUT)
                       .set(props::num_streams, std::uint32_t{2})
                       .set(props::inference_num_threads, std::uint32_t{2});
    auto compiled = core.compile_model(Model(m), "CPU", p);
    // Two requests per stream: one computing while the other's tensors cross the bus.
    EXPECT_EQ(compiled.get_property(props::optimal_number_of_infer_requests), 4u);
    EXPECT_EQ(compiled.get_property(props::num_streams), 2u);
    EXPECT_EQ(compiled.get_property(props::performance_mode), PerformanceMode::THROUGHPUT);
    std::vector<InferRequest> requests;
    std::vector<Tensor> inputs;
    for (std::uint32_t i = 0; i < 4; ++i) {
        requests.push_back(compiled.create_infer_request());
        inputs.emplace_back(random(ElementType::F32, {2, 3, 12, 12}, 20 + i));
        requests.back().set_tensor("x", inputs.back());
    }
    for (auto& r : requests)
        r.start_async();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        requests[i].wait();
        auto y = requests[i].get_tensor("y");
        expect_close({y.data<float>(), y.data<float>() + y.size()},
                     run(core, m, "REFERENCE", inputs[i]));
    }
    EXPECT_EQ(
        core.compile_model(Model(m), "CPU").get_property(props::optimal_number_of_infer_requests),
        1u)
        << "LATENCY: one stream";
}

bool cpu_has_bf16(Core& core) {
    return core.get_property("CPU", props::device_capabilities.name).find("BF16") !=
           std::string::npos;
}

// INFERENCE_PRECISION_HINT bf16 (OpenVINO's default on such CPUs): the convolutions, the MatMul
// and what follows them compute in bf16 — the runtime model says so — with results within bf16's
// precision of REFERENCE's.
TEST(CpuDevice, ABf16HintComputesConvolutionsInBf16WhereTheCpuHasIt) {
    Core core;
    if (!cpu_has_bf16(core))
        GTEST_SKIP() << "this CPU has neither avx512_bf16 nor AMX (its refusal is tested by "
                        "ABf16PrecisionHintIsRefusedNamingWhy)";
    auto m = conv_model(2);
    const auto bf16 = Properties().set(props::inference_precision, ElementType::BF16);
    auto compiled = core.compile_model(Model(m), "CPU", bf16);
    EXPECT_EQ(compiled.get_property(props::inference_precision.name), "bf16");
    auto exec = exec_types(compiled);
    for (const char* node : {"conv", "relu", "depthwise", "fc"})
        EXPECT_TRUE(exec[node].ends_with(":bf16")) << node << ": " << exec[node];
    Tensor x(random(ElementType::F32, {2, 3, 12, 12}, 4));
    const auto got = run(core, m, "CPU", x, bf16), want = run(core, m, "REFERENCE", x);
    ASSERT_EQ(got.size(), want.size());
    float scale = 0, worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        scale = std::max(scale, std::fabs(want[i]));
        worst = std::max(worst, std::fabs(got[i] - want[i]));
    }
    // bf16 keeps 8 significant bits: a few units of 2^-8 of the outputs' scale after three
    // layers of sums of ~1,000 products.
    EXPECT_LT(worst, 0.03f * scale) << "max |diff| " << worst << " at scale " << scale;
    EXPECT_GT(worst, 0.0f) << "bf16 gave exactly the f32 results: was it computed in f32?";
}

// Where the CPU has no bf16 (ctest runs this also as cpu_device_test_no_bf16, with oneDNN held to
// AVX2 by DNNL_MAX_CPU_ISA), the hint is refused naming why.
TEST(CpuDevice, ABf16PrecisionHintIsRefusedNamingWhy) {
    Core core;
    // cpu_device_test_no_bf16 holds oneDNN to AVX2 and says so: there BF16 must not be offered.
    if (std::getenv("LOOM_TEST_EXPECT_NO_BF16")) {
        ASSERT_FALSE(cpu_has_bf16(core)) << "DEVICE_CAPABILITIES offers BF16 under AVX2";
    }
    if (cpu_has_bf16(core))
        GTEST_SKIP() << "this CPU computes bf16 (see cpu_device_test_no_bf16 for the refusal)";
    try {
        core.compile_model(Model(conv_model(2)), "CPU",
                           Properties().set(props::inference_precision, ElementType::BF16));
        FAIL() << "bf16 was accepted on a CPU without avx512_bf16";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED) << e.what();
        EXPECT_NE(e.message().find("avx512_bf16"), std::string::npos) << e.what();
        EXPECT_NE(e.message().find("ISA"), std::string::npos) << e.what();
    }
    try {
        core.compile_model(Model(conv_model(2)), "CPU",
                           Properties().set(props::inference_precision, ElementType::F16));
        FAIL() << "f16 was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED) << e.what();
    }
}

TEST(CpuDevice, AnInputOfAnotherShapeIsATypedError) {
    Core core;
    auto request = core.compile_model(Model(conv_model(2)), "CPU").create_infer_request();
    try {
        request.set_tensor("x", Tensor(random(ElementType::F32, {1, 3, 12, 12}, 6)));
        request.infer();
        FAIL() << "a [1,3,12,12] input ran a model compiled for [2,3,12,12]";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        EXPECT_NE(e.message().find("x"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace loom
