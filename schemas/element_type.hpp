#pragma once
// Element types and the facts every module needs about them (bus checks frame sizes with them,
// the model builds its type system on them). The enum mirrors schemas/tensor.capnp's ElementType
// (equal values, checked in schema_enums.cpp); a public header without Cap'n Proto's generated
// code (schemas/schema_enums.hpp converts).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace loom {

// Values are the schema's enumerant ordinals; only ever appended. UNDEFINED is first so that an
// unset field never reads as f32.
enum class ElementType : std::uint16_t {
    UNDEFINED = 0,
    F32 = 1,
    F16 = 2,
    BF16 = 3,
    F64 = 4,
    I8 = 5,
    U8 = 6,
    I16 = 7,
    U16 = 8,
    I32 = 9,
    U32 = 10,
    I64 = 11,
    U64 = 12,
    BOOLEAN = 13,
    STRING = 14, // a frame holds u32 length-prefixed UTF-8 strings
};

// Bytes per element; 0 for `undefined` and `string` (variable length).
std::size_t element_size(ElementType type) noexcept;

// "f32", "boolean", ... ; "unknown" for values outside the enum (from a newer peer).
std::string_view to_string(ElementType type) noexcept;

// The inverse of to_string; nullopt for an unknown name.
std::optional<ElementType> element_type_from_string(std::string_view name) noexcept;

// Bytes of a dense tensor of `type` and `shape`; nullopt if a dimension is negative, the type has
// no fixed size, or the product overflows `limit`.
std::optional<std::uint64_t> dense_byte_size(ElementType type, std::span<const std::int64_t> shape,
                                             std::uint64_t limit = UINT64_MAX) noexcept;

} // namespace loom
