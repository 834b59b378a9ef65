// The attacks of issue "Secure by default", replayed against a `loom kernel` deployment, a
// `loom serve` device host and an extension host with default settings (label `security`):
// each is refused with the right typed error, nothing is loaded or created, and the deployment
// keeps serving. Everything listens on 127.0.0.1 only.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "bus/channel.hpp"
#include "bus/security.hpp"
#include "schemas/extensions.capnp.h"
#include "tests/support/child_process.hpp"
#include "tests/support/expect.hpp"

namespace loom::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Outcome loom(std::vector<std::string> args) {
    args.insert(args.begin(), LOOM_EXECUTABLE);
    return run_process(std::move(args), 60s);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The endpoint after `prefix` on the line of `output` that starts with it ("kernel: a b").
std::string tcp_endpoint_in(const std::string& output, const std::string& prefix) {
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with(prefix)) continue;
        std::istringstream words(line.substr(prefix.size()));
        for (std::string w; words >> w;)
            if (w.starts_with("tcp://")) return w;
    }
    return {};
}

class Security : public ::testing::Test {
protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / fmt::format("loom-security-{}", ::getpid());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
        for (const char* who : {"kernel", "ops", "app", "dev", "stranger"})
            bus::KeyPair::generate().save(m_dir / who);
        // A library that marks when opened, somewhere no peer may load from.
        m_evil = m_dir / "evil.so";
        fs::copy_file(LOOM_TEST_EVIL_LIBRARY, m_evil);
        m_mark = m_dir / "evil-was-loaded";
        ::setenv("LOOM_TEST_EVIL_MARK", m_mark.c_str(), 1);
    }
    void TearDown() override {
        ::unsetenv("LOOM_TEST_EVIL_MARK");
        fs::remove_all(m_dir);
    }

    std::string key(const char* who) const { return (m_dir / who).string() + ".key"; }
    std::string pub(const char* who) const { return (m_dir / who).string() + ".pub"; }

    // A deployment with a CURVE tcp endpoint (operator ops, client app, component dev as
    // device/EXTRA), the extension loader reachable only over tcp, and REFERENCE in process.
    void start_kernel(const std::string& extra_kernel_lines = {}) {
        std::ofstream toml(m_dir / "deploy.toml");
        toml << fmt::format(R"([kernel]
endpoints = ["ipc://{{runtime}}/kernel", "tcp://127.0.0.1:*"]
runtime_dir = "{}"
server_key = "kernel.key"
{}
[roles]
operator = ["ops.pub"]
client = ["app.pub"]
[[roles.component]]
key = "dev.pub"
names = ["device/EXTRA"]

[[component]]
name = "extensions"
library = "{}"
endpoints = ["tcp://127.0.0.1:*"]

[[component]]
name = "device/REFERENCE"
library = "{}"
)",
                            (m_dir / "run").string(), extra_kernel_lines, LOOM_EXTENSIONS_COMPONENT,
                            LOOM_REFERENCE_PLUGIN);
        toml.close();
        m_kernel = std::make_unique<ChildProcess>(std::vector<std::string>{
            LOOM_EXECUTABLE, "kernel", "--config", (m_dir / "deploy.toml").string()});
        auto out =
            m_kernel->read_until([](const std::string& o) { return contains(o, "ready\n"); });
        ASSERT_TRUE(contains(out, "ready\n")) << out;
        m_tcp = tcp_endpoint_in(out, "kernel: ");
        ASSERT_FALSE(m_tcp.empty()) << out;
        m_ipc = "ipc://" + (m_dir / "run" / "kernel").string();
    }

    // `loom ctl -k <tcp> [--key K --peer-key kernel.pub] args...`
    Outcome ctl_as(const char* who, std::vector<std::string> args) {
        std::vector<std::string> all{"ctl", "-k", m_tcp};
        if (who) {
            all.insert(all.end(), {"--key", key(who), "--peer-key", pub("kernel")});
        }
        all.insert(all.end(), args.begin(), args.end());
        return loom(std::move(all));
    }

    // The deployment still answers its operator over ipc (the local path) and lists `name`.
    void expect_still_serving(const std::string& name = "device/REFERENCE") {
        auto r = loom({"ctl", "-k", m_ipc, "list"});
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_TRUE(contains(r.output, name)) << r.output;
    }

    bool evil_loaded() const { return fs::exists(m_mark); }

    fs::path m_dir, m_evil, m_mark;
    std::unique_ptr<ChildProcess> m_kernel;
    std::string m_tcp, m_ipc;
};

