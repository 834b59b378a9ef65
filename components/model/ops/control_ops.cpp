// Subgraph ops: If (opset8), Loop (opset5), TensorIterator (opset1). Their bodies live in
// Node::bodies; PortMaps tie node inputs to body parameters and body results to node outputs.
//
// Inference contract: each body's mapped parameters take the types and shapes of the node's
// inputs (attributes "element_type"/"shape" and the parameter's output are both updated), the
// body is inferred with the same registry, and the node's outputs come from the body results.
// Bodies are changed in place. Errors inside a body name the body.
#include <algorithm>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

std::size_t at(std::int64_t i) {
    return static_cast<std::size_t>(i);
}
std::int64_t count(std::size_t n) {
    return static_cast<std::int64_t>(n);
}

Body& require_body(Node& node, std::string_view body_name) {
    for (auto& b : node.bodies)
        if (b.name == body_name) {
            LOOM_REQUIRE(b.model != nullptr, "body '{}' has no model", body_name);
            return b;
        }
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{} needs a body '{}' ({} bodies present)", node.type,
               body_name, node.bodies.size());
}

Node& body_parameter(const Body& body, std::int64_t index) {
    const auto& params = body.model->parameters();
    LOOM_REQUIRE(index >= 0 && index < count(params.size()),
                 "body '{}' has no parameter {} ({} parameters)", body.name, index, params.size());
    return *params[at(index)];
}

// Types body parameter `index` as (type, shape): its attributes and its output.
void set_parameter(const Body& body, std::int64_t index, ElementType type,
                   const PartialShape& shape) {
    Node& p = body_parameter(body, index);
    p.attrs.set("element_type", type);
    p.attrs.set("shape", shape);
    if (p.outputs.empty()) p.outputs.resize(1);
    p.outputs[0].type = type;
    p.outputs[0].shape = shape;
}

const OutputInfo& body_result(const Body& body, std::int64_t index) {
    const auto& results = body.model->results();
    LOOM_REQUIRE(index >= 0 && index < count(results.size()),
                 "body '{}' has no result {} ({} results)", body.name, index, results.size());
    const Node& r = *results[at(index)];
    LOOM_REQUIRE(r.inputs.size() == 1 && r.inputs[0].node != nullptr,
                 "result {} of body '{}' has no input", index, body.name);
    return r.inputs[0].node->outputs.at(r.inputs[0].index);
}

void infer_body(const Body& body, const OpRegistry& registry) {
    try {
        infer_and_validate(*body.model, registry);
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "in body '{}': {}", body.name, e.message());
    }
}

void require_external(const InferContext& ctx, const PortMap& pm, std::size_t first,
                      std::string_view body_name) {
    LOOM_REQUIRE(pm.external_port >= count(first) && pm.external_port < count(ctx.input_count()),
                 "body '{}' maps input {}, but the node has inputs {}..{}", body_name,
                 pm.external_port, first, ctx.input_count() - 1);
}

// Shapes a and b where they agree; dims that differ become dynamic, ranks that differ make the
// rank dynamic (OpenVINO's rule for If outputs and loop-carried values).
PartialShape relax(const PartialShape& a, const PartialShape& b) {
    if (a.rank_is_dynamic() || b.rank_is_dynamic() || a.rank() != b.rank())
        return PartialShape::dynamic();
    PartialShape out = a;
    for (std::size_t i = 0; i < out.dims().size(); ++i)
        if (!(a[i] == b[i])) out[i] = Dimension();
    return out;
}

// One more than the highest output port a body maps; each output port must be mapped, so
// the count cannot exceed the number of output maps of all bodies.
std::size_t output_count(const Node& node) {
    std::int64_t n = -1;
    std::size_t maps = 0;
    for (const auto& b : node.bodies)
        for (const auto& pm : b.outputs) {
            n = std::max(n, pm.external_port);
            ++maps;
        }
    LOOM_REQUIRE(at(n + 1) <= maps, "bodies map output {} but only {} output ports", n, maps);
    return at(n + 1);
}

// One element, whatever the rank: ONNX asks only that of If's condition and Loop's inputs, and
// exporters write [1] or [1,1].
bool single_element(const PartialShape& s) {
    if (s.rank_is_dynamic()) return true;
    for (std::int64_t i = 0; i < s.rank(); ++i)
        if (!s[i].compatible(1)) return false;
    return true;
}

// ---- If ------------------------------------------------------------------------------------

const PortMap* output_port(const Body& body, std::size_t k) {
    for (const auto& pm : body.outputs)
        if (pm.external_port == count(k)) return &pm;
    return nullptr;
}

