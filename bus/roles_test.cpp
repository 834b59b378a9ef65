// Secure by default at the bus (DESIGN.md §3): plain tcp only when asked for, roles checked
// before a handler runs, ipc binds that never destroy a file, a bounded cost of what an
// authenticated peer sends, and the library policy.

#include "bus/roles.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "bus/channel.hpp"
#include "bus/endpoint.hpp"
#include "bus/library_policy.hpp"
#include "bus/server.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/expect.hpp"
#include "tests/support/test_service.hpp"

namespace loom::bus {
namespace {

using namespace std::chrono_literals;
using test::error_kind_of;
using test::TempDir;

enum class Method : std::uint16_t { use = 0, control = 1 };

// A service with one client method and one operator method, counting the handlers that ran.
std::shared_ptr<Service> guarded_service(std::shared_ptr<std::atomic<int>> ran) {
    auto service = std::make_shared<Service>("guarded", "1", ServiceOptions{true, true, 2});
    service->on(Method::use, [ran](Call& call) {
        ++*ran;
        call.init_reply<test::schema::StatsRequest>();
    });
    service->on(
        Method::control,
        [ran](Call& call) {
            ++*ran;
            call.init_reply<test::schema::StatsRequest>();
        },
        Role::operator_);
    return service;
}

OutMessage empty_request() {
    OutMessage m;
    m.init_payload<test::schema::StatsRequest>();
    return m;
}

TEST(Roles, NamesAndSets) {
    EXPECT_EQ(to_string(Role::operator_), "operator");
    EXPECT_EQ(parse_role("component"), Role::component);
    EXPECT_EQ(error_kind_of([] { parse_role("root"); }), ErrorKind::INVALID_ARGUMENT);
    Roles r = Roles(Role::client) | Role::operator_;
    EXPECT_TRUE(r.has(Role::client));
    EXPECT_TRUE(r.has(Role::operator_));
    EXPECT_FALSE(r.has(Role::component));
    EXPECT_EQ(to_string(r), "operator, client");
    EXPECT_EQ(to_string(Roles::none()), "no role");
}

TEST(SecureByDefault, PlainTcpIsRefusedUnlessMarkedInsecure) {
    Context context;
    auto ran = std::make_shared<std::atomic<int>>(0);
    std::string message;
    auto kind = error_kind_of(
        [&] {
            Server s(context, guarded_service(ran),
                     ServerOptions{.endpoints = {"tcp://127.0.0.1:*"}});
        },
        &message);
    EXPECT_EQ(kind, ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("CURVE"), std::string::npos) << message;
    EXPECT_NE(message.find("insecure"), std::string::npos) << message;

    Server insecure(context, guarded_service(ran),
                    ServerOptions{.endpoints = {"tcp://127.0.0.1:*"}, .insecure = true});
    Channel channel(context, insecure.endpoints().front(), "guarded");
    channel.call(Method::control, empty_request(), {.timeout = 5s});
    EXPECT_EQ(ran->load(), 1) << "an explicitly insecure endpoint gives every role";
}

class RoleChecks : public ::testing::Test {
protected:
    void SetUp() override {
        ServerOptions options;
        options.endpoints = {"tcp://127.0.0.1:*"};
        options.security = ServerSecurity(server_keys)
                               .allow(client.public_key, Role::client)
                               .allow(op.public_key, Roles(Role::operator_) | Role::client);
        server = std::make_unique<Server>(context, guarded_service(ran), options);
    }
    Channel as(const KeyPair& keys) {
        return Channel(context, server->endpoints().front(), "guarded",
                       ChannelOptions{.security = ClientSecurity{keys, server_keys.public_key}});
    }