TEST_F(Security, PlainTcpIsRefusedUnlessInsecureIsExplicitAndThenItWarns) {
    std::ofstream(m_dir / "plain.toml")
        << fmt::format("[kernel]\nendpoints = [\"tcp://127.0.0.1:*\"]\nruntime_dir = \"{}\"\n",
                       (m_dir / "run").string());
    auto refused = loom({"kernel", "--config", (m_dir / "plain.toml").string()});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_TRUE(contains(refused.output, "invalid_argument")) << refused.output;
    EXPECT_TRUE(contains(refused.output, "CURVE")) << refused.output;

    std::ofstream(m_dir / "insecure.toml")
        << fmt::format("[kernel]\nendpoints = [\"tcp://127.0.0.1:*\"]\nruntime_dir = "
                       "\"{}\"\ninsecure = true\n",
                       (m_dir / "run").string());
    ChildProcess kernel(
        {LOOM_EXECUTABLE, "kernel", "--config", (m_dir / "insecure.toml").string()});
    auto out = kernel.read_until([](const std::string& o) { return contains(o, "ready\n"); });
    ASSERT_TRUE(contains(out, "ready\n")) << out;
    EXPECT_TRUE(contains(out, "WITHOUT CURVE")) << out;
    auto tcp = tcp_endpoint_in(out, "kernel: ");
    auto listed = loom({"ctl", "-k", tcp, "list"});
    EXPECT_EQ(listed.exit_code, 0) << listed.output;
    auto down = loom({"ctl", "-k", tcp, "shutdown"});
    EXPECT_EQ(down.exit_code, 0) << down.output;
    auto status = kernel.wait_for(30s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST_F(Security, NoKeyNoEntry) {
    ASSERT_NO_FATAL_FAILURE(start_kernel());
    for (auto args : std::vector<std::vector<std::string>>{
             {"shutdown"}, {"stop", "device/REFERENCE"}, {"list"}}) {
        auto r = ctl_as(nullptr, args);
        EXPECT_NE(r.exit_code, 0) << args[0] << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "unauthenticated")) << r.output;
        auto s = ctl_as("stranger", args);
        EXPECT_NE(s.exit_code, 0) << args[0] << ": " << s.output;
        EXPECT_TRUE(contains(s.output, "unauthenticated")) << s.output;
    }
    expect_still_serving();
}

TEST_F(Security, AClientKeyCannotDoOperatorThings) {
    ASSERT_NO_FATAL_FAILURE(start_kernel());
    EXPECT_EQ(ctl_as("app", {"list"}).exit_code, 0) << "a client may list";
    const std::vector<std::vector<std::string>> operator_things{
        {"shutdown"},
        {"stop", "device/REFERENCE"},
        {"start", "evil", "-l", m_evil.string(), "-w", "in-process"},
        {"start", "evil", "-l", m_evil.string(), "-w", "process"},
        {"swap", "device/REFERENCE", "-l", m_evil.string()},
        {"ext", "load", m_evil.string()},
        {"ext", "unload", "template"}};
    for (const auto& args : operator_things) {
        auto r = ctl_as("app", args);
        EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "permission_denied")) << args[0] << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "operator")) << r.output;
    }
    EXPECT_FALSE(evil_loaded());
    expect_still_serving();
}

TEST_F(Security, AnOperatorLoadsLibrariesOnlyFromTheAllowedDirectories) {
    ASSERT_NO_FATAL_FAILURE(start_kernel());
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"start", "evil", "-l", m_evil.string(), "-w", "in-process"},
             {"start", "evil", "-l", m_evil.string(), "-w", "process"},
             {"swap", "device/REFERENCE", "-l", m_evil.string()},
             {"ext", "load", m_evil.string()}}) {
        auto r = ctl_as("ops", args);
        EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "permission_denied")) << r.output;
        EXPECT_TRUE(contains(r.output, "allowed library director")) << r.output;
    }
    EXPECT_FALSE(evil_loaded()) << "a refused library's constructor ran";
    // A library in an allowed directory is loaded (the template extension beside Loom's).
    auto loaded = ctl_as("ops", {"ext", "load", LOOM_TEMPLATE_EXTENSION});
    EXPECT_EQ(loaded.exit_code, 0) << loaded.output;
    expect_still_serving();
}

