#pragma once
// The three kinds of pipeline node (spec.hpp): a model compiled on a device, an op from the
// process's op registry (an extension's, for pre/post-processing), and a component reached over
// the bus that implements the pipeline-node method (schemas/pipeline.capnp). Each knows its
// ports and runs one step on host tensors. Threading: run() is called from many threads at once.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <loom/core.hpp>

#include "components/model/op_registry.hpp"
#include "components/pipeline/spec.hpp"
#include "components/runtime/deployment.hpp"
#include "kernel/routed_channel.hpp"

namespace loom::pipeline {

// What one request pins when it starts, for its whole run: the op registry snapshot (extension
// versions) and each node's version (a model node's compiled model) — so no request mixes
// versions when a node is swapped under load.
struct Pins {
    std::shared_ptr<const model::OpRegistry> registry;
    std::vector<std::shared_ptr<const void>> versions; // per node; null: the node has none
};

class Node {
public:
    virtual ~Node() = default;
    // Input ports in the order run() takes them (the node spec's wires feed them in order).
    const std::vector<protocol::Port>& inputs() const noexcept { return m_inputs; }
    const std::vector<protocol::Port>& outputs() const noexcept { return m_outputs; }
    // The version a request pins (null: none).
    virtual std::shared_ptr<const void> version() const { return nullptr; }
    // One step: inputs in port order → outputs in port order. Errors are typed loom::Errors.
    virtual std::vector<model::Tensor> run(std::vector<model::Tensor> inputs, const void* version,
                                           const model::OpRegistry& ops) = 0;

protected:
    // Maps the spec's wires onto `ports` (by the spec's input names, else in order): fills
    // m_inputs and m_wire_to_port; invalid_argument when counts differ (`what` names the
    // target) or a port is wired twice.
    void wire_inputs(const NodeSpec& spec, const std::vector<protocol::Port>& ports,
                     const std::string& what);
    std::vector<protocol::Port> m_inputs, m_outputs;
    std::vector<std::size_t> m_wire_to_port; // spec wire i feeds the target's input port
};

// A model file compiled on a device (any name the Core takes: "CPU", "CPU@nodeb", "MULTI:…").
// Inputs are matched to the spec's input names (or taken in order when the wires are a list).
class ModelNode final : public Node {
public:
    ModelNode(const Core& core, const NodeSpec& spec, const Properties& properties);
    std::shared_ptr<const void> version() const override;
    std::vector<model::Tensor> run(std::vector<model::Tensor> inputs, const void* version,
                                   const model::OpRegistry& ops) override;
    // Compiles the model at `path` (a new version) beside the running one and switches to it
    // once compiled: requests that pinned the old version finish on it. invalid_argument (the
    // old one stays) when its inputs or outputs differ in names or element types.
    void swap(const std::string& path);

private:
    struct Version;
    std::shared_ptr<Version> compile(const std::string& path) const;

    const Core& m_core;
    NodeSpec m_spec;
    Properties m_properties;
    mutable std::mutex m_mutex; // guards m_current
    std::shared_ptr<Version> m_current;
};

// An op of the registry (type + domain), evaluated on host tensors: its host `evaluate` when it
// has one (outputs may have data-dependent shapes), else its CPU kernel.
class OpNode final : public Node {
public:
    // `input_types`: the values its wires carry (for shape inference and the output types).
    OpNode(const NodeSpec& spec, const std::vector<protocol::Port>& input_types,
           const model::OpRegistry& ops);
    std::vector<model::Tensor> run(std::vector<model::Tensor> inputs, const void* version,
                                   const model::OpRegistry& ops) override;

private:
    const model::OpSpec& find(const model::OpRegistry& ops) const;
    NodeSpec m_spec;
    model::Attributes m_attrs; // converted to the kinds the op's spec declares
};

// A component of the deployment (by name) or a service at an endpoint, that implements the
// pipeline-node method. A request pins the instance serving the name when it starts (its
// version): every call of that request — one per item — reaches that instance. When a swap
// drains it mid-request, run() throws `moved` and the pipeline runs the request again on the
// new instance (component nodes must be stateless, as a swap's rule assumes).
class ComponentNode final : public Node {
public:
    ComponentNode(const Core& core, const NodeSpec& spec);
    std::shared_ptr<const void> version() const override;
    std::vector<model::Tensor> run(std::vector<model::Tensor> inputs, const void* version,
                                   const model::OpRegistry& ops) override;

private:
    NodeSpec m_spec;
    kernel::RoutedChannel* m_routed = nullptr; // by name; null: by endpoint (m_call)
    runtime::DeviceCaller m_call;
};

// The port of `ports` a spec's input name names (its name or any tensor name); invalid_argument
// naming the node and what exists.
std::size_t named_port(const std::vector<protocol::Port>& ports, const std::string& name,
                       const std::string& node);

} // namespace loom::pipeline
