// The `loom` executable: its subcommands, their outputs and exit codes (DESIGN.md §7).

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>

#include "bus/security.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/kernel_fixture.hpp"
#include "tests/support/shared_data.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;

// `loom ARGS` run to its end: the exit code (-1 if a signal ended it) and the output.
std::pair<int, std::string> run(std::vector<std::string> args) {
    args.insert(args.begin(), loom_executable());
    auto o = run_process(std::move(args), 60s);
    EXPECT_FALSE(o.timed_out) << "loom timed out: " << o.output;
    return {o.exit_code, o.output};
}

// A `loom` process left running (a kernel, a served component), output captured.
std::unique_ptr<ChildProcess> start(std::vector<std::string> args) {
    args.insert(args.begin(), loom_executable());
    return std::make_unique<ChildProcess>(std::move(args));
}

// Reads `child`'s output until it holds `needle` (true) or ends / 30 s pass (false).
bool read_until(ChildProcess& child, const std::string& needle) {
    child.read_until(
        [&](const std::string&) { return child.output().find(needle) != std::string::npos; }, 30s);
    return child.output().find(needle) != std::string::npos;
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

// SIGTERM and SIGINT stop `loom serve` cleanly in each mode (an extension hosted alone, a
// component, a device): it exits 0 and removes its ipc socket file and the shared-memory side
// socket beside it.
TEST(Launcher, ServeStopsCleanlyOnSigtermAndSigint) {
    const std::pair<const char*, std::string> modes[] = {{"--extension", LOOM_TEMPLATE_EXTENSION},
                                                         {"--component", component_library(1)},
                                                         {"--device", LOOM_PLUGIN_REFERENCE}};
    for (const auto& [flag, library] : modes)
        for (int signo : {SIGTERM, SIGINT}) {
            SCOPED_TRACE(std::string(flag) + " " + ::strsignal(signo));
            TempDir dir;
            const auto socket = dir.path() / "served.sock";
            const auto shm = dir.path() / "served.sock.shm";
            auto serve = start({"serve", flag, library, "-b", "ipc://" + socket.string()});
            ASSERT_TRUE(read_until(*serve, "serving")) << serve->output();
            ASSERT_TRUE(std::filesystem::exists(socket)) << serve->output();
            ASSERT_TRUE(std::filesystem::exists(shm)) << serve->output();
            serve->signal(signo);
            serve->read_all(60s);
            auto status = serve->wait_for(60s);
            ASSERT_TRUE(status.has_value()) << "still running after the signal:\n"
                                            << serve->output();
            EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
                << "wait status " << *status << ":\n"
                << serve->output();
            EXPECT_FALSE(std::filesystem::exists(socket));
            EXPECT_FALSE(std::filesystem::exists(shm));
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
    auto kernel = start({"kernel", "--config", deploy.string()});
    ASSERT_TRUE(read_until(*kernel, "ready\n")) << kernel->output();
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
    kernel->read_all(60s);
    auto status = kernel->wait_for(60s);
    ASSERT_TRUE(status.has_value()) << "the kernel did not exit:\n" << kernel->output();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << kernel->output();
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
