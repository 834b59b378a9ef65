#pragma once
// Conversions between Loom's public enums (ErrorKind, ElementType — plain C++ so that user headers
// need no Cap'n Proto) and the schema's generated enums. The values are equal by construction;
// schema_enums.cpp checks every enumerant at compile time.

#include "schemas/bus.capnp.h"
#include "schemas/element_type.hpp"
#include "schemas/error.hpp"
#include "schemas/tensor.capnp.h"

namespace loom {

constexpr schema::ErrorKind to_schema(ErrorKind kind) noexcept {
    return static_cast<schema::ErrorKind>(static_cast<std::uint16_t>(kind));
}
// A kind from a peer; values this build does not know (a newer peer) stay as they are and
// print as "unknown_error_kind".
constexpr ErrorKind from_schema(schema::ErrorKind kind) noexcept {
    return static_cast<ErrorKind>(static_cast<std::uint16_t>(kind));
}
constexpr schema::ElementType to_schema(ElementType type) noexcept {
    return static_cast<schema::ElementType>(static_cast<std::uint16_t>(type));
}
constexpr ElementType from_schema(schema::ElementType type) noexcept {
    return static_cast<ElementType>(static_cast<std::uint16_t>(type));
}

} // namespace loom
