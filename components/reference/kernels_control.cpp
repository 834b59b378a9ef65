// Reference kernels: control flow — If, Loop, TensorIterator (see kernel.hpp).
//
// Bodies run through the interpreter (one Plan per node execution, reused across iterations).
// Port maps (graph.hpp) tie node inputs to body parameters and body results to node outputs:
//  - an input with an axis is sliced: iteration k reads part k of part_size elements along the
//    axis, walking from `start` to `end` (inclusive, negative counts from the end) in the
//    direction of `stride`;
//  - an output with an axis concatenates the iterations' values along it (a negative stride
//    places them in reverse order); an output without one is the last iteration's value;
//  - back edges feed a result into a parameter for the next iteration;
//  - Loop's "current_iteration" parameter receives the iteration number and its
//    "execution_condition" result decides whether another iteration runs.
// Loop runs while its condition holds and fewer than trip_count iterations ran (trip count
// negative: unbounded); the interpreter checks cancellation between body nodes.

#include "components/reference/interpreter.hpp"
#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

using model::Body;
using model::PortMap;

const Body& body_named(const Node& node, std::string_view name) {
    for (const auto& b : node.bodies)
        if (b.name == name && b.model) return b;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{} has no body '{}'", node.type, name);
}

std::vector<Tensor> run_plan(const KernelContext& ctx, const Plan& plan,
                             std::span<const Tensor> inputs) {
    return plan.run(inputs, ctx.run(), nullptr);
}

// ---- If --------------------------------------------------------------------------------------

std::vector<Tensor> if_op(KernelContext& ctx) {
    const bool cond = scalar_i64(ctx.input(0)) != 0;
    const Body& body = body_named(ctx.node(), cond ? "then_body" : "else_body");
    const auto& params = body.model->parameters();
    std::vector<Tensor> inputs(params.size());
    for (const auto& pm : body.inputs) {
        LOOM_REQUIRE(pm.body_index >= 0 && at(pm.body_index) < params.size(),
                     "body '{}' has no parameter {}", body.name, pm.body_index);
        inputs[at(pm.body_index)] = ctx.input(at(pm.external_port));
    }
    for (std::size_t i = 0; i < inputs.size(); ++i)
        LOOM_REQUIRE(!inputs[i].empty(), "parameter {} of body '{}' is not mapped", i, body.name);
    Plan plan(*body.model, ctx.registry(), *ctx.run().kernels);
    auto results = run_plan(ctx, plan, inputs);
    std::vector<Tensor> out(ctx.node().outputs.size());
    for (const auto& pm : body.outputs) {
        LOOM_REQUIRE(pm.external_port >= 0 && at(pm.external_port) < out.size() &&
                         pm.body_index >= 0 && at(pm.body_index) < results.size(),
                     "body '{}' maps result {} to output {}", body.name, pm.body_index,
                     pm.external_port);
        out[at(pm.external_port)] = results[at(pm.body_index)];
    }
    for (std::size_t k = 0; k < out.size(); ++k)
        LOOM_REQUIRE(!out[k].empty(), "body '{}' does not produce output {}", body.name, k);
    return out;
}

// ---- slicing and concatenation (any element type, by bytes) -----------------------------------

struct Split { // a shape around `axis`: outer × dim × inner elements of `bytes` each
    std::int64_t outer = 1, dim = 1, inner = 1;
};

// (dim starts at 1 and takes the axis' size by multiplication; a scalar is 1 × 1 × 1.)
Split split_at(const Shape& shape, std::int64_t axis) {
    Split s;
    for (std::size_t d = 0; d < shape.size(); ++d)
        (count(d) < axis ? s.outer : count(d) > axis ? s.inner : s.dim) *= shape[d];
    return s;
}

std::int64_t norm_axis(std::int64_t axis, std::size_t rank, std::string_view what) {
    const auto r = count(rank);
    LOOM_REQUIRE(axis >= -r && axis < r, "{} axis {} is out of range for rank {}", what, axis, r);
    return axis < 0 ? axis + r : axis;
}

// Elements [begin, begin + part) of `in` along `axis`.
Tensor slice_part(const Tensor& in, std::int64_t axis, std::int64_t begin, std::int64_t part) {
    auto s = split_at(in.shape(), axis);
    Shape shape = in.shape();
    shape[at(axis)] = part;
    auto out = Tensor::allocate(in.element_type(), shape);
    const auto row = at(s.inner) * element_size(in.element_type());
    for (std::int64_t o = 0; o < s.outer; ++o)
        std::memcpy(out.mutable_data() + at(o * part) * row,
                    in.bytes().data() + at(o * s.dim + begin) * row, at(part) * row);
    return out;
}

