// Control-flow reference kernels (If-8, Loop-5, TensorIterator-1) on hand-built models run
// through the interpreter; expected values worked out by hand from OpenVINO's specs.

#include <memory>

#include <gtest/gtest.h>

#include "components/reference/interpreter.hpp"
#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using model::BackEdge;
using model::Body;
using model::PortMap;
using test::boolean;
using test::f32;
using test::i64;
using test::to_f32;
using test::to_i64;
using F32s = std::vector<float>;
using I64s = std::vector<std::int64_t>;

const model::OpRegistry& registry() {
    static const auto r = model::make_native_registry();
    return *r;
}

// Infers `m` and runs it on `params` (one per model parameter, in order).
std::vector<Tensor> run_model(Model& m, std::vector<Tensor> params) {
    static const auto kernels = make_reference_kernels();
    model::infer_and_validate(m, registry());
    Plan plan(m, registry(), *kernels);
    RunState run{&registry(), kernels.get(), nullptr, nullptr};
    return plan.run(params, run, nullptr);
}

model::Output constant(Model& m, Tensor value) {
    return m.add_constant(std::move(value)).output(0);
}

// ---- If ---------------------------------------------------------------------------------------

// If(cond, x): then = x · 2, else = x + 10.
std::shared_ptr<Model> make_if_model() {
    auto then_body = std::make_shared<Model>();
    auto& tp = then_body->add_parameter(ElementType::F32, PartialShape{2}, "tp");
    auto& mul =
        then_body->add("Multiply", "opset1", {tp.output(0), constant(*then_body, f32({1}, {2}))});
    then_body->add_result(mul.output(0));
    auto else_body = std::make_shared<Model>();
    auto& ep = else_body->add_parameter(ElementType::F32, PartialShape{2}, "ep");
    auto& add =
        else_body->add("Add", "opset1", {ep.output(0), constant(*else_body, f32({1}, {10}))});
    else_body->add_result(add.output(0));

    auto m = std::make_shared<Model>();
    auto& cond = m->add_parameter(ElementType::BOOLEAN, PartialShape{}, "cond");
    auto& x = m->add_parameter(ElementType::F32, PartialShape{2}, "x");
    auto& node = m->add("If", "opset8", {cond.output(0), x.output(0)}, {}, 1, "if");
    node.bodies.push_back({.name = "then_body",
                           .model = then_body,
                           .inputs = {{.external_port = 1, .body_index = 0}},
                           .outputs = {{.external_port = 0, .body_index = 0}},
                           .back_edges = {}});
    node.bodies.push_back({.name = "else_body",
                           .model = else_body,
                           .inputs = {{.external_port = 1, .body_index = 0}},
                           .outputs = {{.external_port = 0, .body_index = 0}},
                           .back_edges = {}});
    m->add_result(node.output(0));
    return m;
}

TEST(ControlKernels, IfChoosesTheBranch) {
    auto m = make_if_model();
    // true → then: {1,2} · 2 = {2,4}; false → else: {1,2} + 10 = {11,12}.
    auto t = run_model(*m, {boolean({}, {true}), f32({2}, {1, 2})});
    EXPECT_EQ(to_f32(t[0]), (F32s{2, 4}));
    auto e = run_model(*m, {boolean({}, {false}), f32({2}, {1, 2})});
    EXPECT_EQ(to_f32(e[0]), (F32s{11, 12}));
}

// ---- Loop -------------------------------------------------------------------------------------

