#pragma once
// Typed reading of one TOML table of a configuration file (deployments, pipelines): every value
// checked, ${VAR} expanded in strings, unknown keys refused — each error is invalid_argument
// naming where it is ("deploy.toml: [[component]] #2.library").

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace loom::kernel {

// Replaces each ${NAME} by the environment variable's value (invalid_argument when unset), and
// ${NAME:-FALLBACK} by its value, or FALLBACK when it is unset or empty.
std::string expand_env(std::string text, const std::string& where);
// Parses TOML text; invalid_argument "WHERE:LINE:COLUMN: what" on a syntax error.
toml::table parse_toml(std::string_view text, const std::string& where);
// `path` made absolute against `base` (empty stays empty).
std::string resolve_path(const std::string& path, const std::filesystem::path& base);

class TomlReader {
public:
    TomlReader(const toml::table& table, std::string where)
        : m_table(table)
        , m_where(std::move(where)) {}

    const std::string& where() const noexcept { return m_where; }
    const toml::table& table() const noexcept { return m_table; }
    bool has(const char* key) const { return m_table.get(key) != nullptr; }
    std::string text(const char* key, std::string fallback = {}) const;
    std::vector<std::string> texts(const char* key) const;
    bool flag(const char* key) const;
    std::int64_t integer(const char* key, std::int64_t fallback, std::int64_t min,
                         std::int64_t max) const;
    std::optional<double> real(const char* key) const;
    // Refuses keys not in `keys`.
    void only(std::initializer_list<std::string_view> keys) const;

private:
    const toml::table& m_table;
    std::string m_where;
};

} // namespace loom::kernel
