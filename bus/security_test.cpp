// CURVE keys and key files, and the CURVE handshake of a tcp:// server: an allowed client is
// served, any other client gets nothing but `unauthenticated` (DESIGN.md §3).

#include "bus/security.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <array>
#include <fstream>

#include <zmq_utils.h>

#include "bus/channel.hpp"
#include "bus/server.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/test_service.hpp"

namespace loom::bus {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using test::TestMethod;

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
}

std::string read_file(const std::filesystem::path& path) {
    std::string text(std::filesystem::file_size(path), '\0');
    std::ifstream in(path, std::ios::binary);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    return text;
}

bool is_z85_key(const std::string& key) {
    std::array<std::uint8_t, 32> raw{};
    return key.size() == 40 && zmq_z85_decode(raw.data(), key.c_str()) != nullptr;
}

template <class F>
Error expect_error(ErrorKind kind, F&& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error(ErrorKind::INTERNAL, "no error");
}

TEST(KeyPair, GenerateGivesMatchingZ85Keys) {
    auto a = KeyPair::generate();
    EXPECT_EQ(a.public_key.size(), 40u);
    EXPECT_EQ(a.secret_key.size(), 40u);
    EXPECT_TRUE(is_z85_key(a.public_key)) << a.public_key;
    EXPECT_TRUE(is_z85_key(a.secret_key));
    EXPECT_NE(a.public_key, a.secret_key);
    // The public key is the one derived from the secret key.
    std::array<char, 41> derived{};
    ASSERT_EQ(zmq_curve_public(derived.data(), a.secret_key.c_str()), 0);
    EXPECT_EQ(std::string(derived.data()), a.public_key);
    auto b = KeyPair::generate();
    EXPECT_NE(a.public_key, b.public_key);
    EXPECT_NE(a.secret_key, b.secret_key);
}