TEST_F(Security, AnEndpointNameNeverTouchesAFileOutsideTheRuntimeDirectory) {
    ASSERT_NO_FATAL_FAILURE(start_kernel());
    const auto victim = m_dir / "precious.txt";
    std::ofstream(victim) << "keep me\n";
    for (const auto& endpoint :
         {"ipc://" + victim.string(), "ipc://" + (m_dir / "run" / ".." / "x.sock").string(),
          std::string("ipc://@loom-abstract")}) {
        auto r = ctl_as("ops", {"start", "echo2", "-l", LOOM_REFERENCE_PLUGIN, "-e", endpoint});
        EXPECT_EQ(r.exit_code, 1) << endpoint << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "permission_denied")) << r.output;
    }
    std::ifstream in(victim);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
    struct stat st {};
    ASSERT_EQ(::lstat(victim.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    expect_still_serving();
}

TEST_F(Security, AComponentKeyRegistersOnlyItsOwnNamesAndNeverReplaces) {
    ASSERT_NO_FATAL_FAILURE(start_kernel());
    auto serve = [&](const std::string& name, bool replace) {
        std::vector<std::string> args{"serve",
                                      "--device",
                                      LOOM_REFERENCE_PLUGIN,
                                      "--bind",
                                      "tcp://127.0.0.1:*",
                                      "--server-key",
                                      key("dev"),
                                      "--allow",
                                      pub("app"),
                                      "--kernel",
                                      m_tcp,
                                      "--key",
                                      key("dev"),
                                      "--peer-key",
                                      pub("kernel"),
                                      "--name",
                                      name};
        if (replace) args.push_back("--replace");
        return loom(std::move(args));
    };
    auto taken = serve("device/REFERENCE", true);
    EXPECT_EQ(taken.exit_code, 1) << taken.output;
    EXPECT_TRUE(contains(taken.output, "permission_denied")) << taken.output;
    auto other = serve("reader", false);
    EXPECT_EQ(other.exit_code, 1) << other.output;
    EXPECT_TRUE(contains(other.output, "permission_denied")) << other.output;
    EXPECT_TRUE(contains(other.output, "device/EXTRA")) << other.output;
    // A client key cannot register at all.
    auto as_client = loom({"serve", "--device", LOOM_REFERENCE_PLUGIN, "--bind",
                           "ipc://" + (m_dir / "c.sock").string(), "--kernel", m_tcp, "--key",
                           key("app"), "--peer-key", pub("kernel"), "--name", "device/EXTRA"});
    EXPECT_EQ(as_client.exit_code, 1) << as_client.output;
    EXPECT_TRUE(contains(as_client.output, "component role")) << as_client.output;
    expect_still_serving();
}

TEST_F(Security, ACurveComponentInAnotherProcessIsPingedDrainedAndStoppedByTheKernel) {
    ASSERT_NO_FATAL_FAILURE(start_kernel());
    ChildProcess device({LOOM_EXECUTABLE, "serve",
                         "--device",      LOOM_REFERENCE_PLUGIN,
                         "--bind",        "tcp://127.0.0.1:*",
                         "--server-key",  key("dev"),
                         "--allow",       pub("app"),
                         "--operator",    pub("ops"),
                         "--kernel",      m_tcp,
                         "--key",         key("dev"),
                         "--peer-key",    pub("kernel"),
                         "--name",        "device/EXTRA"});
    auto out = device.read_until([](const std::string& o) { return contains(o, "instance"); });
    ASSERT_TRUE(contains(out, "serving 'device/EXTRA'")) << out;
    auto ping = ctl_as("ops", {"ping", "device/EXTRA", "-n", "2"});
    EXPECT_EQ(ping.exit_code, 0) << ping.output;
    auto list = ctl_as("ops", {"list"});
    EXPECT_TRUE(contains(list.output, "device/EXTRA")) << list.output;
    auto stop = ctl_as("ops", {"stop", "device/EXTRA"});
    EXPECT_EQ(stop.exit_code, 0) << stop.output;
    auto status = device.wait_for(30s);
    ASSERT_TRUE(status.has_value()) << "the kernel could not stop its CURVE component:\n"
                                    << device.output();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << device.output();
    EXPECT_FALSE(contains(device.output(), "unauthenticated")) << device.output();
    expect_still_serving();
}

TEST_F(Security, ABareDeviceHostNeedsKeysAndGivesClientsNoOperatorMethods) {
    auto plain = loom({"serve", "--device", LOOM_REFERENCE_PLUGIN, "--bind", "tcp://127.0.0.1:*"});
    EXPECT_EQ(plain.exit_code, 1) << plain.output;
    EXPECT_TRUE(contains(plain.output, "CURVE")) << plain.output;

    ChildProcess device({LOOM_EXECUTABLE, "serve", "--device", LOOM_REFERENCE_PLUGIN, "--bind",
                         "tcp://127.0.0.1:*", "--server-key", key("dev"), "--allow", pub("app"),
                         "--operator", pub("ops")});
    auto out = device.read_until([](const std::string& o) { return contains(o, "serving"); });
    auto at = out.find(" at ");
    ASSERT_NE(at, std::string::npos) << out;
    auto tcp = tcp_endpoint_in(out.substr(at + 4), "");
    ASSERT_FALSE(tcp.empty()) << out;
    // The replayed `ext load` of the report, sent to the device host's extension companion.
    bus::Context context;
    auto load_as = [&](const char* who) {
        bus::ChannelOptions options;
        options.security =
            bus::ClientSecurity{bus::KeyPair::load(key(who)), bus::load_public_key(pub("dev"))};
        bus::Channel channel(context, tcp, "extensions", options);
        bus::OutMessage request;
        request.init_payload<schema::ExtensionLoadRequest>().setSource(m_evil.string());
        std::string message;
        auto kind = error_kind_of(
            [&] {
                channel.call_method(static_cast<std::uint16_t>(schema::ExtensionMethod::LOAD),
                                    std::move(request), {.timeout = 20s});
            },
            &message);
        return std::make_pair(kind, message);
    };
    auto [client_kind, client_message] = load_as("app");
    EXPECT_EQ(client_kind, ErrorKind::PERMISSION_DENIED) << client_message;
    auto [operator_kind, operator_message] = load_as("ops");
    EXPECT_EQ(operator_kind, ErrorKind::PERMISSION_DENIED) << operator_message;
    EXPECT_TRUE(contains(operator_message, "allowed library director")) << operator_message;
    auto [stranger_kind, stranger_message] = load_as("stranger");
    EXPECT_EQ(stranger_kind, ErrorKind::UNAUTHENTICATED) << stranger_message;
    EXPECT_FALSE(evil_loaded()) << "the device host ran a refused library's constructor";
    device.signal(SIGTERM);
    auto status = device.wait_for(30s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << device.output();
}

TEST_F(Security, AnExtensionHostOnTcpNeedsKeysAndServesTheKeyItAllows) {
    auto plain =
        loom({"serve", "--extension", LOOM_TEMPLATE_EXTENSION, "--bind", "tcp://127.0.0.1:*"});
    EXPECT_EQ(plain.exit_code, 1) << plain.output;
    EXPECT_TRUE(contains(plain.output, "CURVE")) << plain.output;
    ChildProcess host({LOOM_EXECUTABLE, "serve", "--extension", LOOM_TEMPLATE_EXTENSION, "--bind",
                       "tcp://127.0.0.1:*", "--server-key", key("dev"), "--allow", pub("app")});
    auto out = host.read_until([](const std::string& o) { return contains(o, "serving"); });
    auto at = out.find(" at ");
    ASSERT_NE(at, std::string::npos) << out;
    auto tcp = tcp_endpoint_in(out.substr(at + 4), "");
    ASSERT_FALSE(tcp.empty()) << out;
    // `loom info --extension tcp://…` with the client's keys lists its ops.
    auto info = loom({"info", "--extension", tcp, "--key", key("app"), "--peer-key", pub("dev")});
    EXPECT_EQ(info.exit_code, 0) << info.output;
    EXPECT_TRUE(contains(info.output, "op Activation@loom.template")) << info.output;
    auto stranger =
        loom({"info", "--extension", tcp, "--key", key("stranger"), "--peer-key", pub("dev")});
    EXPECT_EQ(stranger.exit_code, 1) << stranger.output;
    EXPECT_TRUE(contains(stranger.output, "unauthenticated")) << stranger.output;
    host.signal(SIGTERM);
    EXPECT_TRUE(host.wait_for(30s).has_value());
}

} // namespace
} // namespace loom::test
