#pragma once
// Typed node attributes. Each op spec declares its attributes' kinds (op_registry.hpp); readers
// parse text (IR) or protobuf (ONNX) into these, the IR writer prints them back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "components/model/shape.hpp"

namespace loom::model {

enum class AttrKind { Bool, Int, Float, String, Ints, Floats, Strings, Type, Dims };
std::string_view to_string(AttrKind kind) noexcept;

using AttrValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                 std::vector<double>, std::vector<std::string>, ElementType, PartialShape>;

AttrKind kind_of(const AttrValue& value) noexcept;

// IR text form: "true", "3", "0.5", "1,2,3", "f32", "1,3,?,?" (lists comma-separated).
std::string to_text(const AttrValue& value);
// Parses IR text as `kind`; nullopt when the text is not a value of that kind.
std::optional<AttrValue> parse_attr(std::string_view text, AttrKind kind);

// Insertion-ordered attributes (the IR writer keeps the reader's order).
class Attributes {
public:
    using Entry = std::pair<std::string, AttrValue>;

    void set(std::string name, AttrValue value);
    bool has(std::string_view name) const noexcept { return find(name) != nullptr; }
    const AttrValue* find(std::string_view name) const noexcept;
    bool erase(std::string_view name);
    const std::vector<Entry>& entries() const noexcept { return m_entries; }
    std::size_t size() const noexcept { return m_entries.size(); }
    bool operator==(const Attributes&) const = default;

    // Typed access: invalid_argument naming the attribute when missing or of another kind.
    template <class T>
    const T& get(std::string_view name) const;
    template <class T>
    T get_or(std::string_view name, T fallback) const {
        auto* v = find(name);
        if (!v) return fallback;
        return get<T>(name);
    }

private:
    std::vector<Entry> m_entries;
};

namespace detail {
[[noreturn]] void attr_type_error(std::string_view name, const AttrValue* value,
                                  std::string_view wanted);
template <class T>
constexpr std::string_view attr_kind_name() {
    if constexpr (std::is_same_v<T, bool>)
        return "bool";
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return "int";
    else if constexpr (std::is_same_v<T, double>)
        return "float";
    else if constexpr (std::is_same_v<T, std::string>)
        return "string";
    else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>)
        return "ints";
    else if constexpr (std::is_same_v<T, std::vector<double>>)
        return "floats";
    else if constexpr (std::is_same_v<T, std::vector<std::string>>)
        return "strings";
    else if constexpr (std::is_same_v<T, ElementType>)
        return "element type";
    else
        return "shape";
}
} // namespace detail

template <class T>
const T& Attributes::get(std::string_view name) const {
    auto* v = find(name);
    if (!v || !std::holds_alternative<T>(*v))
        detail::attr_type_error(name, v, detail::attr_kind_name<T>());
    return std::get<T>(*v);
}

// A tree of runtime info, kept losslessly from the IR (<rt_info> of the net, layers and ports):
// each node has a tag, ordered attributes and children.
struct RtNode {
    std::string tag;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::vector<RtNode> children;
    bool empty() const noexcept { return attributes.empty() && children.empty(); }
    bool operator==(const RtNode&) const = default;
};

} // namespace loom::model
