#pragma once
// loom::Error — the one exception type of Loom. Its kind mirrors the bus schema's ErrorKind
// (schemas/bus.capnp; the values are equal, checked in schema_enums.cpp), so an error keeps its
// kind when it crosses the bus (DESIGN.md §3, §9). A public header: it does not pull Cap'n
// Proto's generated code into the user's translation unit (schemas/schema_enums.hpp converts).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace loom {

// Values are the schema's enumerant ordinals; only ever appended.
enum class ErrorKind : std::uint16_t {
    INVALID_ARGUMENT = 0,   // the caller's input is bad
    NOT_FOUND = 1,          // no such service, method, component or object
    UNSUPPORTED = 2,        // understood but not implemented here
    UNAVAILABLE = 3,        // nobody serves this now; the request was not delivered
    DISCONNECTED = 4,       // the peer died or went away while the request was in flight
    OVERLOADED = 5,         // refused for lack of capacity
    TIMEOUT = 6,            // the deadline budget ran out
    CANCELLED = 7,          // the caller or the service cancelled it
    UNAUTHENTICATED = 8,    // security handshake refused
    MOVED = 9,              // the service lives elsewhere now
    INTERNAL = 10,          // a bug or broken invariant on the serving side
    PERMISSION_DENIED = 11, // authenticated, but the caller's role may not do this
};

// The stable snake_case name of a kind ("invalid_argument", "disconnected", ...).
std::string_view to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message);
    // A `moved` error: the service now lives at `endpoint` under route `epoch`.
    static Error moved(std::string endpoint, std::uint64_t epoch, const std::string& message);

    ErrorKind kind() const noexcept { return m_kind; }
    // The message without the "<kind>: " prefix that what() carries.
    const std::string& message() const noexcept { return m_message; }
    const std::string& moved_to() const noexcept { return m_moved_to; }
    std::uint64_t moved_epoch() const noexcept { return m_moved_epoch; }

private:
    ErrorKind m_kind;
    std::string m_message;
    std::string m_moved_to;
    std::uint64_t m_moved_epoch = 0;
};

namespace detail {
[[noreturn]] void throw_error(ErrorKind kind, std::string message);
[[noreturn]] void assertion_failed(const char* condition, const char* file, int line,
                                   std::string message);
} // namespace detail

} // namespace loom

// Throws loom::Error of `kind` with a fmt-formatted message; the message is built only here.
#define LOOM_THROW(kind, ...) ::loom::detail::throw_error((kind), ::fmt::format(__VA_ARGS__))

// Checks a caller's mistake: throws invalid_argument with the formatted message on failure.
#define LOOM_REQUIRE(cond, ...)                                                                    \
    do {                                                                                           \
        if (!(cond)) [[unlikely]]                                                                  \
            LOOM_THROW(::loom::ErrorKind::INVALID_ARGUMENT, __VA_ARGS__);                          \
    } while (0)

// Checks our own invariant: throws internal, naming the condition and the place.
#define LOOM_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) [[unlikely]]                                                                  \
            ::loom::detail::assertion_failed(#cond, __FILE__, __LINE__,                            \
                                             ::fmt::format("" __VA_ARGS__));                       \
    } while (0)
