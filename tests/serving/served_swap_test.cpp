// A served pipeline's node swapped under HTTP load (label fault): `loom kernel --config` serves
// a pipeline declared in its deployment file whose items run the template extension's Activation; 4
// HTTP clients send requests while `loom ctl ext swap` replaces the extension with version 2. No
// request fails, every request's items use one version (the request's pinned registry snapshot),
// later requests use version 2, and /metrics counts every request sent.

#include <atomic>
#include <cmath>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <loom/pipeline.hpp>

#include "tests/extensions/ext_models.hpp"
#include "tests/pipeline/rows_head.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/expect.hpp"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The version (0: v1, 1: v2) every item of a response agrees on; -1 when they do not, or wrong.
int version_of(const std::vector<float>& x, const json& out) {
    const int n = static_cast<int>(std::lround(x[0]));
    int seen = -1;
    for (int r = 0; r < n; ++r)
        for (int i = 0; i < 4; ++i) {
            const double got = out["data"][r * 4 + i].get<double>();
            int which = -1;
            for (int v : {1, 2})
                if (std::abs(got - loom::test::activation(x[i] + r, 1, 1, v)) < 1e-4) which = v - 1;
            if (which < 0 || (seen >= 0 && which != seen)) return -1;
            seen = which;
        }
    return seen;
}

