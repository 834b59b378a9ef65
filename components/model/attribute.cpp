#include "components/model/attribute.hpp"

#include <charconv>
#include <cmath>

#include "schemas/error.hpp"

namespace loom::model {

std::string_view to_string(AttrKind kind) noexcept {
    switch (kind) {
    case AttrKind::Bool:
        return "bool";
    case AttrKind::Int:
        return "int";
    case AttrKind::Float:
        return "float";
    case AttrKind::String:
        return "string";
    case AttrKind::Ints:
        return "ints";
    case AttrKind::Floats:
        return "floats";
    case AttrKind::Strings:
        return "strings";
    case AttrKind::Type:
        return "element type";
    case AttrKind::Dims:
        return "shape";
    }
    return "unknown";
}

AttrKind kind_of(const AttrValue& value) noexcept {
    return static_cast<AttrKind>(value.index());
}

namespace {
std::string float_text(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v); // shortest round-trip form
    return std::string(buf, p);
}

template <class T>
std::string join(const std::vector<T>& values, auto&& fmt) {
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += fmt(values[i]);
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view text) {
    std::vector<std::string_view> parts;
    text = trim(text);
    if (text.empty()) return parts;
    while (true) {
        auto comma = text.find(',');
        parts.push_back(trim(text.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return parts;
}

std::optional<std::int64_t> parse_i64(std::string_view t) {
    t = trim(t);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
    return v;
}

std::optional<double> parse_f64(std::string_view t) {
    t = trim(t);
    if (t == "nan" || t == "NaN") return NAN;
    if (t == "inf" || t == "Inf") return INFINITY;
    if (t == "-inf" || t == "-Inf") return -INFINITY;
    double v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
    return v;
}
} // namespace

std::string to_text(const AttrValue& value) {
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>)
                return v ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::int64_t>)
                return std::to_string(v);
            else if constexpr (std::is_same_v<T, double>)
                return float_text(v);
            else if constexpr (std::is_same_v<T, std::string>)
                return v;
            else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>)
                return join(v, [](auto x) { return std::to_string(x); });
            else if constexpr (std::is_same_v<T, std::vector<double>>)
                return join(v, [](auto x) { return float_text(x); });
            else if constexpr (std::is_same_v<T, std::vector<std::string>>)
                return join(v, [](const auto& x) { return x; });
            else if constexpr (std::is_same_v<T, ElementType>)
                return std::string(ir_name(v));
            else {
                auto s = v.to_string(); // "[1,2]" → "1,2"; dynamic rank stays "..."
                return s == "[...]" ? "..." : s.substr(1, s.size() - 2);
            }
        },
        value);
}

std::optional<AttrValue> parse_attr(std::string_view text, AttrKind kind) {
    switch (kind) {
    case AttrKind::Bool: {
        auto t = trim(text);
        if (t == "true" || t == "True" || t == "1") return AttrValue(true);
        if (t == "false" || t == "False" || t == "0") return AttrValue(false);
        return std::nullopt;
    }
    case AttrKind::Int:
        if (auto v = parse_i64(text)) return AttrValue(*v);
        return std::nullopt;
    case AttrKind::Float:
        if (auto v = parse_f64(text)) return AttrValue(*v);
        return std::nullopt;
    case AttrKind::String:
        return AttrValue(std::string(text));
    case AttrKind::Ints: {
        std::vector<std::int64_t> out;
        for (auto part : split(text)) {
            auto v = parse_i64(part);
            if (!v) return std::nullopt;
            out.push_back(*v);
        }
        return AttrValue(std::move(out));
    }
    case AttrKind::Floats: {
        std::vector<double> out;
        for (auto part : split(text)) {
            auto v = parse_f64(part);
            if (!v) return std::nullopt;
            out.push_back(*v);
        }
        return AttrValue(std::move(out));
    }
    case AttrKind::Strings: {
        std::vector<std::string> out;
        for (auto part : split(text))
            out.emplace_back(part);
        return AttrValue(std::move(out));
    }
    case AttrKind::Type: {
        auto t = trim(text);
        if (t == "undefined" || t == "dynamic") return AttrValue(ElementType::UNDEFINED);
        if (auto type = element_type_from_ir(t)) return AttrValue(*type);
        return std::nullopt;
    }
    case AttrKind::Dims:
        if (auto shape = PartialShape::parse(text)) return AttrValue(std::move(*shape));
        return std::nullopt;
    }
    return std::nullopt;
}

void Attributes::set(std::string name, AttrValue value) {
    for (auto& [n, v] : m_entries)
        if (n == name) {
            v = std::move(value);
            return;
        }
    m_entries.emplace_back(std::move(name), std::move(value));
}

const AttrValue* Attributes::find(std::string_view name) const noexcept {
    for (const auto& [n, v] : m_entries)
        if (n == name) return &v;
    return nullptr;
}

bool Attributes::erase(std::string_view name) {
    for (auto it = m_entries.begin(); it != m_entries.end(); ++it)
        if (it->first == name) {
            m_entries.erase(it);
            return true;
        }
    return false;
}

namespace detail {
void attr_type_error(std::string_view name, const AttrValue* value, std::string_view wanted) {
    if (!value) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "attribute '{}' is missing", name);
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "attribute '{}' is {} but {} was expected", name,
               to_string(kind_of(*value)), wanted);
}

} // namespace detail

} // namespace loom::model