    Context context;
    KeyPair server_keys = KeyPair::generate();
    KeyPair client = KeyPair::generate();
    KeyPair op = KeyPair::generate();
    std::shared_ptr<std::atomic<int>> ran = std::make_shared<std::atomic<int>>(0);
    std::unique_ptr<Server> server;
};

TEST_F(RoleChecks, AMethodOutsideTheCallersRoleIsRefusedBeforeItsHandlerRuns) {
    auto c = as(client);
    c.call(Method::use, empty_request(), {.timeout = 5s});
    EXPECT_EQ(ran->load(), 1);
    std::string message;
    EXPECT_EQ(
        error_kind_of([&] { c.call(Method::control, empty_request(), {.timeout = 5s}); }, &message),
        ErrorKind::PERMISSION_DENIED);
    EXPECT_NE(message.find("needs the operator role"), std::string::npos) << message;
    EXPECT_NE(message.find("holds client"), std::string::npos) << message;
    EXPECT_EQ(ran->load(), 1) << "the refused handler ran";

    auto o = as(op);
    o.call(Method::control, empty_request(), {.timeout = 5s});
    EXPECT_EQ(ran->load(), 2);
}

TEST_F(RoleChecks, ControlRequestsOtherThanPingNeedTheOperator) {
    auto c = as(client);
    c.ping({.timeout = 5s});
    EXPECT_EQ(error_kind_of([&] { c.stop({.timeout = 5s}); }), ErrorKind::PERMISSION_DENIED);
    EXPECT_EQ(error_kind_of([&] { c.drain("", 0, {.timeout = 5s}); }),
              ErrorKind::PERMISSION_DENIED);
    // Still serving, not draining.
    c.call(Method::use, empty_request(), {.timeout = 5s});
    EXPECT_FALSE(server->wait_stop_requested(Clock::now()));
    auto o = as(op);
    o.stop({.timeout = 5s});
    EXPECT_TRUE(server->wait_stop_requested(Clock::now() + 5s));
}

TEST(SecureByDefault, AnIpcBindNeverReplacesAFileThatIsNotASocket) {
    TempDir dir;
    auto victim = dir.path() / "precious";
    std::ofstream(victim) << "keep me";
    Context context;
    auto ran = std::make_shared<std::atomic<int>>(0);
    std::string message;
    EXPECT_EQ(error_kind_of(
                  [&] {
                      Server s(context, guarded_service(ran),
                               ServerOptions{.endpoints = {"ipc://" + victim.string()}});
                  },
                  &message),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("not a socket"), std::string::npos) << message;
    std::ifstream in(victim);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
}

// RSS of this process in bytes.
std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(SecureByDefault, AFloodOfOversizedFramesFromAnAuthenticatedPeerCostsNoMemory) {
    constexpr std::int64_t k_limit = 1 << 20;
    ContextOptions limited;
    limited.limits.max_frame_bytes = k_limit;
    Context server_context(limited);
    auto server_keys = KeyPair::generate();
    auto peer = KeyPair::generate();
    auto ran = std::make_shared<std::atomic<int>>(0);
    Server server(
        server_context, guarded_service(ran),
        ServerOptions{.endpoints = {"tcp://127.0.0.1:*"},
                      .security =
                          ServerSecurity(server_keys).allow(peer.public_key, Role::client)});
    const auto endpoint = server.endpoints().front();
    // Sent without copies (the client's queues only point at it), so that what this process
    // holds after the flood is what the server kept. Outlives the client context.
    std::vector<std::byte> oversized(static_cast<std::size_t>(4 * k_limit), std::byte{7});
    Context client_context;
    const auto before = resident_bytes();
    for (int round = 0; round < 40; ++round) {
        zmq::socket_t raw(client_context.zmq(), zmq::socket_type::dealer);
        raw.set(zmq::sockopt::linger, 1000); // the frames go out after the close
        apply_client_security(raw, ClientSecurity{peer, server_keys.public_key});
        raw.connect(endpoint);
        for (int i = 0; i < 4; ++i) {
            zmq::message_t frame(
                oversized.data(), oversized.size(), [](void*, void*) {}, nullptr);
            (void)raw.send(frame, zmq::send_flags::dontwait);
        }
    }
    // The server keeps serving; what the flood sent was dropped at each frame's header.
    Channel channel(server_context, endpoint, "guarded",
                    ChannelOptions{.security = ClientSecurity{peer, server_keys.public_key}});
    channel.call(Method::use, empty_request(), {.timeout = 10s});
#ifndef LOOM_SANITIZED
    const auto grown = resident_bytes() > before ? resident_bytes() - before : 0;
    // 160 frames of 4 MiB were offered; the limit is 1 MiB a frame.
    EXPECT_LT(grown, static_cast<std::size_t>(16 * k_limit)) << grown << " bytes more resident";
#else
    (void)before;
#endif
}

// ---- the library policy -------------------------------------------------------------------

class LibraryPolicy : public ::testing::Test {
protected:
    void SetUp() override {
        allowed = dir.path() / "allowed";
        std::filesystem::create_directories(allowed / "sub");
        ::chmod(allowed.c_str(), 0755);
        ::chmod((allowed / "sub").c_str(), 0755);
        outside = dir.path() / "outside.so";
        std::ofstream(outside) << "x";
        std::ofstream(allowed / "sub" / "lib.so") << "x";
        ::chmod((allowed / "sub" / "lib.so").c_str(), 0644);
    }
    ErrorKind check(const std::filesystem::path& p, std::string* message = nullptr) {
        return error_kind_of([&] { check_library_path(p.string(), {allowed}); }, message);
    }

