#include "launcher/trace.hpp"

#include <fstream>

#include "schemas/error.hpp"

namespace loom::launcher {

void Trace::add(std::size_t request, std::chrono::microseconds start,
                const std::vector<ProfilingInfo>& nodes) {
    auto at = start.count();
    for (const auto& n : nodes) {
        if (n.status != ProfilingInfo::Status::EXECUTED) continue;
        const auto dur = n.real_time.count();
        m_events.push_back({{"name", n.node_name},
                            {"cat", n.node_type},
                            {"ph", "X"},
                            {"ts", at},
                            {"dur", dur},
                            {"pid", 1},
                            {"tid", request},
                            {"args", {{"type", n.node_type}, {"exec_type", n.exec_type}}}});
        at += dur;
    }
    ++m_inferences;
}

nlohmann::json Trace::json() const {
    auto events = m_events;
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"args", {{"name", "loom " + m_device}}}});
    return {{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}};
}

void Trace::write(const std::string& path) const {
    std::ofstream out(path);
    out << json().dump() << '\n';
    LOOM_REQUIRE(out.good(), "--trace {}: cannot write the file", path);
}

} // namespace loom::launcher
