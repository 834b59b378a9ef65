// KernelTable: ordered lists per op (fastest first, reference last), applicability checks,
// entry names as exec types, and the into form writing into caller-planned outputs.

#include "components/reference/kernel.hpp"

#include <gtest/gtest.h>

#include "components/reference/interpreter.hpp"
#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using namespace test;

std::shared_ptr<model::OpRegistry> registry() {
    return model::make_native_registry();
}

// Parameter(type, shape) → `type_name`:opset1 → Result, inferred.
struct OneOp {
    Model model;
    Node* node = nullptr;
};

std::unique_ptr<OneOp> one_op(const model::OpRegistry& reg, const std::string& op, ElementType type,
                              PartialShape shape) {
    auto m = std::make_unique<OneOp>();
    auto& p = m->model.add_parameter(type, std::move(shape), "x");
    m->node = &m->model.add(op, "opset1", {p.output(0)}, {}, 1, "op");
    m->model.add_result(m->node->output(0), "y");
    model::infer_and_validate(m->model, reg);
    return m;
}

bool input_is_f32(const Node& node) {
    const auto& in = node.inputs.at(0);
    return in.node->outputs[in.index].type == ElementType::F32;
}

// Fills output 0 with `value`, whatever the input: tells which entry ran.
template <int Value>
std::vector<Tensor> fill_with(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    auto v = std::vector<double>(static_cast<std::size_t>(out.size()), Value);
    return {make_tensor(out.element_type(), out.shape(), v)};
}

RunState run_state(const model::OpRegistry& reg, const KernelTable& kernels) {
    return RunState{&reg, &kernels, nullptr, nullptr};
}

std::string exec_type_of(const model::OpRegistry& reg, const KernelTable& kernels, OneOp& op,
                         const Tensor& input, std::vector<Tensor>* out = nullptr) {
    Plan plan(op.model, reg, kernels);
    Profile profile;
    auto results = plan.run(std::vector<Tensor>{input}, run_state(reg, kernels), &profile);
    if (out) *out = results;
    for (const auto& p : profile)
        if (p.name == "op") return p.exec_type;
    return "(not profiled)";
}

TEST(KernelTable, FirstEntryThatAppliesRunsTheNode) {
    auto reg = registry();
    KernelTable table;
    table.add("Negative", "opset1",
              {.name = "f32_only", .fn = fill_with<42>, .applies = input_is_f32});
    table.add("Negative", "opset1", {.name = "general", .fn = fill_with<7>});

    auto f = one_op(*reg, "Negative", ElementType::F32, PartialShape{3});
    auto i = one_op(*reg, "Negative", ElementType::I32, PartialShape{3});
    ASSERT_NE(table.find(*f->node, *reg), nullptr);
    EXPECT_EQ(table.find(*f->node, *reg)->name, "f32_only");
    EXPECT_EQ(table.find(*i->node, *reg)->name, "general");

    std::vector<Tensor> out;
    EXPECT_EQ(exec_type_of(*reg, table, *f, f32({3}, {1, 2, 3}), &out), "f32_only");
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{42, 42, 42}));
    EXPECT_EQ(exec_type_of(*reg, table, *i, i32({3}, {1, 2, 3}), &out), "general");
    EXPECT_EQ(to_i64(out[0]), (std::vector<std::int64_t>{7, 7, 7}));
}

TEST(KernelTable, EntryThatAppliesToNothingFallsThroughToTheReference) {
    auto reg = registry();
    KernelTable table = *make_reference_kernels(); // a device's table: its entries, then the refs
    table.add_front(
        "Negative", "opset1",
        {.name = "never", .fn = fill_with<42>, .applies = [](const Node&) { return false; }});
    table.add_front("Negative", "opset1",
                    {.name = "throws", .fn = fill_with<43>, .applies = [](const Node&) -> bool {
                         throw Error(ErrorKind::INTERNAL, "a broken check");
                     }});
    ASSERT_EQ(table.entries("Negative", "opset1").size(), 3u);

    auto f = one_op(*reg, "Negative", ElementType::F32, PartialShape{2});
    std::vector<Tensor> out;
    EXPECT_EQ(exec_type_of(*reg, table, *f, f32({2}, {1.5f, -2}), &out), "ref");
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{-1.5f, 2}));
    // Coverage lookup: the first entry whatever it applies to.
    EXPECT_EQ(table.find("Negative", "opset1")->name, "throws");
    EXPECT_TRUE(Plan::missing_kernels(f->model, *reg, table).empty());

    // Nothing applies at all: the node has no kernel.
    KernelTable only_never;
    only_never.add(
        "Negative", "opset1",
        {.name = "never", .fn = fill_with<42>, .applies = [](const Node&) { return false; }});
    EXPECT_EQ(only_never.find(*f->node, *reg), nullptr);
    EXPECT_NE(only_never.find("Negative", "opset1"), nullptr);
    EXPECT_EQ(Plan::missing_kernels(f->model, *reg, only_never).size(), 1u);
    EXPECT_THROW(Plan(f->model, *reg, only_never), Error);
}

