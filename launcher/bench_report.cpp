#include "launcher/bench_report.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "schemas/error.hpp"

namespace loom::launcher {

namespace {

// The q-quantile of sorted values, interpolating linearly.
double quantile(const std::vector<double>& sorted, double q) {
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

} // namespace

LatencyStats latency_stats(std::vector<double> ms) {
    LOOM_ASSERT(!ms.empty(), "latency_stats of no runs");
    std::sort(ms.begin(), ms.end());
    LatencyStats s;
    s.min = ms.front();
    s.max = ms.back();
    s.mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
    s.median = quantile(ms, 0.5);
    s.p90 = quantile(ms, 0.9);
    s.p99 = quantile(ms, 0.99);
    return s;
}

std::vector<BenchReport::Member> parse_multi_members(const std::string& text) {
    std::vector<BenchReport::Member> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        BenchReport::Member m;
        if (fields >> m.device >> m.state >> m.slots >> m.served) out.push_back(std::move(m));
    }
    return out;
}

std::string to_text(const BenchReport& r) {
    const auto& l = r.latency_ms;
    std::string members;
    for (const auto& m : r.members)
        members += fmt::format("  member {:<28} {:<6} {} slot{}, {} served\n", m.device, m.state,
                               m.slots, m.slots == 1 ? "" : "s", m.served);
    return fmt::format("Device:           {} (hint {}, {} stream{}, {} request{})\n"
                       "First inference:  {:.2f} ms\n"
                       "Count:            {} runs in {:.2f} s\n"
                       "Latency (ms):     median {:.2f}  mean {:.2f}  min {:.2f}  max {:.2f}  "
                       "p90 {:.2f}  p99 {:.2f}\n"
                       "Throughput:       {:.2f} FPS\n",
                       r.device, r.hint, r.streams, r.streams == 1 ? "" : "s", r.requests,
                       r.requests == 1 ? "" : "s", r.first_inference_ms, r.count, r.duration_s,
                       l.median, l.mean, l.min, l.max, l.p90, l.p99, r.throughput_fps) +
           members;
}

nlohmann::json to_json(const BenchReport& r) {
    const auto& l = r.latency_ms;
    nlohmann::json j = {{"first_inference_ms", r.first_inference_ms},
                        {"count", r.count},
                        {"duration_s", r.duration_s},
                        {"latency_ms",
                         {{"median", l.median},
                          {"mean", l.mean},
                          {"min", l.min},
                          {"max", l.max},
                          {"p90", l.p90},
                          {"p99", l.p99}}},
                        {"throughput_fps", r.throughput_fps},
                        {"device", r.device},
                        {"hint", r.hint},
                        {"streams", r.streams},
                        {"requests", r.requests}};
    if (!r.members.empty()) {
        j["members"] = nlohmann::json::array();
        for (const auto& m : r.members)
            j["members"].push_back({{"device", m.device},
                                    {"state", m.state},
                                    {"slots", m.slots},
                                    {"served", m.served}});
    }
    return j;
}

} // namespace loom::launcher
