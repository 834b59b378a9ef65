#pragma once
// What `loom bench` reports (DESIGN.md §7): the text on stdout and the --json file, whose keys
// are a contract scripts read.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loom::launcher {

struct LatencyStats {
    double median = 0, mean = 0, min = 0, max = 0, p90 = 0, p99 = 0;
};

// Percentiles interpolate linearly between the two nearest runs (NumPy's default); `ms` must not
// be empty.
LatencyStats latency_stats(std::vector<double> ms);

struct BenchReport {
    double first_inference_ms = 0;
    std::size_t count = 0; // runs after the first
    double duration_s = 0;
    LatencyStats latency_ms;
    double throughput_fps = 0;
    std::string device, hint;
    std::uint32_t streams = 1, requests = 1;
    // MULTI: each member's share (device, state "ready"/"lost", slots, inferences served).
    struct Member {
        std::string device, state;
        std::uint32_t slots = 0;
        std::uint64_t served = 0;
    };
    std::vector<Member> members;
};

// LOOM_MULTI_MEMBERS (a line per member: "DEVICE STATE SLOTS SERVED BUSY") as members.
std::vector<BenchReport::Member> parse_multi_members(const std::string& text);

std::string to_text(const BenchReport& r);
// first_inference_ms, count, duration_s, latency_ms {median, mean, min, max, p90, p99},
// throughput_fps, device, hint, streams, requests; with MULTI, members [{device, state, slots,
// served}].
nlohmann::json to_json(const BenchReport& r);

} // namespace loom::launcher