TEST(KernelTable, OrderIsInsertionOrderAndAddFrontPutsFirst) {
    auto reg = registry();
    auto f = one_op(*reg, "Negative", ElementType::F32, PartialShape{1});
    KernelTable table;
    table.add("Negative", "opset1", {.name = "a", .fn = fill_with<1>});
    table.add("Negative", "opset1", {.name = "b", .fn = fill_with<2>});
    EXPECT_EQ(table.find(*f->node, *reg)->name, "a");
    table.add_front("Negative", "opset1", {.name = "c", .fn = fill_with<3>});
    std::vector<std::string> names;
    for (const auto* e : table.entries("Negative", "opset1"))
        names.push_back(e->name);
    EXPECT_EQ(names, (std::vector<std::string>{"c", "a", "b"}));
    EXPECT_EQ(table.find(*f->node, *reg)->name, "c");
    EXPECT_EQ(table.size(), 1u); // keys, not entries
    std::vector<Tensor> out;
    EXPECT_EQ(exec_type_of(*reg, table, *f, f32({1}, {5}), &out), "c");
    EXPECT_EQ(to_f32(out[0]), (std::vector<float>{3}));
}

TEST(KernelTable, AnEntryNeedsExactlyOneFunctionAndAName) {
    KernelTable table;
    EXPECT_THROW(table.add("Negative", "opset1", KernelEntry{}), Error);
    EXPECT_THROW(table.add("Negative", "opset1",
                           {.fn = fill_with<1>, .into = [](KernelContext&, std::span<Tensor>) {}}),
                 Error);
    EXPECT_THROW(table.add_front("Negative", "opset1", {.name = "", .fn = fill_with<1>}), Error);
    EXPECT_EQ(table.size(), 0u);
}

// Relu and Abs are into kernels in the reference table.
TEST(KernelTable, IntoKernelWritesIntoThePlannedOutput) {
    auto reg = registry();
    auto kernels = make_reference_kernels();
    auto op = one_op(*reg, "Relu", ElementType::F32, PartialShape{4});
    const auto* entry = kernels->find(*op->node, *reg);
    ASSERT_NE(entry, nullptr);
    ASSERT_NE(entry->into, nullptr);
    std::vector<Tensor> planned{Tensor::allocate(ElementType::F32, {4})};
    const auto* buffer = planned[0].bytes().data();
    auto out = run_kernel(*entry, *op->node, std::vector<Tensor>{f32({4}, {-1, 2, -3, 4})},
                          run_state(*reg, *kernels), planned);
    EXPECT_EQ(planned[0].bytes().data(), buffer);
    EXPECT_EQ(to_f32(planned[0]), (std::vector<float>{0, 2, 0, 4}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].bytes().data(), buffer);

    // No plan: run_kernel allocates.
    auto own = run_kernel(*entry, *op->node, std::vector<Tensor>{f32({4}, {-1, 2, -3, 4})},
                          run_state(*reg, *kernels));
    EXPECT_NE(own[0].bytes().data(), buffer);
    EXPECT_EQ(to_f32(own[0]), (std::vector<float>{0, 2, 0, 4}));
}

TEST(KernelTable, CustomIntoEntrySeesThePlannedTensors) {
    auto reg = registry();
    KernelTable table;
    table.add("Negative", "opset1",
              {.name = "into", .into = [](KernelContext& ctx, std::span<Tensor> outputs) {
                   ASSERT_EQ(outputs.size(), 1u);
                   auto* o = reinterpret_cast<float*>(outputs[0].mutable_data());
                   const auto* in = ctx.input(0).data<float>();
                   for (std::int64_t i = 0; i < outputs[0].size(); ++i)
                       o[i] = -in[i] * 10;
               }});
    auto op = one_op(*reg, "Negative", ElementType::F32, PartialShape{2});
    std::vector<Tensor> planned{Tensor::allocate(ElementType::F32, {2})};
    const auto* buffer = planned[0].bytes().data();
    run_kernel(*table.find(*op->node, *reg), *op->node, std::vector<Tensor>{f32({2}, {1, 2})},
               run_state(*reg, table), planned);
    EXPECT_EQ(planned[0].bytes().data(), buffer);
    EXPECT_EQ(to_f32(planned[0]), (std::vector<float>{-10, -20}));

    // A planned tensor that does not fit the actual output is replaced, not overrun.
    std::vector<Tensor> wrong{Tensor::allocate(ElementType::F32, {1})};
    const auto* small = wrong[0].bytes().data();
    run_kernel(*table.find(*op->node, *reg), *op->node, std::vector<Tensor>{f32({2}, {1, 2})},
               run_state(*reg, table), wrong);
    EXPECT_NE(wrong[0].bytes().data(), small);
    EXPECT_EQ(to_f32(wrong[0]), (std::vector<float>{-10, -20}));
}

