#pragma once
// Coverage-guided fuzz targets (libFuzzer) for everything that decodes bytes from outside.
// Each target defines LLVMFuzzerTestOneInput and loom_fuzz_seeds() (seed inputs built from real
// messages, written to a corpus by tools/fuzz.sh). Built with clang and -fsanitize=fuzzer in a
// fuzz build (cmake -DLOOM_FUZZ=ON, tools/fuzz.sh); in the ordinary trees each target is linked
// with standalone_main.cpp and ctest runs its seeds and regression inputs (label fuzz), so the
// targets keep building and every finding stays fixed.
//
// The contract every target checks: an input is read, or refused with a loom::Error whose kind is
// not `internal`. Any other exception, a crash, a leak or a sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "schemas/error.hpp"

using FuzzSeeds = std::vector<std::vector<std::uint8_t>>;
FuzzSeeds loom_fuzz_seeds();

namespace loom::fuzz {

inline std::span<const std::byte> as_bytes(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const std::byte*>(data), size};
}

// Reports an `internal` error as a finding: prints it and aborts.
[[noreturn]] inline void finding(const Error& e) {
    std::fprintf(stderr, "finding: %s\n", e.what());
    std::abort();
}

// Runs `body`; a loom::Error of kind `internal`, or anything not a loom::Error, aborts (a
// finding).
template <class F>
void expect_typed(F&& body) {
    try {
        body();
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::INTERNAL) finding(e);
    }
}

// Bytes of a string or buffer as a seed.
inline std::vector<std::uint8_t> seed_of(std::span<const std::byte> bytes) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
    return {p, p + bytes.size()};
}

} // namespace loom::fuzz
