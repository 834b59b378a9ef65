// What the node kinds share (nodes.hpp): finding ports, wiring a spec's inputs onto them.

#include "components/pipeline/nodes.hpp"
#include "schemas/error.hpp"

namespace loom::pipeline {

std::size_t named_port(const std::vector<protocol::Port>& ports, const std::string& name,
                       const std::string& node) {
    for (const auto& p : ports) {
        if (p.name == name) return p.index;
        for (const auto& n : p.names)
            if (n == name) return p.index;
    }
    std::string known;
    for (const auto& p : ports)
        known += (known.empty() ? "" : ", ") + p.name;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "node '{}': no port '{}' (it has: {})", node, name,
               known);
}

void Node::wire_inputs(const NodeSpec& spec, const std::vector<protocol::Port>& ports,
                       const std::string& what) {
    LOOM_REQUIRE(spec.inputs.size() == ports.size(),
                 "node '{}': {} takes {} inputs but the node wires {}", spec.name, what,
                 ports.size(), spec.inputs.size());
    for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
        const auto port =
            spec.input_names.empty() ? i : named_port(ports, spec.input_names[i], spec.name);
        for (auto used : m_wire_to_port)
            LOOM_REQUIRE(used != port, "node '{}': input '{}' is wired twice", spec.name,
                         ports[port].name);
        m_wire_to_port.push_back(port);
        m_inputs.push_back(ports[port]);
    }
}

} // namespace loom::pipeline
