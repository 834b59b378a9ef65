#pragma once
// The test component's service (test code, never shipped): echo, checksum, hold/release,
// fail, identify, abort, stats — enough to exercise every bus and kernel contract.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "bus/service.hpp"
#include "tests/support/test.capnp.h"

namespace loom::test {

using TestMethod = schema::TestMethod;

// Thread-safe and blocking by default, so holds do not stop other requests.
std::shared_ptr<bus::Service> make_test_service(std::string name, std::string version,
                                                bus::ServiceOptions options = {true, true, 4});

// Sum of the bytes taken as little-endian u64 words (the tail zero-padded): touches every byte.
std::uint64_t checksum(std::span<const std::byte> bytes) noexcept;

} // namespace loom::test
