#include "tests/support/kernel_fixture.hpp"

namespace loom::test {
namespace {

bus::ContextOptions with_heartbeat(std::chrono::milliseconds interval) {
    bus::ContextOptions o;
    o.heartbeat.interval = interval;
    o.heartbeat.liveness = 3;
    return o;
}

kernel::KernelOptions with_launcher(kernel::KernelOptions o) {
    if (o.launcher.empty()) o.launcher = loom_executable();
    return o;
}

} // namespace

std::string component_library(int version) {
    return version == 1 ? LOOM_TEST_COMPONENT_V1 : LOOM_TEST_COMPONENT_V2;
}

std::string loom_executable() {
    return LOOM_TEST_LAUNCHER;
}

kernel::ComponentSpec component(const std::string& name, int version, kernel::Placement placement,
                                const std::string& config) {
    kernel::ComponentSpec spec;
    spec.name = name;
    spec.library = component_library(version);
    spec.placement = placement;
    spec.config = config;
    return spec;
}

KernelFixture::KernelFixture(std::chrono::milliseconds heartbeat, kernel::KernelOptions options)
    : context(with_heartbeat(heartbeat))
    , kernel(context, with_launcher(std::move(options)))
    , client(context, kernel.endpoints().front()) {}

bus::OutMessage echo(std::int64_t value, const std::string& text) {
    bus::OutMessage m;
    auto p = m.init_payload<schema::EchoRequest>();
    p.setValue(value);
    p.setText(text);
    return m;
}

std::string echo_version(kernel::RoutedChannel& channel, std::int64_t value) {
    auto reply = channel.call(TestMethod::ECHO, echo(value), {.timeout = std::chrono::seconds(30)});
    return reply.payload<schema::EchoReply>().getVersion().cStr();
}

} // namespace loom::test
