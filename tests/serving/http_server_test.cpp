// The KServe v2 HTTP server (components/serving) end to end over loopback: health, metadata,
// JSON and binary inference on a model and on a demultiplexing pipeline, every bad request
// answered with the right 4xx and the typed error's message, limits, and metrics that count
// exactly what was sent — also under 8 concurrent clients × 50 requests.

#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "components/runtime/core_access.hpp"
#include "components/serving/http_server.hpp"
#include "tests/extensions/ext_models.hpp"
#include "tests/pipeline/rows_head.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/expect.hpp"

namespace {

using json = nlohmann::json;

class HttpServing : public ::testing::Test {
protected:
    void SetUp() override {
        std::ofstream(dir.path() / "relu.onnx", std::ios::binary)
            << loom::test::onnx_chain({{"Relu", "", {}}}, {4});
        std::ofstream(dir.path() / "rows.toml")
            << fmt::format(R"(name = "rows"
extensions = ["{}"]
{}[[node]]
name = "relu"
model = "relu.onnx"
device = "REFERENCE"
inputs = ["rows"]
[[output]]
name = "y"
from = "relu"
)",
                           LOOM_PIPETEST_EXT, loom::test::rows_head());
    }
    void start(std::size_t max_body = std::size_t{1} << 20) {
        loom::serving::HttpOptions o;
        o.port = 0;
        o.max_body_bytes = max_body;
        o.threads = 8;
        o.models.push_back(
            {"relu", (dir.path() / "relu.onnx").string(), "", "", "REFERENCE", "1", {}});
        o.models.push_back(
            {"rows", "", (dir.path() / "rows.toml").string(), "", "REFERENCE", "2", {}});
        server = std::make_unique<loom::serving::HttpServer>(core, o);
        server->start();
        client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    }
    json get(const std::string& path, int status = 200) {
        auto r = client->Get(path.c_str());
        EXPECT_TRUE(r) << path;
        if (!r) return {};
        EXPECT_EQ(r->status, status) << path << ": " << r->body;
        return json::parse(r->body, nullptr, false);
    }
    json post(const std::string& path, const std::string& body, int status = 200) {
        auto r = client->Post(path.c_str(), body, "application/json");
        EXPECT_TRUE(r) << path;
        if (!r) return {};
        EXPECT_EQ(r->status, status) << path << ": " << r->body;
        return json::parse(r->body, nullptr, false);
    }
    static std::string x_json(const std::vector<float>& x) {
        return json{
            {"inputs", {{{"name", "x"}, {"datatype", "FP32"}, {"shape", {x.size()}}, {"data", x}}}}}
            .dump();
    }

    loom::test::TempDir dir;
    loom::Core core;
    std::unique_ptr<loom::serving::HttpServer> server;
    std::unique_ptr<httplib::Client> client;
};

TEST_F(HttpServing, HealthAndMetadata) {
    start();
    EXPECT_EQ(get("/v2/health/live")["live"], true);
    EXPECT_EQ(get("/v2/health/ready")["ready"], true);
    EXPECT_TRUE(server->ready());
    const auto meta = get("/v2");
    EXPECT_EQ(meta["name"], "loom");
    EXPECT_EQ(meta["extensions"][0], "binary_tensor_data");
    const auto model = get("/v2/models/relu");
    EXPECT_EQ(model["versions"][0], "1");
    EXPECT_EQ(model["inputs"][0]["name"], "x");
    EXPECT_EQ(model["inputs"][0]["datatype"], "FP32");
    EXPECT_EQ(model["inputs"][0]["shape"], json({4}));
    EXPECT_EQ(get("/v2/models/rows/versions/2")["platform"], "loom:PIPELINE:rows");
    EXPECT_EQ(get("/v2/models/rows/versions/2/ready")["ready"], true);
    EXPECT_NE(
        get("/v2/models/rows/versions/1", 404)["error"].get<std::string>().find("no version '1'"),
        std::string::npos);
    EXPECT_NE(get("/v2/models/nope", 404)["error"].get<std::string>().find("no model 'nope'"),
              std::string::npos);
    EXPECT_NE(get("/v3/whatever", 404)["error"].get<std::string>().find("no such endpoint"),
              std::string::npos);
}

