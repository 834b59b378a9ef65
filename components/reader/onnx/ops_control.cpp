// ONNX control flow and graph-structure ops: Constant, Identity, If, Loop, Scan. Bodies become
// native If (opset8), Loop (opset5) and TensorIterator (opset1) bodies; values a body reads
// from enclosing scopes become extra node inputs mapped to the body's extra parameters.

#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "components/reader/onnx/converters.hpp"
#include "components/reader/onnx/graph_converter.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {

namespace {
using model::BackEdge;
using model::Body;
using model::Node;
using model::PortMap;
using model::Tensor;
using Hints = std::vector<std::pair<ElementType, PartialShape>>;

std::vector<Output> convert_constant(ConvertContext& ctx) {
    if (ctx.has_attr("sparse_value"))
        ctx.unsupported("sparse constants ('sparse_value') are not supported");
    if (ctx.has_attr("value_string") || ctx.has_attr("value_strings"))
        ctx.unsupported("string constants are not supported");
    if (auto t = ctx.attr_tensor("value")) return {ctx.constant(std::move(*t))};
    if (ctx.has_attr("value_float"))
        return {ctx.scalar_like(ctx.attr_float("value_float", 0.0), ElementType::F32)};
    if (ctx.has_attr("value_floats")) {
        auto values = ctx.attr_floats("value_floats");
        return {ctx.constant_f32(std::vector<float>(values.begin(), values.end()))};
    }
    if (auto v = ctx.attr_int("value_int")) return {ctx.scalar_i64(*v)};
    if (ctx.has_attr("value_ints")) return {ctx.constant_i64(ctx.attr_ints("value_ints"))};
    ctx.fail("has none of the attributes value, value_float(s), value_int(s)");
}

std::vector<Output> convert_identity(ConvertContext& ctx) {
    return {ctx.input(0)};
}

const model::OutputInfo& info_of(Output value) {
    return value.node->outputs[value.index];
}

const model::OutputInfo& result_info(const model::Model& body, std::size_t i) {
    return info_of(body.results()[i]->inputs[0]);
}

// The index of `value` among `inputs`, appending it when absent.
std::int64_t port_of(std::vector<Output>& inputs, Output value, std::size_t first) {
    for (std::size_t i = first; i < inputs.size(); ++i)
        if (inputs[i] == value) return static_cast<std::int64_t>(i);
    inputs.push_back(value);
    return static_cast<std::int64_t>(inputs.size() - 1);
}

void map_captured(Body& body, const Subgraph& sub, std::vector<Output>& inputs, std::size_t first) {
    for (std::size_t c = 0; c < sub.captured.size(); ++c) {
        PortMap p;
        p.external_port = port_of(inputs, sub.captured[c], first);
        p.body_index = static_cast<std::int64_t>(sub.explicit_inputs + c);
        body.inputs.push_back(p);
    }
}

Output axes_constant(model::Model& body, std::int64_t axis, const std::string& label) {
    auto t = Tensor::allocate(ElementType::I64, {1});
    std::memcpy(t.mutable_data(), &axis, sizeof axis);
    return add_constant_node(body, std::move(t), label + "/axes").output(0);
}

// Body result `index` gets its value unsqueezed at `axis` (per-iteration parts of a
// concatenated output keep the iterated axis with size 1).
void unsqueeze_result(model::Model& body, std::size_t index, std::int64_t axis,
                      const model::OpRegistry& registry) {
    auto* result = body.results()[index];
    auto label = result->name + "/Unsqueeze";
    auto axes = axes_constant(body, axis, label);
    auto& node = body.add("Unsqueeze", "opset1", {result->inputs[0], axes}, {}, 1, label);
    model::infer_node(node, registry);
    result->inputs[0] = node.output(0);
}

// Body parameter `param` receives a slice that keeps the iterated axis (size 1): its shape
// becomes `sliced` and its readers read it squeezed at `axis`.
void squeeze_parameter(model::Model& body, Node* param, std::int64_t axis, PartialShape sliced,
                       const model::OpRegistry& registry) {
    auto uses = body.consumers(param->output(0));
    param->outputs[0].shape = sliced;
    param->attrs.set("shape", std::move(sliced));
    auto label = param->name + "/Squeeze";
    auto axes = axes_constant(body, axis, label);
    auto& node = body.add("Squeeze", "opset1", {param->output(0), axes}, {}, 1, label);
    model::infer_node(node, registry);
    for (auto [consumer, port] : uses)
        consumer->inputs[port] = node.output(0);
}

// Adds a node with bodies; outputs start typed from `types` and are refined by inference.
Node& add_with_bodies(ConvertContext& ctx, std::string type, std::string version,
                      std::vector<Output> inputs, model::Attributes attrs, std::vector<Body> bodies,
                      const std::vector<model::OutputInfo>& types) {
    auto& node = ctx.model().add(std::move(type), std::move(version), std::move(inputs),
                                 std::move(attrs), types.size());
    node.bodies = std::move(bodies);
    node.rt_info.tag = "rt_info"; // provenance, as ConvertContext::add records it
    node.rt_info.children.push_back(
        model::RtNode{"attribute",
                      {{"name", "onnx_op"},
                       {"version", "0"},
                       {"value", fmt::format("{}-{}", ctx.op_type(), ctx.opset())}},
                      {}});
    for (std::size_t i = 0; i < types.size(); ++i) {
        node.outputs[i].type = types[i].type;
        node.outputs[i].shape = types[i].shape;
    }
    model::infer_node(node, ctx.registry());
    return node;
}

std::vector<Output> outputs_of(Node& node) {
    std::vector<Output> out;
    for (std::size_t i = 0; i < node.outputs.size(); ++i)
        out.push_back(node.output(static_cast<std::uint32_t>(i)));
    return out;
}

std::vector<Output> convert_if(ConvertContext& ctx) {
    auto then_sub = ctx.attr_graph("then_branch");
    auto else_sub = ctx.attr_graph("else_branch");
    if (then_sub.explicit_inputs != 0 || else_sub.explicit_inputs != 0)
        ctx.fail("If branches must not declare graph inputs");
    auto n = then_sub.model->results().size();
    if (else_sub.model->results().size() != n || n < ctx.output_count())
        ctx.fail(fmt::format("then_branch has {} outputs, else_branch {}, the node {}", n,
                             else_sub.model->results().size(), ctx.output_count()));
    std::vector<Output> inputs{ctx.input(0)};
    Body then_body{"then_body", then_sub.model, {}, {}, {}};
    Body else_body{"else_body", else_sub.model, {}, {}, {}};
    map_captured(then_body, then_sub, inputs, 1);
    map_captured(else_body, else_sub, inputs, 1);
    std::vector<model::OutputInfo> types(n);
    for (std::size_t i = 0; i < n; ++i) {
        PortMap p;
        p.external_port = static_cast<std::int64_t>(i);
        p.body_index = static_cast<std::int64_t>(i);
        then_body.outputs.push_back(p);
        else_body.outputs.push_back(p);
        types[i].type = result_info(*then_sub.model, i).type;
        if (result_info(*then_sub.model, i).shape == result_info(*else_sub.model, i).shape)
            types[i].shape = result_info(*then_sub.model, i).shape;
    }
    auto& node = add_with_bodies(ctx, "If", "opset8", std::move(inputs), {},
                                 {std::move(then_body), std::move(else_body)}, types);
    return outputs_of(node);
}

PortMap port(std::int64_t external, std::int64_t body_index, std::string purpose = {}) {
    PortMap p;
    p.external_port = external;
    p.body_index = body_index;
    p.purpose = std::move(purpose);
    return p;
}

// An iterated port: slices (inputs) or parts (outputs) of size 1 along `axis`.
PortMap iterated(std::int64_t external, std::int64_t body_index, std::int64_t axis, bool reverse) {
    auto p = port(external, body_index);
    p.axis = axis;
    p.part_size = 1;
    p.start = reverse ? -1 : 0;
    p.end = reverse ? 0 : -1;
    p.stride = reverse ? -1 : 1;
    return p;
}

// ONNX's body parameter 1 is the loop condition; an iteration only runs while it is true, so
// inside the body it is the constant true. Native Loop bodies have no such parameter.
void drop_condition_parameter(model::Model& body) {
    auto params = body.parameters();
    auto* cond = params.at(1);
    auto t = Tensor::allocate(ElementType::BOOLEAN, {});
    *t.mutable_data() = std::byte{1};
    auto truth = add_constant_node(body, std::move(t), cond->name + "/true").output(0);
    for (auto [consumer, port] : body.consumers(cond->output(0)))
        consumer->inputs[port] = truth;
    params.erase(params.begin() + 1);
    body.set_parameters(std::move(params));
    body.remove_unused();
}

std::vector<Output> convert_loop(ConvertContext& ctx) {
    if (ctx.input_count() < 2)
        ctx.fail("Loop takes the inputs M, cond and the loop-carried values");
    auto carried = ctx.input_count() - 2;
    if (ctx.output_count() < carried)
        ctx.fail(
            fmt::format("has {} loop-carried inputs but {} outputs", carried, ctx.output_count()));
    auto scans = ctx.output_count() - carried;
    auto trip =
        ctx.has_input(0) ? ctx.input(0) : ctx.scalar_i64(std::numeric_limits<std::int64_t>::max());
    auto cond = ctx.has_input(1) ? ctx.input(1) : ctx.scalar_like(1.0, ElementType::BOOLEAN);
    Hints hints{{ElementType::I64, PartialShape(model::Shape{})},
                {ElementType::BOOLEAN, PartialShape(model::Shape{})}};
    std::vector<Output> inputs{trip, cond};
    for (std::size_t k = 0; k < carried; ++k) {
        inputs.push_back(ctx.input(2 + k));
        hints.emplace_back(ctx.input_type(2 + k), ctx.input_shape(2 + k));
    }
    auto sub = ctx.attr_graph("body", hints);
    auto& m = *sub.model;
    if (sub.explicit_inputs != 2 + carried || m.results().size() != 1 + carried + scans)
        ctx.fail(fmt::format("body has {} inputs and {} outputs; expected {} and {}",
                             sub.explicit_inputs, m.results().size(), 2 + carried,
                             1 + carried + scans));
    drop_condition_parameter(m);
    Body body{"body", sub.model, {}, {}, {}};
    body.inputs.push_back(port(-1, 0, "current_iteration"));
    body.outputs.push_back(port(-1, 0, "execution_condition"));
    std::vector<model::OutputInfo> types(carried + scans);
    for (std::size_t k = 0; k < carried; ++k) {
        auto i = static_cast<std::int64_t>(k);
        body.inputs.push_back(port(2 + i, 1 + i));
        body.back_edges.push_back(BackEdge{1 + i, 1 + i});
        body.outputs.push_back(port(i, 1 + i));
        types[k].type = result_info(m, 1 + k).type;
    }
    for (std::size_t j = 0; j < scans; ++j) {
        auto index = 1 + carried + j;
        unsqueeze_result(m, index, 0, ctx.registry());
        body.outputs.push_back(iterated(static_cast<std::int64_t>(carried + j),
                                        static_cast<std::int64_t>(index), 0, false));
        types[carried + j].type = result_info(m, index).type;
    }
    sub.explicit_inputs -= 1; // the condition parameter is gone
    map_captured(body, sub, inputs, inputs.size());
    auto& node =
        add_with_bodies(ctx, "Loop", "opset5", std::move(inputs), {}, {std::move(body)}, types);
    return outputs_of(node);
}

std::vector<Output> convert_scan_8(ConvertContext& ctx) {
    ctx.unsupported("Scan-8 (batched, with sequence_lens) is not supported; use Scan-9 or later");
}

std::int64_t normalized(ConvertContext& ctx, std::int64_t axis, std::int64_t rank,
                        std::string_view what) {
    if (axis < -rank || axis >= rank)
        ctx.fail(fmt::format("{} {} is out of range for rank {}", what, axis, rank));
    return axis < 0 ? axis + rank : axis;
}

struct ScanSpec {
    std::size_t states = 0, scan_inputs = 0, scan_outputs = 0;
    std::vector<std::int64_t> in_axes, in_dirs, out_axes, out_dirs;
};

ScanSpec scan_spec(ConvertContext& ctx) {
    ScanSpec s;
    auto m = ctx.attr_int("num_scan_inputs");
    if (!m || *m < 1 || static_cast<std::size_t>(*m) > ctx.input_count())
        ctx.fail("attribute 'num_scan_inputs' is required and must be in 1..input count");
    s.scan_inputs = static_cast<std::size_t>(*m);
    s.states = ctx.input_count() - s.scan_inputs;
    if (ctx.output_count() < s.states) ctx.fail("has fewer outputs than state variables");
    s.scan_outputs = ctx.output_count() - s.states;
    s.in_axes = ctx.attr_ints("scan_input_axes", std::vector<std::int64_t>(s.scan_inputs, 0));
    s.in_dirs = ctx.attr_ints("scan_input_directions", std::vector<std::int64_t>(s.scan_inputs, 0));
    s.out_axes = ctx.attr_ints("scan_output_axes", std::vector<std::int64_t>(s.scan_outputs, 0));
    s.out_dirs =
        ctx.attr_ints("scan_output_directions", std::vector<std::int64_t>(s.scan_outputs, 0));
    if (s.in_axes.size() != s.scan_inputs || s.in_dirs.size() != s.scan_inputs ||
        s.out_axes.size() != s.scan_outputs || s.out_dirs.size() != s.scan_outputs)
        ctx.fail("scan_input_* / scan_output_* attributes must have one entry per scan value");
    return s;
}

std::vector<Output> convert_scan(ConvertContext& ctx) {
    auto s = scan_spec(ctx);
    Hints hints;
    std::vector<Output> inputs;
    std::vector<PartialShape> sliced(s.scan_inputs);
    for (std::size_t i = 0; i < ctx.input_count(); ++i) {
        inputs.push_back(ctx.input(i));
        auto shape = ctx.input_shape(i);
        if (i >= s.states) {
            auto j = i - s.states;
            if (shape.rank_is_dynamic())
                ctx.unsupported(fmt::format("scan input {} has a dynamic rank", j));
            s.in_axes[j] = normalized(ctx, s.in_axes[j], shape.rank(), "scan_input_axes entry");
            sliced[j] = shape;
            sliced[j][static_cast<std::size_t>(s.in_axes[j])] = model::Dimension(1);
            auto& dims = shape.dims();
            dims.erase(dims.begin() + s.in_axes[j]);
        }
        hints.emplace_back(ctx.input_type(i), shape);
    }
    auto sub = ctx.attr_graph("body", hints);
    auto& m = *sub.model;
    if (sub.explicit_inputs != ctx.input_count() || m.results().size() != ctx.output_count())
        ctx.fail(fmt::format("body has {} inputs and {} outputs; expected {} and {}",
                             sub.explicit_inputs, m.results().size(), ctx.input_count(),
                             ctx.output_count()));
    Body body{"body", sub.model, {}, {}, {}};
    std::vector<model::OutputInfo> types(ctx.output_count());
    for (std::size_t k = 0; k < s.states; ++k) {
        auto i = static_cast<std::int64_t>(k);
        body.inputs.push_back(port(i, i));
        body.back_edges.push_back(BackEdge{i, i});
        body.outputs.push_back(port(i, i));
        types[k].type = result_info(m, k).type;
    }
    for (std::size_t j = 0; j < s.scan_inputs; ++j) {
        auto i = s.states + j;
        squeeze_parameter(m, m.parameters()[i], s.in_axes[j], sliced[j], ctx.registry());
        body.inputs.push_back(iterated(static_cast<std::int64_t>(i), static_cast<std::int64_t>(i),
                                       s.in_axes[j], s.in_dirs[j] != 0));
    }
    for (std::size_t j = 0; j < s.scan_outputs; ++j) {
        auto i = s.states + j;
        const auto& shape = result_info(m, i).shape;
        if (shape.rank_is_dynamic())
            ctx.unsupported(fmt::format("scan output {} has a dynamic rank", j));
        auto axis = normalized(ctx, s.out_axes[j], shape.rank() + 1, "scan_output_axes entry");
        unsqueeze_result(m, i, axis, ctx.registry());
        body.outputs.push_back(iterated(static_cast<std::int64_t>(i), static_cast<std::int64_t>(i),
                                        axis, s.out_dirs[j] != 0));
        types[i].type = result_info(m, i).type;
    }
    map_captured(body, sub, inputs, inputs.size());
    auto& node = add_with_bodies(ctx, "TensorIterator", "opset1", std::move(inputs), {},
                                 {std::move(body)}, types);
    return outputs_of(node);
}
} // namespace

void add_converters_control(std::vector<ConverterEntry>& table) {
    table.push_back({"Constant", 1, convert_constant});
    table.push_back({"Identity", 1, convert_identity});
    table.push_back({"If", 1, convert_if});
    table.push_back({"Loop", 1, convert_loop});
    table.push_back({"Scan", 8, convert_scan_8});
    table.push_back({"Scan", 9, convert_scan});
}

} // namespace loom::reader::onnx_fe