// Concatenates `parts` (same shapes but along `axis`) along `axis`.
Tensor concat_parts(const std::vector<Tensor>& parts, std::int64_t axis) {
    Shape shape = parts.front().shape();
    std::int64_t total = 0;
    for (const auto& p : parts) {
        LOOM_REQUIRE(p.shape().size() == shape.size(),
                     "iterations produce ranks {} and {} for one concatenated output",
                     p.shape().size(), shape.size());
        for (std::size_t d = 0; d < shape.size(); ++d)
            LOOM_REQUIRE(count(d) == axis || p.shape()[d] == shape[d],
                         "iterations produce shapes {} and {} for one concatenated output",
                         model::to_string(p.shape()), model::to_string(shape));
        total += p.shape()[at(axis)];
    }
    shape[at(axis)] = total;
    auto out = Tensor::allocate(parts.front().element_type(), shape);
    auto s = split_at(shape, axis);
    const auto row = at(s.inner) * element_size(out.element_type());
    for (std::int64_t o = 0; o < s.outer; ++o) {
        std::int64_t offset = 0;
        for (const auto& p : parts) {
            const auto d = p.shape()[at(axis)];
            std::memcpy(out.mutable_data() + at(o * total + offset) * row,
                        p.bytes().data() + at(o * d) * row, at(d) * row);
            offset += d;
        }
    }
    return out;
}

// ---- Loop / TensorIterator -------------------------------------------------------------------

struct SlicedInput {
    const PortMap* map = nullptr;
    std::int64_t axis = 0, start = 0, part = 1, iterations = 0;
    bool reverse = false;
};

SlicedInput sliced_input(const KernelContext& ctx, const PortMap& pm) {
    const auto& in = ctx.input(at(pm.external_port));
    SlicedInput s;
    s.map = &pm;
    s.axis = norm_axis(*pm.axis, in.shape().size(), "sliced input");
    s.part = pm.part_size.value_or(1);
    LOOM_REQUIRE(s.part > 0, "sliced input {} has part_size {}", pm.external_port, s.part);
    const auto d = in.shape()[at(s.axis)];
    auto positive = [&](std::int64_t v) { return v < 0 ? v + d : v; };
    s.start = positive(pm.start.value_or(0));
    const auto end = positive(pm.end.value_or(-1));
    s.reverse = pm.stride.value_or(1) < 0;
    LOOM_REQUIRE(d == 0 || (s.start >= 0 && s.start < d && end >= 0 && end < d &&
                            (s.reverse ? end <= s.start : s.start <= end)),
                 "sliced input {}: start {} and end {} do not fit dimension {} (stride {})",
                 pm.external_port, s.start, end, d, pm.stride.value_or(1));
    s.iterations = d == 0 ? 0 : (std::abs(end - s.start) + 1) / s.part;
    return s;
}

Tensor part_of(const Tensor& in, const SlicedInput& s, std::int64_t k) {
    const auto begin = s.reverse ? s.start - (k + 1) * s.part + 1 : s.start + k * s.part;
    return slice_part(in, s.axis, begin, s.part);
}

// The iteration number as the current_iteration parameter's type and shape ([] or [1]).
Tensor iteration_tensor(const Node& param, std::int64_t k) {
    const auto& info = param.outputs.at(0);
    Shape shape;
    if (info.shape.rank_is_static() && info.shape.rank() == 1) shape = {1};
    auto type = info.type == ElementType::UNDEFINED ? ElementType::I64 : info.type;
    auto v = static_cast<double>(k);
    return make_tensor(type, shape, std::span<const double>(&v, 1));
}

// An empty (zero iterations) concatenated output: the result's inferred shape with 0 on the axis.
Tensor empty_concat(const Body& body, const PortMap& pm) {
    const auto& r = *body.model->results().at(at(pm.body_index));
    const auto& info = r.inputs.at(0).node->outputs.at(r.inputs[0].index);
    LOOM_REQUIRE(info.shape.rank_is_static(), "no iteration ran and output {} has a dynamic rank",
                 pm.external_port);
    Shape shape;
    for (const auto& d : info.shape.dims())
        shape.push_back(d.is_static() ? d.length() : 0);
    shape[at(norm_axis(*pm.axis, shape.size(), "concatenated output"))] = 0;
    return Tensor::allocate(info.type, shape);
}

// The node's outputs after the last iteration (`inputs` hold the parameters' values then).
std::vector<Tensor> loop_outputs(const KernelContext& ctx, const Body& body,
                                 std::vector<std::vector<Tensor>>& parts,
                                 const std::vector<Tensor>& last,
                                 const std::vector<Tensor>& inputs) {
    std::vector<Tensor> out(ctx.node().outputs.size());
    for (std::size_t o = 0; o < body.outputs.size(); ++o) {
        const auto& pm = body.outputs[o];
        if (pm.purpose == "execution_condition" || pm.external_port < 0) continue;
        LOOM_REQUIRE(at(pm.external_port) < out.size(), "body maps output {} of {}",
                     pm.external_port, out.size());
        auto& dst = out[at(pm.external_port)];
        if (pm.axis) {
            if (parts[o].empty()) {
                dst = empty_concat(body, pm);
                continue;
            }
            if (pm.stride.value_or(1) < 0) std::reverse(parts[o].begin(), parts[o].end());
            auto axis = norm_axis(*pm.axis, parts[o].front().shape().size(), "concatenated output");
            dst = concat_parts(parts[o], axis);
            continue;
        }
        // A loop-carried value: its parameter's value (the initial one after no iteration).
        for (const auto& e : body.back_edges)
            if (e.from_result == pm.body_index) dst = inputs.at(at(e.to_parameter));
        if (dst.empty() && !last.empty()) dst = last.at(at(pm.body_index));
        if (dst.empty()) {
            const auto& info = ctx.node().outputs[at(pm.external_port)];
            LOOM_REQUIRE(info.shape.is_static(), "no iteration ran and output {} has no value",
                         pm.external_port);
            dst = Tensor::allocate(info.type, info.shape.to_shape());
        }
    }
    for (std::size_t k = 0; k < out.size(); ++k)
        LOOM_REQUIRE(!out[k].empty(), "the body does not produce output {}", k);
    return out;
}

