// Components in other processes (ipc, tcp), dialling in, many concurrent requests, CURVE at the
// kernel, events — through the kernel and its routes.

#include <gtest/gtest.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "bus/events.hpp"
#include "bus/tensor_frame.hpp"
#include "kernel/process.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/kernel_fixture.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;
using kernel::Placement;

std::int32_t pid_of(kernel::RoutedChannel& channel) {
    bus::OutMessage m;
    m.init_payload<schema::IdentifyRequest>();
    return channel.call(TestMethod::IDENTIFY, std::move(m), {.timeout = 30s})
        .payload<schema::Identity>()
        .getPid();
}

TEST(KernelIntegration, InProcessComponentIsCalledDirectly) {
    KernelFixture f;
    auto record = f.kernel.start(component("echo", 1));
    EXPECT_EQ(record.state, kernel::ComponentState::READY);
    kernel::RoutedChannel channel(f.context, f.client, "echo");
    EXPECT_TRUE(channel.endpoint().starts_with("inproc://")) << channel.endpoint();
    EXPECT_EQ(pid_of(channel), ::getpid());
    EXPECT_EQ(echo_version(channel), "1");
}

TEST(KernelIntegration, ChildProcessOverIpcWithSharedMemory) {
    KernelFixture f;
    auto record = f.kernel.start(component("echo", 1, Placement::CHILD_PROCESS));
    ASSERT_EQ(record.state, kernel::ComponentState::READY);
    EXPECT_NE(record.pid, ::getpid());
    kernel::RoutedChannel channel(f.context, f.client, "echo");
    EXPECT_TRUE(channel.endpoint().starts_with("ipc://")) << channel.endpoint();
    EXPECT_EQ(pid_of(channel), record.pid);
    // The process serves under the kernel's instance id.
    bus::Channel control(f.context, record.endpoints.front(), "echo");
    auto status = control.ping();
    EXPECT_EQ(status.payload<loom::schema::ServiceStatus>().getInstance(), record.instance);

    // A 4 MiB tensor crosses the process boundary and comes back with the right checksum.
    auto frame = bus::Frame::allocate(4 << 20);
    for (std::size_t i = 0; i < frame.size(); ++i)
        frame.data()[i] = std::byte(i * 31 + 7);
    bus::OutMessage m;
    std::int64_t shape[] = {static_cast<std::int64_t>(frame.size())};
    bus::write_tensor(m, m.init_payload<schema::ChecksumRequest>().initTensor(), ElementType::U8,
                      shape, frame);
    auto reply = channel.call(TestMethod::CHECKSUM, std::move(m), {.timeout = 30s});
    EXPECT_EQ(reply.payload<schema::ChecksumReply>().getSum(), checksum(frame.bytes()));
    EXPECT_EQ(reply.payload<schema::ChecksumReply>().getBytes(), frame.size());
}

// A child on a tcp endpoint serves it with CURVE (the kernel's key pair and roles); a client
// with an allowed key reaches it through the route's server key, and the kernel stops it
// over the same tcp endpoint with its own key.
TEST(KernelIntegration, ChildProcessOverTcpWithCurve) {
    auto kernel_keys = bus::KeyPair::generate();
    auto client_keys = bus::KeyPair::generate();
    kernel::KernelOptions options;
    options.security =
        bus::ServerSecurity(kernel_keys).allow(client_keys.public_key, bus::Role::client);
    KernelFixture f(200ms, options);
    auto spec = component("echo", 2, Placement::CHILD_PROCESS);
    spec.endpoints = {"tcp://127.0.0.1:*"};
    auto record = f.kernel.start(spec);
    ASSERT_EQ(record.endpoints.size(), 1u);
    EXPECT_TRUE(record.endpoints[0].starts_with("tcp://127.0.0.1:")) << record.endpoints[0];
    EXPECT_EQ(record.endpoints[0].find('*'), std::string::npos) << "port not resolved";
    EXPECT_EQ(record.server_key, kernel_keys.public_key);
    bus::ChannelOptions with_keys;
    with_keys.security = bus::ClientSecurity{client_keys, "(from the route)"};
    kernel::RoutedChannel channel(f.context, f.client, "echo", with_keys);
    EXPECT_TRUE(channel.endpoint().starts_with("tcp://")) << channel.endpoint();
    EXPECT_EQ(echo_version(channel), "2");
    EXPECT_EQ(pid_of(channel), record.pid);
    auto stopped = f.kernel.stop("echo");
    EXPECT_EQ(stopped.state, kernel::ComponentState::STOPPED);
    EXPECT_TRUE(stopped.clean_stop) << "the kernel could not drain its CURVE child over tcp";
}

