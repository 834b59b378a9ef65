#include "launcher/table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace loom::launcher {

void print_components(std::ostream& out, const std::vector<kernel::ComponentRecord>& records) {
    out << fmt::format("{:<16} {:>8} {:<9} {:<10} {:<10} {:<10} {:>7} {:>5}  {}\n", "NAME",
                       "INSTANCE", "STATE", "VERSION", "KIND", "WHERE", "PID", "EPOCH",
                       "ENDPOINTS");
    for (const auto& r : records) {
        auto state = std::string(kernel::to_string(r.state));
        if (r.routed) state += "*";
        out << fmt::format("{:<16} {:>8} {:<9} {:<10} {:<10} {:<10} {:>7} {:>5}  {}{}\n", r.name,
                           r.instance, state, r.version, r.kind, kernel::to_string(r.placement),
                           r.pid, r.epoch, fmt::join(r.endpoints, " "),
                           r.last_error.empty() ? "" : "  (" + r.last_error + ")");
    }
}

void print_components_json(std::ostream& out, const std::vector<kernel::ComponentRecord>& records) {
    auto array = nlohmann::json::array();
    for (const auto& r : records)
        array.push_back({{"name", r.name},
                         {"instance", r.instance},
                         {"state", kernel::to_string(r.state)},
                         {"version", r.version},
                         {"kind", r.kind},
                         {"placement", kernel::to_string(r.placement)},
                         {"pid", r.pid},
                         {"epoch", r.epoch},
                         {"routed", r.routed},
                         {"clean_stop", r.clean_stop},
                         {"endpoints", r.endpoints},
                         {"last_error", r.last_error}});
    out << array.dump(2) << "\n";
}

} // namespace loom::launcher
