#pragma once
// Header-only helpers for unit and integration tests anywhere in the tree (include root: the
// source root): the kind of error a call throws, and waiting on progress instead of a guessed
// delay.

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "schemas/error.hpp"

namespace loom::test {

// The kind of loom::Error `f` throws; `no_error` (a value outside the enum) when it throws none.
inline constexpr ErrorKind no_error = static_cast<ErrorKind>(0xffff);
inline ErrorKind error_kind_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (message) *message = e.message();
        return e.kind();
    }
    return no_error;
}

// Polls `condition` every few milliseconds until it holds or `limit` passes; its last value.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
}

} // namespace loom::test
