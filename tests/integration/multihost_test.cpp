// Devices on other hosts (issue 14, DESIGN.md §6, §8): a kernel host, two device hosts and a
// client host as network namespaces joined by veth pairs to a bridge, CURVE on every tcp hop with
// a key pair per host. A device is used by its kernel name (CPU@nodeb) and by its endpoint
// (CPU@tcp://…) with the local device's outputs; MULTI over the two device hosts loses no
// request when one is killed or cut off, and the lost one serves again when it is back.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/net_hosts.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* k_conv =
    "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class MultiHost : public testing::Test {
protected:
    void SetUp() override {
        LOOM_MAKE_NET_HOSTS(hosts, {"kernel", "nodeb", "nodec", "client"});
        m_hosts = std::move(hosts);
        m_dir = fs::temp_directory_path() / ("loom-multihost-" + std::to_string(::getpid()));
        fs::create_directories(m_dir);
        for (const char* who : {"kernel", "nodeb", "nodec", "app", "ops"}) {
            auto keygen = run_process({LOOM_EXECUTABLE, "keygen", "-o", path(who)});
            ASSERT_EQ(keygen.exit_code, 0) << keygen.output;
        }
        const auto k = m_hosts->address("kernel");
        std::ofstream toml(m_dir / "deploy.toml");
        toml << "[kernel]\nendpoints = [\"tcp://" << k << ":7000\"]\n"
             << "server_key = \"" << path("kernel") << ".key\"\nheartbeat_ms = 500\n"
             << "[roles]\nclient = [\"" << path("app") << ".pub\"]\n";
        for (const char* node : {"nodeb", "nodec"})
            toml << "[[roles.component]]\nkey = \"" << path(node) << ".pub\"\n"
                 << "names = [\"device/CPU@" << node << "\"]\n";
        for (const char* c : {"extensions", "reader", "transform"})
            toml << "[[component]]\nname = \"" << c << "\"\nlibrary = \"" << LOOM_LIB_DIR
                 << "/libloom_" << c << "_component.so\"\nendpoints = [\"tcp://" << k << ":*\"]\n";
        toml.close();
        m_kernel = std::make_unique<ChildProcess>(
            m_hosts->on("kernel", {LOOM_EXECUTABLE, "kernel", "-c", (m_dir / "deploy.toml")}));
        auto out =
            m_kernel->read_until([](const std::string& o) { return contains(o, "ready\n"); });
        ASSERT_TRUE(contains(out, "ready\n")) << out;
        m_kernel_endpoint = "tcp://" + k + ":7000";
        m_nodeb = serve("nodeb");
        m_nodec = serve("nodec");
    }

    void TearDown() override {
        m_nodeb.reset();
        m_nodec.reset();
        m_kernel.reset();
        if (!m_dir.empty()) fs::remove_all(m_dir);
    }

    std::string path(const std::string& stem) const { return (m_dir / stem).string(); }

    // `loom serve --device CPU --name NODE` on host NODE, registered with the kernel.
    std::unique_ptr<ChildProcess> serve(const std::string& node) {
        auto p = std::make_unique<ChildProcess>(
            m_hosts->on(node, {LOOM_EXECUTABLE, "serve",
                               "--device",      "CPU",
                               "--name",        node,
                               "--bind",        "tcp://" + m_hosts->address(node) + ":7100",
                               "--server-key",  path(node) + ".key",
                               "--allow",       path("app") + ".pub",
                               "--operator",    path("ops") + ".pub",
                               "--kernel",      m_kernel_endpoint,
                               "--key",         path(node) + ".key",
                               "--peer-key",    path("kernel") + ".pub"}));
        auto out = p->read_until([](const std::string& o) { return contains(o, "instance"); });
        EXPECT_TRUE(contains(out, "serving 'device/CPU@" + node + "'")) << out;
        return p;
    }

    // argv of a client command on the client host, attached to the kernel with the app's keys.
    std::vector<std::string> client(std::vector<std::string> args) const {
        args.insert(args.begin(), LOOM_EXECUTABLE);
        args.insert(args.end(), {"--kernel", m_kernel_endpoint, "--key", path("app") + ".key",
                                 "--peer-key", path("kernel") + ".pub"});
        return m_hosts->on("client", args);
    }

    std::unique_ptr<ChildProcess> remote_load(const std::string& device, int threads, int count,
                                              bool stateful = false) {
        std::vector<std::string> argv{LOOM_REMOTE_CLIENT,
                                      m_kernel_endpoint,
                                      path("app") + ".key",
                                      path("kernel") + ".pub",
                                      device,
                                      std::to_string(threads),
                                      std::to_string(count)};
        if (stateful) argv.emplace_back("stateful");
        return std::make_unique<ChildProcess>(m_hosts->on("client", argv));
    }

    std::unique_ptr<NetHosts> m_hosts;
    fs::path m_dir;
    std::string m_kernel_endpoint;
    std::unique_ptr<ChildProcess> m_kernel, m_nodeb, m_nodec;
};