TEST(KernelIntegration, ManyThreadsOverIpcEveryReplyMatchesItsRequest) {
    KernelFixture f;
    f.kernel.start(component("echo", 1, Placement::CHILD_PROCESS));
    kernel::RoutedChannel channel(f.context, f.client, "echo");
    std::atomic<int> mismatched{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                std::int64_t value = t * 1000000 + i;
                try {
                    auto reply = channel.call(TestMethod::ECHO, echo(value, std::to_string(value)),
                                              {.timeout = 30s});
                    auto r = reply.payload<schema::EchoReply>();
                    if (r.getValue() != value ||
                        std::string(r.getText().cStr()) != std::to_string(value))
                        mismatched.fetch_add(1);
                } catch (const Error&) {
                    failed.fetch_add(1);
                }
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(mismatched.load(), 0);
    EXPECT_EQ(failed.load(), 0);
}

TEST(KernelIntegration, RemoteComponentDialsInAndIsAnnounced) {
    KernelFixture f;
    bus::Subscriber events(f.context, f.kernel.event_endpoints().front(), {"component/", "sync"});
    // Subscriptions take effect asynchronously: probe until our own probe comes back.
    bool synced = false;
    for (auto until = bus::Clock::now() + 10s; !synced && bus::Clock::now() < until;) {
        f.client.probe("sync");
        synced = events.next(bus::Clock::now() + 100ms).has_value();
    }
    ASSERT_TRUE(synced);

    TempDir dir;
    kernel::ChildProcess remote(
        loom_executable(), {"serve", "--component", component_library(2), "--name", "remote-echo",
                            "--bind", dir.ipc("remote"), "--kernel", f.kernel.endpoints().back()});
    std::optional<bus::Event> announced;
    for (auto until = bus::Clock::now() + 20s; !announced && bus::Clock::now() < until;) {
        auto e = events.next(until);
        if (e && e->topic() == "component/remote-echo" &&
            e->as<loom::schema::Event>().getKind() == loom::schema::EventKind::REGISTERED)
            announced = std::move(e);
    }
    ASSERT_TRUE(announced.has_value()) << "no `registered` event for the remote component";
    auto info = announced->as<loom::schema::Event>().getComponent();
    EXPECT_EQ(info.getPlacement(), Placement::REMOTE);
    EXPECT_EQ(info.getPid(), remote.pid());

    kernel::RoutedChannel channel(f.context, f.client, "remote-echo");
    EXPECT_EQ(echo_version(channel), "2");
    bool listed = false;
    for (const auto& r : f.kernel.list())
        listed |= r.name == "remote-echo" && r.state == kernel::ComponentState::READY;
    EXPECT_TRUE(listed);
}

TEST(KernelIntegration, StartingAnExistingNameIsRefused) {
    KernelFixture f;
    f.kernel.start(component("echo", 1));
    try {
        f.kernel.start(component("echo", 2));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("swap"), std::string::npos) << e.what();
    }
}