// Loop(trip, cond, acc0) whose body computes next = acc + 1 and, as the execution condition,
// next < `stop`; it also takes the current iteration ([1], i64).
// Outputs: 0 = the final acc (back edge), 1 = next of every iteration concatenated on axis 0,
// 2 = the iteration numbers concatenated on axis 0.
std::shared_ptr<Model> make_counting_loop(float stop) {
    auto body = std::make_shared<Model>();
    auto& acc = body->add_parameter(ElementType::F32, PartialShape{1}, "acc");
    auto& iter = body->add_parameter(ElementType::I64, PartialShape{1}, "iter");
    auto& next = body->add("Add", "opset1", {acc.output(0), constant(*body, f32({1}, {1}))});
    auto& go = body->add("Less", "opset1", {next.output(0), constant(*body, f32({1}, {stop}))});
    body->add_result(next.output(0), "next");
    body->add_result(go.output(0), "cond");
    body->add_result(next.output(0), "next_each");
    body->add_result(iter.output(0), "iter_each");

    auto m = std::make_shared<Model>();
    auto& trip = m->add_parameter(ElementType::I64, PartialShape{}, "trip");
    auto& cond = m->add_parameter(ElementType::BOOLEAN, PartialShape{}, "cond0");
    auto& x = m->add_parameter(ElementType::F32, PartialShape{1}, "x");
    auto& loop =
        m->add("Loop", "opset5", {trip.output(0), cond.output(0), x.output(0)}, {}, 3, "loop");
    Body b;
    b.name = "body";
    b.model = body;
    b.inputs.push_back({.external_port = 2, .body_index = 0});
    b.inputs.push_back({.body_index = 1, .purpose = "current_iteration"});
    b.outputs.push_back({.external_port = 0, .body_index = 0});
    b.outputs.push_back({.body_index = 1, .purpose = "execution_condition"});
    b.outputs.push_back({.external_port = 1, .body_index = 2, .axis = 0});
    b.outputs.push_back({.external_port = 2, .body_index = 3, .axis = 0});
    b.back_edges.push_back(BackEdge{.from_result = 0, .to_parameter = 0});
    loop.bodies.push_back(std::move(b));
    for (std::uint32_t o = 0; o < 3; ++o)
        m->add_result(loop.output(o));
    return m;
}

TEST(ControlKernels, LoopRunsTripCountIterations) {
    // Condition never false (stop 100): trip count 3 → acc 0 → 1 → 2 → 3; each iteration's
    // next {1,2,3}; iterations {0,1,2}.
    auto m = make_counting_loop(100);
    auto out = run_model(*m, {i64({}, {3}), boolean({}, {true}), f32({1}, {0})});
    EXPECT_EQ(to_f32(out[0]), (F32s{3}));
    EXPECT_EQ(out[1].shape(), (Shape{3}));
    EXPECT_EQ(to_f32(out[1]), (F32s{1, 2, 3}));
    EXPECT_EQ(to_i64(out[2]), (I64s{0, 1, 2}));
}

TEST(ControlKernels, LoopStopsOnTheBodyCondition) {
    // Unbounded trip count (-1), stop 4: next = 1, 2, 3 (< 4, go on), 4 (not < 4, stop) → four
    // iterations, final acc 4.
    auto m = make_counting_loop(4);
    auto out = run_model(*m, {i64({}, {-1}), boolean({}, {true}), f32({1}, {0})});
    EXPECT_EQ(to_f32(out[0]), (F32s{4}));
    EXPECT_EQ(to_f32(out[1]), (F32s{1, 2, 3, 4}));
    EXPECT_EQ(to_i64(out[2]), (I64s{0, 1, 2, 3}));
    // Trip count 2 ends first: acc 2.
    auto bounded = run_model(*m, {i64({}, {2}), boolean({}, {true}), f32({1}, {0})});
    EXPECT_EQ(to_f32(bounded[0]), (F32s{2}));
    EXPECT_EQ(to_f32(bounded[1]), (F32s{1, 2}));
    // Starting at 10 the first iteration already fails the condition: one iteration, acc 11.
    auto once = run_model(*m, {i64({}, {-1}), boolean({}, {true}), f32({1}, {10})});
    EXPECT_EQ(to_f32(once[0]), (F32s{11}));
    EXPECT_EQ(to_i64(once[2]), (I64s{0}));
}

TEST(ControlKernels, LoopWithFalseInitialConditionRunsNoIteration) {
    // No iteration: the carried output is the initial value, the concatenations are empty.
    auto m = make_counting_loop(100);
    auto out = run_model(*m, {i64({}, {5}), boolean({}, {false}), f32({1}, {7})});
    EXPECT_EQ(to_f32(out[0]), (F32s{7}));
    EXPECT_EQ(out[1].shape(), (Shape{0}));
    EXPECT_EQ(out[2].shape(), (Shape{0}));
}

// ---- TensorIterator -------------------------------------------------------------------------

