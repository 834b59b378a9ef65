#pragma once
// Properties (DESIGN.md §6): named settings of the Core, a device or a compiled model, with typed
// keys. Values are kept as text (how they cross the bus and go into cache keys) and converted on
// access; a value that does not parse as its key's type is invalid_argument naming the key.
// Names follow OpenVINO's ("PERFORMANCE_HINT", "PERF_COUNT", "CACHE_DIR" …) so scripts carry over.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/element_type.hpp"

namespace loom {

enum class PerformanceMode { LATENCY, THROUGHPUT, CUMULATIVE_THROUGHPUT };

template <class T>
struct PropertyKey {
    const char* name;
};

// Text ⇄ value for the types keys use; from_text throws invalid_argument naming `key`.
std::string to_text(bool v);
std::string to_text(std::int64_t v);
std::string to_text(std::uint32_t v);
std::string to_text(double v);
std::string to_text(const std::string& v);
std::string to_text(PerformanceMode v);
std::string to_text(ElementType v);
std::string to_text(const std::vector<std::string>& v); // space-separated
template <class T>
T from_text(std::string_view key, std::string_view text);

class Properties {
public:
    Properties() = default;

    template <class T>
    Properties& set(PropertyKey<T> key, const T& value) {
        m_values[key.name] = to_text(value);
        return *this;
    }
    Properties& set_text(std::string name, std::string value) {
        m_values[std::move(name)] = std::move(value);
        return *this;
    }
    bool has(std::string_view name) const { return m_values.find(name) != m_values.end(); }
    // invalid_argument when absent or unparsable.
    template <class T>
    T get(PropertyKey<T> key) const {
        return from_text<T>(key.name, text(key.name));
    }
    template <class T>
    T get_or(PropertyKey<T> key, T fallback) const {
        return has(key.name) ? get(key) : fallback;
    }
    const std::string& text(std::string_view name) const; // invalid_argument when absent
    void erase(std::string_view name);
    // `other`'s values override these.
    void merge(const Properties& other);
    const std::map<std::string, std::string, std::less<>>& values() const noexcept {
        return m_values;
    }
    bool empty() const noexcept { return m_values.empty(); }

private:
    std::map<std::string, std::string, std::less<>> m_values;
};

// Checks that every value of `props` parses as its known key's type; unknown names are
// not_found unless listed in `also_allowed`. Used by devices and the Core on set/compile.
void check_properties(const Properties& props, const std::vector<std::string>& also_allowed = {});

namespace props {
inline constexpr PropertyKey<PerformanceMode> performance_mode{"PERFORMANCE_HINT"};
inline constexpr PropertyKey<std::uint32_t> num_requests{"PERFORMANCE_HINT_NUM_REQUESTS"};
inline constexpr PropertyKey<ElementType> inference_precision{"INFERENCE_PRECISION_HINT"};
inline constexpr PropertyKey<bool> enable_profiling{"PERF_COUNT"};
inline constexpr PropertyKey<std::string> cache_dir{"CACHE_DIR"};
inline constexpr PropertyKey<std::uint32_t> num_streams{"NUM_STREAMS"};
inline constexpr PropertyKey<std::uint32_t> inference_num_threads{"INFERENCE_NUM_THREADS"};
// Read-only (devices and compiled models report them).
inline constexpr PropertyKey<std::string> device_full_name{"FULL_DEVICE_NAME"};
inline constexpr PropertyKey<std::uint32_t> optimal_number_of_infer_requests{
    "OPTIMAL_NUMBER_OF_INFER_REQUESTS"};
inline constexpr PropertyKey<std::vector<std::string>> supported_properties{"SUPPORTED_PROPERTIES"};
inline constexpr PropertyKey<std::vector<std::string>> device_capabilities{
    "OPTIMIZATION_CAPABILITIES"};
// Loom: the transform pipeline compile_model runs before the device's own passes ("" = none).
inline constexpr PropertyKey<std::string> transform_pipeline{"LOOM_TRANSFORM_PIPELINE"};
// Loom, read-only, answered by every device service (DESIGN.md §6, components/protocol): the
// client sessions it holds and the objects they own, over all clients.
inline constexpr PropertyKey<std::int64_t> device_sessions{"LOOM_SESSIONS"};
inline constexpr PropertyKey<std::int64_t> device_compiled_models{"LOOM_COMPILED_MODELS"};
inline constexpr PropertyKey<std::int64_t> device_infer_requests{"LOOM_INFER_REQUESTS"};
} // namespace props

} // namespace loom