    TempDir dir;
    std::filesystem::path allowed, outside;
};

TEST_F(LibraryPolicy, AFileInAnAllowedDirectoryIsAllowed) {
    EXPECT_EQ(check_library_path((allowed / "sub" / "lib.so").string(), {allowed}),
              std::filesystem::canonical(allowed / "sub" / "lib.so"));
}

TEST_F(LibraryPolicy, AFileElsewhereIsRefused) {
    std::string message;
    EXPECT_EQ(check(outside, &message), ErrorKind::PERMISSION_DENIED);
    EXPECT_NE(message.find("not in an allowed library directory"), std::string::npos) << message;
    EXPECT_EQ(check(allowed / "sub" / ".." / ".." / "outside.so"), ErrorKind::PERMISSION_DENIED);
    EXPECT_EQ(check(dir.path() / "missing.so"), ErrorKind::NOT_FOUND);
}

TEST_F(LibraryPolicy, ASymlinkIntoTheAllowedDirectoryDoesNotCarryAFileIn) {
    std::filesystem::create_symlink(outside, allowed / "link.so");
    EXPECT_EQ(check(allowed / "link.so"), ErrorKind::PERMISSION_DENIED);
}

TEST_F(LibraryPolicy, AFileOrDirectoryOthersMayWriteIsRefused) {
    ::chmod((allowed / "sub" / "lib.so").c_str(), 0646);
    std::string message;
    EXPECT_EQ(check(allowed / "sub" / "lib.so", &message), ErrorKind::PERMISSION_DENIED);
    EXPECT_NE(message.find("writable by others"), std::string::npos) << message;
    ::chmod((allowed / "sub" / "lib.so").c_str(), 0644);
    ::chmod((allowed / "sub").c_str(), 0777);
    EXPECT_EQ(check(allowed / "sub" / "lib.so"), ErrorKind::PERMISSION_DENIED);
    ::chmod((allowed / "sub").c_str(), 0755);
    EXPECT_EQ(check(allowed / "sub" / "lib.so"), test::no_error);
}

TEST(LibraryPolicyDefaults, LoomsOwnLibraryDirectoryIsAllowed) {
    auto dirs = default_library_dirs();
    ASSERT_FALSE(dirs.empty());
    EXPECT_TRUE(std::filesystem::is_directory(dirs.front())) << dirs.front();
}

} // namespace
} // namespace loom::bus
