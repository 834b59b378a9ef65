#pragma once
// Helpers for tests that run a kernel with the test component.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "bus/context.hpp"
#include "kernel/client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/routed_channel.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/test_service.hpp"

namespace loom::test {

// Paths of build artefacts (from the build; see tests/CMakeLists.txt).
std::string component_library(int version);
std::string loom_executable();

kernel::ComponentSpec component(const std::string& name, int version,
                                kernel::Placement placement = kernel::Placement::IN_PROCESS,
                                const std::string& config = {});

// A context with a short heartbeat (so fault tests see a silent peer within a second), and a
// kernel in this process.
struct KernelFixture {
    explicit KernelFixture(std::chrono::milliseconds heartbeat = std::chrono::milliseconds(200),
                           kernel::KernelOptions options = {});
    bus::Context context;
    kernel::Kernel kernel;
    kernel::KernelClient client; // over the kernel's in-process endpoint
};

bus::OutMessage echo(std::int64_t value, const std::string& text = {});
// The version that answered an echo.
std::string echo_version(kernel::RoutedChannel& channel, std::int64_t value = 0);

} // namespace loom::test
