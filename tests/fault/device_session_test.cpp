// Objects on a device belong to the client session that made them (DESIGN.md §6, issue 11):
// a client killed while holding compiled models leaves nothing behind on the device, another
// client (or key) cannot use or release them, and the Core's destructors never hang on a frozen
// device.

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <loom/core.hpp>

#include "bus/channel.hpp"
#include "bus/context.hpp"
#include "bus/server.hpp"
#include "components/model/op_registry.hpp"
#include "components/model/serialize.hpp"
#include "components/protocol/codec.hpp"
#include "components/protocol/device_session.hpp"
#include "kernel/component_library.hpp"
#include "schemas/error.hpp"
#include "schemas/plugin.capnp.h"
#include "tests/support/child_process.hpp"
#include "tests/support/expect.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using schema::DeviceMethod;

// Resident memory of `pid` in MiB (VmRSS).
double rss_mib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    ADD_FAILURE() << "no VmRSS for " << pid;
    return 0;
}

std::int64_t device_property(bus::Channel& device, const char* name) {
    bus::OutMessage m;
    m.init_payload<schema::PropertyRequest>().setName(name);
    auto reply = device.call(DeviceMethod::GET_PROPERTY, std::move(m));
    return std::stoll(std::string(reply.payload<schema::PropertyValue>().getValue()));
}

struct Counts {
    std::int64_t sessions, models, requests;
    bool operator==(const Counts&) const = default;
};

Counts counts(bus::Channel& device) {
    return {device_property(device, "LOOM_SESSIONS"),
            device_property(device, "LOOM_COMPILED_MODELS"),
            device_property(device, "LOOM_INFER_REQUESTS")};
}

