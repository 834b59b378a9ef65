#include "schemas/error.hpp"

namespace loom {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::INVALID_ARGUMENT:
        return "invalid_argument";
    case ErrorKind::NOT_FOUND:
        return "not_found";
    case ErrorKind::UNSUPPORTED:
        return "unsupported";
    case ErrorKind::UNAVAILABLE:
        return "unavailable";
    case ErrorKind::DISCONNECTED:
        return "disconnected";
    case ErrorKind::OVERLOADED:
        return "overloaded";
    case ErrorKind::TIMEOUT:
        return "timeout";
    case ErrorKind::CANCELLED:
        return "cancelled";
    case ErrorKind::UNAUTHENTICATED:
        return "unauthenticated";
    case ErrorKind::MOVED:
        return "moved";
    case ErrorKind::INTERNAL:
        return "internal";
    case ErrorKind::PERMISSION_DENIED:
        return "permission_denied";
    }
    return "unknown_error_kind";
}

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", to_string(kind), message))
    , m_kind(kind)
    , m_message(message) {}

Error Error::moved(std::string endpoint, std::uint64_t epoch, const std::string& message) {
    Error e(ErrorKind::MOVED, message);
    e.m_moved_to = std::move(endpoint);
    e.m_moved_epoch = epoch;
    return e;
}

namespace detail {

void throw_error(ErrorKind kind, std::string message) {
    throw Error(kind, message);
}

void assertion_failed(const char* condition, const char* file, int line, std::string message) {
    throw Error(ErrorKind::INTERNAL, fmt::format("invariant `{}` broken at {}:{}{}{}", condition,
                                                 file, line, message.empty() ? "" : ": ", message));
}

} // namespace detail
} // namespace loom
