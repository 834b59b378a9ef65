// The device protocol's request payloads (schemas/plugin.capnp) against the REFERENCE device as a
// client session sends them: describe, properties, query/compile/import of arbitrary graphs,
// requests, inference, states. Each input runs in a session of its own, closed afterwards, so
// what it made is released.

#include <capnp/message.h>

#include "components/model/graph.hpp"
#include "components/model/registry_host.hpp"
#include "components/model/serialize.hpp"
#include "kernel/component_library.hpp"
#include "schemas/plugin.capnp.h"
#include "tests/fuzz/targets/payload_input.hpp"

namespace {

using namespace loom;

struct World {
    bus::Context context;
    kernel::LoadedComponent device;
    std::shared_ptr<bus::Dispatcher> dispatcher;
    World()
        : device(kernel::load_component(LOOM_REFERENCE_PLUGIN, context, "device/REFERENCE", "",
                                        model::make_native_registry_host())) {
        dispatcher = std::make_shared<bus::Dispatcher>(device.service, context.limits(), 1);
    }
};

World& world() {
    static World w;
    return w;
}

bus::InMessage call(bus::InMessage& request) {
    request.set_roles(bus::Role::client);
    request.set_from_network(true);
    auto reply = world().dispatcher->dispatch_here(request, bus::Clock::now());
    return bus::InMessage::decode(bus::encode_words(reply), world().context.limits());
}

std::uint64_t open_session() {
    bus::OutMessage out;
    auto env = out.envelope();
    env.setService("device/REFERENCE");
    env.setMethod(static_cast<std::uint16_t>(schema::DeviceMethod::OPEN_SESSION));
    out.init_payload<schema::SessionRequest>().setLeaseMs(60000);
    auto in = bus::InMessage::decode(bus::encode_words(out), world().context.limits());
    auto reply = call(in);
    return reply.is_error() ? 0 : reply.payload<schema::SessionInfo>().getSession();
}

void close_session(std::uint64_t session) {
    bus::OutMessage out;
    auto env = out.envelope();
    env.setService("device/REFERENCE");
    env.setMethod(static_cast<std::uint16_t>(schema::DeviceMethod::CLOSE_SESSION));
    out.set_session(session);
    auto in = bus::InMessage::decode(bus::encode_words(out), world().context.limits());
    (void)call(in);
}

} // namespace

FuzzSeeds loom_fuzz_seeds() {
    FuzzSeeds seeds;
    model::Model m;
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape{2, 3}, "x");
    auto& relu = m.add("Relu", "opset1", std::vector<model::Output>{x.output()});
    m.add_result(relu.output(), "y");
    for (auto method : {schema::DeviceMethod::QUERY_MODEL, schema::DeviceMethod::COMPILE_MODEL}) {
        capnp::MallocMessageBuilder b;
        auto r = b.initRoot<schema::ModelRequest>();
        std::vector<model::Tensor> frames;
        model::write_graph(m, r.initModel(), frames);
        seeds.push_back(fuzz::payload_seed(static_cast<std::uint16_t>(method), b));
    }
    {
        capnp::MallocMessageBuilder b;
        b.initRoot<schema::PropertyRequest>().setName("SUPPORTED_PROPERTIES");
        seeds.push_back(
            fuzz::payload_seed(static_cast<std::uint16_t>(schema::DeviceMethod::GET_PROPERTY), b));
    }
    {
        capnp::MallocMessageBuilder b;
        b.initRoot<schema::Handle>().setHandle(1);
        seeds.push_back(fuzz::payload_seed(
            static_cast<std::uint16_t>(schema::DeviceMethod::CREATE_REQUEST), b));
    }
    return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& w = world();
    auto request = fuzz::request_from(data, size, "device/REFERENCE", 21, w.context.limits());
    if (!request) return 0;
    auto session = open_session();
    // The session goes on the wire in the envelope; rebuild the request with it.
    bus::OutMessage out;
    out.envelope().setRequestId(1);
    out.envelope().setService("device/REFERENCE");
    out.envelope().setMethod(request->envelope().getMethod());
    out.envelope().getBody().initPayload().set(request->envelope().getBody().getPayload());
    out.set_session(session);
    auto in = bus::InMessage::decode(bus::encode_words(out), w.context.limits());
    auto reply = call(in);
    if (reply.is_error() && reply.error().kind() == ErrorKind::INTERNAL)
        fuzz::finding(reply.error());
    close_session(session);
    return 0;
}
