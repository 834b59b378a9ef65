// The kernel's bus service: each method decodes its request, calls the Kernel and encodes the
// reply. Handlers are thread-safe and may block (swap waits for a drain), so they run on the
// service's workers, or on the caller's thread in-process.

#include "bus/endpoint.hpp"
#include "kernel/kernel.hpp"

namespace loom::kernel {
namespace {

using Method = schema::KernelMethod;

} // namespace

std::shared_ptr<bus::Service> Kernel::make_service() {
    auto service = std::make_shared<bus::Service>(
        k_kernel_service, LOOM_VERSION,
        bus::ServiceOptions{.thread_safe = true, .blocking = true, .workers = 4});
    const auto liveness = m_context.options().heartbeat;

    service->on(
        Method::REGISTER,
        [this, liveness](bus::Call& call) {
            auto in = call.params<schema::RegisterRequest>();
            Registration reg{in.getName().cStr(),    in.getKind().cStr(),
                             in.getVersion().cStr(), texts(in.getEndpoints()),
                             in.getHost().cStr(),    in.getPid(),
                             in.getToken(),          in.getReplace(),
                             call.peer_key(),        in.getServerKey().cStr()};
            if (reg.replace && !call.roles().has(bus::Role::operator_))
                LOOM_THROW(ErrorKind::PERMISSION_DENIED,
                           "registering '{}' with replace (taking over a served name) needs the "
                           "operator role",
                           reg.name);
            auto id = register_component(reg);
            auto out = call.init_reply<schema::RegisterReply>();
            out.setInstance(id);
            out.setHeartbeatIntervalMs(static_cast<std::uint32_t>(liveness.interval.count()));
            out.setLiveness(liveness.liveness);
            out.setEpoch(instance(id).epoch);
        },
        bus::Role::component);
    service->on(
        Method::HEARTBEAT,
        [this](bus::Call& call) {
            auto in = call.params<schema::HeartbeatRequest>();
            call.init_reply<schema::HeartbeatReply>().setKnown(
                heartbeat(in.getInstance(), in.getState(), call.peer_key(), in.getInFlight()));
        },
        bus::Role::component);
    service->on(Method::RESOLVE, [this](bus::Call& call) {
        auto route = resolve(call.params<schema::ResolveRequest>().getName().cStr());
        to_schema(route, call.init_reply<schema::Route>());
    });
    service->on(Method::LIST, [this](bus::Call& call) {
        auto records = list();
        auto out = call.init_reply<schema::ComponentList>().initComponents(
            static_cast<unsigned>(records.size()));
        for (unsigned i = 0; i < records.size(); ++i)
            to_schema(records[i], out[i]);
    });
    service->on(
        Method::SWAP,
        [this](bus::Call& call) {
            auto in = call.params<schema::SwapRequest>();
            auto spec = from_schema(in.getReplacement());
            check_requested(spec, call.from_network());
            auto record = swap(in.getName().cStr(), std::move(spec));
            to_schema(record, call.init_reply<schema::ComponentInfo>());
        },
        bus::Role::operator_);
    service->on(
        Method::DEREGISTER,
        [this](bus::Call& call) {
            auto id = call.params<schema::DeregisterRequest>().getInstance();
            deregister(id, call.peer_key());
            to_schema(instance(id), call.init_reply<schema::ComponentInfo>());
        },
        bus::Role::component);
    service->on(
        Method::START,
        [this](bus::Call& call) {
            auto spec = from_schema(call.params<schema::ComponentSpec>());
            check_requested(spec, call.from_network());
            auto record = start(spec);
            to_schema(record, call.init_reply<schema::ComponentInfo>());
        },
        bus::Role::operator_);
    service->on(
        Method::STOP,
        [this](bus::Call& call) {
            auto record = stop(call.params<schema::StopComponentRequest>().getName().cStr());
            to_schema(record, call.init_reply<schema::ComponentInfo>());
        },
        bus::Role::operator_);
    service->on(Method::INSTANCE, [this](bus::Call& call) {
        auto in = call.params<schema::InstanceRequest>();
        auto record = instance(in.getInstance(), std::chrono::milliseconds(in.getWaitTerminalMs()));
        to_schema(record, call.init_reply<schema::ComponentInfo>());
    });
    service->on(
        Method::SHUTDOWN,
        [this](bus::Call& call) {
            request_shutdown();
            call.init_reply<schema::ShutdownReply>();
        },
        bus::Role::operator_);
    service->on(Method::PROBE, [this](bus::Call& call) {
        probe(call.params<schema::ProbeRequest>().getTopic().cStr());
        call.init_reply<schema::ProbeReply>();
    });
    return service;
}

} // namespace loom::kernel