// "member DEVICE STATE SLOTS SERVED BUSY" lines after `title` in the remote client's output.
std::map<std::string, std::pair<std::string, int>> members_after(const std::string& out,
                                                                 const std::string& title) {
    std::map<std::string, std::pair<std::string, int>> members;
    auto at = out.find(title);
    if (at == std::string::npos) return members;
    std::regex line(R"(member (\S+) (\S+) (\d+) (\d+))");
    auto rest = out.substr(at);
    auto next = rest.find("\nresult", 1);
    if (next != std::string::npos) rest = rest.substr(0, next);
    for (std::sregex_iterator it(rest.begin(), rest.end(), line), end; it != end; ++it)
        members[(*it)[1]] = {(*it)[2], std::stoi((*it)[4])};
    return members;
}

TEST_F(MultiHost, ARemoteDeviceByKernelNameAndByEndpointGivesTheLocalDevicesOutputs) {
    const std::string model = std::string(k_conv) + "/model.onnx";
    std::vector<std::string> inputs;
    for (const char* i : {"input_0.pb", "input_1.pb"})
        inputs.insert(inputs.end(), {"-i", std::string(k_conv) + "/test_data_set_0/" + i});
    auto run = [&](std::vector<std::string> argv, const std::string& out) {
        argv.insert(argv.end(), {"-m", model, "-o", path(out)});
        argv.insert(argv.end(), inputs.begin(), inputs.end());
        auto outcome = run_process(argv, 120s);
        EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
        return file_bytes(m_dir / out / "y.npy");
    };
    const auto local = run({LOOM_EXECUTABLE, "run", "-d", "CPU"}, "local");
    ASSERT_FALSE(local.empty());
    EXPECT_EQ(run(client({"run", "-d", "CPU@nodeb"}), "by-name"), local);
    const auto by_endpoint = m_hosts->on(
        "client", {LOOM_EXECUTABLE, "run", "-d", "CPU@tcp://" + m_hosts->address("nodeb") + ":7100",
                   "--key", path("app") + ".key", "--peer-key", path("nodeb") + ".pub"});
    EXPECT_EQ(run(by_endpoint, "by-endpoint"), local);

    auto info = run_process(client({"info"}), 60s);
    EXPECT_EQ(info.exit_code, 0) << info.output;
    EXPECT_TRUE(std::regex_search(info.output, std::regex("CPU@nodeb +ready .* tcp://" +
                                                          m_hosts->address("nodeb") + ":7100")))
        << info.output;
    EXPECT_TRUE(contains(info.output, "CPU@nodec")) << info.output;

    // A stranger's key gets nothing from the device host.
    auto stranger = run_process({LOOM_EXECUTABLE, "keygen", "-o", path("stranger")});
    ASSERT_EQ(stranger.exit_code, 0);
    auto refused = run_process(
        m_hosts->on("client",
                    {LOOM_EXECUTABLE, "run", "-d",
                     "CPU@tcp://" + m_hosts->address("nodeb") + ":7100", "--key",
                     path("stranger") + ".key", "--peer-key", path("nodeb") + ".pub", "-m", model,
                     "-o", path("stranger-out"), inputs[0], inputs[1], inputs[2], inputs[3]}),
        60s);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_TRUE(contains(refused.output, "unauthenticated")) << refused.output;
}

