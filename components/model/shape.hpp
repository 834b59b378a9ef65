#pragma once
// Element-type facts the graph needs, Dimension (an interval, possibly unbounded), PartialShape
// (dynamic rank or a list of dimensions) and Shape (static dims). Semantics follow OpenVINO's:
// a dynamic dimension is the interval [0, inf); a bounded one is [min, max].

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/element_type.hpp"

namespace loom::model {

using loom::ElementType;
using Shape = std::vector<std::int64_t>;

bool is_floating(ElementType type) noexcept;
bool is_integral(ElementType type) noexcept; // integers and boolean
bool is_signed(ElementType type) noexcept;
// Types a graph may carry (string is refused for now, undefined is never a value type).
bool is_supported_value_type(ElementType type) noexcept;
// Throws unsupported naming `where` when `type` is not a supported value type.
void require_supported(ElementType type, std::string_view where);
// OpenVINO IR spellings: "f32", "FP32", "i64", "I64", "boolean", "u1"? (not supported) ...
std::optional<ElementType> element_type_from_ir(std::string_view name) noexcept;
std::string_view ir_name(ElementType type) noexcept; // "f32", "boolean", ...

// Product of dims; throws invalid_argument when negative or overflowing 2^62.
std::int64_t shape_size(const Shape& shape);
std::string to_string(const Shape& shape); // "[1,3,224,224]"

class Dimension {
public:
    static constexpr std::int64_t k_unbounded = -1;
    Dimension() = default; // dynamic
    Dimension(std::int64_t value);
    Dimension(std::int64_t min, std::int64_t max); // max k_unbounded = no upper bound
    static Dimension dynamic() { return {}; }

    bool is_static() const noexcept { return m_min == m_max; }
    bool is_dynamic() const noexcept { return !is_static(); }
    // The static value; internal error when dynamic.
    std::int64_t length() const;
    std::int64_t min() const noexcept { return m_min; }
    std::int64_t max() const noexcept { return m_max; } // k_unbounded when none
    // True when both could be the same value (intervals intersect).
    bool compatible(const Dimension& other) const noexcept;
    // The intersection; nullopt when empty.
    std::optional<Dimension> merge(const Dimension& other) const noexcept;
    bool operator==(const Dimension&) const = default;
    // "3", "?", "1..10", "2.." (OpenVINO's spelling)
    std::string to_string() const;
    static std::optional<Dimension> parse(std::string_view text) noexcept;

private:
    std::int64_t m_min = 0;
    std::int64_t m_max = k_unbounded;
};

Dimension operator+(const Dimension& a, const Dimension& b);
Dimension operator*(const Dimension& a, const Dimension& b);

class PartialShape {
public:
    PartialShape() = default; // dynamic rank
    PartialShape(std::vector<Dimension> dims);
    PartialShape(const Shape& shape);
    PartialShape(std::initializer_list<Dimension> dims);
    static PartialShape dynamic() { return {}; }
    static PartialShape dynamic(std::int64_t rank);

    bool rank_is_static() const noexcept { return m_static_rank; }
    bool rank_is_dynamic() const noexcept { return !m_static_rank; }
    std::int64_t rank() const; // internal error when dynamic
    bool is_static() const noexcept;
    Shape to_shape() const;                     // internal error unless is_static()
    const std::vector<Dimension>& dims() const; // internal error when rank dynamic
    std::vector<Dimension>& dims();
    const Dimension& operator[](std::size_t i) const { return dims()[i]; }
    Dimension& operator[](std::size_t i) { return dims()[i]; }
    bool compatible(const PartialShape& other) const noexcept;
    bool operator==(const PartialShape&) const = default;
    // "[1,3,?,224]" or "[...]" for dynamic rank (OpenVINO's spelling)
    std::string to_string() const;
    // Parses to_string()'s output and the IR's "1,3,?,224" (brackets optional); "..." is dynamic.
    static std::optional<PartialShape> parse(std::string_view text) noexcept;

private:
    bool m_static_rank = false;
    std::vector<Dimension> m_dims;
};

} // namespace loom::model
