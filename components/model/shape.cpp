#include "components/model/shape.hpp"

#include <charconv>

#include "schemas/error.hpp"

namespace loom::model {

bool is_floating(ElementType type) noexcept {
    switch (type) {
    case ElementType::F32:
    case ElementType::F16:
    case ElementType::BF16:
    case ElementType::F64:
        return true;
    default:
        return false;
    }
}

bool is_integral(ElementType type) noexcept {
    return is_supported_value_type(type) && !is_floating(type);
}

bool is_signed(ElementType type) noexcept {
    switch (type) {
    case ElementType::I8:
    case ElementType::I16:
    case ElementType::I32:
    case ElementType::I64:
        return true;
    default:
        return is_floating(type);
    }
}

bool is_supported_value_type(ElementType type) noexcept {
    return type != ElementType::UNDEFINED && type != ElementType::STRING && element_size(type) > 0;
}

void require_supported(ElementType type, std::string_view where) {
    if (type == ElementType::STRING)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "{}: element type 'string' is not supported by Loom yet (numeric and boolean "
                   "tensors only)",
                   where);
    if (!is_supported_value_type(type))
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}: element type '{}' is not a value type", where,
                   loom::to_string(type));
}

namespace {
struct IrName {
    std::string_view name;
    ElementType type;
};
constexpr IrName k_ir_names[] = {
    {"f32", ElementType::F32},
    {"f16", ElementType::F16},
    {"bf16", ElementType::BF16},
    {"f64", ElementType::F64},
    {"i8", ElementType::I8},
    {"u8", ElementType::U8},
    {"i16", ElementType::I16},
    {"u16", ElementType::U16},
    {"i32", ElementType::I32},
    {"u32", ElementType::U32},
    {"i64", ElementType::I64},
    {"u64", ElementType::U64},
    {"boolean", ElementType::BOOLEAN},
    {"string", ElementType::STRING},
    // IR v10 spellings
    {"FP32", ElementType::F32},
    {"FP16", ElementType::F16},
    {"BF16", ElementType::BF16},
    {"FP64", ElementType::F64},
    {"I8", ElementType::I8},
    {"U8", ElementType::U8},
    {"I16", ElementType::I16},
    {"U16", ElementType::U16},
    {"I32", ElementType::I32},
    {"U32", ElementType::U32},
    {"I64", ElementType::I64},
    {"U64", ElementType::U64},
    {"BOOL", ElementType::BOOLEAN},
    {"bool", ElementType::BOOLEAN},
    {"STRING", ElementType::STRING},
};
} // namespace

std::optional<ElementType> element_type_from_ir(std::string_view name) noexcept {
    for (const auto& entry : k_ir_names)
        if (entry.name == name) return entry.type;
    return std::nullopt;
}

std::string_view ir_name(ElementType type) noexcept {
    for (const auto& entry : k_ir_names)
        if (entry.type == type) return entry.name;
    return "undefined";
}

std::int64_t shape_size(const Shape& shape) {
    std::int64_t size = 1;
    for (auto d : shape) {
        LOOM_REQUIRE(d >= 0, "shape {} has a negative dimension", to_string(shape));
        if (d != 0 && size > (std::int64_t{1} << 62) / d)
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "shape {} has more than 2^62 elements",
                       to_string(shape));
        size *= d;
    }
    return size;
}

std::string to_string(const Shape& shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(shape[i]);
    }
    return out + "]";
}

Dimension::Dimension(std::int64_t value)
    : m_min(value)
    , m_max(value) {
    if (value < 0) { // -1 (and any negative) is OpenVINO's "dynamic"
        m_min = 0;
        m_max = k_unbounded;
    }
}

Dimension::Dimension(std::int64_t min, std::int64_t max)
    : m_min(std::max<std::int64_t>(min, 0))
    , m_max(max < 0 ? k_unbounded : max) {
    LOOM_REQUIRE(m_max == k_unbounded || m_max >= m_min, "dimension interval {}..{} is empty", min,
                 max);
}

std::int64_t Dimension::length() const {
    LOOM_ASSERT(is_static(), "length() of dynamic dimension {}", to_string());
    return m_min;
}

bool Dimension::compatible(const Dimension& other) const noexcept {
    return merge(other).has_value();
}

std::optional<Dimension> Dimension::merge(const Dimension& other) const noexcept {
    auto lo = std::max(m_min, other.m_min);
    std::int64_t hi;
    if (m_max == k_unbounded)
        hi = other.m_max;
    else if (other.m_max == k_unbounded)
        hi = m_max;
    else
        hi = std::min(m_max, other.m_max);
    if (hi != k_unbounded && hi < lo) return std::nullopt;
    Dimension d;
    d.m_min = lo;
    d.m_max = hi;
    return d;
}

std::string Dimension::to_string() const {
    if (is_static()) return std::to_string(m_min);
    if (m_min == 0 && m_max == k_unbounded) return "?";
    if (m_max == k_unbounded) return std::to_string(m_min) + "..";
    return std::to_string(m_min) + ".." + std::to_string(m_max);
}

namespace {
std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return v;
}
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}
} // namespace

