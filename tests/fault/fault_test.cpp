// Dead and frozen peers: a caller never hangs, gets `disconnected` within the liveness window,
// the kernel marks the component failed, and other components are unaffected.

#include <gtest/gtest.h>

#include <signal.h>

#include <future>

#include "tests/support/kernel_fixture.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;
using kernel::ComponentState;
using kernel::Placement;

// Starts a hold in the component behind `route` and waits until it runs.
bus::Future hold_in_flight(bus::Channel& channel) {
    bus::OutMessage hold;
    hold.init_payload<schema::HoldRequest>().setCapMs(60000);
    // The deadline is far beyond the liveness window: an error before it is not a timeout.
    auto future = channel.call_async(TestMethod::HOLD, std::move(hold), {.timeout = 120s});
    EXPECT_TRUE(wait_holding(channel, 1)) << "the hold never started";
    return future;
}

struct TwoChildren : ::testing::Test {
    KernelFixture f{200ms};
    kernel::ComponentRecord victim, bystander;
    std::unique_ptr<bus::Channel> victim_channel;
    void SetUp() override {
        victim = f.kernel.start(component("victim", 1, Placement::CHILD_PROCESS));
        bystander = f.kernel.start(component("bystander", 1, Placement::CHILD_PROCESS));
        victim_channel =
            std::make_unique<bus::Channel>(f.context, victim.endpoints.front(), "victim");
    }
    void expect_bystander_serves() {
        kernel::RoutedChannel channel(f.context, f.client, "bystander");
        EXPECT_EQ(echo_version(channel, 5), "1");
    }
};

TEST_F(TwoChildren, KillNineMidRequestFailsTheCallerWithDisconnected) {
    auto held = hold_in_flight(*victim_channel);
    ASSERT_EQ(::kill(victim.pid, SIGKILL), 0);
    try {
        held.get();
        FAIL() << "a request to a killed component returned a reply";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::DISCONNECTED) << e.what();
    }
    auto record = f.client.instance(victim.instance, 10s);
    EXPECT_EQ(record.state, ComponentState::FAILED);
    EXPECT_NE(record.last_error.find("signal 9"), std::string::npos) << record.last_error;
    expect_bystander_serves();
    // Resolving the failed name says why instead of handing out a dead endpoint.
    try {
        f.client.resolve("victim");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::UNAVAILABLE);
        EXPECT_NE(e.message().find("failed"), std::string::npos) << e.what();
    }
}

TEST_F(TwoChildren, FrozenPeerIsDisconnectedWithinTheLivenessWindow) {
    auto held = hold_in_flight(*victim_channel);
    ASSERT_EQ(::kill(victim.pid, SIGSTOP), 0); // alive, sockets open, but silent
    try {
        held.get();
        FAIL() << "a request to a frozen component returned a reply";
    } catch (const Error& e) {
        // Not `timeout`: the missing heartbeats end it long before the 120 s deadline.
        EXPECT_EQ(e.kind(), ErrorKind::DISCONNECTED) << e.what();
    }
    auto record = f.client.instance(victim.instance, 10s);
    EXPECT_EQ(record.state, ComponentState::FAILED);
    EXPECT_NE(record.last_error.find("heartbeat"), std::string::npos) << record.last_error;
    expect_bystander_serves();
    ::kill(victim.pid, SIGCONT); // the kernel killed it; make sure nothing lingers stopped
}

TEST(Fault, AbortInsideAHandlerFailsOnlyThatComponent) {
    KernelFixture f{200ms};
    auto crashy = f.kernel.start(component("crashy", 1, Placement::CHILD_PROCESS));
    f.kernel.start(component("steady", 1, Placement::CHILD_PROCESS));
    kernel::RoutedChannel crash(f.context, f.client, "crashy");
    bus::OutMessage abort_request;
    abort_request.init_payload<schema::AbortRequest>();
    try {
        crash.call(TestMethod::ABORT, std::move(abort_request), {.timeout = 60s});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::DISCONNECTED) << e.what();
    }
    auto record = f.client.instance(crashy.instance, 10s);
    EXPECT_EQ(record.state, ComponentState::FAILED);
    EXPECT_NE(record.last_error.find("signal 6"), std::string::npos) << record.last_error;
    kernel::RoutedChannel steady(f.context, f.client, "steady");
    EXPECT_EQ(echo_version(steady), "1");
}

} // namespace
} // namespace loom::test
