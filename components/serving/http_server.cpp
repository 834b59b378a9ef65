#include "components/serving/http_server.hpp"

#include <chrono>
#include <iostream>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "components/runtime/core_access.hpp"
#include "components/runtime/deployment.hpp"
#include "components/serving/kserve.hpp"
#include "kernel/types.hpp"
#include "schemas/error.hpp"

namespace loom::serving {

using json = nlohmann::json;

struct HttpServer::Served {
    ServedSpec spec;
    CompiledModel compiled;
    Pipeline pipeline;                   // empty unless a pipeline
    std::vector<std::string> components; // kernel components it needs
    ModelMetrics metrics;
    std::mutex mutex; // guards idle
    std::vector<InferRequest> idle;
};

namespace {

int status_of(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::INVALID_ARGUMENT:
    case ErrorKind::UNSUPPORTED:
        return 400;
    case ErrorKind::NOT_FOUND:
        return 404;
    case ErrorKind::UNAVAILABLE:
    case ErrorKind::DISCONNECTED:
    case ErrorKind::OVERLOADED:
        return 503;
    case ErrorKind::TIMEOUT:
        return 504;
    default:
        return 500;
    }
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
}

void reply_json(httplib::Response& res, const json& j) {
    res.status = 200;
    res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// The kernel components a device name relies on ("CPU" → device/CPU; MULTI/HETERO: members';
// devices reached by endpoint have none).
void device_components(const std::string& device, std::vector<std::string>& out) {
    for (const char* kind : {"MULTI", "HETERO"})
        if (auto members = runtime::composite_members(device, kind); !members.empty()) {
            for (const auto& m : members)
                device_components(m, out);
            return;
        }
    if (!runtime::parse_device_name(device).endpoint.empty()) return;
    out.push_back("device/" + device);
}

std::optional<std::size_t> header_length(const httplib::Request& req) {
    if (!req.has_header("Inference-Header-Content-Length")) return std::nullopt;
    const auto text = req.get_header_value("Inference-Header-Content-Length");
    LOOM_REQUIRE(!text.empty() && text.size() <= 18 &&
                     text.find_first_not_of("0123456789") == std::string::npos,
                 "Inference-Header-Content-Length '{}' is not a byte count", text);
    return static_cast<std::size_t>(std::stoull(text));
}

} // namespace

HttpServer::HttpServer(Core& core, HttpOptions options)
    : m_core(core)
    , m_options(std::move(options)) {
    for (const auto& spec : m_options.models) {
        auto served = std::make_unique<Served>();
        served->spec = spec;
        try {
            if (!spec.pipeline.empty() || !spec.pipeline_text.empty()) {
                served->pipeline =
                    spec.pipeline_text.empty()
                        ? Pipeline::compile(core, spec.pipeline)
                        : Pipeline::compile_text(core, spec.pipeline_text, spec.base_dir);
                served->compiled = served->pipeline.compiled_model();
                for (const auto& d : served->pipeline.devices())
                    device_components(d, served->components);
                for (const auto& c : served->pipeline.components())
                    if (c.find("://") == std::string::npos) served->components.push_back(c);
            } else {
                served->compiled = core.compile_model(spec.model, spec.device);
                device_components(spec.device, served->components);
            }
        } catch (const Error& e) {
            LOOM_THROW(e.kind(), "serving '{}': {}", spec.name, e.message());
        }
        m_models.push_back(std::move(served));
    }
}

HttpServer::~HttpServer() {
    stop();
}

std::map<std::string, std::string> HttpServer::component_states() const {
    std::map<std::string, std::string> out;
    for (const auto& c : CoreAccess::deployment(m_core).kernel_client().list())
        out[c.name] = std::string(kernel::to_string(c.state));
    return out;
}

bool HttpServer::ready(std::string* why) const {
    std::map<std::string, std::string> states;
    try {
        states = component_states();
    } catch (const Error& e) {
        if (why) *why = "the kernel does not answer: " + e.message();
        return false;
    }
    for (const auto& m : m_models)
        for (const auto& c : m->components) {
            auto it = states.find(c);
            if (it == states.end() || it->second != "ready") {
                if (why)
                    *why = fmt::format("model '{}' needs component '{}', which is {}", m->spec.name,
                                       c, it == states.end() ? "not registered" : it->second);
                return false;
            }
        }
    return true;
}

HttpServer::Served* HttpServer::find(const std::string& name, const std::string& version,
                                     httplib::Response& res) const {
    for (const auto& m : m_models)
        if (m->spec.name == name) {
            if (!version.empty() && version != m->spec.version) {
                reply_error(res, 404,
                            fmt::format("model '{}' has no version '{}' (it serves version {})",
                                        name, version, m->spec.version));
                return nullptr;
            }
            return m.get();
        }
    reply_error(res, 404, fmt::format("no model '{}' is served here", name));
    return nullptr;
}

namespace {
// The port named `name` (its index); `what` and `model` name it in the error.
std::size_t port_named(const std::vector<Port>& ports, const std::string& name, const char* what,
                       const std::string& model) {
    for (const auto& p : ports)
        if (p.name == name) return p.index;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "model '{}' has no {} '{}'", model, what, name);
}
} // namespace

