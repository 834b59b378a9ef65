// ConvertContext: what a converter sees of its ONNX node and the graph being built.
// GraphConverter's scope and node-building parts live here too; graph traversal, function
// expansion and bodies are in onnx_reader.cpp.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "components/reader/onnx/graph_converter.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {

namespace {
using AP = onnx::AttributeProto;

std::string_view attr_type_name(int t) {
    switch (t) {
    case AP::FLOAT:
        return "float";
    case AP::INT:
        return "int";
    case AP::STRING:
        return "string";
    case AP::TENSOR:
        return "tensor";
    case AP::GRAPH:
        return "graph";
    case AP::SPARSE_TENSOR:
        return "sparse tensor";
    case AP::TYPE_PROTO:
        return "type";
    case AP::FLOATS:
        return "floats";
    case AP::INTS:
        return "ints";
    case AP::STRINGS:
        return "strings";
    case AP::TENSORS:
        return "tensors";
    case AP::GRAPHS:
        return "graphs";
    default:
        return "undefined";
    }
}

// A double stored as T; for integer types saturated (NaN as 0) — a cast of a value out of T's
// range is undefined (found by fuzz_onnx: a float attribute of -3.4e38 made an i64 constant).
template <class T>
void store(std::byte* out, double value) {
    T v{};
    if constexpr (std::is_integral_v<T>) {
        constexpr auto lo = static_cast<double>(std::numeric_limits<T>::lowest());
        constexpr auto hi = static_cast<double>(std::numeric_limits<T>::max());
        if (std::isnan(value))
            v = 0;
        else if (value <= lo)
            v = std::numeric_limits<T>::lowest();
        else if (value >= hi) // hi rounds up to 2^63 for int64: ≥ is out of range
            v = std::numeric_limits<T>::max();
        else
            v = static_cast<T>(value);
    } else {
        v = static_cast<T>(value);
    }
    std::memcpy(out, &v, sizeof(T));
}

void store_scalar(std::byte* out, double value, ElementType type) {
    switch (type) {
    case ElementType::F32:
        store<float>(out, value);
        break;
    case ElementType::F64:
        store<double>(out, value);
        break;
    case ElementType::F16: {
        auto bits = model::f32_to_f16(static_cast<float>(value));
        std::memcpy(out, &bits, 2);
        break;
    }
    case ElementType::BF16: {
        auto bits = model::f32_to_bf16(static_cast<float>(value));
        std::memcpy(out, &bits, 2);
        break;
    }
    case ElementType::I8:
        store<std::int8_t>(out, value);
        break;
    case ElementType::U8:
        store<std::uint8_t>(out, value);
        break;
    case ElementType::I16:
        store<std::int16_t>(out, value);
        break;
    case ElementType::U16:
        store<std::uint16_t>(out, value);
        break;
    case ElementType::I32:
        store<std::int32_t>(out, value);
        break;
    case ElementType::U32:
        store<std::uint32_t>(out, value);
        break;
    case ElementType::I64:
        store<std::int64_t>(out, value);
        break;
    case ElementType::U64:
        store<std::uint64_t>(out, value);
        break;
    case ElementType::BOOLEAN:
        store<std::uint8_t>(out, value != 0.0 ? 1.0 : 0.0);
        break;
    default:
        LOOM_THROW(ErrorKind::UNSUPPORTED, "cannot make a {} constant", loom::to_string(type));
    }
}
} // namespace

ConvertContext::ConvertContext(GraphConverter& graph, const onnx::NodeProto& node,
                               std::int64_t opset)
    : m_graph(graph)
    , m_node(node)
    , m_opset(opset) {}

const std::string& ConvertContext::op_type() const {
    return m_node.op_type();
}

std::size_t ConvertContext::input_count() const {
    return static_cast<std::size_t>(m_node.input_size());
}

bool ConvertContext::has_input(std::size_t i) const {
    return i < input_count() && !m_node.input(static_cast<int>(i)).empty();
}

Output ConvertContext::input(std::size_t i) const {
    if (!has_input(i)) fail(fmt::format("input {} is required but missing", i));
    return m_graph.lookup(m_node.input(static_cast<int>(i)), m_node);
}

ElementType ConvertContext::input_type(std::size_t i) const {
    auto out = input(i);
    return out.node->outputs[out.index].type;
}

const PartialShape& ConvertContext::input_shape(std::size_t i) const {
    auto out = input(i);
    return out.node->outputs[out.index].shape;
}

const model::Tensor* ConvertContext::input_constant(std::size_t i) const {
    if (!has_input(i)) return nullptr;
    auto out = input(i);
    if (!out.node->is("Constant") || out.node->value.empty()) return nullptr;
    return &out.node->value;
}

