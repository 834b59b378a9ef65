#include "components/serving/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace loom::serving {

std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

namespace {
void write_histogram(std::string& out, const char* family, const std::string& labels,
                     const std::vector<std::uint64_t>& buckets, double sum) {
    std::uint64_t cumulative = 0;
    const auto& bounds = latency_buckets();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += buckets[i];
        out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", family, labels, bounds[i], cumulative);
    }
    cumulative += buckets.back();
    out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", family, labels, cumulative);
    out += fmt::format("{}_sum{{{}}} {}\n", family, labels, sum);
    out += fmt::format("{}_count{{{}}} {}\n", family, labels, cumulative);
}
} // namespace

ModelMetrics::ModelMetrics()
    : m_buckets(latency_buckets().size() + 1) {}

void ModelMetrics::finished(double seconds, const std::string& outcome) {
    m_in_flight.fetch_sub(1, std::memory_order_relaxed);
    m_micros.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
    const auto& b = latency_buckets();
    const auto i =
        static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
    m_buckets[i].fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(m_mutex);
    ++m_outcomes[outcome];
}

void ModelMetrics::refused(const std::string& outcome) {
    std::lock_guard lock(m_mutex);
    ++m_outcomes[outcome];
}

std::uint64_t ModelMetrics::count(const std::string& outcome) const {
    std::lock_guard lock(m_mutex);
    auto it = m_outcomes.find(outcome);
    return it == m_outcomes.end() ? 0 : it->second;
}

void ModelMetrics::write_requests(std::string& out, const std::string& labels) const {
    std::lock_guard lock(m_mutex);
    for (const auto& [outcome, n] : m_outcomes)
        out += fmt::format("loom_inference_requests_total{{{},outcome=\"{}\"}} {}\n", labels,
                           escape_label(outcome), n);
}

void ModelMetrics::write_in_flight(std::string& out, const std::string& labels) const {
    out += fmt::format("loom_inference_requests_in_flight{{{}}} {}\n", labels, m_in_flight.load());
}

void ModelMetrics::write_latency(std::string& out, const std::string& labels) const {
    std::vector<std::uint64_t> buckets;
    for (const auto& b : m_buckets)
        buckets.push_back(b.load());
    write_histogram(out, "loom_inference_request_duration_seconds", labels, buckets,
                    static_cast<double>(m_micros.load()) / 1e6);
}

std::string prometheus_text(const std::vector<ServedMetrics>& models,
                            const std::map<std::string, std::string>& component_states) {
    std::string out;
    const auto family = [&](const char* name, const char* type, const char* help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    const auto labels = [](const ServedMetrics& m) {
        return fmt::format("model=\"{}\",version=\"{}\"", escape_label(m.model),
                           escape_label(m.version));
    };
    family("loom_inference_requests_total", "counter",
           "Inference requests by model and outcome (success, or the error's class).");
    for (const auto& m : models)
        m.metrics->write_requests(out, labels(m));
    family("loom_inference_requests_in_flight", "gauge", "Inference requests running now.");
    for (const auto& m : models)
        m.metrics->write_in_flight(out, labels(m));
    family("loom_inference_request_duration_seconds", "histogram",
           "Inference request latency, from the body parsed to the response built.");
    for (const auto& m : models)
        m.metrics->write_latency(out, labels(m));
    const auto node_labels = [](const ServedMetrics& m, const PipelineNodeStats& n) {
        return fmt::format("pipeline=\"{}\",node=\"{}\",kind=\"{}\"", escape_label(m.model),
                           escape_label(n.name), n.kind);
    };
    family("loom_pipeline_node_failures_total", "counter", "Pipeline node runs that failed.");
    for (const auto& m : models)
        for (const auto& n : m.nodes)
            out += fmt::format("loom_pipeline_node_failures_total{{{}}} {}\n", node_labels(m, n),
                               n.failures);
    family("loom_pipeline_node_duration_seconds", "histogram",
           "Pipeline node run latency (once per item inside a demultiply).");
    for (const auto& m : models)
        for (const auto& n : m.nodes)
            write_histogram(out, "loom_pipeline_node_duration_seconds", node_labels(m, n),
                            n.buckets, n.seconds);
    family("loom_component_up", "gauge",
           "1 while the deployment's component is ready by its heartbeats, else 0.");
    for (const auto& [name, state] : component_states)
        out += fmt::format("loom_component_up{{component=\"{}\",state=\"{}\"}} {}\n",
                           escape_label(name), escape_label(state), state == "ready" ? 1 : 0);
    return out;
}

} // namespace loom::serving