// One inference of `body` on a request of `m`'s pool (made when none is idle; a request whose
// inference failed is dropped, not pooled).
InferResponse HttpServer::run(Served& m, const InferBody& body) {
    std::optional<InferRequest> request;
    {
        std::lock_guard lock(m.mutex);
        if (!m.idle.empty()) {
            request = std::move(m.idle.back());
            m.idle.pop_back();
        }
    }
    if (!request) request = m.compiled.create_infer_request();
    const auto& ports = m.compiled.inputs();
    std::vector<bool> given(ports.size(), false);
    for (const auto& in : body.inputs) {
        const auto index = port_named(ports, in.name, "input", m.spec.name);
        LOOM_REQUIRE(!given[index], "input '{}' is given twice", in.name);
        given[index] = true;
        request->set_input_tensor(index, in.tensor);
    }
    for (const auto& p : ports)
        LOOM_REQUIRE(given[p.index], "input '{}' ({} {}) is missing", p.name, datatype_of(p.type),
                     p.shape.to_string());
    request->infer();
    std::vector<ResponseOutput> outputs;
    const auto& out_ports = m.compiled.outputs();
    if (body.outputs.empty())
        for (const auto& p : out_ports)
            outputs.push_back({p.name, request->get_output_tensor(p.index), body.binary_outputs});
    for (const auto& o : body.outputs)
        outputs.push_back(
            {o.name,
             request->get_output_tensor(port_named(out_ports, o.name, "output", m.spec.name)),
             o.binary});
    auto response = infer_response(m.spec.name, m.spec.version, body.id, outputs);
    std::lock_guard lock(m.mutex);
    m.idle.push_back(std::move(*request));
    return response;
}

void HttpServer::infer(Served& m, const httplib::Request& req, std::string_view request_body,
                       httplib::Response& res) {
    if (m_in_flight.fetch_add(1) >= m_options.max_concurrent) {
        m_in_flight.fetch_sub(1);
        m.metrics.refused("overloaded");
        return reply_error(res, 503,
                           fmt::format("overloaded: {} inferences are running (max_concurrent)",
                                       m_options.max_concurrent));
    }
    struct Release {
        std::atomic<unsigned>& n;
        ~Release() { n.fetch_sub(1); }
    } release{m_in_flight};
    const auto start = std::chrono::steady_clock::now();
    InferBody body;
    try {
        body = parse_infer_request(request_body, header_length(req), m_options.max_elements);
    } catch (const Error& e) {
        m.metrics.refused("invalid_argument");
        return reply_error(res, 400, e.message());
    }
    m.metrics.started();
    std::string outcome = "success";
    try {
        auto r = run(m, body);
        res.status = 200;
        if (r.header_length)
            res.set_header("Inference-Header-Content-Length", std::to_string(*r.header_length));
        res.set_header("Content-Type",
                       r.header_length ? "application/octet-stream" : "application/json");
        res.body = std::move(r.body); // (set_content would copy it)
    } catch (const Error& e) {
        outcome = std::string(to_string(e.kind()));
        reply_error(res, status_of(e.kind()), e.message());
    } catch (const std::exception& e) {
        outcome = "internal";
        reply_error(res, 500, e.what());
    }
    m.metrics.finished(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), outcome);
}