void infer_if(InferContext& ctx) {
    Node& node = ctx.node();
    LOOM_REQUIRE(single_element(ctx.input_shape(0)),
                 "If condition must have one element, has shape {}",
                 ctx.input_shape(0).to_string());
    auto ctype = ctx.input_type(0);
    LOOM_REQUIRE(ctype == ElementType::BOOLEAN || ctype == ElementType::UNDEFINED,
                 "If condition must be boolean, not {}", loom::to_string(ctype));
    Body& then_body = require_body(node, "then_body");
    Body& else_body = require_body(node, "else_body");
    for (Body* body : {&then_body, &else_body}) {
        for (const auto& pm : body->inputs) {
            require_external(ctx, pm, 1, body->name);
            set_parameter(*body, pm.body_index, ctx.input_type(at(pm.external_port)),
                          ctx.input_shape(at(pm.external_port)));
        }
        infer_body(*body, ctx.registry());
    }
    auto cond = ctx.input_values(0);
    const Body* chosen = cond ? ((*cond)[0] != 0 ? &then_body : &else_body) : nullptr;
    auto n = output_count(node);
    ctx.set_output_count(n);
    for (std::size_t k = 0; k < n; ++k) {
        const PortMap* t = output_port(then_body, k);
        const PortMap* e = output_port(else_body, k);
        if (chosen) {
            const PortMap* pm = chosen == &then_body ? t : e;
            LOOM_REQUIRE(pm, "body '{}' does not produce output {}", chosen->name, k);
            const auto& r = body_result(*chosen, pm->body_index);
            ctx.set_output(k, r.type, r.shape);
            continue;
        }
        LOOM_REQUIRE(t && e, "output {} is not produced by both then_body and else_body", k);
        const auto& rt = body_result(then_body, t->body_index);
        const auto& re = body_result(else_body, e->body_index);
        LOOM_REQUIRE(rt.type == re.type, "output {} is {} in then_body but {} in else_body", k,
                     loom::to_string(rt.type), loom::to_string(re.type));
        ctx.set_output(k, rt.type, relax(rt.shape, re.shape));
    }
}

// ---- Loop / TensorIterator -----------------------------------------------------------------

struct Iterations {
    std::optional<std::int64_t> exact; // the iteration count when known for sure
    std::optional<std::int64_t> bound; // an upper bound when known
};

// Sets a sliced input's parameter and returns the iteration count the slicing implies.
std::optional<std::int64_t> set_sliced(const InferContext& ctx, const Body& body,
                                       const PortMap& pm) {
    const auto& in = ctx.input_shape(at(pm.external_port));
    auto type = ctx.input_type(at(pm.external_port));
    if (in.rank_is_dynamic()) {
        set_parameter(body, pm.body_index, type, in);
        return std::nullopt;
    }
    auto axis = dim_axis(*pm.axis, in.rank(), "sliced input axis");
    auto part = pm.part_size.value_or(1);
    LOOM_REQUIRE(part > 0, "sliced input {} has part_size {}", pm.external_port, part);
    PartialShape shape = in;
    shape[at(axis)] = Dimension(part);
    set_parameter(body, pm.body_index, type, shape);
    const auto& d = in[at(axis)];
    if (d.is_dynamic()) return std::nullopt;
    auto positive = [&](std::int64_t v) { return v < 0 ? v + d.length() : v; };
    auto start = positive(pm.start.value_or(0)), end = positive(pm.end.value_or(-1));
    return (std::abs(end - start) + 1) / part;
}

// Types the body's parameters from the node's inputs (inputs before `first` are the loop's
// own); returns the iteration count sliced inputs imply, if any.
std::optional<std::int64_t> set_loop_inputs(const InferContext& ctx, const Body& body,
                                            std::size_t first) {
    std::optional<std::int64_t> n;
    for (const auto& pm : body.inputs) {
        if (pm.purpose == "current_iteration") {
            body_parameter(body, pm.body_index); // keeps its declared type
            continue;
        }
        LOOM_REQUIRE(pm.purpose.empty(), "input port purpose '{}' is unknown", pm.purpose);
        require_external(ctx, pm, first, body.name);
        if (!pm.axis) {
            set_parameter(body, pm.body_index, ctx.input_type(at(pm.external_port)),
                          ctx.input_shape(at(pm.external_port)));
            continue;
        }
        auto k = set_sliced(ctx, body, pm);
        if (k && n) LOOM_REQUIRE(*k == *n, "sliced inputs imply {} and {} iterations", *n, *k);
        if (k) n = k;
    }
    return n;
}

