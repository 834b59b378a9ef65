#include "components/reference/interpreter.hpp"

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using namespace test;

std::shared_ptr<model::OpRegistry> registry() {
    return model::make_native_registry();
}

TEST(Interpreter, RunsConvertAndShapeOfChain) {
    auto reg = registry();
    auto kernels = make_reference_kernels();
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape{2, 3}, "x");
    model::Attributes a;
    a.set("destination_type", ElementType::I32);
    auto& conv = m.add("Convert", "opset1", {p.output(0)}, a);
    auto& shape = m.add("ShapeOf", "opset3", {conv.output(0)});
    m.add_result(conv.output(0), "y");
    m.add_result(shape.output(0), "s");
    model::infer_and_validate(m, *reg);
    Plan plan(m, *reg, *kernels);
    RunState run{reg.get(), kernels.get(), nullptr, nullptr};
    Profile profile;
    auto out = plan.run(std::vector<Tensor>{f32({2, 3}, {1.5f, -2.7f, 3, 4, 5, 6})}, run, &profile);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].element_type(), ElementType::I32);
    EXPECT_EQ(to_i64(out[0]), (std::vector<std::int64_t>{1, -2, 3, 4, 5, 6}));
    EXPECT_EQ(to_i64(out[1]), (std::vector<std::int64_t>{2, 3}));
    ASSERT_EQ(profile.size(), m.size());
    std::size_t executed = 0;
    for (const auto& p2 : profile)
        executed += p2.executed ? 1 : 0;
    EXPECT_EQ(executed, 2u);
}

TEST(Interpreter, NodeWithoutKernelIsUnsupportedAndNamed) {
    auto reg = registry();
    KernelTable empty;
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape{2}, "x");
    auto& n = m.add("Convert", "opset1", {p.output(0)}, {}, 1, "my_convert");
    n.attrs.set("destination_type", ElementType::I32);
    m.add_result(n.output(0));
    model::infer_and_validate(m, *reg);
    try {
        Plan plan(m, *reg, empty);
        FAIL() << "expected unsupported";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED);
        EXPECT_NE(e.message().find("my_convert"), std::string::npos) << e.message();
    }
}

TEST(Interpreter, CancelFlagStopsTheRun) {
    auto reg = registry();
    auto kernels = make_reference_kernels();
    Model m;
    auto& p = m.add_parameter(ElementType::F32, PartialShape{2}, "x");
    auto& n = m.add("ShapeOf", "opset3", {p.output(0)});
    m.add_result(n.output(0));
    model::infer_and_validate(m, *reg);
    Plan plan(m, *reg, *kernels);
    std::atomic<bool> cancel{true};
    RunState run{reg.get(), kernels.get(), nullptr, &cancel};
    try {
        plan.run(std::vector<Tensor>{f32({2}, {1, 2})}, run, nullptr);
        FAIL() << "expected cancelled";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::CANCELLED);
    }
}

TEST(Interpreter, ReadValueAssignAccumulateInVariables) {
    auto reg = registry();
    auto kernels = make_reference_kernels();
    auto run_once = [&](VariableStore& vars, float x) {
        Model m;
        auto& p = m.add_parameter(ElementType::F32, PartialShape{1}, "x");
        auto& init = m.add_constant(f32({1}, {0.f}));
        model::Attributes va;
        va.set("variable_id", std::string("acc"));
        auto& rv = m.add("ReadValue", "opset3", {init.output(0)}, va);
        // Assign the parameter itself (no Add kernel is needed for this check).
        auto& as = m.add("Assign", "opset3", {p.output(0)}, va);
        m.add_sink(as);
        m.add_result(rv.output(0));
        model::infer_and_validate(m, *reg);
        Plan plan(m, *reg, *kernels);
        RunState run{reg.get(), kernels.get(), &vars, nullptr};
        return to_f32(plan.run(std::vector<Tensor>{f32({1}, {x})}, run, nullptr)[0])[0];
    };
    VariableStore vars;
    EXPECT_EQ(run_once(vars, 5.f), 0.f); // initial value
    EXPECT_EQ(run_once(vars, 7.f), 5.f); // what the first run assigned
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

// Runs `m` on `input` and returns the error's message ("" when it ran).
std::string run_error(Model& m, const Tensor& input) {
    auto reg = registry();
    auto kernels = make_reference_kernels();
    model::infer_and_validate(m, *reg);
    Plan plan(m, *reg, *kernels);
    RunState run{reg.get(), kernels.get(), nullptr, nullptr};
    try {
        plan.run(std::vector<Tensor>{input}, run, nullptr);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.message();
        return e.message();
    }
    return "";
}

// Shape inference failing at run time (the kernel's KernelContext::output_shape) names the node
// once, not once for the inference and again for the interpreter.
TEST(Interpreter, RunTimeInferenceErrorNamesTheNodeOnce) {
    using Ints = std::vector<std::int64_t>;
    {
        Model m;
        auto& p = m.add_parameter(ElementType::F32, PartialShape::dynamic(), "x");
        auto& n = m.add("MaxPool", "opset8", {p.output(0)},
                        attrs({{"kernel", Ints{2, 2}},
                               {"strides", Ints{1, 1}},
                               {"dilations", Ints{1, 1}},
                               {"pads_begin", Ints{0, 0}},
                               {"pads_end", Ints{0, 0}}}),
                        2, "p2o.MaxPool.0");
        m.add_result(n.output(0));
        // Rank 2: MaxPool with a 2-D kernel needs rank 4.
        auto message = run_error(m, f32({2, 2}, {1, 2, 3, 4}));
        EXPECT_EQ(occurrences(message, "p2o.MaxPool.0"), 1u) << message;
        EXPECT_NE(message.find("rank"), std::string::npos) << message;
    }
    {
        Model m;
        auto& p = m.add_parameter(ElementType::F32, PartialShape{model::Dimension()}, "x");
        auto& shape = m.add_constant(i64({1}, {3}));
        model::Attributes a;
        a.set("special_zero", false);
        auto& n = m.add("Reshape", "opset1", {p.output(0), shape.output(0)}, a, 1, "my_reshape");
        m.add_result(n.output(0));
        auto message = run_error(m, f32({4}, {1, 2, 3, 4}));
        EXPECT_EQ(occurrences(message, "my_reshape"), 1u) << message;
        EXPECT_NE(message.find("cannot reshape"), std::string::npos) << message;
    }
}

// The reference device is the oracle: every op of the native op set has a kernel.
TEST(ReferenceKernels, EveryNativeOpHasAKernel) {
    auto registry = model::make_native_registry();
    auto kernels = make_reference_kernels();
    std::vector<std::string> missing;
    for (const auto* spec : registry->all()) {
        if (spec->type == "Parameter" || spec->type == "Constant" || spec->type == "Result")
            continue;
        if (!kernels->find(spec->type, spec->version))
            missing.push_back(spec->type + ":" + spec->version);
    }
    EXPECT_TRUE(missing.empty()) << missing.size() << " ops without a kernel, first "
                                 << missing.front();
}

} // namespace
} // namespace loom::reference
