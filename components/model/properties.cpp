#include "components/model/properties.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "components/model/shape.hpp"
#include "schemas/error.hpp"

namespace loom {

std::string to_text(bool v) {
    return v ? "YES" : "NO";
}
std::string to_text(std::int64_t v) {
    return std::to_string(v);
}
std::string to_text(std::uint32_t v) {
    return std::to_string(v);
}
std::string to_text(double v) {
    return fmt::format("{}", v);
}
std::string to_text(const std::string& v) {
    return v;
}
std::string to_text(PerformanceMode v) {
    switch (v) {
    case PerformanceMode::LATENCY:
        return "LATENCY";
    case PerformanceMode::THROUGHPUT:
        return "THROUGHPUT";
    case PerformanceMode::CUMULATIVE_THROUGHPUT:
        return "CUMULATIVE_THROUGHPUT";
    }
    return "LATENCY";
}
std::string to_text(ElementType v) {
    return std::string(model::ir_name(v));
}
std::string to_text(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : " ") + s;
    return out;
}

namespace {
std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}
} // namespace

template <>
bool from_text<bool>(std::string_view key, std::string_view text) {
    const auto u = upper(text);
    if (u == "YES" || u == "TRUE" || u == "1" || u == "ON") return true;
    if (u == "NO" || u == "FALSE" || u == "0" || u == "OFF") return false;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "property {}: '{}' is not a boolean (YES or NO)", key,
               text);
}

template <>
std::int64_t from_text<std::int64_t>(std::string_view key, std::string_view text) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    LOOM_REQUIRE(ec == std::errc{} && p == text.data() + text.size(),
                 "property {}: '{}' is not an integer", key, text);
    return v;
}

template <>
std::uint32_t from_text<std::uint32_t>(std::string_view key, std::string_view text) {
    auto v = from_text<std::int64_t>(key, text);
    LOOM_REQUIRE(v >= 0 && v <= UINT32_MAX, "property {}: {} is out of range (0 … 2^32-1)", key, v);
    return static_cast<std::uint32_t>(v);
}

template <>
double from_text<double>(std::string_view key, std::string_view text) {
    try {
        std::size_t used = 0;
        double v = std::stod(std::string(text), &used);
        if (used == text.size()) return v;
    } catch (const std::exception&) {
    }
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "property {}: '{}' is not a number", key, text);
}

template <>
std::string from_text<std::string>(std::string_view, std::string_view text) {
    return std::string(text);
}

template <>
PerformanceMode from_text<PerformanceMode>(std::string_view key, std::string_view text) {
    const auto u = upper(text);
    if (u == "LATENCY") return PerformanceMode::LATENCY;
    if (u == "THROUGHPUT") return PerformanceMode::THROUGHPUT;
    if (u == "CUMULATIVE_THROUGHPUT") return PerformanceMode::CUMULATIVE_THROUGHPUT;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
               "property {}: '{}' is not LATENCY, THROUGHPUT or CUMULATIVE_THROUGHPUT", key, text);
}

template <>
ElementType from_text<ElementType>(std::string_view key, std::string_view text) {
    if (auto t = model::element_type_from_ir(text)) return *t;
    if (auto t = loom::element_type_from_string(text)) return *t;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "property {}: '{}' is not an element type", key, text);
}

template <>
std::vector<std::string> from_text<std::vector<std::string>>(std::string_view,
                                                             std::string_view text) {
    std::vector<std::string> out;
    std::istringstream in{std::string(text)};
    for (std::string s; in >> s;)
        out.push_back(s);
    return out;
}

const std::string& Properties::text(std::string_view name) const {
    auto it = m_values.find(name);
    LOOM_REQUIRE(it != m_values.end(), "property {} is not set", name);
    return it->second;
}

void Properties::erase(std::string_view name) {
    auto it = m_values.find(name);
    if (it != m_values.end()) m_values.erase(it);
}

void Properties::merge(const Properties& other) {
    for (const auto& [k, v] : other.m_values)
        m_values[k] = v;
}

void check_properties(const Properties& p, const std::vector<std::string>& also_allowed) {
    for (const auto& [name, value] : p.values()) {
        if (name == props::performance_mode.name)
            p.get(props::performance_mode);
        else if (name == props::num_requests.name)
            p.get(props::num_requests);
        else if (name == props::inference_precision.name)
            p.get(props::inference_precision);
        else if (name == props::enable_profiling.name)
            p.get(props::enable_profiling);
        else if (name == props::num_streams.name)
            p.get(props::num_streams);
        else if (name == props::inference_num_threads.name)
            p.get(props::inference_num_threads);
        else if (name == props::cache_dir.name || name == props::transform_pipeline.name)
            continue;
        else if (std::find(also_allowed.begin(), also_allowed.end(), name) == also_allowed.end())
            LOOM_THROW(ErrorKind::NOT_FOUND, "unknown property {} (value '{}')", name, value);
    }
}

} // namespace loom
