#include "kernel/toml_reader.hpp"

#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/ranges.h>

#include "schemas/error.hpp"

namespace loom::kernel {

std::string expand_env(std::string text, const std::string& where) {
    for (auto at = text.find("${"); at != std::string::npos; at = text.find("${", at)) {
        auto end = text.find('}', at);
        LOOM_REQUIRE(end != std::string::npos, "{}: unterminated ${{ in '{}'", where, text);
        auto name = text.substr(at + 2, end - at - 2);
        std::optional<std::string> fallback; // ${NAME:-fallback}: when NAME is unset or empty
        if (auto sep = name.find(":-"); sep != std::string::npos) {
            fallback = name.substr(sep + 2);
            name.resize(sep);
        }
        const char* env = std::getenv(name.c_str());
        std::string value = env ? env : "";
        if (value.empty() && fallback) value = *fallback;
        LOOM_REQUIRE(env != nullptr || fallback, "{}: environment variable {} is not set", where,
                     name);
        text.replace(at, end - at + 1, value);
        at += value.size();
    }
    return text;
}

toml::table parse_toml(std::string_view text, const std::string& where) {
    try {
        return toml::parse(text, where);
    } catch (const toml::parse_error& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}:{}:{}: {}", where, e.source().begin.line,
                   e.source().begin.column, e.description());
    }
}

std::string TomlReader::text(const char* key, std::string fallback) const {
    const auto* node = m_table.get(key);
    if (!node) return fallback;
    auto value = node->value<std::string>();
    LOOM_REQUIRE(value.has_value(), "{}: `{}` must be a string", m_where, key);
    return expand_env(*value, m_where + "." + key);
}
std::vector<std::string> TomlReader::texts(const char* key) const {
    std::vector<std::string> out;
    const auto* node = m_table.get(key);
    if (!node) return out;
    const auto* array = node->as_array();
    LOOM_REQUIRE(array != nullptr, "{}: `{}` must be an array of strings", m_where, key);
    for (const auto& item : *array) {
        auto value = item.value<std::string>();
        LOOM_REQUIRE(value.has_value(), "{}: `{}` must hold only strings", m_where, key);
        out.push_back(expand_env(*value, m_where + "." + key));
    }
    return out;
}
bool TomlReader::flag(const char* key) const {
    const auto* node = m_table.get(key);
    if (!node) return false;
    auto value = node->value<bool>();
    LOOM_REQUIRE(value.has_value(), "{}: `{}` must be true or false", m_where, key);
    return *value;
}
std::int64_t TomlReader::integer(const char* key, std::int64_t fallback, std::int64_t min,
                                 std::int64_t max) const {
    const auto* node = m_table.get(key);
    if (!node) return fallback;
    auto value = node->value<std::int64_t>();
    LOOM_REQUIRE(value.has_value() && *value >= min && *value <= max,
                 "{}: `{}` must be an integer in [{}, {}]", m_where, key, min, max);
    return *value;
}
void TomlReader::only(std::initializer_list<std::string_view> keys) const {
    for (const auto& [key, value] : m_table) {
        bool known = false;
        for (auto k : keys)
            known |= key.str() == k;
        LOOM_REQUIRE(known, "{}: unknown key `{}` (known: {})", m_where, key.str(),
                     fmt::join(keys, ", "));
    }
}

std::string resolve_path(const std::string& path, const std::filesystem::path& base) {
    if (path.empty()) return path;
    std::filesystem::path p(path);
    return (p.is_absolute() ? p : base / p).lexically_normal().string();
}

std::optional<double> TomlReader::real(const char* key) const {
    const auto* node = m_table.get(key);
    if (!node) return std::nullopt;
    auto value = node->value<double>(); // integers convert
    LOOM_REQUIRE(value.has_value(), "{}: `{}` must be a number", m_where, key);
    return value;
}

} // namespace loom::kernel
