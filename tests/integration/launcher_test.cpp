// The `loom` executable: its subcommands, their outputs and exit codes (DESIGN.md §7).

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "bus/security.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/kernel_fixture.hpp"
#include "tests/support/shared_data.hpp"

extern char** environ;

namespace loom::test {
namespace {

using namespace std::chrono_literals;

// A `loom` process with its stdout and stderr captured.
class Loom {
public:
    explicit Loom(std::vector<std::string> args) {
        int out[2];
        EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_adddup2(&actions, out[1], 2);
        args.insert(args.begin(), loom_executable());
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        EXPECT_EQ(::posix_spawn(&m_pid, args[0].c_str(), &actions, nullptr, argv.data(), environ),
                  0);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        m_out = out[0];
    }
    ~Loom() {
        if (m_pid > 0 && !m_done) {
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, nullptr, 0);
        }
        ::close(m_out);
    }
    // Reads output until `needle` appears (true) or the process ends / time runs out (false).
    bool read_until(const std::string& needle, std::chrono::milliseconds timeout = 30s) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (m_text.find(needle) == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{m_out, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
            char buffer[4096];
            auto n = ::read(m_out, buffer, sizeof(buffer));
            if (n <= 0) return false;
            m_text.append(buffer, static_cast<std::size_t>(n));
        }
        return true;
    }
    // Waits for the exit (reading all output); the exit status, or -1 on timeout.
    int wait(std::chrono::milliseconds timeout = 60s) {
        read_until("\x01never\x01", timeout);
        auto until = std::chrono::steady_clock::now() + timeout;
        int status = 0;
        while (::waitpid(m_pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > until) return -1;
            pollfd none{-1, 0, 0};
            ::poll(&none, 0, 10);
        }
        m_done = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    const std::string& output() const noexcept { return m_text; }

private:
    pid_t m_pid = -1;
    int m_out = -1;
    bool m_done = false;
    std::string m_text;
};

std::pair<int, std::string> run(std::vector<std::string> args) {
    Loom loom(std::move(args));
    int status = loom.wait();
    return {status, loom.output()};
}

TEST(Launcher, HelpListsTheSubcommands) {
    auto [status, out] = run({"--help"});
    EXPECT_EQ(status, 0);
    for (const char* sub : {"kernel", "serve", "ctl", "keygen", "info", "convert"})
        EXPECT_NE(out.find(sub), std::string::npos) << sub << " missing from:\n" << out;
    for (const char* sub : {"kernel", "serve", "ctl", "keygen", "info", "convert"}) {
        auto [s, o] = run({sub, "--help"});
        EXPECT_EQ(s, 0) << sub;
        EXPECT_NE(o.find("Usage"), std::string::npos) << o;
    }
}

TEST(Launcher, UnknownSubcommandFails) {
    auto [status, out] = run({"frobnicate"});
    EXPECT_NE(status, 0);
    EXPECT_FALSE(out.empty());
}

TEST(Launcher, KeygenWritesASecretAndAPublicFile) {
    TempDir dir;
    auto stem = (dir.path() / "node").string();
    auto [status, out] = run({"keygen", "-o", stem});
    ASSERT_EQ(status, 0) << out;
    struct stat st {};
    ASSERT_EQ(::stat((stem + ".key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto keys = bus::KeyPair::load(stem + ".key");
    EXPECT_EQ(bus::load_public_key(stem + ".pub"), keys.public_key);
    EXPECT_NE(out.find(keys.public_key), std::string::npos);
}

TEST(Launcher, KernelWithABadDeploymentSaysWhy) {
    TempDir dir;
    auto path = dir.path() / "bad.toml";
    std::ofstream(path) << "[[component]]\nname = \"x\"\nlibrary = \"/nonexistent/lib.so\"\n";
    auto [status, out] = run({"kernel", "--config", path.string()});
    EXPECT_NE(status, 0);
    EXPECT_NE(out.find("/nonexistent/lib.so"), std::string::npos) << out;
}

TEST(Launcher, ServeSaysWhichLibraryItCannotHost) {
    TempDir dir;
    for (const char* what : {"--device", "--component", "--extension"}) {
        auto [status, out] = run({"serve", what, "libx.so", "--bind", dir.ipc("d")});
        EXPECT_NE(status, 0) << what;
        EXPECT_NE(out.find("libx.so"), std::string::npos) << what << ": " << out;
    }
}

TEST(Launcher, CtlWithoutKernelSaysSo) {
    auto [status, out] = run({"ctl", "list"});
    EXPECT_NE(status, 0);
    EXPECT_NE(out.find("--kernel"), std::string::npos) << out;
}

TEST(Launcher, DeploymentRunsAndIsControlledWithCtl) {
    TempDir dir;
    auto deploy = dir.path() / "deploy.toml";
    std::ofstream(deploy) << "[kernel]\nendpoints = [\"ipc://" << (dir.path() / "kernel").string()
                          << "\"]\nheartbeat_ms = 200\n"
                          << "[[component]]\nname = \"echo\"\nlibrary = \"" << component_library(1)
                          << "\"\n"
                          << "[[component]]\nname = \"echo-ipc\"\nlibrary = \""
                          << component_library(1) << "\"\nwhere = \"process\"\n";
    Loom kernel({"kernel", "--config", deploy.string()});
    ASSERT_TRUE(kernel.read_until("ready\n")) << kernel.output();
    auto endpoint = "ipc://" + (dir.path() / "kernel").string();

    auto [s1, list] = run({"ctl", "--kernel", endpoint, "list"});
    ASSERT_EQ(s1, 0) << list;
    EXPECT_NE(list.find("echo-ipc"), std::string::npos) << list;
    EXPECT_NE(list.find("ready*"), std::string::npos) << list;

    auto [s2, ping] = run({"ctl", "--kernel", endpoint, "ping", "echo-ipc", "-n", "2"});
    ASSERT_EQ(s2, 0) << ping;
    EXPECT_NE(ping.find("echo-ipc version 1"), std::string::npos) << ping;

    auto [s3, swap] = run({"ctl", "--kernel", endpoint, "swap", "echo-ipc", "--library",
                           component_library(2), "--where", "process"});
    ASSERT_EQ(s3, 0) << swap;
    auto [s4, ping2] = run({"ctl", "--kernel", endpoint, "ping", "echo-ipc", "-n", "1"});
    EXPECT_NE(ping2.find("echo-ipc version 2"), std::string::npos) << ping2;

    auto [s5, json] = run({"ctl", "--kernel", endpoint, "list", "--json"});
    ASSERT_EQ(s5, 0) << json;
    EXPECT_NE(json.find("\"clean_stop\": true"), std::string::npos)
        << "the swapped-out instance did not stop cleanly:\n"
        << json;

    auto [s6, bye] = run({"ctl", "--kernel", endpoint, "shutdown"});
    EXPECT_EQ(s6, 0) << bye;
    EXPECT_EQ(kernel.wait(), 0) << kernel.output();
}

TEST(Launcher, InfoDescribesAModel) {
    auto path = shared_dir() / "models/ir/add_two_inputs_model/add.xml";
    LOOM_REQUIRE_DATA(path);
    auto [status, out] = run({"info", "-m", path.string()});
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("inputs:"), std::string::npos) << out;
    EXPECT_NE(out.find("[1,10]"), std::string::npos) << out;
    EXPECT_NE(out.find("Add"), std::string::npos) << out;
    EXPECT_NE(out.find("operations: "), std::string::npos) << out;
}

TEST(Launcher, InfoWithTransformReportsNodeCounts) {
    auto path = shared_dir() / "models/ppocr-det-v4/model.onnx";
    LOOM_REQUIRE_DATA(path);
    auto json = std::filesystem::path(testing::TempDir()) / "info_det.json";
    auto [status, out] =
        run({"info", "-m", path.string(), "--transform", "common", "--json", json.string()});
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("transform 'common': "), std::string::npos) << out;
    std::ifstream in(json);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(text.find("\"nodes_after\""), std::string::npos) << text;
}

TEST(Launcher, InfoOnAnUnreadableModelFailsWithTheReason) {
    auto bad = std::filesystem::path(testing::TempDir()) / "not_a_model.onnx";
    std::ofstream(bad) << "this is not protobuf";
    auto [status, out] = run({"info", "-m", bad.string()});
    EXPECT_NE(status, 0);
    EXPECT_NE(out.find("not_a_model.onnx"), std::string::npos) << out;
    auto [s2, o2] = run({"info", "-m", "/nonexistent.xml"});
    EXPECT_NE(s2, 0);
    EXPECT_NE(o2.find("not_found"), std::string::npos) << o2;
}

TEST(Launcher, ConvertWritesIrThatInfoReads) {
    auto path = shared_dir() / "models/ppocr-cls-v2/model.onnx";
    LOOM_REQUIRE_DATA(path);
    auto out_xml = std::filesystem::path(testing::TempDir()) / "cls_converted.xml";
    auto [status, out] = run({"convert", path.string(), "-o", out_xml.string()});
    EXPECT_EQ(status, 0) << out;
    EXPECT_TRUE(std::filesystem::exists(out_xml));
    EXPECT_TRUE(std::filesystem::exists(out_xml.parent_path() / "cls_converted.bin"));
    auto [s2, o2] = run({"info", "-m", out_xml.string()});
    EXPECT_EQ(s2, 0) << o2;
}

} // namespace
} // namespace loom::test
