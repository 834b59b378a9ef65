// Real OpenVINO IR through the product path (Core: reader → transform → REFERENCE device):
// SqueezeNet 1.1 against OpenVINO's own output for the same input, the stateful `summator`
// over several inferences, and constant folding on the reference device's evaluators.

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/runtime/tensor_io.hpp"
#include "tests/support/shared_data.hpp"
#include <loom/core.hpp>

namespace loom {
namespace {

namespace fs = std::filesystem;

fs::path ir_dir() {
    return test::shared_dir() / "models" / "ir";
}

// The input tools/reference/squeezenet_openvino.py fed OpenVINO: x[i] = (i·37 + 11) mod 256.
std::vector<float> squeezenet_input() {
    std::vector<float> x(1 * 3 * 227 * 227);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>((i * 37 + 11) % 256);
    return x;
}

class SqueezeNet : public testing::TestWithParam<const char*> {};

// On REFERENCE and on CPU (its convolutions on oneDNN), f32 as OpenVINO's run.
TEST_P(SqueezeNet, MatchesOpenVinoCpu) {
    const auto xml = ir_dir() / "squeezenet1.1-fp16" / "squeezenet1.1.xml";
    LOOM_REQUIRE_DATA(xml);
    const auto expected_path =
        fs::path(LOOM_SOURCE_DIR) / "tests/conformance/data/squeezenet1.1_openvino_cpu.npy";
    auto expected = runtime::read_npy(expected_path);
    Core core;
    // As the OpenVINO run: f32 inference precision (the f16 graph is computed in f32).
    auto compiled = core.compile_model(
        xml.string(), GetParam(), Properties().set(props::inference_precision, ElementType::F32));
    auto request = compiled.create_infer_request();
    auto x = squeezenet_input();
    // The IR declares f16 input and output (OpenVINO's reader presents IR v10 f16 ports as f32;
    // Loom keeps the IR's types): the input's whole numbers 0..255 are exact in f16.
    const auto in_type = compiled.input("data").type;
    std::vector<std::uint16_t> x16;
    if (in_type == ElementType::F16) {
        for (float v : x)
            x16.push_back(model::f32_to_f16(v));
        request.set_tensor("data", Tensor(ElementType::F16, {1, 3, 227, 227}, x16.data()));
    } else {
        request.set_tensor("data", Tensor(ElementType::F32, {1, 3, 227, 227}, x.data()));
    }
    request.infer();
    ASSERT_EQ(compiled.outputs().size(), 1u); // "prob/sink_port_0": the Result after SoftMax "prob"
    auto prob = request.get_tensor(compiled.outputs()[0]);
    ASSERT_EQ(prob.shape(), expected.shape());
    std::vector<float> values(static_cast<std::size_t>(prob.size()));
    for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = prob.element_type() == ElementType::F16
                        ? model::f16_to_f32(prob.data<std::uint16_t>()[i])
                        : prob.data<float>()[i];
    const float* got = values.data();
    const float* want = expected.data<float>();
    std::size_t bad = 0, best = 0, best_expected = 0;
    for (std::int64_t i = 0; i < prob.size(); ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (std::abs(got[k] - want[k]) > 1e-4f + 1e-3f * std::abs(want[k])) {
            if (bad == 0)
                ADD_FAILURE() << "class " << k << ": got " << got[k] << ", OpenVINO " << want[k];
            ++bad;
        }
        if (got[k] > got[best]) best = k;
        if (want[k] > want[best_expected]) best_expected = k;
    }
    EXPECT_EQ(bad, 0u) << bad << " values outside rtol 1e-3, atol 1e-4";
    EXPECT_EQ(best, best_expected); // the same top class
}

INSTANTIATE_TEST_SUITE_P(Devices, SqueezeNet, testing::Values("REFERENCE", "CPU"));

// summator: out = state + in, then state = out (ReadValue/Assign on variable "state").
TEST(SharedIr, SummatorAccumulatesOverThreeInferencesAndResets) {
    const auto xml = ir_dir() / "summator" / "summator.xml";
    LOOM_REQUIRE_DATA(xml);
    Core core;
    auto compiled = core.compile_model(xml.string(), "REFERENCE");
    ASSERT_EQ(compiled.inputs().size(), 1u);
    ASSERT_EQ(compiled.outputs().size(), 1u);
    const auto in_port = compiled.inputs()[0];
    const auto out_port = compiled.outputs()[0];
    auto request = compiled.create_infer_request();
    const float inputs[] = {1.5f, 2.f, -0.25f};
    float running = 0.f;
    for (float v : inputs) {
        float in = v;
        request.set_tensor(in_port, Tensor(ElementType::F32, {1, 1}, &in));
        request.infer();
        running += v;
        EXPECT_FLOAT_EQ(request.get_tensor(out_port).data<float>()[0], running);
    }
    auto states = request.query_state();
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].name(), "state");
    EXPECT_FLOAT_EQ(states[0].state().data<float>()[0], running);
    request.reset_state();
    float in = 4.f;
    request.set_tensor(in_port, Tensor(ElementType::F32, {1, 1}, &in));
    request.infer();
    EXPECT_FLOAT_EQ(request.get_tensor(out_port).data<float>()[0], 4.f); // from zero again
    // A second request has its own state.
    auto other = compiled.create_infer_request();
    other.set_tensor(in_port, Tensor(ElementType::F32, {1, 1}, &in));
    other.infer();
    EXPECT_FLOAT_EQ(other.get_tensor(out_port).data<float>()[0], 4.f);
}