// TensorIterator(x [2,3], acc0 [2,1]): x sliced along axis 1 into [2,1] columns (direction by
// `stride`; the concatenation's direction by `out_stride`); body: sum = acc + col (back edge),
// doubled = col · 2 concatenated along axis 1.
std::shared_ptr<Model> make_column_iterator(std::int64_t stride, std::int64_t out_stride = 1) {
    auto body = std::make_shared<Model>();
    auto& col = body->add_parameter(ElementType::F32, PartialShape{2, 1}, "col");
    auto& acc = body->add_parameter(ElementType::F32, PartialShape{2, 1}, "acc");
    auto& sum = body->add("Add", "opset1", {acc.output(0), col.output(0)});
    auto& twice = body->add("Multiply", "opset1", {col.output(0), constant(*body, f32({1}, {2}))});
    body->add_result(sum.output(0));
    body->add_result(twice.output(0));

    auto m = std::make_shared<Model>();
    auto& x = m->add_parameter(ElementType::F32, PartialShape{2, 3}, "x");
    auto& acc0 = m->add_parameter(ElementType::F32, PartialShape{2, 1}, "acc0");
    auto& ti = m->add("TensorIterator", "opset1", {x.output(0), acc0.output(0)}, {}, 2, "ti");
    Body b;
    b.name = "body";
    b.model = body;
    if (stride > 0)
        b.inputs.push_back({.external_port = 0,
                            .body_index = 0,
                            .axis = 1,
                            .start = 0,
                            .end = -1,
                            .stride = 1,
                            .part_size = 1});
    else
        b.inputs.push_back({.external_port = 0,
                            .body_index = 0,
                            .axis = 1,
                            .start = -1,
                            .end = 0,
                            .stride = -1,
                            .part_size = 1});
    b.inputs.push_back({.external_port = 1, .body_index = 1});
    b.outputs.push_back({.external_port = 0, .body_index = 0});
    b.outputs.push_back({.external_port = 1,
                         .body_index = 1,
                         .axis = 1,
                         .start = 0,
                         .end = -1,
                         .stride = out_stride,
                         .part_size = 1});
    b.back_edges.push_back(BackEdge{.from_result = 0, .to_parameter = 1});
    ti.bodies.push_back(std::move(b));
    m->add_result(ti.output(0));
    m->add_result(ti.output(1));
    return m;
}

TEST(ControlKernels, TensorIteratorSlicesAndConcatenates) {
    // x = [[1,2,3],[4,5,6]], acc0 = [[100],[200]]: three column iterations.
    // Final acc = acc0 + row sums = [[106],[215]]; doubled columns concatenated = 2·x.
    auto m = make_column_iterator(1);
    auto out = run_model(*m, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2, 1}, {100, 200})});
    EXPECT_EQ(out[0].shape(), (Shape{2, 1}));
    EXPECT_EQ(to_f32(out[0]), (F32s{106, 215}));
    EXPECT_EQ(out[1].shape(), (Shape{2, 3}));
    EXPECT_EQ(to_f32(out[1]), (F32s{2, 4, 6, 8, 10, 12}));
}

TEST(ControlKernels, TensorIteratorReverseSlicing) {
    // Stride -1 from the last column: iterations see columns 2, 1, 0, concatenated in that
    // order (output stride 1): [[3,2,1],[6,5,4]] · 2. The sums do not depend on the order.
    auto m = make_column_iterator(-1);
    auto out = run_model(*m, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2, 1}, {0, 0})});
    EXPECT_EQ(to_f32(out[0]), (F32s{6, 15}));
    EXPECT_EQ(to_f32(out[1]), (F32s{6, 4, 2, 12, 10, 8}));
}

TEST(ControlKernels, TensorIteratorReverseConcatenation) {
    // Forward slicing, output stride -1: the iterations' doubled columns 2·c0, 2·c1, 2·c2 are
    // placed in reverse order → [[6,4,2],[12,10,8]].
    auto m = make_column_iterator(1, -1);
    auto out = run_model(*m, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2, 1}, {0, 0})});
    EXPECT_EQ(to_f32(out[0]), (F32s{6, 15}));
    EXPECT_EQ(to_f32(out[1]), (F32s{6, 4, 2, 12, 10, 8}));
}

} // namespace
} // namespace loom::reference
