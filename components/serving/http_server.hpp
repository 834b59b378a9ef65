#pragma once
// The Open Inference Protocol (KServe v2) over HTTP/REST (DESIGN.md §6), served with
// cpp-httplib for every model and pipeline of an HttpOptions:
//
//   GET  /v2/health/live                       200 while the process serves
//   GET  /v2/health/ready                      200 only while every component the served models
//                                              need is ready by its heartbeats, else 503
//   GET  /v2                                   server metadata (name, version, extensions)
//   GET  /v2/models/NAME[/versions/V]          model metadata (inputs, outputs, platform)
//   GET  /v2/models/NAME[/versions/V]/ready    200 / 503
//   POST /v2/models/NAME[/versions/V]/infer    JSON, or JSON + binary tensor data
//   GET  /metrics                              Prometheus text (metrics.hpp)
//
// Errors answer {"error": "<the typed error's message>"}: 400 for a bad request (malformed JSON,
// wrong input name/shape/type, truncated binary data), 404 for an unknown model or version, 413
// for a body over max_body_bytes, 503 when max_concurrent inferences run already or a component
// is unavailable, 504 on a timeout, 500 otherwise. Nothing a request sends can crash the server
// or reach another request's tensors (each inference has its own request object).
// Threading: handlers run on the server's pool; start/stop from one thread.

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <loom/core.hpp>
#include <loom/pipeline.hpp>

#include "components/serving/http_config.hpp"
#include "components/serving/kserve.hpp"
#include "components/serving/metrics.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
} // namespace httplib

namespace loom::serving {

class HttpServer {
public:
    // Compiles every model and pipeline of `options` with `core` (errors name the model); the
    // Core must outlive the server.
    HttpServer(Core& core, HttpOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds (unavailable naming the address when it cannot) and serves on a thread of its own.
    void start();
    // Stops accepting, finishes the requests being served, joins.
    void stop();
    int port() const noexcept { return m_port; }
    const HttpOptions& options() const noexcept { return m_options; }
    // Whether every component the served models need is ready, and if not, why.
    bool ready(std::string* why = nullptr) const;

private:
    struct Served;
    void route();
    Served* find(const std::string& name, const std::string& version, httplib::Response& res) const;
    void infer(Served& model, const httplib::Request& req, std::string_view body,
               httplib::Response& res);
    InferResponse run(Served& model, const InferBody& body);
    std::map<std::string, std::string> component_states() const;

    Core& m_core;
    HttpOptions m_options;
    std::vector<std::unique_ptr<Served>> m_models;
    std::unique_ptr<httplib::Server> m_server;
    std::thread m_thread;
    std::atomic<unsigned> m_in_flight{0};
    int m_port = 0;
};

} // namespace loom::serving
