// OpNode (nodes.hpp): an op of the request's pinned registry snapshot run on host tensors.

#include <fmt/format.h>

#include "components/pipeline/nodes.hpp"
#include "schemas/error.hpp"

namespace loom::pipeline {
namespace {

// A TOML value converted to the kind the op declares (ints where floats are wanted, a type
// name where a type is wanted); other mismatches are left for check_attributes to name.
model::AttrValue to_kind(const model::AttrValue& v, model::AttrKind kind) {
    using K = model::AttrKind;
    if (kind == K::Float && std::holds_alternative<std::int64_t>(v))
        return static_cast<double>(std::get<std::int64_t>(v));
    if (kind == K::Floats && std::holds_alternative<std::vector<std::int64_t>>(v)) {
        std::vector<double> out;
        for (auto i : std::get<std::vector<std::int64_t>>(v))
            out.push_back(static_cast<double>(i));
        return out;
    }
    if (kind == K::Type && std::holds_alternative<std::string>(v))
        if (auto t = element_type_from_string(std::get<std::string>(v))) return *t;
    if (kind == K::Dims && std::holds_alternative<std::vector<std::int64_t>>(v)) {
        std::vector<model::Dimension> dims;
        for (auto d : std::get<std::vector<std::int64_t>>(v))
            dims.push_back(d < 0 ? model::Dimension::dynamic() : model::Dimension(d));
        return model::PartialShape(std::move(dims));
    }
    return v;
}

// A one-op model over parameters of `inputs`' types; the op's outputs typed by its inference
// (strings allowed: these run on the host, not on a device).
model::Node& typed_node(model::Model& m, const model::OpSpec& spec, const std::string& name,
                        const model::Attributes& attrs,
                        const std::vector<std::pair<ElementType, model::PartialShape>>& inputs,
                        const model::OpRegistry& ops) {
    std::vector<model::Output> wires;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        wires.push_back(
            m.add_parameter(inputs[i].first, inputs[i].second, fmt::format("in{}", i)).output());
    auto& node = m.add(spec.type, spec.version, std::move(wires), attrs, 1, name);
    LOOM_REQUIRE(inputs.size() >= spec.min_inputs && inputs.size() <= spec.max_inputs,
                 "node '{}': {} takes {}..{} inputs, the node wires {}", name, spec.type,
                 spec.min_inputs, spec.max_inputs, inputs.size());
    try {
        model::check_attributes(node, spec);
        if (spec.infer) {
            model::InferContext ctx(node, ops);
            spec.infer(ctx);
        }
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "node '{}' ({}@{}): {}", name, spec.type, spec.version, e.message());
    }
    return node;
}

} // namespace

OpNode::OpNode(const NodeSpec& spec, const std::vector<protocol::Port>& input_types,
               const model::OpRegistry& ops)
    : m_spec(spec) {
    const auto& op = find(ops);
    for (const auto& [name, value] : spec.attrs.entries()) {
        const auto* declared = op.find_attr(name);
        m_attrs.set(name, declared ? to_kind(value, declared->kind) : value);
    }
    std::vector<std::pair<ElementType, model::PartialShape>> types;
    for (const auto& p : input_types)
        types.emplace_back(p.type, p.shape);
    model::Model m;
    auto& node = typed_node(m, op, spec.name, m_attrs, types, ops);
    m_inputs = input_types;
    const auto count = node.outputs.size();
    LOOM_REQUIRE(spec.output_names.empty() || spec.output_names.size() == count,
                 "node '{}': `outputs` names {} outputs but {} has {}", spec.name,
                 spec.output_names.size(), spec.target, count);
    for (std::size_t i = 0; i < count; ++i) {
        protocol::Port p;
        p.index = i;
        p.name = !spec.output_names.empty() ? spec.output_names[i]
                 : count == 1               ? std::string("output")
                                            : fmt::format("output{}", i);
        p.names = {p.name};
        p.type = node.outputs[i].type;
        p.shape = node.outputs[i].shape;
        m_outputs.push_back(std::move(p));
    }
}

const model::OpSpec& OpNode::find(const model::OpRegistry& ops) const {
    const auto* op = ops.find(m_spec.target, m_spec.domain);
    if (!op)
        LOOM_THROW(ErrorKind::NOT_FOUND,
                   "node '{}': no operation {} in domain '{}' (load the extension that "
                   "provides it: `extensions = [...]` in the pipeline, or add_extension)",
                   m_spec.name, m_spec.target, m_spec.domain);
    return *op;
}

std::vector<model::Tensor> OpNode::run(std::vector<model::Tensor> inputs, const void*,
                                       const model::OpRegistry& ops) {
    const auto& op = find(ops);
    std::vector<std::pair<ElementType, model::PartialShape>> types;
    for (const auto& t : inputs)
        types.emplace_back(t.element_type(), model::PartialShape(t.shape()));
    model::Model m;
    auto& node = typed_node(m, op, m_spec.name, m_attrs, types, ops);
    std::vector<model::Tensor> out;
    try {
        if (op.evaluate) {
            out = op.evaluate(node, inputs);
        } else if (op.cpu_kernel) {
            for (const auto& o : node.outputs) {
                LOOM_REQUIRE(o.shape.is_static(),
                             "an output's shape {} depends on the data and the op has no "
                             "host evaluate",
                             o.shape.to_string());
                out.push_back(model::Tensor::allocate(o.type, o.shape.to_shape()));
            }
            const model::ParallelFor serial = [](std::size_t n, const auto& body) { body(0, n); };
            model::CpuKernelContext ctx{node, inputs, out, serial};
            op.cpu_kernel(ctx);
        } else {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "{}@{} has neither a host evaluate nor a CPU kernel",
                       op.type, op.version);
        }
    } catch (const Error& e) {
        if (e.message().starts_with("node '")) throw;
        LOOM_THROW(e.kind(), "node '{}' ({}@{}): {}", m_spec.name, op.type, op.version,
                   e.message());
    }
    LOOM_REQUIRE(out.size() == m_outputs.size(), "node '{}': {} returned {} outputs, not {}",
                 m_spec.name, op.type, out.size(), m_outputs.size());
    for (std::size_t i = 0; i < out.size(); ++i)
        LOOM_REQUIRE(out[i].element_type() == m_outputs[i].type,
                     "node '{}': {} returned output {} as {}, its inference said {}", m_spec.name,
                     op.type, i, loom::to_string(out[i].element_type()),
                     loom::to_string(m_outputs[i].type));
    return out;
}

} // namespace loom::pipeline