void HttpServer::route() {
    auto& s = *m_server;
    s.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
        reply_json(res, json{{"live", true}});
    });
    s.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
        std::string why;
        if (ready(&why)) return reply_json(res, json{{"ready", true}});
        reply_error(res, 503, "not ready: " + why);
    });
    s.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
        reply_json(res, json{{"name", "loom"},
                             {"version", loom::version()},
                             {"extensions", {"binary_tensor_data"}}});
    });
    const std::string model = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
    s.Get(model, [this](const httplib::Request& req, httplib::Response& res) {
        Served* m = find(req.matches[1], req.matches[2], res);
        if (!m) return;
        json inputs = json::array(), outputs = json::array();
        for (const auto& p : m->compiled.inputs())
            inputs.push_back(tensor_metadata(p));
        for (const auto& p : m->compiled.outputs())
            outputs.push_back(tensor_metadata(p));
        reply_json(res, json{{"name", m->spec.name},
                             {"versions", {m->spec.version}},
                             {"platform", "loom:" + m->compiled.device()},
                             {"inputs", inputs},
                             {"outputs", outputs}});
    });
    s.Get(model + "/ready", [this](const httplib::Request& req, httplib::Response& res) {
        Served* m = find(req.matches[1], req.matches[2], res);
        if (!m) return;
        std::string why;
        if (ready(&why)) return reply_json(res, json{{"name", m->spec.name}, {"ready", true}});
        reply_error(res, 503, "not ready: " + why);
    });
    s.Post(model + "/infer", [this](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& read) {
        Served* m = find(req.matches[1], req.matches[2], res);
        if (!m) return;
        // The body read into one buffer sized from Content-Length (bounded by max_body_bytes,
        // which httplib enforces): no regrowth copies of a large tensor.
        std::string body;
        if (req.has_header("Content-Length")) {
            const auto length =
                std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
            body.reserve(static_cast<std::size_t>(
                std::min<std::uint64_t>(length, m_options.max_body_bytes)));
        }
        if (!read([&](const char* data, std::size_t n) {
                body.append(data, n);
                return true;
            })) {
            if (res.status == -1 || res.status < 400)
                reply_error(res, 400, "the request body could not be read");
            return;
        }
        infer(*m, req, body, res);
    });
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        std::vector<ServedMetrics> models;
        for (const auto& m : m_models)
            models.push_back(
                {m->spec.name, m->spec.version, &m->metrics, m->pipeline.node_stats()});
        std::map<std::string, std::string> states;
        try {
            states = component_states();
        } catch (const Error&) { // the kernel does not answer: no component lines
        }
        res.set_content(prometheus_text(models, states), "text/plain; version=0.0.4");
    });
    // Errors httplib answers itself (413 body too large, 404 unknown path …) get a JSON body.
    s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        reply_error(res, res.status,
                    res.status == 413 ? "the body is larger than max_body_bytes"
                    : res.status == 404
                        ? fmt::format("no such endpoint: {} {}", req.method, req.path)
                        : fmt::format("HTTP {}", res.status));
    });
}

void HttpServer::start() {
    LOOM_REQUIRE(!m_server, "the server is started already");
    m_server = std::make_unique<httplib::Server>();
    const unsigned threads = m_options.threads;
    m_server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    m_server->set_payload_max_length(m_options.max_body_bytes);
    m_server->set_tcp_nodelay(true); // else a response's body waits on the header's delayed ACK
    m_server->set_read_timeout(std::chrono::seconds(30));
    m_server->set_write_timeout(std::chrono::seconds(30));
    route();
    if (m_options.port == 0) {
        m_port = m_server->bind_to_any_port(m_options.address);
    } else {
        m_port = m_server->bind_to_port(m_options.address, m_options.port) ? m_options.port : -1;
    }
    if (m_port <= 0) {
        m_server.reset();
        LOOM_THROW(ErrorKind::UNAVAILABLE,
                   "cannot listen on {}:{} (in use, or not an address "
                   "of this host)",
                   m_options.address, m_options.port);
    }
    m_thread = std::thread([this] { m_server->listen_after_bind(); });
    const auto& a = m_options.address;
    if (a != "127.0.0.1" && a != "localhost" && a != "::1" && !a.starts_with("127."))
        std::cerr << "loom: warning: serving HTTP on " << a << ":" << m_port
                  << " without TLS or authentication: anyone who reaches it can run the served "
                     "models (put a TLS proxy with authentication in front)\n";
}

void HttpServer::stop() {
    if (!m_server) return;
    m_server->stop();
    if (m_thread.joinable()) m_thread.join();
    m_server.reset();
}

} // namespace loom::serving
