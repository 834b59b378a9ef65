// ComponentNode (nodes.hpp): a pipeline-node component called over the bus.

#include <fmt/format.h>

#include "components/pipeline/nodes.hpp"
#include "components/protocol/codec.hpp"
#include "components/runtime/core_access.hpp"
#include "schemas/capnp_lists.hpp"
#include "schemas/error.hpp"
#include "schemas/pipeline.capnp.h"

namespace loom::pipeline {

ComponentNode::ComponentNode(const Core& core, const NodeSpec& spec)
    : m_spec(spec) {
    std::vector<protocol::Port> ports;
    try {
        auto& deployment = CoreAccess::deployment(core);
        if (spec.target.find("://") == std::string::npos)
            m_routed = &deployment.routed_component(spec.target);
        m_call = deployment.component(spec.target);
        bus::OutMessage request;
        auto reply =
            m_call(static_cast<std::uint16_t>(schema::PipelineNodeMethod::DESCRIBE), request, {});
        auto d = reply.payload<schema::NodeInterface>();
        ports = protocol::take_ports(d.getInputs());
        m_outputs = protocol::take_ports(d.getOutputs());
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "node '{}': component '{}': {}", spec.name, spec.target, e.message());
    }
    for (std::size_t i = 0; i < m_outputs.size(); ++i)
        m_outputs[i].index = i;
    for (std::size_t i = 0; i < ports.size(); ++i)
        ports[i].index = i;
    wire_inputs(spec, ports, "component '" + spec.target + "'");
}

std::shared_ptr<const void> ComponentNode::version() const {
    if (!m_routed) return nullptr;
    return std::make_shared<kernel::RoutedChannel::Pinned>(m_routed->pinned());
}

std::vector<model::Tensor> ComponentNode::run(std::vector<model::Tensor> inputs,
                                              const void* version, const model::OpRegistry&) {
    const auto* pinned = static_cast<const kernel::RoutedChannel::Pinned*>(version);
    try {
        bus::OutMessage request;
        auto list = request.init_payload<schema::NodeTensors>().initTensors(
            static_cast<unsigned>(inputs.size()));
        for (unsigned i = 0; i < list.size(); ++i)
            protocol::put_tensor(request, list[i], inputs[i], m_inputs[i].name);
        const auto method = static_cast<std::uint16_t>(schema::PipelineNodeMethod::RUN);
        bus::InMessage reply;
        if (pinned) {
            try {
                reply = pinned->channel->call_method_keep(method, request);
            } catch (const Error& e) {
                // The pinned instance drains (moved) or went after draining: if the kernel
                // routes the name to a newer one, the pipeline runs the request again there.
                const auto k = e.kind();
                if ((k == ErrorKind::MOVED || k == ErrorKind::UNAVAILABLE ||
                     k == ErrorKind::DISCONNECTED) &&
                    m_routed->newer(pinned->route.epoch))
                    LOOM_THROW(ErrorKind::MOVED,
                               "node '{}': component '{}' was swapped during the request ({})",
                               m_spec.name, m_spec.target, e.message());
                throw;
            }
        } else {
            reply = m_call(method, request, {});
        }
        auto got = carried(reply.payload<schema::NodeTensors>().getTensors(), "node outputs");
        std::vector<model::Tensor> out(m_outputs.size());
        for (auto desc : got) {
            const auto i = named_port(m_outputs, desc.getName(), m_spec.name);
            LOOM_REQUIRE(out[i].empty(), "output '{}' came twice", m_outputs[i].name);
            out[i] = protocol::take_tensor(reply, desc);
            protocol::check_tensor("output", m_outputs[i], out[i]);
        }
        for (std::size_t i = 0; i < out.size(); ++i)
            LOOM_REQUIRE(!out[i].empty(), "output '{}' is missing from the reply",
                         m_outputs[i].name);
        return out;
    } catch (const Error& e) {
        if (e.message().starts_with("node '")) throw;
        LOOM_THROW(e.kind(), "node '{}': component '{}': {}", m_spec.name, m_spec.target,
                   e.message());
    }
}

} // namespace loom::pipeline
