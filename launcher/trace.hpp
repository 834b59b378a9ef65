#pragma once
// `--trace FILE` of `loom run` and `loom bench` (DESIGN.md §7): the per-node profile of each
// inference (PERF_COUNT=YES) as Chrome-trace JSON, which Perfetto and chrome://tracing open. One
// complete ("X") event per executed node: name = node, category = its op type, args = op type and
// the device's exec type (the kernel or oneDNN implementation that ran it); one track per infer
// request. The device reports each node's time, not its start, so within an inference the nodes
// are laid end to end in execution order from the inference's own start.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <loom/core.hpp>

namespace loom::launcher {

class Trace {
public:
    explicit Trace(std::string device)
        : m_device(std::move(device)) {}
    // One inference of request `request`, which started `start` after the trace's origin.
    void add(std::size_t request, std::chrono::microseconds start,
             const std::vector<ProfilingInfo>& nodes);
    std::size_t inferences() const noexcept { return m_inferences; }
    nlohmann::json json() const;
    // invalid_argument naming the file when it cannot be written.
    void write(const std::string& path) const;

private:
    std::string m_device;
    nlohmann::json m_events = nlohmann::json::array();
    std::size_t m_inferences = 0;
};

} // namespace loom::launcher