std::optional<std::vector<std::int64_t>> ConvertContext::input_values(std::size_t i) const {
    auto* t = input_constant(i);
    if (!t) return std::nullopt;
    if (model::is_integral(t->element_type())) return t->to_i64();
    if (!model::is_floating(t->element_type())) return std::nullopt;
    std::vector<std::int64_t> out;
    for (double v : t->to_f64()) {
        if (v != std::trunc(v) || std::abs(v) > 9.0e18) return std::nullopt;
        out.push_back(static_cast<std::int64_t>(v));
    }
    return out;
}

std::size_t ConvertContext::output_count() const {
    return static_cast<std::size_t>(m_node.output_size());
}

bool ConvertContext::has_output(std::size_t i) const {
    return i < output_count() && !m_node.output(static_cast<int>(i)).empty();
}

namespace {
const AP* find_attr(const onnx::NodeProto& node, std::string_view name) {
    for (const auto& a : node.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}
} // namespace

bool ConvertContext::has_attr(std::string_view name) const {
    return find_attr(m_node, name) != nullptr;
}

#define LOOM_ONNX_ATTR(name, wanted)                                                               \
    const AP* a = find_attr(m_node, name);                                                         \
    if (a && a->type() != (wanted))                                                                \
        fail(fmt::format("attribute '{}' is of type {}, expected {}", name,                        \
                         attr_type_name(a->type()), attr_type_name(wanted)));

std::int64_t ConvertContext::attr_int(std::string_view name, std::int64_t fallback) const {
    return attr_int(name).value_or(fallback);
}

std::optional<std::int64_t> ConvertContext::attr_int(std::string_view name) const {
    LOOM_ONNX_ATTR(name, AP::INT)
    if (!a) return std::nullopt;
    return a->i();
}

double ConvertContext::attr_float(std::string_view name, double fallback) const {
    if (const AP* i = find_attr(m_node, name); i && i->type() == AP::INT)
        return static_cast<double>(i->i());
    LOOM_ONNX_ATTR(name, AP::FLOAT)
    return a ? static_cast<double>(a->f()) : fallback;
}

std::string ConvertContext::attr_string(std::string_view name, std::string fallback) const {
    LOOM_ONNX_ATTR(name, AP::STRING)
    return a ? a->s() : fallback;
}

std::vector<std::int64_t> ConvertContext::attr_ints(std::string_view name,
                                                    std::vector<std::int64_t> fallback) const {
    LOOM_ONNX_ATTR(name, AP::INTS)
    if (!a) return fallback;
    return {a->ints().begin(), a->ints().end()};
}

std::vector<double> ConvertContext::attr_floats(std::string_view name,
                                                std::vector<double> fallback) const {
    LOOM_ONNX_ATTR(name, AP::FLOATS)
    if (!a) return fallback;
    return {a->floats().begin(), a->floats().end()};
}

std::vector<std::string> ConvertContext::attr_strings(std::string_view name) const {
    LOOM_ONNX_ATTR(name, AP::STRINGS)
    if (!a) return {};
    return {a->strings().begin(), a->strings().end()};
}

std::optional<model::Tensor> ConvertContext::attr_tensor(std::string_view name) const {
    LOOM_ONNX_ATTR(name, AP::TENSOR)
    if (!a) return std::nullopt;
    try {
        return tensor_from_proto(a->t(), m_graph.state().base_dir, &m_graph.state().external);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::UNSUPPORTED)
            unsupported(fmt::format("attribute '{}': {}", name, e.message()));
        fail(fmt::format("attribute '{}': {}", name, e.message()));
    }
}

Subgraph
ConvertContext::attr_graph(std::string_view name,
                           const std::vector<std::pair<ElementType, PartialShape>>& input_hints) {
    LOOM_ONNX_ATTR(name, AP::GRAPH)
    if (!a) fail(fmt::format("graph attribute '{}' is required", name));
    return m_graph.convert_subgraph(a->g(), input_hints);
}

#undef LOOM_ONNX_ATTR

model::Node& ConvertContext::add(std::string type, std::string version, std::vector<Output> inputs,
                                 model::Attributes attrs, std::size_t outputs) {
    return m_graph.add_node(std::move(type), std::move(version), std::move(inputs),
                            std::move(attrs), outputs);
}

Output ConvertContext::constant(model::Tensor value) {
    return m_graph.add_constant(std::move(value)).output(0);
}

Output ConvertContext::constant_i64(std::vector<std::int64_t> values) {
    auto t = model::Tensor::allocate(ElementType::I64, {static_cast<std::int64_t>(values.size())});
    if (!values.empty())
        std::memcpy(t.mutable_data(), values.data(), values.size() * sizeof(std::int64_t));
    return constant(std::move(t));
}