std::optional<Dimension> Dimension::parse(std::string_view text) noexcept {
    text = trim(text);
    if (text == "?" || text == "-1") return Dimension();
    auto dots = text.find("..");
    if (dots == std::string_view::npos) {
        auto v = parse_int(text);
        if (!v || *v < 0) return std::nullopt;
        return Dimension(*v);
    }
    auto lo_text = text.substr(0, dots), hi_text = text.substr(dots + 2);
    std::int64_t lo = 0, hi = k_unbounded;
    if (!lo_text.empty()) {
        auto v = parse_int(lo_text);
        if (!v || *v < 0) return std::nullopt;
        lo = *v;
    }
    if (!hi_text.empty()) {
        auto v = parse_int(hi_text);
        if (!v || *v < lo) return std::nullopt;
        hi = *v;
    }
    Dimension d;
    d.m_min = lo;
    d.m_max = hi;
    return d;
}

namespace {

// Dimension arithmetic of shape inference: a result past int64 is a model's mistake (a Tile by
// 2^62), refused as such; an upper bound past it is no bound.
[[noreturn]] void overflow(const char* op, std::int64_t a, std::int64_t b) {
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "dimension {} {} {} overflows 64 bits", a, op, b);
}

std::int64_t checked_add(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) overflow("+", a, b);
    return r;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) overflow("×", a, b);
    return r;
}

std::int64_t bound(std::int64_t a, std::int64_t b, bool multiply) {
    if (a == Dimension::k_unbounded || b == Dimension::k_unbounded) return Dimension::k_unbounded;
    std::int64_t r = 0;
    const bool over =
        multiply ? __builtin_mul_overflow(a, b, &r) : __builtin_add_overflow(a, b, &r);
    return over ? Dimension::k_unbounded : r;
}

} // namespace

Dimension operator+(const Dimension& a, const Dimension& b) {
    if (a.is_static() && b.is_static()) return checked_add(a.length(), b.length());
    return Dimension(checked_add(a.min(), b.min()), bound(a.max(), b.max(), false));
}

Dimension operator*(const Dimension& a, const Dimension& b) {
    if (a.is_static() && b.is_static()) return checked_mul(a.length(), b.length());
    if ((a.is_static() && a.length() == 0) || (b.is_static() && b.length() == 0)) return 0;
    return Dimension(checked_mul(a.min(), b.min()), bound(a.max(), b.max(), true));
}

PartialShape::PartialShape(std::vector<Dimension> dims)
    : m_static_rank(true)
    , m_dims(std::move(dims)) {}

PartialShape::PartialShape(const Shape& shape)
    : m_static_rank(true) {
    m_dims.reserve(shape.size());
    for (auto d : shape)
        m_dims.emplace_back(d);
}

PartialShape::PartialShape(std::initializer_list<Dimension> dims)
    : m_static_rank(true)
    , m_dims(dims) {}

PartialShape PartialShape::dynamic(std::int64_t rank) {
    return PartialShape(std::vector<Dimension>(static_cast<std::size_t>(rank)));
}

std::int64_t PartialShape::rank() const {
    LOOM_ASSERT(m_static_rank, "rank() of a dynamic-rank shape");
    return static_cast<std::int64_t>(m_dims.size());
}

bool PartialShape::is_static() const noexcept {
    if (!m_static_rank) return false;
    for (const auto& d : m_dims)
        if (d.is_dynamic()) return false;
    return true;
}

Shape PartialShape::to_shape() const {
    LOOM_ASSERT(is_static(), "to_shape() of dynamic shape {}", to_string());
    Shape s;
    s.reserve(m_dims.size());
    for (const auto& d : m_dims)
        s.push_back(d.length());
    return s;
}

const std::vector<Dimension>& PartialShape::dims() const {
    LOOM_ASSERT(m_static_rank, "dims() of a dynamic-rank shape");
    return m_dims;
}

std::vector<Dimension>& PartialShape::dims() {
    LOOM_ASSERT(m_static_rank, "dims() of a dynamic-rank shape");
    return m_dims;
}

bool PartialShape::compatible(const PartialShape& other) const noexcept {
    if (!m_static_rank || !other.m_static_rank) return true;
    if (m_dims.size() != other.m_dims.size()) return false;
    for (std::size_t i = 0; i < m_dims.size(); ++i)
        if (!m_dims[i].compatible(other.m_dims[i])) return false;
    return true;
}

std::string PartialShape::to_string() const {
    if (!m_static_rank) return "[...]";
    std::string out = "[";
    for (std::size_t i = 0; i < m_dims.size(); ++i) {
        if (i) out += ',';
        out += m_dims[i].to_string();
    }
    return out + "]";
}

std::optional<PartialShape> PartialShape::parse(std::string_view text) noexcept {
    text = trim(text);
    if (!text.empty() && text.front() == '[') {
        if (text.back() != ']') return std::nullopt;
        text = trim(text.substr(1, text.size() - 2));
    }
    if (text == "...") return PartialShape();
    std::vector<Dimension> dims;
    if (text.empty()) return PartialShape(dims);
    while (true) {
        auto comma = text.find(',');
        auto d = Dimension::parse(text.substr(0, comma));
        if (!d) return std::nullopt;
        dims.push_back(*d);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return PartialShape(std::move(dims));
}

} // namespace loom::model