TEST(KernelTable, IntoKernelOnHalfInputsFillsThePlannedHalfOutput) {
    auto reg = registry();
    auto kernels = make_reference_kernels();
    auto op = one_op(*reg, "Relu", ElementType::F16, PartialShape{3});
    std::vector<Tensor> planned{Tensor::allocate(ElementType::F16, {3})};
    const auto* buffer = planned[0].bytes().data();
    run_kernel(*kernels->find(*op->node, *reg), *op->node,
               std::vector<Tensor>{typed(ElementType::F16, {3}, {-1, 0.5, 2})},
               run_state(*reg, *kernels), planned);
    EXPECT_EQ(planned[0].bytes().data(), buffer);
    EXPECT_EQ(planned[0].element_type(), ElementType::F16);
    EXPECT_EQ(to_f32(planned[0]), (std::vector<float>{0, 0.5f, 2}));
}

TEST(KernelTable, ReturningKernelResultIsCopiedIntoThePlannedOutput) {
    auto reg = registry();
    auto kernels = make_reference_kernels();
    auto op = one_op(*reg, "Negative", ElementType::F32, PartialShape{3});
    const auto* entry = kernels->find(*op->node, *reg);
    ASSERT_NE(entry, nullptr);
    ASSERT_NE(entry->fn, nullptr); // the returning form
    std::vector<Tensor> planned{Tensor::allocate(ElementType::F32, {3})};
    const auto* buffer = planned[0].bytes().data();
    auto out = run_kernel(*entry, *op->node, std::vector<Tensor>{f32({3}, {1, -2, 3})},
                          run_state(*reg, *kernels), planned);
    EXPECT_EQ(planned[0].bytes().data(), buffer);
    EXPECT_EQ(to_f32(planned[0]), (std::vector<float>{-1, 2, -3}));
    EXPECT_EQ(out[0].bytes().data(), buffer);

    // Another shape than planned: the returned tensor replaces the planned one.
    std::vector<Tensor> wrong{Tensor::allocate(ElementType::F32, {2})};
    run_kernel(*entry, *op->node, std::vector<Tensor>{f32({3}, {1, -2, 3})},
               run_state(*reg, *kernels), wrong);
    EXPECT_EQ(wrong[0].shape(), (Shape{3}));
    EXPECT_EQ(to_f32(wrong[0]), (std::vector<float>{-1, 2, -3}));

    // Planned outputs must be one per node output.
    std::vector<Tensor> two(2);
    EXPECT_THROW(run_kernel(*entry, *op->node, std::vector<Tensor>{f32({3}, {1, -2, 3})},
                            run_state(*reg, *kernels), two),
                 Error);
}

TEST(KernelTable, ConstantFoldingUsesTheFirstFoldableEntryThatApplies) {
    auto reg = registry();
    auto table = std::make_shared<KernelTable>(*make_reference_kernels());
    table->add_front("Negative", "opset1",
                     {.name = "fold_f32", .fn = fill_with<42>, .applies = input_is_f32});
    table->add_front("Negative", "opset1",
                     {.name = "not_foldable",
                      .fn = fill_with<9>,
                      .options = {.half_via_f32 = true, .foldable = false}});
    install_evaluators(*reg, table);
    const auto* spec = reg->find("Negative", "opset1");
    ASSERT_TRUE(spec && spec->evaluate);
    auto f = one_op(*reg, "Negative", ElementType::F32, PartialShape{2});
    auto i = one_op(*reg, "Negative", ElementType::I32, PartialShape{2});
    EXPECT_EQ(to_f32(spec->evaluate(*f->node, std::vector<Tensor>{f32({2}, {1, 2})})[0]),
              (std::vector<float>{42, 42}));
    EXPECT_EQ(to_i64(spec->evaluate(*i->node, std::vector<Tensor>{i32({2}, {1, 2})})[0]),
              (std::vector<std::int64_t>{-1, -2}));

    // A list whose foldable entries all have conditions gets no evaluator.
    auto fresh = registry();
    auto conditional = std::make_shared<KernelTable>();
    conditional->add("Negative", "opset1",
                     {.name = "fold_f32", .fn = fill_with<42>, .applies = input_is_f32});
    conditional->add("Sign", "opset1", {.name = "any", .fn = fill_with<1>});
    install_evaluators(*fresh, conditional);
    EXPECT_FALSE(fresh->find("Negative", "opset1")->evaluate);
    EXPECT_TRUE(fresh->find("Sign", "opset1")->evaluate);
}

} // namespace
} // namespace loom::reference