TEST_F(HttpServing, JsonAndBinaryInference) {
    start();
    auto r = post("/v2/models/relu/infer", x_json({-1, 2, -3, 4}));
    EXPECT_EQ(r["model_name"], "relu");
    EXPECT_EQ(r["outputs"][0]["data"], json({0.0, 2.0, 0.0, 4.0}));
    // A demultiplexing pipeline: 3 rows of relu(x + r), gathered.
    r = post("/v2/models/rows/infer", x_json({3, -1.5, 0, -9}));
    EXPECT_EQ(r["outputs"][0]["shape"], json({3, 4}));
    EXPECT_EQ(r["outputs"][0]["data"][4], 4.0); // row 1: 3 + 1
    EXPECT_EQ(r["outputs"][0]["data"][5], 0.0); // relu(-0.5)
    // N = 0: an empty output.
    r = post("/v2/models/rows/infer", x_json({0, 1, 1, 1}));
    EXPECT_EQ(r["outputs"][0]["shape"], json({0, 4}));
    // Binary in and out (the binary tensor data extension).
    const std::string header =
        R"({"id": "b1", "inputs": [{"name": "x", "datatype": "FP32", "shape": [4],
            "parameters": {"binary_data_size": 16}}],
            "outputs": [{"name": "y", "parameters": {"binary_data": true}}]})";
    const float x[4] = {5, -5, 0.5, -0.5};
    std::string body = header + std::string(reinterpret_cast<const char*>(x), sizeof x);
    httplib::Headers headers{{"Inference-Header-Content-Length", std::to_string(header.size())}};
    auto res = client->Post("/v2/models/relu/infer", headers, body, "application/octet-stream");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const auto length = std::stoul(res->get_header_value("Inference-Header-Content-Length"));
    const auto j = json::parse(res->body.substr(0, length));
    EXPECT_EQ(j["id"], "b1");
    EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 16);
    float y[4];
    ASSERT_EQ(res->body.size(), length + 16);
    std::memcpy(y, res->body.data() + length, 16);
    EXPECT_EQ(y[0], 5.0f);
    EXPECT_EQ(y[1], 0.0f);
    EXPECT_EQ(y[2], 0.5f);
}

TEST_F(HttpServing, BadRequestsGetTheRight4xxAndTheTypedMessage) {
    start(4096);
    const auto error = [&](const std::string& model, const std::string& body, int status) {
        return post("/v2/models/" + model + "/infer", body, status)["error"].get<std::string>();
    };
    EXPECT_NE(error("relu", "{oops", 400).find("malformed JSON"), std::string::npos);
    EXPECT_NE(error("nope", x_json({1, 2, 3, 4}), 404).find("no model 'nope'"), std::string::npos);
    EXPECT_NE(error("relu",
                    R"({"inputs": [{"name": "q", "datatype": "FP32", "shape": [4],
                        "data": [1, 2, 3, 4]}]})",
                    400)
                  .find("no input 'q'"),
              std::string::npos);
    EXPECT_NE(error("relu", R"({"inputs": []})", 400).find("input 'x'"), std::string::npos);
    EXPECT_NE(error("relu", x_json({1, 2, 3}), 400).find("x"), std::string::npos); // shape [3]
    EXPECT_NE(error("relu",
                    R"({"inputs": [{"name": "x", "datatype": "INT32", "shape": [4],
                        "data": [1, 2, 3, 4]}]})",
                    400)
                  .find("x"),
              std::string::npos);
    EXPECT_NE(error("relu", x_json({1, 2, 3, 4}).substr(0, 30), 400).find("JSON"),
              std::string::npos);
    // Truncated binary data.
    const std::string header = R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [4],
        "parameters": {"binary_data_size": 16}}]})";
    httplib::Headers headers{{"Inference-Header-Content-Length", std::to_string(header.size())}};
    auto res = client->Post("/v2/models/relu/infer", headers, header + std::string(10, 'x'),
                            "application/octet-stream");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_NE(res->body.find("truncated"), std::string::npos) << res->body;
    // Over max_body_bytes (4 KiB here): 413.
    res = client->Post("/v2/models/relu/infer", std::string(8192, ' '), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_NE(res->body.find("max_body_bytes"), std::string::npos) << res->body;
    // The server still serves.
    EXPECT_EQ(post("/v2/models/relu/infer", x_json({1, -1, 1, -1}))["outputs"][0]["data"][0], 1.0);
}