TEST(KernelIntegration, AStoppedComponentIsNoLongerRouted) {
    KernelFixture f;
    f.kernel.start(component("echo", 1));
    auto stopped = f.kernel.stop("echo");
    EXPECT_EQ(stopped.state, kernel::ComponentState::STOPPED);
    EXPECT_FALSE(stopped.routed);
    for (const auto& r : f.kernel.list())
        EXPECT_FALSE(r.name == "echo" && r.routed) << "instance " << r.instance << " still routed";
    try {
        f.kernel.resolve("echo");
        FAIL() << "a stopped component still resolves";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND) << e.what();
    }
    auto again = f.kernel.start(component("echo", 2));
    EXPECT_GT(again.epoch, stopped.epoch);
    EXPECT_TRUE(again.routed);
}

TEST(KernelIntegration, CurveAtTheKernelAllowsListedClientsOnly) {
    auto server = bus::KeyPair::generate();
    auto allowed = bus::KeyPair::generate();
    auto stranger = bus::KeyPair::generate();
    kernel::KernelOptions options;
    options.endpoints = {"inproc://curve-kernel", "tcp://127.0.0.1:*"};
    // (the allowed client holds every role here: the test is about who gets in)
    options.security = bus::ServerSecurity(server).allow(allowed.public_key, bus::Roles::all());
    KernelFixture f(200ms, options);
    f.kernel.start(component("echo", 1));
    auto tcp = f.kernel.endpoints().back();
    ASSERT_TRUE(tcp.starts_with("tcp://"));

    bus::ChannelOptions good;
    good.security = bus::ClientSecurity{allowed, server.public_key};
    kernel::KernelClient friendly(f.context, tcp, good);
    EXPECT_EQ(friendly.list().size(), 1u);

    bus::ChannelOptions bad;
    bad.security = bus::ClientSecurity{stranger, server.public_key};
    kernel::KernelClient intruder(f.context, tcp, bad);
    try {
        intruder.list();
        FAIL() << "a client with a key not on the allow-list was served";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNAUTHENTICATED) << e.what();
    }
    kernel::KernelClient plain(f.context, tcp);
    try {
        plain.list();
        FAIL() << "a client without CURVE was served";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNAUTHENTICATED) << e.what();
    }
    EXPECT_EQ(friendly.list().size(), 1u) << "the kernel stopped serving allowed clients";
}

TEST(KernelIntegration, AComponentKeyCostsAtMostItsInstanceAndNameLimits) {
    kernel::KernelOptions options;
    options.max_instances_per_key = 2;
    options.max_names = 3;
    options.component_names["key-a"] = {"a/*"};
    options.component_names["key-b"] = {"b/*"};
    KernelFixture f(200ms, options);
    auto registration = [](std::string name, std::string key) {
        kernel::Registration r;
        r.name = std::move(name);
        r.kind = "component";
        r.endpoints = {"tcp://127.0.0.1:7999"};
        r.key = std::move(key);
        return r;
    };
    auto expect_overloaded = [&](const kernel::Registration& r, const char* what) {
        try {
            f.kernel.register_component(r);
            FAIL() << r.name << " registered beyond " << what;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::OVERLOADED) << e.what();
            EXPECT_NE(e.message().find(what), std::string::npos) << e.what();
        }
    };
    auto a1 = f.kernel.register_component(registration("a/1", "key-a"));
    f.kernel.register_component(registration("a/2", "key-a"));
    expect_overloaded(registration("a/3", "key-a"), "live instances");
    // Another key is not held back by key-a's instances.
    f.kernel.register_component(registration("b/1", "key-b"));
    // A deregistered instance frees its key's slot, but its name stays routed (listed stopped),
    // so a fourth name is over the kernel's limit of three.
    f.kernel.deregister(a1, "key-a");
    expect_overloaded(registration("a/3", "key-a"), "names");
    // A routed name can still be taken over by its key.
    EXPECT_GT(f.kernel.register_component(registration("a/1", "key-a")), a1);
}

} // namespace
} // namespace loom::test
