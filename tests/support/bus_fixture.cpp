#include "tests/support/bus_fixture.hpp"

#include "tests/support/test_service.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace loom::test {

std::string to_string(PathKind kind) {
    switch (kind) {
    case PathKind::direct:
        return "direct";
    case PathKind::inproc:
        return "inproc";
    case PathKind::ipc:
        return "ipc";
    case PathKind::tcp:
        return "tcp";
    case PathKind::tcp_curve:
        return "tcp_curve";
    }
    return "?";
}

std::vector<PathKind> all_paths() {
    return {PathKind::direct, PathKind::inproc, PathKind::ipc, PathKind::tcp, PathKind::tcp_curve};
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "loom-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    m_path = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
}

PathSetup serve_on(bus::Context& context, PathKind kind, const TempDir& dir,
                   std::shared_ptr<bus::Service> service, bus::ChannelOptions channel) {
    static std::atomic<int> counter{0};
    int n = counter.fetch_add(1);
    bus::ServerOptions server;
    switch (kind) {
    case PathKind::direct:
    case PathKind::inproc:
        server.endpoints = {"inproc://test-" + std::to_string(::getpid()) + "-" +
                            std::to_string(n)};
        channel.allow_direct = kind == PathKind::direct;
        break;
    case PathKind::ipc:
        server.endpoints = {dir.ipc("svc" + std::to_string(n))};
        break;
    case PathKind::tcp:
        server.endpoints = {"tcp://127.0.0.1:*"};
        server.insecure = true; // plain tcp: the path under test (tcp_curve is the secure one)
        break;
    case PathKind::tcp_curve: {
        server.endpoints = {"tcp://127.0.0.1:*"};
        auto server_keys = bus::KeyPair::generate();
        auto client_keys = bus::KeyPair::generate();
        server.security =
            bus::ServerSecurity(server_keys).allow(client_keys.public_key, bus::Roles::all());
        channel.security = bus::ClientSecurity{client_keys, server_keys.public_key};
        break;
    }
    }
    PathSetup setup;
    setup.server = std::make_unique<bus::Server>(context, std::move(service), server);
    setup.endpoint = setup.server->endpoints().front();
    setup.channel = std::make_unique<bus::Channel>(context, setup.endpoint,
                                                   setup.server->service().name(), channel);
    return setup;
}

bool wait_holding(bus::Channel& channel, std::uint32_t holding, std::chrono::milliseconds timeout) {
    auto until = bus::Clock::now() + timeout;
    while (bus::Clock::now() < until) {
        bus::OutMessage m;
        m.init_payload<schema::StatsRequest>();
        auto reply = channel.call(TestMethod::STATS, std::move(m), {.timeout = timeout});
        if (reply.payload<schema::Stats>().getHolding() >= holding) return true;
    }
    return false;
}

} // namespace loom::test