// y = x + (a · b) + ShapeOf-derived constant: a·b and the ShapeOf of a static input fold into
// constants in the `common` pipeline (evaluated by the reference kernels); outputs are equal.
std::shared_ptr<model::Model> foldable_model() {
    auto m = std::make_shared<model::Model>();
    auto& x = m->add_parameter(ElementType::F32, PartialShape{2, 3}, "x");
    x.outputs[0].names = {"x"};
    auto constant = [&](std::vector<float> v, const char* name) -> model::Node& {
        auto t = model::Tensor::allocate(ElementType::F32, {static_cast<std::int64_t>(v.size())});
        std::memcpy(t.mutable_data(), v.data(), v.size() * sizeof(float));
        return m->add_constant(t, name);
    };
    auto& a = constant({1, 2, 3}, "a");
    auto& b = constant({4, 5, 6}, "b");
    auto& ab = m->add("Multiply", "opset1", {a.output(0), b.output(0)}, {}, 1, "ab");
    auto& sum = m->add("Add", "opset1", {x.output(0), ab.output(0)}, {}, 1, "sum");
    model::Attributes to_f32;
    to_f32.set("output_type", ElementType::I64);
    auto& shape = m->add("ShapeOf", "opset3", {x.output(0)}, to_f32, 1, "shape");
    model::Attributes cvt;
    cvt.set("destination_type", ElementType::F32);
    auto& shape_f = m->add("Convert", "opset1", {shape.output(0)}, cvt, 1, "shape_f");
    auto& rows =
        m->add("ReduceProd", "opset1",
               {shape_f.output(0),
                m->add_constant(model::Tensor::allocate(ElementType::I64, {1}), "axis0").output(0)},
               {}, 1, "rows");
    rows.attrs.set("keep_dims", true);
    auto& y = m->add("Add", "opset1", {sum.output(0), rows.output(0)}, {}, 1, "y");
    y.outputs[0].names = {"y"};
    m->add_result(y.output(0), "y");
    model::infer_and_validate(*m, *model::make_native_registry());
    return m;
}

std::map<std::string, int> op_counts(const Model& m) {
    std::map<std::string, int> counts;
    for (const auto* n : m.impl()->nodes())
        ++counts[n->type];
    return counts;
}

TEST(ConstantFolding, FoldableSubgraphDisappearsAndOutputsAreUnchanged) {
    Core core;
    auto folded = core.compile_model(Model(foldable_model()), "REFERENCE");
    auto plain = core.compile_model(Model(foldable_model()), "REFERENCE",
                                    Properties().set(props::transform_pipeline, std::string()));
    auto folded_ops = op_counts(folded.runtime_model());
    auto plain_ops = op_counts(plain.runtime_model());
    EXPECT_EQ(plain_ops["Multiply"], 1);
    EXPECT_EQ(plain_ops["ShapeOf"], 1);
    EXPECT_EQ(folded_ops["Multiply"], 0) << "a·b of two constants was not folded";
    EXPECT_EQ(folded_ops["ShapeOf"], 0) << "ShapeOf of a static input was not folded";
    EXPECT_EQ(folded_ops["ReduceProd"], 0);
    std::vector<float> x{0.5f, -1.f, 2.f, 3.f, 0.f, -4.f};
    std::vector<float> outs[2];
    int k = 0;
    for (auto* compiled : {&folded, &plain}) {
        auto r = compiled->create_infer_request();
        r.set_tensor("x", Tensor(ElementType::F32, {2, 3}, x.data()));
        r.infer();
        auto y = r.get_tensor("y");
        outs[k++].assign(y.data<float>(), y.data<float>() + y.size());
    }
    // y = x + {4, 10, 18} + 6 (rows·cols of [2,3]).
    const float ab[] = {4, 10, 18};
    for (std::size_t i = 0; i < x.size(); ++i) {
        EXPECT_FLOAT_EQ(outs[0][i], x[i] + ab[i % 3] + 6.f) << i;
        EXPECT_EQ(outs[0][i], outs[1][i]) << i;
    }
}

} // namespace
} // namespace loom