Output ConvertContext::scalar_i64(std::int64_t value) {
    auto t = model::Tensor::allocate(ElementType::I64, {});
    std::memcpy(t.mutable_data(), &value, sizeof value);
    return constant(std::move(t));
}

Output ConvertContext::constant_f32(std::vector<float> values) {
    auto t = model::Tensor::allocate(ElementType::F32, {static_cast<std::int64_t>(values.size())});
    if (!values.empty())
        std::memcpy(t.mutable_data(), values.data(), values.size() * sizeof(float));
    return constant(std::move(t));
}

Output ConvertContext::scalar_like(double value, ElementType type) {
    auto t = model::Tensor::allocate(type, {});
    store_scalar(t.mutable_data(), value, type);
    return constant(std::move(t));
}

model::Model& ConvertContext::model() {
    return m_graph.model();
}

const model::OpRegistry& ConvertContext::registry() const {
    return m_graph.registry();
}

void ConvertContext::fail(std::string_view message) const {
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "node '{}' ({}, opset {}): {}", m_graph.current_name(),
               m_node.op_type(), m_opset, message);
}

void ConvertContext::unsupported(std::string_view message) const {
    LOOM_THROW(ErrorKind::UNSUPPORTED, "node '{}' ({}, opset {}): {}", m_graph.current_name(),
               m_node.op_type(), m_opset, message);
}

// ---- GraphConverter: scope and building ----

GraphConverter::GraphConverter(ReadState& state, GraphConverter* parent, int depth)
    : m_state(state)
    , m_parent(parent)
    , m_depth(depth)
    , m_model(std::make_shared<model::Model>())
    , m_opsets(parent ? parent->m_current_opsets : &state.model_opsets)
    , m_current_opsets(m_opsets) {}

std::optional<Output> GraphConverter::find(const std::string& name) {
    if (auto it = m_values.find(name); it != m_values.end()) return it->second;
    if (!m_parent) return std::nullopt;
    auto outer = m_parent->find(name);
    if (!outer) return std::nullopt;
    const auto& info = outer->node->outputs[outer->index];
    if (outer->node->is("Constant") && !outer->node->value.empty()) {
        // An outer constant is copied into the body (bytes shared), so converters inside see
        // its values (shape inputs, axes) and the node needs no extra input.
        auto& copy = add_constant_node(*m_model, outer->node->value, outer->node->name);
        if (!name.starts_with("$fn")) copy.outputs[0].names = {name};
        m_values[name] = copy.output(0);
        return copy.output(0);
    }
    // Captured: a body Parameter standing for the outer value, after the explicit inputs.
    auto& param = m_model->add_parameter(info.type, info.shape, name);
    if (name.starts_with("$fn")) param.outputs[0].names.clear();
    m_captured.push_back(*outer);
    m_values[name] = param.output(0);
    return param.output(0);
}

Output GraphConverter::lookup(const std::string& name, const onnx::NodeProto& reader) {
    auto value = find(name);
    if (auto it = m_unproduced.find(name); !value && it != m_unproduced.end())
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "node '{}' ({}) reads '{}', an output node '{}' does not produce",
                   m_current_name, reader.op_type(), name, it->second);
    if (!value)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "node '{}' ({}) reads '{}', which no earlier node, input or initializer "
                   "defines",
                   m_current_name, reader.op_type(), name);
    return *value;
}

void GraphConverter::define(const std::string& name, Output value) {
    m_values[name] = value;
    if (name.starts_with("$fn")) return; // a function's internal value: not a model tensor name
    auto& names = value.node->outputs[value.index].names;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

model::Node& GraphConverter::add_node(std::string op, std::string version,
                                      std::vector<Output> inputs, model::Attributes attrs,
                                      std::size_t outputs) {
    auto label = m_current_name + "/" + op;
    auto& node = m_model->add(std::move(op), std::move(version), std::move(inputs),
                              std::move(attrs), outputs, std::move(label));
    m_created.push_back(&node);
    // Provenance, in the IR's rt_info form: <attribute name="onnx_op" value="Relu-17"/>.
    node.rt_info.tag = "rt_info";
    node.rt_info.children.push_back(model::RtNode{
        "attribute", {{"name", "onnx_op"}, {"version", "0"}, {"value", m_current_origin}}, {}});
    model::infer_node(node, *m_state.registry);
    return node;
}

model::Node& add_constant_node(model::Model& m, model::Tensor value, std::string node_name) {
    PartialShape shape(value.shape());
    auto& node = m.add_constant(std::move(value), std::move(node_name));
    node.attrs.set("shape", std::move(shape));
    return node;
}

model::Node& GraphConverter::add_constant(model::Tensor value) {
    auto& node = add_constant_node(*m_model, std::move(value), m_current_name + "/Constant");
    m_created.push_back(&node);
    return node;
}

} // namespace loom::reader::onnx_fe
