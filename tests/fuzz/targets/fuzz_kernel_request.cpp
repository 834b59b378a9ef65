// The kernel's request payloads (schemas/kernel.capnp) as a network peer with the client and
// component roles sends them: register, heartbeat, resolve, list, deregister, instance, probe —
// and the operator methods, which must be refused before they read anything.

#include <filesystem>

#include <capnp/message.h>
#include <unistd.h>

#include "kernel/kernel.hpp"
#include "tests/fuzz/targets/payload_input.hpp"

namespace {

using namespace loom;

struct World {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("loom-fuzz-kernel-" + std::to_string(::getpid()));
    bus::Context context;
    std::unique_ptr<kernel::Kernel> kernel;
    std::shared_ptr<bus::Dispatcher> dispatcher;
    World() {
        kernel::KernelOptions o;
        o.runtime_dir = dir;
        o.endpoints = {"inproc://fuzz-kernel"};
        o.event_endpoints = {"inproc://fuzz-events"};
        o.component_names["fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"] = {"*"};
        // What the key may cost (names stay routed after their instances fail): small, so
        // `list` stays cheap however many registrations the fuzzer sends.
        o.max_instances_per_key = 16;
        o.max_names = 128;
        kernel = std::make_unique<kernel::Kernel>(context, o);
        auto local = context.find_local("inproc://fuzz-kernel");
        dispatcher = local->direct();
    }
    ~World() {
        kernel->shutdown();
        kernel.reset();
        std::filesystem::remove_all(dir);
    }
};

World& world() {
    static World w;
    return w;
}

} // namespace

FuzzSeeds loom_fuzz_seeds() {
    FuzzSeeds seeds;
    {
        capnp::MallocMessageBuilder b;
        auto r = b.initRoot<schema::RegisterRequest>();
        r.setName("device/EXTRA");
        r.setKind("device");
        r.initEndpoints(1).set(0, "tcp://127.0.0.1:7100");
        r.setHost("elsewhere");
        seeds.push_back(fuzz::payload_seed(0, b));
    }
    {
        capnp::MallocMessageBuilder b;
        b.initRoot<schema::ResolveRequest>().setName("device/EXTRA");
        seeds.push_back(fuzz::payload_seed(2, b));
    }
    {
        capnp::MallocMessageBuilder b;
        b.initRoot<schema::HeartbeatRequest>().setInstance(1);
        seeds.push_back(fuzz::payload_seed(1, b));
    }
    {
        capnp::MallocMessageBuilder b;
        b.initRoot<schema::InstanceRequest>().setInstance(1);
        seeds.push_back(fuzz::payload_seed(8, b));
    }
    {
        capnp::MallocMessageBuilder b;
        auto s = b.initRoot<schema::ComponentSpec>();
        s.setName("evil");
        s.setLibrary("/tmp/evil.so");
        seeds.push_back(fuzz::payload_seed(6, b));
    }
    return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& w = world();
    auto request = fuzz::request_from(data, size, kernel::k_kernel_service, 11, w.context.limits());
    if (!request) return 0;
    request->set_roles(bus::Roles(bus::Role::client) | bus::Role::component);
    request->set_from_network(true);
    request->set_peer_key("fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz");
    auto reply = w.dispatcher->dispatch_here(*request, bus::Clock::now());
    auto back = bus::InMessage::decode(bus::encode_words(reply), w.context.limits());
    if (back.is_error() && back.error().kind() == ErrorKind::INTERNAL) fuzz::finding(back.error());
    return 0;
}