TEST_F(MultiHost, MultiLosesNoRequestWhenADeviceHostIsKilledAndItRejoinsWhenRestarted) {
    auto load = remote_load("MULTI:CPU@nodeb,CPU@nodec", 3, 200);
    auto out =
        load->read_until([](const std::string& o) { return contains(o, "progress 100"); }, 120s);
    ASSERT_TRUE(contains(out, "progress 100")) << load->output();
    m_nodeb->signal(SIGKILL); // kill -9 mid-run
    m_nodeb->wait();
    load->read_until([](const std::string& o) { return contains(o, "result "); }, 120s);
    m_nodeb = serve("nodeb"); // restarted: it rejoins without the client doing anything
    load->read_all(120s);
    const auto& all = load->output();
    EXPECT_TRUE(contains(all, "result done=600 failed=0")) << all;
    auto first = members_after(all, "result done");
    EXPECT_EQ(first["CPU@nodeb"].second + first["CPU@nodec"].second, 600) << all;
    EXPECT_EQ(first["CPU@nodeb"].first, "lost") << all;
    EXPECT_LT(first["CPU@nodeb"].second, 600) << "the survivor served the rest\n" << all;
    EXPECT_TRUE(contains(all, "all members ready")) << all;
    EXPECT_TRUE(contains(all, "result2 done=75 failed=0")) << all;
    auto second = members_after(all, "result2");
    EXPECT_GT(second["CPU@nodeb"].second, first["CPU@nodeb"].second) << "nodeb serves again\n"
                                                                     << all;
}

TEST_F(MultiHost, MultiLosesNoRequestWhenADeviceHostIsCutOffAndUsesItAgainWhenTheLinkIsBack) {
    auto load = remote_load("MULTI:CPU@nodeb,CPU@nodec", 3, 300);
    // (Link state is not a timing: each step waits for what it needs to see, bounded.)
    ASSERT_TRUE(contains(
        load->read_until([](const std::string& o) { return contains(o, "progress 100"); }, 120s),
        "progress 100"))
        << load->output();
    m_hosts->set_link("nodeb", false); // packets dropped, nothing closed
    // Cut off for longer than the liveness windows: until the kernel has declared nodeb gone
    // (its heartbeats stopped) …
    const auto nodeb_gone = [&] {
        auto info = run_process(client({"info"}), 30s);
        return info.exit_code == 0 &&
               !std::regex_search(info.output, std::regex("CPU@nodeb +ready"));
    };
    bool gone = false;
    for (int i = 0; i < 300 && !gone; ++i)
        gone = nodeb_gone();
    // … and the client's MULTI has declared it lost: its requests there failed `disconnected` when
    // the connection's heartbeats stopped, and ran again on nodec.
    load->read_until([&](const std::string&) { return contains(load->output(), "CPU@nodeb lost"); },
                     60s);
    m_hosts->set_link("nodeb", true);
    ASSERT_TRUE(gone) << "the kernel never noticed nodeb was cut off";
    ASSERT_TRUE(contains(load->output(), "CPU@nodeb lost")) << load->output();
    load->read_all(180s);
    const auto& all = load->output();
    EXPECT_TRUE(contains(all, "result done=900 failed=0")) << all;
    EXPECT_TRUE(contains(all, "all members ready")) << all;
    EXPECT_TRUE(contains(all, "result2 done=75 failed=0")) << all;
    auto first = members_after(all, "result done");
    auto second = members_after(all, "result2");
    EXPECT_GT(second["CPU@nodeb"].second, first["CPU@nodeb"].second) << "nodeb serves again\n"
                                                                     << all;
}

