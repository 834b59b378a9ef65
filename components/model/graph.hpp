#pragma once
// The model graph (DESIGN.md §5): nodes with an op type and version, typed attributes, inputs
// that are outputs of other nodes, outputs with element type, partial shape and tensor names.
// Parameters and Results mark the interface; sinks (Assign) are kept alive without consumers.
//
// Ownership: a Model owns its nodes; Output and Node* borrow them and are valid while the node is
// in the model. A Model is not thread-safe; share it read-only or clone it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "components/model/attribute.hpp"
#include "components/model/tensor.hpp"

namespace loom::model {

class Node;
class Model;

// One output port of a node — a value in the graph.
struct Output {
    Node* node = nullptr;
    std::uint32_t index = 0;
    bool operator==(const Output&) const = default;
};

struct OutputInfo {
    ElementType type = ElementType::UNDEFINED;
    PartialShape shape;
    std::vector<std::string> names; // tensor names (ONNX value names, IR port "names")
    RtNode rt_info;
    bool operator==(const OutputInfo&) const = default;
};

// How a body (If, Loop, TensorIterator) connects to its node. `body_index` is the index of a
// body parameter (inputs) or body result (outputs). Slice/concat fields are set for iterated
// ports; `purpose` marks Loop's special ports ("current_iteration", "execution_condition").
struct PortMap {
    std::int64_t external_port = -1;
    std::int64_t body_index = -1;
    std::optional<std::int64_t> axis, start, end, stride, part_size;
    std::string purpose;
    bool operator==(const PortMap&) const = default;
};

struct BackEdge { // after an iteration, body result `from_result` feeds parameter `to_parameter`
    std::int64_t from_result = -1;
    std::int64_t to_parameter = -1;
    bool operator==(const BackEdge&) const = default;
};

struct Body {
    std::string name; // "body", "then_body", "else_body"
    std::shared_ptr<Model> model;
    std::vector<PortMap> inputs;
    std::vector<PortMap> outputs;
    std::vector<BackEdge> back_edges;
};

class Node {
public:
    std::uint64_t id() const noexcept { return m_id; }
    Output output(std::uint32_t index = 0) noexcept { return {this, index}; }
    bool is(std::string_view op_type) const noexcept { return type == op_type; }

    std::string type;    // "Convolution", "Constant", an extension's "MyOp"
    std::string version; // "opset1", or an extension's domain/opset name
    std::string name;    // friendly name (unique names are not required)
    Attributes attrs;
    std::vector<Output> inputs;
    std::vector<OutputInfo> outputs;
    std::vector<RtNode> input_rt_info; // per input port; empty or sized like inputs
    RtNode rt_info;
    std::vector<Body> bodies;
    Tensor value; // the data of a Constant; empty otherwise

private:
    friend class Model;
    std::uint64_t m_id = 0;
};

class Model {
public:
    Model() = default;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    std::string name;
    RtNode rt_info;

    // Adds a node with `output_count` outputs (types/shapes set by shape inference).
    Node& add(std::string type, std::string version, std::vector<Output> inputs,
              Attributes attrs = {}, std::size_t output_count = 1, std::string node_name = {});
    // Parameter: appended to parameters(); output 0 typed from the arguments.
    Node& add_parameter(ElementType type, PartialShape shape, std::string node_name);
    Node& add_constant(Tensor value, std::string node_name = {});
    // Result: appended to results().
    Node& add_result(Output value, std::string node_name = {});
    void add_sink(Node& node);

    const std::vector<Node*>& parameters() const noexcept { return m_parameters; }
    const std::vector<Node*>& results() const noexcept { return m_results; }
    const std::vector<Node*>& sinks() const noexcept { return m_sinks; }
    void set_parameters(std::vector<Node*> nodes) { m_parameters = std::move(nodes); }
    void set_results(std::vector<Node*> nodes) { m_results = std::move(nodes); }

    // All nodes in insertion order.
    std::vector<Node*> nodes() const;
    std::size_t size() const noexcept { return m_nodes.size(); }
    Node* find(std::uint64_t id) const noexcept;
    bool contains(const Node* node) const noexcept;

    // Every input that reads `from` reads `to` instead (results included).
    void replace_uses(Output from, Output to);
    // Consumers of each output: (consumer, input index) lists, indexed by node id → built once
    // per call; passes rebuild it after they change the graph.
    std::vector<std::pair<Node*, std::uint32_t>> consumers(Output value) const;
    // Nodes a result or sink needs (transitively), plus the parameters when `with_parameters`.
    std::unordered_set<const Node*> needed(bool with_parameters = true) const;
    // Removes nodes that no result, sink or parameter needs; returns how many were removed.
    std::size_t remove_unused();
    // Removes `nodes`, which nothing may read any more (invalid_argument naming a node that is
    // still read, or an interface node); returns how many were removed.
    std::size_t remove(const std::vector<const Node*>& nodes);
    // Producers before consumers; invalid_argument naming a node on a cycle, or an input that
    // is not an output of a node in this model.
    std::vector<Node*> topological_order() const;
    // A deep copy (constants share their bytes, bodies are cloned).
    std::shared_ptr<Model> clone() const;
    // Counts nodes per "Type" (bodies not included).
    std::vector<std::pair<std::string, std::size_t>> histogram() const;

private:
    Node& adopt(std::unique_ptr<Node> node);

    std::vector<std::unique_ptr<Node>> m_nodes;
    std::vector<Node*> m_parameters;
    std::vector<Node*> m_results;
    std::vector<Node*> m_sinks;
    std::uint64_t m_next_id = 1;
};

// Structural equality (names, types, attributes, shapes, constant bytes, wiring by position in
// topological order, bodies, rt_info); on a difference returns a description of the first one.
std::optional<std::string> compare_models(const Model& a, const Model& b);

} // namespace loom::model