TEST(HttpLimits, InferencesBeyondMaxConcurrentAreAnswered503Overloaded) {
    // The device in a process of its own, SIGSTOPped: a first request is held in flight (its
    // device does not answer), so a second one finds max_concurrent (1) reached — deterministic.
    loom::test::TempDir dir;
    std::ofstream(dir.path() / "relu.onnx", std::ios::binary)
        << loom::test::onnx_chain({{"Relu", "", {}}}, {4});
    loom::CoreOptions co;
    co.devices_out_of_process = true;
    loom::Core core(co);
    loom::serving::HttpOptions o;
    o.port = 0;
    o.max_concurrent = 1;
    o.models.push_back({"relu", (dir.path() / "relu.onnx").string(), "", "", "REFERENCE", "1", {}});
    loom::serving::HttpServer server(core, o);
    server.start();
    int pid = 0;
    for (const auto& c : loom::CoreAccess::deployment(core).kernel_client().list())
        if (c.name == "device/REFERENCE") pid = c.pid;
    ASSERT_GT(pid, 0);
    const std::string body =
        R"({"inputs":[{"name":"x","datatype":"FP32","shape":[4],"data":[1,-1,2,-2]}]})";
    ::kill(pid, SIGSTOP);
    std::thread first([&] {
        httplib::Client c("127.0.0.1", server.port());
        c.set_read_timeout(std::chrono::seconds(60));
        auto r = c.Post("/v2/models/relu/infer", body, "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200) << r->body; // answered once the device runs again
    });
    httplib::Client c("127.0.0.1", server.port());
    const auto in_flight = [&] {
        auto m = c.Get("/metrics");
        return m &&
               m->body.find(R"(loom_inference_requests_in_flight{model="relu",version="1"} 1)") !=
                   std::string::npos;
    };
    EXPECT_TRUE(loom::test::eventually(in_flight)); // the first is admitted and running
    auto r = c.Post("/v2/models/relu/infer", body, "application/json");
    ::kill(pid, SIGCONT);
    first.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_NE(r->body.find("overloaded"), std::string::npos) << r->body;
    auto m = c.Get("/metrics");
    EXPECT_NE(
        m->body.find(
            R"(loom_inference_requests_total{model="relu",version="1",outcome="overloaded"} 1)"),
        std::string::npos);
}

// Sums `family{labels...}` samples whose line contains every part of `match`.
double sample(const std::string& text, const std::string& prefix) {
    double sum = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix)) sum += std::stod(line.substr(line.rfind(' ') + 1));
    return sum;
}

TEST_F(HttpServing, ConcurrentClientsLoseNothingAndMetricsCountWhatWasSent) {
    start();
    constexpr int k_clients = 8, k_requests = 50;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_clients; ++t)
        threads.emplace_back([&, t] {
            httplib::Client c("127.0.0.1", server->port());
            for (int i = 0; i < k_requests; ++i) {
                const float n = static_cast<float>((t + i) % 4);
                const std::vector<float> x{n, static_cast<float>(t), static_cast<float>(i), -1};
                auto r = c.Post("/v2/models/rows/infer", x_json(x), "application/json");
                if (!r || r->status != 200) {
                    ++wrong;
                    continue;
                }
                const auto j = json::parse(r->body);
                const auto& data = j["outputs"][0]["data"];
                bool ok = j["outputs"][0]["shape"] == json({static_cast<int>(n), 4});
                for (int row = 0; ok && row < static_cast<int>(n); ++row)
                    for (int k = 0; k < 4; ++k)
                        ok &= data[row * 4 + k].get<float>() == std::max(0.0f, x[k] + row);
                if (!ok) ++wrong;
            }
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
    post("/v2/models/rows/infer", "{", 400);
    auto r = client->Get("/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(
        sample(r->body,
               R"(loom_inference_requests_total{model="rows",version="2",outcome="success"})"),
        k_clients * k_requests);
    EXPECT_EQ(
        sample(
            r->body,
            R"(loom_inference_requests_total{model="rows",version="2",outcome="invalid_argument"})"),
        1);
    EXPECT_EQ(sample(r->body, R"(loom_inference_request_duration_seconds_count{model="rows")"),
              k_clients * k_requests);
    EXPECT_EQ(sample(r->body, R"(loom_inference_requests_in_flight{model="rows")"), 0);
    // Items ran once each: (0 + 1 + 2 + 3) rows per 4 requests.
    EXPECT_EQ(
        sample(r->body, R"(loom_pipeline_node_duration_seconds_count{pipeline="rows",node="relu")"),
        k_clients * k_requests / 4 * 6);
    EXPECT_NE(r->body.find("# TYPE loom_inference_request_duration_seconds histogram"),
              std::string::npos);
}

} // namespace
