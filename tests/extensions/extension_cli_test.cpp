// The launcher's extension commands end to end (DESIGN.md §7), label `extensions`:
// `loom info --extension`, `loom run --extension`, and `loom ctl ext load|swap|list|unload`
// against a running `loom kernel --config` deployment.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "components/runtime/tensor_io.hpp"
#include "tests/extensions/ext_models.hpp"
#include "tests/support/child_process.hpp"
#include <loom/core.hpp>

namespace loom::test {
namespace {

namespace fs = std::filesystem;

Outcome loom(std::vector<std::string> args) {
    args.insert(args.begin(), LOOM_EXECUTABLE);
    return run_process(std::move(args));
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class ExtensionCli : public ::testing::Test {
protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / fmt::format("loom-ext-cli-{}", ::getpid());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }
    fs::path m_dir;
};

TEST_F(ExtensionCli, InfoListsTheOpsAndConversionsOfAnExtension) {
    auto r =
        loom({"info", "--extension", LOOM_TEMPLATE_V1, "--json", (m_dir / "ext.json").string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* part :
         {"extension template 1.0.0", "op Identity@loom.template", "op Activation@loom.template",
          "conversion onnx:loom.template:MulAdd", "conversion ir:loom.template:MulAdd"})
        EXPECT_TRUE(contains(r.output, part)) << part << " in\n" << r.output;
    std::ifstream f(m_dir / "ext.json");
    auto j = nlohmann::json::parse(f);
    ASSERT_EQ(j["extensions"].size(), 1u);
    EXPECT_EQ(j["extensions"][0]["version"], "1.0.0");

    auto bad = loom({"info", "--extension", (m_dir / "missing.so").string()});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_TRUE(contains(bad.output, "missing.so")) << bad.output;
}

TEST_F(ExtensionCli, RunWithAnExtensionWritesTheCustomOpsOutput) {
    const std::vector<std::int64_t> dims{2, 3};
    {
        std::ofstream f(m_dir / "act.onnx", std::ios::binary);
        f << onnx_chain({{"Activation", "loom.template", {{"alpha", 2.0f}, {"beta", 1.0f}}}}, dims);
    }
    const std::vector<float> x{-2, -1, 0, 0.5f, 1, 3};
    auto input = model::Tensor::copy_of(ElementType::F32, {2, 3},
                                        std::as_bytes(std::span<const float>(x.data(), x.size())));
    runtime::write_npy(m_dir / "x.npy", Tensor(input));
    const auto model = (m_dir / "act.onnx").string();
    auto without = loom({"run", "-m", model, "-i", "x=" + (m_dir / "x.npy").string()});
    EXPECT_EQ(without.exit_code, 1);
    EXPECT_TRUE(contains(without.output, "Activation")) << without.output;

    auto r = loom({"run", "-m", model, "--extension", LOOM_TEMPLATE_V2, "-i",
                   "x=" + (m_dir / "x.npy").string(), "-o", (m_dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto y = runtime::read_npy(m_dir / "out" / "y.npy");
    ASSERT_EQ(y.size(), 6);
    for (std::size_t i = 0; i < x.size(); ++i)
        EXPECT_NEAR(y.data<float>()[i], activation(x[i], 2.0, 1.0, 2), 1e-5) << i;
}

TEST_F(ExtensionCli, CtlLoadsSwapsListsAndUnloadsInARunningDeployment) {
    const auto lib_dir = fs::path(LOOM_EXTENSIONS_COMPONENT).parent_path();
    {
        std::ofstream toml(m_dir / "deploy.toml");
        toml << fmt::format("[kernel]\nruntime_dir = \"{}\"\n\n[[component]]\nname = "
                            "\"extensions\"\nlibrary = \"{}\"\nwhere = \"in-process\"\n\n"
                            "[[component]]\nname = \"device/REFERENCE\"\nlibrary = \"{}\"\n"
                            "where = \"process\"\n",
                            (m_dir / "run").string(), LOOM_EXTENSIONS_COMPONENT,
                            (lib_dir / "libloom_plugin_reference.so").string());
    }
    ChildProcess kernel({LOOM_EXECUTABLE, "kernel", "--config", (m_dir / "deploy.toml").string()});
    auto banner = kernel.read_until(
        [](const std::string& t) { return contains(t, "ready\n") || contains(t, "error"); });
    ASSERT_TRUE(contains(banner, "ready")) << banner;
    // "kernel: <endpoint> <endpoint>…": the ipc one is reachable from another process.
    std::string endpoint;
    {
        auto line = banner.substr(banner.find("kernel: ") + 8);
        line = line.substr(0, line.find('\n'));
        std::istringstream words(line);
        std::string w;
        while (words >> w)
            if (w.starts_with("ipc://")) endpoint = w;
    }
    ASSERT_FALSE(endpoint.empty()) << banner;
    auto ctl = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"ctl", "-k", endpoint, "ext"});
        return loom(std::move(args));
    };
    // Nothing loaded yet: a line saying so, and an empty JSON array.
    auto none = ctl({"list"});
    ASSERT_EQ(none.exit_code, 0) << none.output;
    EXPECT_EQ(none.output, "no extensions loaded\n");
    auto none_json = ctl({"list", "--json"});
    ASSERT_EQ(none_json.exit_code, 0) << none_json.output;
    EXPECT_EQ(nlohmann::json::parse(none_json.output), nlohmann::json::array()) << none_json.output;

    auto load = ctl({"load", LOOM_TEMPLATE_V1});
    ASSERT_EQ(load.exit_code, 0) << load.output;
    EXPECT_TRUE(contains(load.output, "template 1.0.0")) << load.output;
    EXPECT_TRUE(contains(load.output, "(2 processes)")) << load.output; // kernel + device
    auto swap = ctl({"swap", "template", LOOM_TEMPLATE_V2});
    ASSERT_EQ(swap.exit_code, 0) << swap.output;
    EXPECT_TRUE(contains(swap.output, "template 2.0.0")) << swap.output;
    auto broken = ctl({"swap", "template", LOOM_EXT_TEST_NO_ENTRY});
    EXPECT_EQ(broken.exit_code, 1);
    EXPECT_TRUE(contains(broken.output, "loom_create_extensions")) << broken.output;
    auto list = ctl({"list", "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.output;
    auto j = nlohmann::json::parse(list.output);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["version"], "2.0.0"); // the broken swap changed nothing
    auto text = ctl({"list"});
    ASSERT_EQ(text.exit_code, 0) << text.output;
    EXPECT_TRUE(contains(text.output, "template 2.0.0 from ")) << text.output;
    EXPECT_FALSE(contains(text.output, "no extensions")) << text.output;
    auto unload = ctl({"unload", "template"});
    ASSERT_EQ(unload.exit_code, 0) << unload.output;
    auto empty = ctl({"list", "--json"});
    EXPECT_EQ(nlohmann::json::parse(empty.output), nlohmann::json::array()) << empty.output;
    auto listed = ctl({"list"});
    EXPECT_EQ(listed.output, "no extensions loaded\n");

    auto stop = loom({"ctl", "-k", endpoint, "shutdown"});
    EXPECT_EQ(stop.exit_code, 0) << stop.output;
    kernel.read_all();
    const int status = kernel.wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

} // namespace
} // namespace loom::test
