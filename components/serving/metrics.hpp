#pragma once
// What the server counts, and its Prometheus text exposition (GET /metrics): requests per model
// and outcome, request latency histograms per model, requests in flight, each pipeline node's
// runs and latency histogram, and the deployment's component states. Thread-safe: counters are
// atomics, registered once at start.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <loom/pipeline.hpp>

namespace loom::serving {

class ModelMetrics {
public:
    ModelMetrics();
    void started() { m_in_flight.fetch_add(1, std::memory_order_relaxed); }
    // One request ended after `seconds`; `outcome` is "success" or the error class
    // ("invalid_argument", "unavailable", …).
    void finished(double seconds, const std::string& outcome);
    void refused(const std::string& outcome); // never ran (overloaded, bad request)

    // The model's samples of each family (labels: model="…",version="…").
    void write_requests(std::string& out, const std::string& labels) const;
    void write_in_flight(std::string& out, const std::string& labels) const;
    void write_latency(std::string& out, const std::string& labels) const;
    std::uint64_t count(const std::string& outcome) const;

private:
    std::atomic<std::int64_t> m_in_flight{0};
    std::atomic<std::uint64_t> m_micros{0};
    std::vector<std::atomic<std::uint64_t>> m_buckets; // per latency_buckets() bound (+ inf)
    mutable std::mutex m_mutex;                        // guards m_outcomes
    std::map<std::string, std::uint64_t> m_outcomes;
};

struct ServedMetrics {
    std::string model, version;
    const ModelMetrics* metrics;
    std::vector<PipelineNodeStats> nodes; // a pipeline's, else empty
};

// The Prometheus text exposition (version 0.0.4): each family's # HELP and # TYPE, then its
// samples, family by family.
std::string prometheus_text(const std::vector<ServedMetrics>& models,
                            const std::map<std::string, std::string>& component_states);
// A label value with backslash, quote and newline escaped.
std::string escape_label(const std::string& value);

} // namespace loom::serving
