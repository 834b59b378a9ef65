#include "kernel/client.hpp"

namespace loom::kernel {

using Method = schema::KernelMethod;

KernelClient::KernelClient(bus::Context& context, std::string endpoint, bus::ChannelOptions options)
    : m_context(context)
    , m_channel(context, std::move(endpoint), k_kernel_service, std::move(options))
    , m_quick(std::chrono::duration_cast<std::chrono::microseconds>(
          context.options().heartbeat.timeout() + std::chrono::seconds(5))) {}

Route KernelClient::resolve(const std::string& name) {
    bus::OutMessage m;
    m.init_payload<schema::ResolveRequest>().setName(name);
    auto reply = m_channel.call(Method::RESOLVE, std::move(m), {.timeout = m_quick});
    return from_schema(reply.payload<schema::Route>());
}

std::vector<ComponentRecord> KernelClient::list() {
    bus::OutMessage m;
    m.init_payload<schema::ListRequest>();
    auto reply = m_channel.call(Method::LIST, std::move(m), {.timeout = m_quick});
    std::vector<ComponentRecord> out;
    for (auto c : reply.payload<schema::ComponentList>().getComponents())
        out.push_back(from_schema(c));
    return out;
}

ComponentRecord KernelClient::start(const ComponentSpec& spec) {
    bus::OutMessage m;
    to_schema(spec, m.init_payload<schema::ComponentSpec>());
    auto reply = m_channel.call(Method::START, std::move(m));
    return from_schema(reply.payload<schema::ComponentInfo>());
}

ComponentRecord KernelClient::swap(const std::string& name, const ComponentSpec& replacement) {
    bus::OutMessage m;
    auto p = m.init_payload<schema::SwapRequest>();
    p.setName(name);
    to_schema(replacement, p.initReplacement());
    auto reply = m_channel.call(Method::SWAP, std::move(m));
    return from_schema(reply.payload<schema::ComponentInfo>());
}

ComponentRecord KernelClient::stop(const std::string& name) {
    bus::OutMessage m;
    m.init_payload<schema::StopComponentRequest>().setName(name);
    auto reply = m_channel.call(Method::STOP, std::move(m));
    return from_schema(reply.payload<schema::ComponentInfo>());
}

ComponentRecord KernelClient::instance(std::uint64_t id, std::chrono::milliseconds wait_terminal) {
    bus::OutMessage m;
    auto p = m.init_payload<schema::InstanceRequest>();
    p.setInstance(id);
    p.setWaitTerminalMs(static_cast<std::uint32_t>(wait_terminal.count()));
    auto reply =
        m_channel.call(Method::INSTANCE, std::move(m), {.timeout = m_quick + wait_terminal});
    return from_schema(reply.payload<schema::ComponentInfo>());
}

KernelClient::Registered KernelClient::register_component(const Registration& r) {
    bus::OutMessage m;
    auto p = m.init_payload<schema::RegisterRequest>();
    p.setName(r.name);
    p.setKind(r.kind);
    p.setVersion(r.version);
    auto endpoints = p.initEndpoints(static_cast<unsigned>(r.endpoints.size()));
    for (unsigned i = 0; i < r.endpoints.size(); ++i)
        endpoints.set(i, r.endpoints[i]);
    p.setHost(r.host);
    p.setServerKey(r.server_key);
    p.setPid(r.pid);
    p.setToken(r.token);
    p.setReplace(r.replace);
    auto reply = m_channel.call(Method::REGISTER, std::move(m), {.timeout = m_quick});
    auto out = reply.payload<schema::RegisterReply>();
    Registered registered;
    registered.instance = out.getInstance();
    registered.heartbeat.interval =
        std::chrono::milliseconds(std::max<std::uint32_t>(10, out.getHeartbeatIntervalMs()));
    registered.heartbeat.liveness = std::max<std::uint32_t>(1, out.getLiveness());
    registered.epoch = out.getEpoch();
    return registered;
}

bool KernelClient::heartbeat(std::uint64_t instance, ComponentState state,
                             std::uint32_t in_flight) {
    bus::OutMessage m;
    auto p = m.init_payload<schema::HeartbeatRequest>();
    p.setInstance(instance);
    p.setState(state);
    p.setInFlight(in_flight);
    auto reply = m_channel.call(Method::HEARTBEAT, std::move(m), {.timeout = m_quick});
    return reply.payload<schema::HeartbeatReply>().getKnown();
}

void KernelClient::deregister(std::uint64_t instance) {
    bus::OutMessage m;
    m.init_payload<schema::DeregisterRequest>().setInstance(instance);
    m_channel.call(Method::DEREGISTER, std::move(m), {.timeout = m_quick});
}

void KernelClient::probe(const std::string& topic) {
    bus::OutMessage m;
    m.init_payload<schema::ProbeRequest>().setTopic(topic);
    m_channel.call(Method::PROBE, std::move(m), {.timeout = m_quick});
}

void KernelClient::shutdown() {
    bus::OutMessage m;
    m.init_payload<schema::ShutdownRequest>();
    m_channel.call(Method::SHUTDOWN, std::move(m), {.timeout = m_quick});
}

} // namespace loom::kernel
