#pragma once
// Private to the ONNX frontend: the state of one read and the converter of one GraphProto
// (the main graph or a body). ConvertContext forwards to it; onnx_reader.cpp drives it.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "components/reader/onnx/convert_context.hpp"

namespace loom::reader::onnx_fe {

inline constexpr int k_max_nesting = 16;                            // bodies and function calls
inline constexpr std::int64_t k_max_extent = std::int64_t{1} << 40; // dims and element counts

// Domain → opset version in effect (the model's imports, or a function's).
using OpsetMap = std::map<std::string, std::int64_t, std::less<>>;

// External data files of one read, each mapped once.
struct ExternalFiles {
    std::map<std::string, std::shared_ptr<const model::MappedFile>> files;
};

// tensor_from_proto with a per-read cache of mapped external files (may be null).
model::Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir,
                                ExternalFiles* files);
// The ONNX data type of a native element type (0 = UNDEFINED when none).
std::int32_t onnx_type_from_element(ElementType type) noexcept;
// Refuses a dimension or element count above k_max_extent; `what` names the tensor or input.
void check_extent(std::int64_t value, const std::string& what);
// elements × dim (both non-negative), refused above k_max_extent.
std::int64_t extent_product(std::int64_t elements, std::int64_t dim, const std::string& what);

// A Constant node for `value` in `m`; its "shape" attribute is a Dims value (as the Constant
// spec declares it).
model::Node& add_constant_node(model::Model& m, model::Tensor value, std::string node_name);

// op type → entries sorted by since_version
using ConverterTable = std::map<std::string, std::vector<ConverterEntry>, std::less<>>;

// Shared by every GraphConverter of one read.
struct ReadState {
    const model::OpRegistry* registry = nullptr;
    std::string base_dir;
    std::string source;
    OpsetMap model_opsets;                      // "" holds the default domain's version
    const ConverterTable* converters = nullptr; // converter_table()
    // (domain, name) → model-local function
    std::map<std::pair<std::string, std::string>, const onnx::FunctionProto*> functions;
    ExternalFiles external;
    std::uint64_t next_unique = 0;
};

// The converter lookup, built once from the explicit tables (converters.hpp).
const ConverterTable& converter_table();

class GraphConverter {
public:
    // `parent` is the enclosing scope for bodies (null for the main graph); `depth` counts
    // enclosing bodies and function calls. A body's nodes use the opsets of the node that owns
    // it (a function's imports inside a function body).
    GraphConverter(ReadState& state, GraphConverter* parent, int depth);

    // The main graph: initializers → Constants, other inputs → Parameters, nodes, outputs →
    // Results named after the output values.
    std::shared_ptr<model::Model> convert_main(const onnx::GraphProto& graph);
    // A body: explicit inputs first (typed from `hints` where given), then captured values.
    Subgraph convert_body(const onnx::GraphProto& graph,
                          const std::vector<std::pair<ElementType, PartialShape>>& hints);
    // A nested body of the node being converted.
    Subgraph convert_subgraph(const onnx::GraphProto& graph,
                              const std::vector<std::pair<ElementType, PartialShape>>& hints);

    ReadState& state() noexcept { return m_state; }
    model::Model& model() noexcept { return *m_model; }
    const model::OpRegistry& registry() const noexcept { return *m_state.registry; }

    // The value named `name` here or, captured as a body Parameter, in an enclosing scope.
    std::optional<Output> find(const std::string& name);
    // As find(); invalid_argument naming `name` and the reading node when undefined.
    Output lookup(const std::string& name, const onnx::NodeProto& reader);

    // Nodes made while converting the current ONNX node (ConvertContext::add / constant).
    model::Node& add_node(std::string op, std::string version, std::vector<Output> inputs,
                          model::Attributes attrs, std::size_t outputs);
    model::Node& add_constant(model::Tensor value);
    const std::string& current_name() const noexcept { return m_current_name; }

    // Converts one node with the opsets in effect (`opsets[""]` is the default domain).
    void convert_node(const onnx::NodeProto& node, const OpsetMap& opsets,
                      const std::string& friendly);

private:
    void define(const std::string& name, Output value);
    void add_initializers(const onnx::GraphProto& graph);
    void convert_nodes(const onnx::GraphProto& graph);
    void run_converter(const ConverterEntry& entry, const onnx::NodeProto& node, std::int64_t opset,
                       const std::string& friendly);
    void expand_function(const onnx::FunctionProto& fn, const onnx::NodeProto& caller,
                         const OpsetMap& caller_opsets, const std::string& friendly,
                         const void* schema);
    bool try_schema_function(const onnx::NodeProto& node, const OpsetMap& opsets,
                             std::int64_t opset, const std::string& friendly);
    // Operators an extension provides for a non-default domain (the registry's conversions,
    // then its extension ops); false when none does.
    bool try_extension(const onnx::NodeProto& node, const std::string& domain,
                       const std::string& version, const std::string& friendly);
    // `what` describes the node for errors: "Op, domain d, version 1".
    void run_conversion(const model::ConversionSpec& conversion, const onnx::NodeProto& node,
                        const std::string& what, const std::string& friendly);
    void add_extension_op(const model::OpSpec& spec, const onnx::NodeProto& node,
                          const std::string& what, const std::string& friendly);
    // The node's inputs for an extension: an omitted optional input is Output{} (null node),
    // trailing omitted inputs are dropped.
    std::vector<Output> extension_inputs(const onnx::NodeProto& node);
    // Maps the ONNX node's outputs to `outs` (Output{}: not produced).
    void define_outputs(const onnx::NodeProto& node, const std::vector<Output>& outs,
                        const std::string& friendly);

    ReadState& m_state;
    GraphConverter* m_parent;
    int m_depth;
    std::shared_ptr<model::Model> m_model;
    std::unordered_map<std::string, Output> m_values;
    std::vector<Output> m_captured;
    const OpsetMap* m_opsets;         // in effect for this graph's nodes
    const OpsetMap* m_current_opsets; // in effect for the node being converted
    std::string m_current_name;
    std::string m_current_origin; // "Relu-17" (domain-qualified outside ai.onnx)
    std::vector<model::Node*> m_created;
    // ONNX value name → the node whose converter left that output out
    std::unordered_map<std::string, std::string> m_unproduced;
};

// "Parameter" type and shape of an ONNX ValueInfo; unsupported naming the value for strings,
// sequences, optionals and maps. nullopt when the value has no type.
std::optional<std::pair<ElementType, PartialShape>>
value_info_type(const onnx::ValueInfoProto& info);

} // namespace loom::reader::onnx_fe
