#include "schemas/schema_enums.hpp"

namespace loom {
namespace {

#define LOOM_SAME(E, name)                                                                         \
    static_assert(static_cast<std::uint16_t>(E::name) ==                                           \
                  static_cast<std::uint16_t>(schema::E::name))
LOOM_SAME(ErrorKind, INVALID_ARGUMENT);
LOOM_SAME(ErrorKind, NOT_FOUND);
LOOM_SAME(ErrorKind, UNSUPPORTED);
LOOM_SAME(ErrorKind, UNAVAILABLE);
LOOM_SAME(ErrorKind, DISCONNECTED);
LOOM_SAME(ErrorKind, OVERLOADED);
LOOM_SAME(ErrorKind, TIMEOUT);
LOOM_SAME(ErrorKind, CANCELLED);
LOOM_SAME(ErrorKind, UNAUTHENTICATED);
LOOM_SAME(ErrorKind, MOVED);
LOOM_SAME(ErrorKind, INTERNAL);
LOOM_SAME(ErrorKind, PERMISSION_DENIED);
LOOM_SAME(ElementType, UNDEFINED);
LOOM_SAME(ElementType, F32);
LOOM_SAME(ElementType, F16);
LOOM_SAME(ElementType, BF16);
LOOM_SAME(ElementType, F64);
LOOM_SAME(ElementType, I8);
LOOM_SAME(ElementType, U8);
LOOM_SAME(ElementType, I16);
LOOM_SAME(ElementType, U16);
LOOM_SAME(ElementType, I32);
LOOM_SAME(ElementType, U32);
LOOM_SAME(ElementType, I64);
LOOM_SAME(ElementType, U64);
LOOM_SAME(ElementType, BOOLEAN);
LOOM_SAME(ElementType, STRING);
#undef LOOM_SAME

} // namespace
} // namespace loom
