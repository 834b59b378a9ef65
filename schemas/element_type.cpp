#include "schemas/element_type.hpp"

#include <array>
#include <utility>

namespace loom {
namespace {

struct TypeFacts {
    ElementType type;
    std::string_view name;
    std::size_t size;
};

constexpr std::array k_types{
    TypeFacts{ElementType::UNDEFINED, "undefined", 0},
    TypeFacts{ElementType::F32, "f32", 4},
    TypeFacts{ElementType::F16, "f16", 2},
    TypeFacts{ElementType::BF16, "bf16", 2},
    TypeFacts{ElementType::F64, "f64", 8},
    TypeFacts{ElementType::I8, "i8", 1},
    TypeFacts{ElementType::U8, "u8", 1},
    TypeFacts{ElementType::I16, "i16", 2},
    TypeFacts{ElementType::U16, "u16", 2},
    TypeFacts{ElementType::I32, "i32", 4},
    TypeFacts{ElementType::U32, "u32", 4},
    TypeFacts{ElementType::I64, "i64", 8},
    TypeFacts{ElementType::U64, "u64", 8},
    TypeFacts{ElementType::BOOLEAN, "boolean", 1},
    TypeFacts{ElementType::STRING, "string", 0},
};

const TypeFacts* facts(ElementType type) noexcept {
    auto index = static_cast<std::size_t>(type);
    return index < k_types.size() ? &k_types[index] : nullptr;
}

} // namespace

std::size_t element_size(ElementType type) noexcept {
    const auto* f = facts(type);
    return f ? f->size : 0;
}

std::string_view to_string(ElementType type) noexcept {
    const auto* f = facts(type);
    return f ? f->name : std::string_view("unknown");
}

std::optional<ElementType> element_type_from_string(std::string_view name) noexcept {
    for (const auto& f : k_types)
        if (f.name == name) return f.type;
    return std::nullopt;
}

std::optional<std::uint64_t> dense_byte_size(ElementType type, std::span<const std::int64_t> shape,
                                             std::uint64_t limit) noexcept {
    std::uint64_t bytes = element_size(type);
    if (bytes == 0) return std::nullopt;
    for (std::int64_t dim : shape) {
        if (dim < 0) return std::nullopt;
        auto d = static_cast<std::uint64_t>(dim);
        if (d != 0 && bytes > limit / d) return std::nullopt;
        bytes *= d;
    }
    if (bytes > limit) return std::nullopt;
    return bytes;
}

} // namespace loom