// A stateful model's requests are pinned to one member each: those on a host cut off fail
// `disconnected` once the liveness window has passed (and at once after that), never hang; those
// on the other host carry on; once the link is back, new requests use both hosts again.
TEST_F(MultiHost, MultiStatefulRequestsOnACutOffHostFailDisconnectedAndTheOthersCarryOn) {
    auto load = remote_load("MULTI:CPU@nodeb,CPU@nodec", 4, 200, true); // two pinned to each
    ASSERT_TRUE(contains(
        load->read_until([](const std::string& o) { return contains(o, "progress 100"); }, 120s),
        "progress 100"))
        << load->output();
    m_hosts->set_link("nodeb", false);
    load->read_until([](const std::string& o) { return contains(o, "result "); }, 120s);
    m_hosts->set_link("nodeb", true);
    load->read_all(180s);
    const auto& all = load->output();
    std::smatch r;
    ASSERT_TRUE(std::regex_search(
        all, r,
        std::regex(R"(result done=800 failed=(\d+) disconnected=(\d+) max_failure_ms=(\d+))")))
        << all;
    const int failed = std::stoi(r[1]), disconnected = std::stoi(r[2]), slowest = std::stoi(r[3]);
    EXPECT_GT(failed, 0) << "nodeb's requests lost their state\n" << all;
    std::smatch per_thread;
    ASSERT_TRUE(std::regex_search(all, per_thread,
                                  std::regex(R"(failed per thread: (\d+) (\d+) (\d+) (\d+))")))
        << all;
    int failing_threads = 0;
    for (int k = 1; k <= 4; ++k)
        failing_threads += std::stoi(per_thread[k]) > 0 ? 1 : 0;
    EXPECT_EQ(failing_threads, 2) << "the two requests pinned to nodeb, and only they\n" << all;
    EXPECT_EQ(disconnected, failed) << "every failure is `disconnected`\n" << all;
    // The bus's heartbeats are 1 s × 3 here: a generous bound that still tells a hang apart.
    EXPECT_LT(slowest, 15000) << all;
    EXPECT_TRUE(contains(all, "all members ready")) << all;
    EXPECT_TRUE(contains(all, "result2 done=100 failed=0")) << "new requests, both hosts\n" << all;
}

// The case HETERO is for: a custom op whose extension only node B has (loaded into its own loader
// by an operator) runs there; everything else runs on node C; the client host reads the model.
TEST_F(MultiHost, HeteroRunsACustomOpOnTheOnlyHostWithItsExtension) {
    const auto at = [&](const std::string& node) {
        return "tcp://" + m_hosts->address(node) + ":7100";
    };
    auto run = run_process(
        m_hosts->on("client", {LOOM_HETERO_CLIENT, LOOM_TEMPLATE_EXTENSION, path("ops") + ".key",
                               path("app") + ".key", at("nodec"), path("nodec") + ".pub",
                               at("nodeb"), path("nodeb") + ".pub"}),
        120s);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_TRUE(contains(run.output, "affinity n0 CPU@" + at("nodec"))) << run.output;
    EXPECT_TRUE(contains(run.output, "affinity n1 CPU@" + at("nodeb"))) << run.output;
    EXPECT_TRUE(contains(run.output, "affinity n2 CPU@" + at("nodec"))) << run.output;
    std::smatch diff;
    ASSERT_TRUE(std::regex_search(run.output, diff, std::regex(R"(max_abs_diff (\S+))")))
        << run.output;
    EXPECT_LE(std::stod(diff[1]), 1e-6) << "HETERO's outputs against REFERENCE's\n" << run.output;
}

} // namespace
} // namespace loom::test