TEST(KeyPair, SaveNeverLeavesTheSecretReadableOrFollowsASymlink) {
    TempDir dir;
    auto keys = KeyPair::generate();
    // A key file that exists with a wider mode is made 0600 before the secret is written.
    write_file(dir.path() / "old.key", "stale");
    ::chmod((dir.path() / "old.key").c_str(), 0644);
    keys.save(dir.path() / "old");
    struct stat st {};
    ASSERT_EQ(::stat((dir.path() / "old.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(KeyPair::load(dir.path() / "old.key").secret_key, keys.secret_key);
    // A symlink planted at the key's path is not followed.
    write_file(dir.path() / "elsewhere", "untouched");
    std::filesystem::create_symlink(dir.path() / "elsewhere", dir.path() / "planted.key");
    EXPECT_THROW(keys.save(dir.path() / "planted"), Error);
    EXPECT_EQ(read_file(dir.path() / "elsewhere"), "untouched");
}

TEST(KeyPair, SaveWritesASecretKeyFileAndAPublicOne) {
    TempDir dir;
    auto keys = KeyPair::generate();
    auto stem = dir.path() / "server";
    keys.save(stem);
    auto key_file = dir.path() / "server.key";
    auto pub_file = dir.path() / "server.pub";
    ASSERT_TRUE(std::filesystem::exists(key_file));
    ASSERT_TRUE(std::filesystem::exists(pub_file));

    struct stat st {};
    ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "the secret key file is readable by others";

    std::string key_text = read_file(key_file);
    EXPECT_NE(key_text.find(keys.secret_key), std::string::npos);
    EXPECT_NE(key_text.find(keys.public_key), std::string::npos);
    std::string pub_text = read_file(pub_file);
    EXPECT_NE(pub_text.find(keys.public_key), std::string::npos);
    EXPECT_EQ(pub_text.find(keys.secret_key), std::string::npos)
        << "the .pub file leaks the secret";
}

TEST(KeyPair, LoadRoundTrips) {
    TempDir dir;
    auto keys = KeyPair::generate();
    keys.save(dir.path() / "k");
    auto loaded = KeyPair::load(dir.path() / "k.key");
    EXPECT_EQ(loaded.public_key, keys.public_key);
    EXPECT_EQ(loaded.secret_key, keys.secret_key);
    // Saving again over existing files replaces them.
    auto other = KeyPair::generate();
    other.save(dir.path() / "k");
    EXPECT_EQ(KeyPair::load(dir.path() / "k.key").secret_key, other.secret_key);
}

TEST(KeyPair, LoadPublicKeyFromPubKeyOrRawKey) {
    TempDir dir;
    auto keys = KeyPair::generate();
    keys.save(dir.path() / "client");
    EXPECT_EQ(load_public_key((dir.path() / "client.pub").string()), keys.public_key);
    EXPECT_EQ(load_public_key((dir.path() / "client.key").string()), keys.public_key);
    EXPECT_EQ(load_public_key(keys.public_key), keys.public_key);
}

TEST(KeyPair, MissingFileIsNotFound) {
    TempDir dir;
    auto e = expect_error(ErrorKind::NOT_FOUND, [&] { KeyPair::load(dir.path() / "none.key"); });
    EXPECT_NE(e.message().find("none.key"), std::string::npos) << e.what();
    expect_error(ErrorKind::NOT_FOUND,
                 [&] { load_public_key((dir.path() / "none.pub").string()); });
}

TEST(KeyPair, MalformedTomlIsInvalidArgument) {
    TempDir dir;
    auto path = dir.path() / "bad.key";
    write_file(path, "public = \"unterminated\nsecret = = 3\n");
    auto e = expect_error(ErrorKind::INVALID_ARGUMENT, [&] { KeyPair::load(path); });
    EXPECT_NE(e.message().find("not valid TOML"), std::string::npos) << e.what();
    expect_error(ErrorKind::INVALID_ARGUMENT, [&] { load_public_key(path.string()); });
}

TEST(KeyPair, MissingSecretIsInvalidArgument) {
    TempDir dir;
    auto keys = KeyPair::generate();
    keys.save(dir.path() / "k");
    // A .pub file has no secret: it is not a key pair.
    auto e =
        expect_error(ErrorKind::INVALID_ARGUMENT, [&] { KeyPair::load(dir.path() / "k.pub"); });
    EXPECT_NE(e.message().find("`secret`"), std::string::npos) << e.what();
    auto path = dir.path() / "nopublic.key";
    write_file(path, "secret = \"" + keys.secret_key + "\"\n");
    e = expect_error(ErrorKind::INVALID_ARGUMENT, [&] { load_public_key(path.string()); });
    EXPECT_NE(e.message().find("`public`"), std::string::npos) << e.what();
}

TEST(KeyPair, NonZ85ValueIsInvalidArgument) {
    TempDir dir;
    auto keys = KeyPair::generate();
    auto path = dir.path() / "k.key";
    // 40 characters, but '~' and ',' are not Z85 digits.
    write_file(path, "public = \"" + keys.public_key + "\"\nsecret = \"" + std::string(20, '~') +
                         std::string(20, ',') + "\"\n");
    auto e = expect_error(ErrorKind::INVALID_ARGUMENT, [&] { KeyPair::load(path); });
    EXPECT_NE(e.message().find("Z85"), std::string::npos) << e.what();
    // The wrong length.
    write_file(path, "public = \"" + keys.public_key.substr(1) + "\"\nsecret = \"" +
                         keys.secret_key + "\"\n");
    expect_error(ErrorKind::INVALID_ARGUMENT, [&] { KeyPair::load(path); });
    // The wrong type.
    write_file(path, "public = 42\nsecret = \"" + keys.secret_key + "\"\n");
    expect_error(ErrorKind::INVALID_ARGUMENT, [&] { KeyPair::load(path); });
}

// ---- CURVE handshakes ---------------------------------------------------------------------

class Curve : public ::testing::Test {
protected:
    void SetUp() override {
        ServerOptions options;
        options.endpoints = {"tcp://127.0.0.1:*"};
        options.security = ServerSecurity(server_keys).allow(allowed.public_key, Roles::all());
        server = std::make_unique<Server>(context, test::make_test_service("svc", "v1"), options);
        endpoint = server->endpoints().front();
    }

    OutMessage echo(std::int64_t value) {
        OutMessage m;
        m.init_payload<test::schema::EchoRequest>().setValue(value);
        return m;
    }

    std::uint64_t served() {
        Channel ok(context, endpoint, "svc",
                   ChannelOptions{.security = ClientSecurity{allowed, server_keys.public_key}});
        OutMessage m;
        m.init_payload<test::schema::StatsRequest>();
        return ok.call(TestMethod::STATS, std::move(m), {.timeout = 5s})
            .payload<test::schema::Stats>()
            .getServed();
    }

    void expect_allowed_client_served(std::int64_t value) {
        Channel ok(context, endpoint, "svc",
                   ChannelOptions{.security = ClientSecurity{allowed, server_keys.public_key}});
        auto reply = ok.call(TestMethod::ECHO, echo(value), {.timeout = 5s});
        EXPECT_EQ(reply.payload<test::schema::EchoReply>().getValue(), value);
    }

    Context context;
    KeyPair server_keys = KeyPair::generate();
    KeyPair allowed = KeyPair::generate();
    KeyPair stranger = KeyPair::generate();
    std::unique_ptr<Server> server;
    std::string endpoint;
};

TEST_F(Curve, AllowedClientIsServed) {
    expect_allowed_client_served(5);
}

TEST_F(Curve, ClientWithAKeyNotAllowedIsUnauthenticated) {
    auto refused_before = context.authenticator().refused();
    {
        Channel denied(
            context, endpoint, "svc",
            ChannelOptions{.security = ClientSecurity{stranger, server_keys.public_key}});
        auto e = expect_error(ErrorKind::UNAUTHENTICATED,
                              [&] { denied.call(TestMethod::ECHO, echo(1), {.timeout = 5s}); });
        EXPECT_NE(e.message().find(endpoint), std::string::npos) << e.what();
    }
    EXPECT_GT(context.authenticator().refused(), refused_before)
        << "the ZAP handler did not count the refusal";
    // The server still serves allowed clients, and the refused request never reached it.
    EXPECT_EQ(served(), 0u);
    expect_allowed_client_served(6);
    EXPECT_EQ(served(), 1u);
}

TEST_F(Curve, ClientWithTheWrongServerKeyIsUnauthenticated) {
    auto impostor = KeyPair::generate();
    {
        Channel wrong(context, endpoint, "svc",
                      ChannelOptions{.security = ClientSecurity{allowed, impostor.public_key}});
        expect_error(ErrorKind::UNAUTHENTICATED,
                     [&] { wrong.call(TestMethod::ECHO, echo(1), {.timeout = 5s}); });
    }
    expect_allowed_client_served(7);
}

TEST_F(Curve, ClientWithoutSecurityIsUnauthenticated) {
    {
        Channel plain(context, endpoint, "svc");
        expect_error(ErrorKind::UNAUTHENTICATED,
                     [&] { plain.call(TestMethod::ECHO, echo(1), {.timeout = 5s}); });
    }
    EXPECT_EQ(served(), 0u);
    expect_allowed_client_served(8);
}

TEST_F(Curve, RefusalsDoNotLeakAcrossServers) {
    // A key allowed on one server is not allowed on another server of the same process.
    ServerOptions options;
    options.endpoints = {"tcp://127.0.0.1:*"};
    options.security = ServerSecurity(server_keys).allow(stranger.public_key, Role::client);
    Server other(context, test::make_test_service("svc", "v1"), options);
    Channel to_other(context, other.endpoints().front(), "svc",
                     ChannelOptions{.security = ClientSecurity{allowed, server_keys.public_key}});
    expect_error(ErrorKind::UNAUTHENTICATED,
                 [&] { to_other.call(TestMethod::ECHO, echo(1), {.timeout = 5s}); });
    Channel stranger_to_other(
        context, other.endpoints().front(), "svc",
        ChannelOptions{.security = ClientSecurity{stranger, server_keys.public_key}});
    EXPECT_EQ(stranger_to_other.call(TestMethod::ECHO, echo(3), {.timeout = 5s})
                  .payload<test::schema::EchoReply>()
                  .getValue(),
              3);
    expect_allowed_client_served(9);
}

} // namespace
} // namespace loom::bus