// Infers the body until the back edges agree with their parameters: a loop-carried value whose
// shape changes across iterations gets dynamic dims (or a dynamic rank).
void infer_with_back_edges(const Body& body, const OpRegistry& registry) {
    constexpr int k_rounds = 8;
    for (int round = 0;; ++round) {
        infer_body(body, registry);
        bool changed = false;
        for (const auto& edge : body.back_edges) {
            const auto& r = body_result(body, edge.from_result);
            Node& p = body_parameter(body, edge.to_parameter);
            auto ptype = p.outputs[0].type;
            LOOM_REQUIRE(r.type == ptype || r.type == ElementType::UNDEFINED,
                         "back edge from result {} carries {} into parameter {} of type {}",
                         edge.from_result, loom::to_string(r.type), edge.to_parameter,
                         loom::to_string(ptype));
            auto shape =
                round < k_rounds ? relax(p.outputs[0].shape, r.shape) : PartialShape::dynamic();
            if (shape == p.outputs[0].shape) continue;
            set_parameter(body, edge.to_parameter, ptype, shape);
            changed = true;
        }
        if (!changed) return;
        LOOM_REQUIRE(round <= k_rounds, "body '{}' shapes do not settle", body.name);
    }
}

void set_loop_outputs(InferContext& ctx, const Body& body, const Iterations& it) {
    ctx.set_output_count(output_count(ctx.node()));
    for (const auto& pm : body.outputs) {
        if (pm.purpose == "execution_condition") continue;
        LOOM_REQUIRE(pm.purpose.empty(), "output port purpose '{}' is unknown", pm.purpose);
        LOOM_REQUIRE(pm.external_port >= 0, "body '{}' maps result {} to output {}", body.name,
                     pm.body_index, pm.external_port);
        const auto& r = body_result(body, pm.body_index);
        PartialShape shape = r.shape;
        if (pm.axis && shape.rank_is_static()) {
            auto axis = dim_axis(*pm.axis, shape.rank(), "concatenated output axis");
            const auto part = shape[at(axis)];
            if (it.exact)
                shape[at(axis)] = part * Dimension(*it.exact);
            else if (it.bound && part.max() != Dimension::k_unbounded)
                shape[at(axis)] = Dimension(0, part.max() * *it.bound);
            else
                shape[at(axis)] = Dimension();
        }
        ctx.set_output(at(pm.external_port), r.type, std::move(shape));
    }
}

// True when the body's condition result is a constant true (or there is none).
bool body_condition_always_true(const Body& body) {
    for (const auto& pm : body.outputs) {
        if (pm.purpose != "execution_condition") continue;
        const auto& results = body.model->results();
        LOOM_REQUIRE(pm.body_index >= 0 && pm.body_index < count(results.size()),
                     "execution_condition names result {} of {}", pm.body_index, results.size());
        const Node& r = *results[at(pm.body_index)];
        const Node* src = r.inputs.empty() ? nullptr : r.inputs[0].node;
        if (!src || src->type != "Constant" || src->value.empty()) return false;
        auto v = src->value.to_i64();
        return !v.empty() && v[0] != 0;
    }
    return true;
}

void infer_loop(InferContext& ctx) {
    Body& body = require_body(ctx.node(), "body");
    LOOM_REQUIRE(single_element(ctx.input_shape(0)) && single_element(ctx.input_shape(1)),
                 "Loop trip count and execution condition must have one element each, have "
                 "shapes {} and {}",
                 ctx.input_shape(0).to_string(), ctx.input_shape(1).to_string());
    auto slices = set_loop_inputs(ctx, body, 2);
    infer_with_back_edges(body, ctx.registry());
    auto trip = ctx.input_values(0);
    auto cond = ctx.input_values(1);
    Iterations it;
    if (trip && !trip->empty() && (*trip)[0] >= 0) it.bound = (*trip)[0];
    if (slices) it.bound = it.bound ? std::min(*it.bound, *slices) : *slices;
    bool always = cond && !cond->empty() && (*cond)[0] != 0 && body_condition_always_true(body);
    if (cond && !cond->empty() && (*cond)[0] == 0)
        it.exact = 0;
    else if (always && it.bound)
        it.exact = it.bound;
    set_loop_outputs(ctx, body, it);
}

void infer_tensor_iterator(InferContext& ctx) {
    Body& body = require_body(ctx.node(), "body");
    auto slices = set_loop_inputs(ctx, body, 0);
    infer_with_back_edges(body, ctx.registry());
    Iterations it;
    it.exact = it.bound = slices;
    set_loop_outputs(ctx, body, it);
}

} // namespace

void add_control_ops(OpRegistry& r) {
    add_spec(r, "If", "opset8", {}, 1, SIZE_MAX, infer_if);
    add_spec(r, "Loop", "opset5", {}, 2, SIZE_MAX, infer_loop);
    add_spec(r, "TensorIterator", "opset1", {}, 0, SIZE_MAX, infer_tensor_iterator);
}

} // namespace loom::model::ops