struct LoopSetup {
    std::int64_t first_input = 0;     // node inputs before this are the loop's own
    std::int64_t max_iterations = -1; // -1: unbounded
    bool condition = true;
    bool needs_slices = false; // TensorIterator: the sliced inputs set the iteration count
};

std::vector<Tensor> run_loop(KernelContext& ctx, const LoopSetup& setup) {
    const Body& body = body_named(ctx.node(), "body");
    const auto& params = body.model->parameters();
    std::vector<Tensor> inputs(params.size());
    std::vector<SlicedInput> sliced;
    std::int64_t iter_param = -1, cond_result = -1;
    auto limit = setup.max_iterations;
    for (const auto& pm : body.inputs) {
        LOOM_REQUIRE(pm.body_index >= 0 && at(pm.body_index) < params.size(),
                     "body has no parameter {}", pm.body_index);
        if (pm.purpose == "current_iteration") {
            iter_param = pm.body_index;
            inputs[at(pm.body_index)] = iteration_tensor(*params[at(pm.body_index)], 0);
            continue;
        }
        LOOM_REQUIRE(pm.external_port >= setup.first_input &&
                         at(pm.external_port) < ctx.input_count(),
                     "body maps node input {}", pm.external_port);
        if (!pm.axis) {
            inputs[at(pm.body_index)] = ctx.input(at(pm.external_port));
            continue;
        }
        sliced.push_back(sliced_input(ctx, pm));
        const auto n = sliced.back().iterations;
        limit = limit < 0 ? n : std::min(limit, n);
        inputs[at(pm.body_index)] = part_of(ctx.input(at(pm.external_port)), sliced.back(), 0);
    }
    LOOM_REQUIRE(!setup.needs_slices || !sliced.empty(),
                 "TensorIterator needs a sliced input to know its iteration count");
    for (const auto& pm : body.outputs)
        if (pm.purpose == "execution_condition") cond_result = pm.body_index;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        LOOM_REQUIRE(!inputs[i].empty(), "body parameter {} is not mapped", i);

    Plan plan(*body.model, ctx.registry(), *ctx.run().kernels);
    std::vector<std::vector<Tensor>> parts(body.outputs.size());
    std::vector<Tensor> last;
    bool cond = setup.condition;
    std::int64_t k = 0;
    for (; cond && (limit < 0 || k < limit); ++k) {
        for (const auto& s : sliced)
            inputs[at(s.map->body_index)] = part_of(ctx.input(at(s.map->external_port)), s, k);
        if (iter_param >= 0) inputs[at(iter_param)] = iteration_tensor(*params[at(iter_param)], k);
        last = run_plan(ctx, plan, inputs);
        for (std::size_t o = 0; o < body.outputs.size(); ++o)
            if (body.outputs[o].axis) parts[o].push_back(last.at(at(body.outputs[o].body_index)));
        if (cond_result >= 0) cond = scalar_i64(last.at(at(cond_result))) != 0;
        for (const auto& e : body.back_edges)
            inputs.at(at(e.to_parameter)) = last.at(at(e.from_result));
    }
    return loop_outputs(ctx, body, parts, last, inputs);
}

std::vector<Tensor> loop(KernelContext& ctx) {
    LoopSetup s;
    s.first_input = 2;
    const bool has_trip = ctx.has_input(0) && !ctx.input(0).empty();
    s.max_iterations = has_trip ? std::max<std::int64_t>(-1, scalar_i64(ctx.input(0))) : -1;
    s.condition = !ctx.has_input(1) || ctx.input(1).empty() || scalar_i64(ctx.input(1)) != 0;
    return run_loop(ctx, s);
}

std::vector<Tensor> tensor_iterator(KernelContext& ctx) {
    LoopSetup s;
    s.needs_slices = true;
    return run_loop(ctx, s);
}

} // namespace

void add_control_kernels(KernelTable& table) {
    // Loops are not folded: a body may run unboundedly long or hold non-foldable ops.
    const KernelOptions fold{.half_via_f32 = false, .foldable = true};
    const KernelOptions no_fold{.half_via_f32 = false, .foldable = false};
    table.add("If", "opset8", if_op, fold);
    table.add("Loop", "opset5", loop, no_fold);
    table.add("TensorIterator", "opset1", tensor_iterator, no_fold);
}

} // namespace loom::reference