TEST(ServedPipeline, SwappingItsExtensionUnderHttpLoadFailsNoRequest) {
    loom::test::TempDir dir;
    const auto run = dir.path() / "run";
    std::ofstream deploy(dir.path() / "deploy.toml");
    deploy << fmt::format("[kernel]\nruntime_dir = \"{}\"\n", run.string());
    for (const char* c : {"extensions", "reader", "transform"})
        deploy << fmt::format(
            "[[component]]\nname = \"{}\"\nlibrary = \"{}/libloom_{}_component.so\"\n", c,
            LOOM_LIB_DIR, c);
    // The pipeline is declared in the deployment file itself ([[pipeline]]).
    deploy << fmt::format(R"([[pipeline]]
name = "act"
extensions = ["{}", "{}"]
{}[[pipeline.node]]
name = "act"
op = "Activation"
domain = "loom.template"
attributes = {{ alpha = 1.0, beta = 1.0 }}
inputs = ["rows"]
[[pipeline.output]]
name = "y"
from = "act"
[http]
port = 0
[[http.model]]
name = "act"
pipeline = "act"
)",
                          LOOM_PIPETEST_EXT, LOOM_TEMPLATE_V1, loom::test::rows_head("pipeline."));
    deploy.close();
    loom::test::ChildProcess kernel(
        {LOOM_EXECUTABLE, "kernel", "--config", (dir.path() / "deploy.toml").string()});
    const auto out = kernel.read_until([](const std::string& o) { return contains(o, "ready\n"); });
    ASSERT_TRUE(contains(out, "ready\n")) << out;
    const auto at = out.find("http://127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << out;
    const int port = std::stoi(out.substr(at + 17));

    std::atomic<bool> stop{false};
    std::atomic<int> failures{0}, mixed{0}, sent{0};
    std::atomic<int> per_version[2] = {0, 0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
        clients.emplace_back([&, t] {
            httplib::Client c("127.0.0.1", port);
            for (int i = 0; !stop; ++i) {
                const std::vector<float> x{static_cast<float>(1 + (i + t) % 3), 0.5f,
                                           static_cast<float>(t), -1};
                ++sent;
                auto r = c.Post(
                    "/v2/models/act/infer",
                    json{{"inputs",
                          {{{"name", "x"}, {"datatype", "FP32"}, {"shape", {4}}, {"data", x}}}}}
                        .dump(),
                    "application/json");
                if (!r || r->status != 200) {
                    ++failures;
                    continue;
                }
                const int v = version_of(x, json::parse(r->body)["outputs"][0]);
                if (v < 0)
                    ++mixed;
                else
                    ++per_version[v];
            }
        });
    const auto wait_for = [&](int version, int count) {
        loom::test::eventually([&] { return per_version[version] >= count || failures > 0; },
                               std::chrono::seconds(60));
    };
    wait_for(0, 30);
    const auto swap =
        loom::test::run_process({LOOM_EXECUTABLE, "ctl", "-k", "ipc://" + (run / "kernel").string(),
                                 "ext", "swap", "template", LOOM_TEMPLATE_V2});
    EXPECT_EQ(swap.exit_code, 0) << swap.output;
    wait_for(1, 30);
    stop = true;
    for (auto& c : clients)
        c.join();
    std::cout << fmt::format("requests: {} sent, {} on v1, {} on v2, {} failed, {} mixed\n",
                             sent.load(), per_version[0].load(), per_version[1].load(),
                             failures.load(), mixed.load());
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(mixed.load(), 0);
    EXPECT_GE(per_version[0].load(), 30);
    EXPECT_GE(per_version[1].load(), 30);
    // A Core attached to this deployment from a process of its own cannot run op nodes: the
    // deployment's extensions are not in this process — refused saying so and what to do.
    {
        loom::CoreOptions co;
        co.kernel = "ipc://" + (run / "kernel").string();
        loom::Core attached(co);
        try {
            loom::Pipeline::compile_text(
                attached,
                fmt::format("name = \"p\"\nextensions = [\"{}\"]\n[[input]]\nname = \"x\"\n"
                            "type = \"f32\"\n[[node]]\nname = \"rows\"\nop = \"Rows\"\n"
                            "domain = \"loom.pipetest\"\ninputs = [\"x\"]\n[[output]]\n"
                            "name = \"y\"\nfrom = \"rows\"\n",
                            LOOM_PIPETEST_EXT),
                dir.path());
            ADD_FAILURE() << "an attached Core ran an op node without the extension";
        } catch (const loom::Error& e) {
            EXPECT_EQ(e.kind(), loom::ErrorKind::UNSUPPORTED) << e.message();
            EXPECT_TRUE(contains(e.message(), "loom kernel")) << e.message();
        }
    }
    httplib::Client c("127.0.0.1", port);
    auto metrics = c.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_TRUE(contains(metrics->body,
                         fmt::format("loom_inference_requests_total{{model=\"act\",version=\"1\","
                                     "outcome=\"success\"}} {}",
                                     sent.load())))
        << metrics->body.substr(0, 800);
}

// /v2/health/ready follows the components' heartbeats: a served model's device process killed
// -9 turns ready into 503 naming it (never "zombie healthy"), inference answers 503, and
// /metrics shows the component down; the server itself stays live.
TEST(ServedModel, ReadyFollowsTheDevicesHeartbeats) {
    loom::test::TempDir dir;
    std::ofstream(dir.path() / "relu.onnx", std::ios::binary)
        << loom::test::onnx_chain({{"Relu", "", {}}}, {4});
    std::ofstream deploy(dir.path() / "deploy.toml");
    deploy << fmt::format("[kernel]\nruntime_dir = \"{}\"\nheartbeat_ms = 200\n",
                          (dir.path() / "run").string());
    for (const char* c : {"extensions", "reader", "transform"})
        deploy << fmt::format(
            "[[component]]\nname = \"{}\"\nlibrary = \"{}/libloom_{}_component.so\"\n", c,
            LOOM_LIB_DIR, c);
    deploy << fmt::format("[[component]]\nname = \"device/REFERENCE\"\nlibrary = "
                          "\"{}/libloom_plugin_reference.so\"\nwhere = \"process\"\n",
                          LOOM_LIB_DIR);
    deploy << "[http]\nport = 0\n[[http.model]]\nname = \"relu\"\nmodel = \"relu.onnx\"\n"
              "device = \"REFERENCE\"\n";
    deploy.close();
    loom::test::ChildProcess kernel(
        {LOOM_EXECUTABLE, "kernel", "--config", (dir.path() / "deploy.toml").string()});
    const auto out = kernel.read_until([](const std::string& o) { return contains(o, "ready\n"); });
    ASSERT_TRUE(contains(out, "ready\n")) << out;
    const int port = std::stoi(out.substr(out.find("http://127.0.0.1:") + 17));
    // The device's pid, from the kernel's component table.
    const auto row = out.find("\ndevice/REFERENCE ") + 1; // the table's row, not a log line
    ASSERT_NE(row, 0u) << out;
    std::istringstream fields(out.substr(row, out.find('\n', row) - row));
    std::string name, instance, state, version, kind, where;
    int pid = 0;
    fields >> name >> instance >> state >> version >> kind >> where >> pid;
    ASSERT_GT(pid, 0) << out;

    httplib::Client c("127.0.0.1", port);
    const std::string body =
        R"({"inputs":[{"name":"x","datatype":"FP32","shape":[4],"data":[1,-1,2,-2]}]})";
    ASSERT_EQ(c.Get("/v2/health/ready")->status, 200);
    auto r = c.Post("/v2/models/relu/infer", body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;

    ::kill(pid, SIGKILL);
    // Not ready once the kernel has missed its heartbeats (liveness 3 × 200 ms).
    EXPECT_TRUE(loom::test::eventually([&] { return c.Get("/v2/health/ready")->status == 503; }));
    auto ready = c.Get("/v2/models/relu/ready");
    EXPECT_EQ(ready->status, 503);
    EXPECT_TRUE(contains(ready->body, "device/REFERENCE")) << ready->body;
    EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
    r = c.Post("/v2/models/relu/infer", body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << r->body;
    auto metrics = c.Get("/metrics");
    EXPECT_TRUE(contains(metrics->body, "loom_component_up{component=\"device/REFERENCE\""));
    EXPECT_FALSE(contains(metrics->body,
                          "loom_component_up{component=\"device/REFERENCE\",state=\"ready\"} 1"));
}

} // namespace
