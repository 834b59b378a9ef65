#pragma once
// Facts about the schema's ElementType enum that every module needs (bus checks frame sizes
// with them, the model builds its type system on them).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "schemas/tensor.capnp.h"

namespace loom {

using ElementType = schema::ElementType;

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