std::string fresh_dir() {
    auto dir = fs::temp_directory_path() / ("loom-session-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir.string();
}

TEST(DeviceSessions, AKilledClientsObjectsAndMemoryAreReleased) {
    const auto dir = fresh_dir();
    const auto endpoint = "ipc://" + dir + "/device";
    ChildProcess device_process({LOOM_EXECUTABLE, "serve", "--device", LOOM_REFERENCE_PLUGIN, "-n",
                                 "device/REFERENCE", "-b", endpoint});
    auto banner = device_process.read_until(
        [](const std::string& out) { return out.find("serving") != std::string::npos; });
    ASSERT_NE(banner.find("serving"), std::string::npos) << banner;
    bus::Context context;
    bus::Channel device(context, endpoint, "device/REFERENCE");
    EXPECT_EQ(counts(device), (Counts{0, 0, 0}));

    const auto cycle = [&](int mib) {
        ChildProcess client({LOOM_DEVICE_CLIENT, endpoint, "2000", "2", "3", std::to_string(mib)});
        auto out = client.read_until(
            [](const std::string& o) { return o.find("ready") != std::string::npos; });
        EXPECT_NE(out.find("ready"), std::string::npos) << out;
        EXPECT_EQ(counts(device), (Counts{1, 2, 3})) << "the client's objects are on the device";
        const double holding = rss_mib(device_process.pid());
        ::kill(client.pid(), SIGKILL);
        client.wait();
        // The lease (2 s) runs out with nobody renewing it: everything goes.
        EXPECT_TRUE(eventually([&] {
            return counts(device) == Counts{0, 0, 0};
        })) << "sessions/models/requests left: "
            << counts(device).sessions << "/" << counts(device).models << "/"
            << counts(device).requests;
        return holding;
    };
    // A first cycle warms up what stays (connections, pools, thread stacks); the second measures.
    cycle(8);
    ASSERT_TRUE(eventually([&] { return counts(device).sessions == 0; }));
    const double before = rss_mib(device_process.pid());
    const double holding = cycle(64); // two models of 64 MiB of weights each
    EXPECT_GT(holding - before, 64.0) << "the test's models did not take memory on the device";
#ifndef LOOM_SANITIZED
    // (Under AddressSanitizer freed memory stays in its quarantine: resident memory cannot tell;
    // LeakSanitizer checks the device process when it exits, below.)
    EXPECT_TRUE(eventually([&] { return rss_mib(device_process.pid()) < before + 16.0; }))
        << "device memory: " << before << " MiB before, " << holding << " MiB with the client's "
        << "objects, " << rss_mib(device_process.pid()) << " MiB after they were released";
    std::cout << "device memory: " << before << " MiB before, " << holding << " MiB holding, "
              << rss_mib(device_process.pid()) << " MiB after release\n";
#endif
    // The device outlives its dead clients and stops cleanly (a leak report fails it here).
    device_process.signal(SIGTERM);
    const auto status = device_process.wait_for(30s);
    ASSERT_TRUE(status.has_value()) << "the device did not stop on SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "device exit status " << *status << ": " << device_process.read_all(1s);
    fs::remove_all(dir);
}

// Over tcp with CURVE: the session is bound to the key the client proved, so another client —
// even one presenting the session's number — sees nothing of it.
TEST(DeviceSessions, AnotherClientCannotUseOrReleaseTheHandles) {
    bus::Context context;
    auto loaded = kernel::load_component(LOOM_REFERENCE_PLUGIN, context, "device/REFERENCE", "");
    auto server_keys = bus::KeyPair::generate();
    auto alice_keys = bus::KeyPair::generate(), mallory_keys = bus::KeyPair::generate();
    bus::Server server(
        context, loaded.service,
        bus::ServerOptions{.endpoints = {"tcp://127.0.0.1:*"},
                           .security = bus::ServerSecurity(server_keys)
                                           .allow(alice_keys.public_key, bus::Role::client)
                                           .allow(mallory_keys.public_key, bus::Role::client)});
    const auto endpoint = server.endpoints().at(0);
    const auto channel_for = [&](const bus::KeyPair& keys) {
        bus::ChannelOptions o;
        o.security = bus::ClientSecurity{keys, server_keys.public_key};
        return std::make_unique<bus::Channel>(context, endpoint, "device/REFERENCE", o);
    };
    auto alice_channel = channel_for(alice_keys), mallory_channel = channel_for(mallory_keys);
    const auto caller = [](bus::Channel& c) {
        return [&c](std::uint16_t m, bus::OutMessage& r, bus::CallOptions o) {
            return c.call_method_keep(m, r, o);
        };
    };
    protocol::DeviceSession alice(caller(*alice_channel)), mallory(caller(*mallory_channel));

    model::Model m;
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape{2}, "x");
    auto& relu = m.add("Relu", "opset1", {x.output(0)}, {}, 1, "relu");
    m.add_result(relu.output(0), "y");
    model::infer_and_validate(m, *model::make_native_registry());
    bus::OutMessage compile;
    auto p = compile.init_payload<schema::ModelRequest>();
    p.initProperties(0);
    model::put_graph(compile, p, m);
    const auto model = alice.call(DeviceMethod::COMPILE_MODEL, compile)
                           .payload<schema::CompiledInfo>()
                           .getHandle();
    const auto handle_message = [](std::uint64_t h) {
        bus::OutMessage r;
        r.init_payload<schema::Handle>().setHandle(h);
        return r;
    };
    auto create = handle_message(model);
    const auto request =
        alice.call(DeviceMethod::CREATE_REQUEST, create).payload<schema::Handle>().getHandle();
    const auto infer = [&](protocol::DeviceSession& who) {
        bus::OutMessage r;
        auto ip = r.init_payload<schema::InferRequest>();
        ip.setRequest(request);
        auto t = model::Tensor::allocate(ElementType::F32, {2});
        reinterpret_cast<float*>(t.mutable_data())[0] = -1.f;
        reinterpret_cast<float*>(t.mutable_data())[1] = 2.f;
        protocol::put_tensor(r, ip.initInputs(1)[0], t);
        auto reply = who.call(DeviceMethod::INFER, r);
        return protocol::take_tensor(reply, reply.payload<schema::InferReply>().getOutputs()[0])
            .data<float>()[1];
    };
    EXPECT_EQ(infer(alice), 2.f);
    EXPECT_EQ(error_kind_of([&] { infer(mallory); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] {
                  auto r = handle_message(request);
                  mallory.call(DeviceMethod::RELEASE_REQUEST, r);
              }),
              ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] {
                  auto r = handle_message(model);
                  mallory.call(DeviceMethod::RELEASE_MODEL, r);
              }),
              ErrorKind::NOT_FOUND);
    // Mallory presents Alice's session number over her own authenticated connection.
    EXPECT_EQ(error_kind_of([&] {
                  auto r = handle_message(request);
                  r.set_session(alice.id());
                  mallory_channel->call_method_keep(
                      static_cast<std::uint16_t>(DeviceMethod::RELEASE_REQUEST), r);
              }),
              ErrorKind::NOT_FOUND);
    EXPECT_EQ(infer(alice), 2.f) << "Alice's request survived";
}

// The device child process of this test process (the embedded deployment's `loom serve`).
pid_t device_child() {
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid != ::getpid()) continue;
        std::ifstream cmd(entry.path() / "cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(cmd)), {});
        if (cmdline.find("device/REFERENCE") != std::string::npos) return std::stoi(name);
    }
    return 0;
}

TEST(DeviceSessions, DestructorsReturnWithinTheirDeadlineWhenTheDeviceIsFrozen) {
    const std::string model = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";
    ASSERT_TRUE(fs::exists(model)) << "libonnx-testdata is installed by setup.sh";
    CoreOptions options;
    options.devices_out_of_process = true;
    options.release_timeout = 500ms;
    Core core(options);
    auto compiled = std::make_unique<CompiledModel>(core.compile_model(model, "REFERENCE"));
    auto request = std::make_unique<InferRequest>(compiled->create_infer_request());
    const pid_t device = device_child();
    ASSERT_GT(device, 0) << "no device process found";
    ASSERT_EQ(::kill(device, SIGSTOP), 0);
    const auto timed = [](auto& object) {
        const auto start = std::chrono::steady_clock::now();
        object.reset();
        return std::chrono::steady_clock::now() - start;
    };
    const auto request_took = timed(request);
    const auto model_took = timed(compiled);
    ::kill(device, SIGCONT);
    EXPECT_LT(request_took, 1500ms) << "the request's release waited on the frozen device";
    EXPECT_LT(model_took, 1500ms) << "the compiled model's release waited on the frozen device";
}

} // namespace
} // namespace loom::test
