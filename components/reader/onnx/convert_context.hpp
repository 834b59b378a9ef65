#pragma once
// The ONNX → native op set conversion API (private to components/reader). One converter per
// ONNX op type (and "since" opset version) turns a NodeProto into native nodes — OpenVINO's
// opsets, attribute names and semantics as in OpenVINO's operation specification — the way
// OpenVINO's ONNX frontend does. Converters are listed in explicit tables (converters.hpp).
//
// Nodes are typed as they are added (shape inference runs on each new node), so a converter can
// ask for the type and partial shape of any input.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"

namespace onnx {
class NodeProto;
class GraphProto;
class TensorProto;
class AttributeProto;
} // namespace onnx

namespace loom::reader::onnx_fe {

using model::ElementType;
using model::Output;
using model::PartialShape;

class GraphConverter; // converts one GraphProto (the main graph or a body); convert_context.cpp

// A converted ONNX subgraph (If/Loop/Scan body): its model, with one body Parameter per graph
// input first, then one per outer-scope value the body reads (`captured`, in the parent's
// scope, in the same order as those extra parameters).
struct Subgraph {
    std::shared_ptr<model::Model> model;
    std::size_t explicit_inputs = 0;
    std::vector<Output> captured;
};

class ConvertContext {
public:
    ConvertContext(GraphConverter& graph, const onnx::NodeProto& node, std::int64_t opset);

    const onnx::NodeProto& node() const noexcept { return m_node; }
    const std::string& op_type() const;
    // The default-domain opset version in effect for this node.
    std::int64_t opset() const noexcept { return m_opset; }

    // Inputs: ONNX marks an omitted optional input with an empty name.
    std::size_t input_count() const;
    bool has_input(std::size_t i) const;
    Output input(std::size_t i) const; // invalid_argument when missing
    ElementType input_type(std::size_t i) const;
    const PartialShape& input_shape(std::size_t i) const;
    // The values of input i when it is a constant (initializer or Constant node); else nullopt.
    const model::Tensor* input_constant(std::size_t i) const;
    std::optional<std::vector<std::int64_t>> input_values(std::size_t i) const;
    std::size_t output_count() const; // outputs the ONNX node declares (incl. empty names)
    bool has_output(std::size_t i) const;

    // Attributes (typed getters: invalid_argument when present with another type).
    bool has_attr(std::string_view name) const;
    std::int64_t attr_int(std::string_view name, std::int64_t fallback) const;
    std::optional<std::int64_t> attr_int(std::string_view name) const;
    double attr_float(std::string_view name, double fallback) const;
    std::string attr_string(std::string_view name, std::string fallback) const;
    std::vector<std::int64_t> attr_ints(std::string_view name,
                                        std::vector<std::int64_t> fallback = {}) const;
    std::vector<double> attr_floats(std::string_view name, std::vector<double> fallback = {}) const;
    std::vector<std::string> attr_strings(std::string_view name) const;
    // A tensor attribute converted to a Tensor; nullopt when absent.
    std::optional<model::Tensor> attr_tensor(std::string_view name) const;
    // A graph attribute converted to a body; the body's explicit inputs take the given types
    // and shapes (ONNX graph inputs may leave them out, e.g. Loop bodies).
    Subgraph attr_graph(std::string_view name,
                        const std::vector<std::pair<ElementType, PartialShape>>& input_hints = {});

    // Building. Nodes get the ONNX node's name (suffixed for helpers) as friendly name, are
    // typed on creation, and keep ONNX's version in rt_info for provenance.
    model::Node& add(std::string type, std::string version, std::vector<Output> inputs,
                     model::Attributes attrs = {}, std::size_t outputs = 1);
    Output constant(model::Tensor value);
    Output constant_i64(std::vector<std::int64_t> values); // 1-D
    Output scalar_i64(std::int64_t value);                 // rank 0
    Output constant_f32(std::vector<float> values);        // 1-D
    Output scalar_like(double value, ElementType type);    // rank-0 constant of `type`

    model::Model& model();
    const model::OpRegistry& registry() const;

    // An invalid_argument / unsupported error naming this node, its op type and opset.
    [[noreturn]] void fail(std::string_view message) const;
    [[noreturn]] void unsupported(std::string_view message) const;

private:
    GraphConverter& m_graph;
    const onnx::NodeProto& m_node;
    std::int64_t m_opset;
};

// Returns the native outputs for the ONNX node's outputs, in order (Output{} for an output
// the converter does not produce, which is an error if the ONNX graph uses it).
using Converter = std::vector<Output> (*)(ConvertContext& ctx);

struct ConverterEntry {
    std::string_view op_type;
    std::int64_t since_version; // the entry applies from this opset until the next entry
    Converter convert;
};

// ONNX TensorProto → Tensor (raw_data, typed fields, external data relative to `base_dir`;
// strings refused as unsupported). Sizes checked against the declared dims.
model::Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir);
ElementType element_type_from_onnx(std::int32_t onnx_type); // UNDEFINED when not supported

} // namespace loom::reader::onnx_fe
