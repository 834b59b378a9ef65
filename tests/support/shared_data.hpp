#pragma once
// Where the shared real models are (LOOM_SHARED_DIR, default ../shared; never copied into the
// repository), and the skip rule: a user's fresh clone has no ../shared, so tests that need it
// skip saying why — except under CI=true, where missing shared data is a failure.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace loom::test {

inline std::filesystem::path shared_dir() {
    const char* env = std::getenv("LOOM_SHARED_DIR");
    return env && *env ? std::filesystem::path(env) : std::filesystem::path("../shared");
}

inline bool running_in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

} // namespace loom::test

// Skips (or, under CI=true, fails) the current test when `path` does not exist.
#define LOOM_REQUIRE_DATA(path)                                                                    \
    do {                                                                                           \
        if (!std::filesystem::exists(path)) {                                                      \
            if (::loom::test::running_in_ci())                                                     \
                FAIL() << "shared test data missing under CI: " << (path);                         \
            GTEST_SKIP() << "skipped: " << (path)                                                  \
                         << " is missing (set LOOM_SHARED_DIR to the folder holding models/)";     \
        }                                                                                          \
    } while (0)
