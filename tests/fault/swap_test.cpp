// Swaps (DESIGN.md §4): under load no request fails and each new request after a swap goes to
// the new version; old instances stop once drained; a swap to something that cannot start
// leaves the old one serving and reports why.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "tests/support/kernel_fixture.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;
using kernel::ComponentState;
using kernel::Placement;

class SwapUnderLoad : public ::testing::TestWithParam<Placement> {};

TEST_P(SwapUnderLoad, NoRequestFailsAndEachGoesToExactlyOneVersion) {
    KernelFixture f{200ms};
    auto first = f.kernel.start(component("echo", 1, GetParam()));
    kernel::RoutedChannel channel(f.context, f.client, "echo");

    // After swap k has returned, requests started later must be answered by its version.
    std::atomic<int> generation{0};
    std::atomic<int> expected_version{1};
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> ok{0}, failed{0}, stale{0}, wrong{0};
    std::mutex mutex;
    std::string first_error;
    std::vector<std::thread> clients;
    for (int t = 0; t < 3; ++t)
        clients.emplace_back([&, t] {
            for (std::int64_t i = 0; !stop.load(); ++i) {
                int gen = generation.load();
                int want = expected_version.load();
                std::int64_t value = t * 10000000 + i;
                try {
                    auto reply = channel.call(TestMethod::ECHO, echo(value), {.timeout = 60s});
                    auto r = reply.payload<schema::EchoReply>();
                    std::string v = r.getVersion().cStr();
                    if (r.getValue() != value || (v != "1" && v != "2")) wrong.fetch_add(1);
                    // Judged only if it started and ended with no swap in progress.
                    else if (gen % 2 == 0 && gen == generation.load() && v != std::to_string(want))
                        stale.fetch_add(1);
                    ok.fetch_add(1);
                } catch (const Error& e) {
                    failed.fetch_add(1);
                    std::lock_guard lock(mutex);
                    if (first_error.empty()) first_error = e.what();
                }
            }
        });

    std::vector<std::uint64_t> retired{first.instance};
    for (int swap = 0; swap < 6; ++swap) {
        int version = swap % 2 == 0 ? 2 : 1;
        auto before = ok.load();
        // Let requests flow against the current version before swapping again.
        while (ok.load() < before + 50 && failed.load() == 0)
            std::this_thread::yield();
        generation.fetch_add(1); // requests in flight now may see either version
        auto record = f.kernel.swap("echo", component("echo", version, GetParam()));
        EXPECT_EQ(record.version, std::to_string(version));
        EXPECT_EQ(record.epoch, static_cast<std::uint64_t>(swap + 2));
        expected_version.store(version);
        generation.fetch_add(1);
        retired.push_back(record.instance);
    }
    auto before = ok.load();
    while (ok.load() < before + 50 && failed.load() == 0)
        std::this_thread::yield();
    stop = true;
    for (auto& c : clients)
        c.join();

    EXPECT_EQ(failed.load(), 0u) << "first failure: " << first_error;
    EXPECT_EQ(wrong.load(), 0u);
    EXPECT_EQ(stale.load(), 0u) << "requests after a swap reached the old version";
    EXPECT_GT(ok.load(), 300u);
    retired.pop_back(); // the last one serves
    for (auto id : retired) {
        auto r = f.kernel.instance(id);
        EXPECT_EQ(r.state, ComponentState::STOPPED) << "instance " << id;
        EXPECT_TRUE(r.clean_stop) << "instance " << id << " was not drained before stopping";
        EXPECT_FALSE(r.routed);
    }
}

INSTANTIATE_TEST_SUITE_P(Placements, SwapUnderLoad,
                         ::testing::Values(Placement::IN_PROCESS, Placement::CHILD_PROCESS),
                         [](const auto& param_info) {
                             return param_info.param == Placement::IN_PROCESS ? "in_process"
                                                                              : "child_process";
                         });

struct BrokenReplacement {
    std::string label;
    kernel::ComponentSpec spec;
    ErrorKind kind;
    std::string says;
};

TEST(Swap, ToAComponentThatCannotStartKeepsTheOldOneServing) {
    KernelFixture f{200ms};
    f.kernel.start(component("echo", 1, Placement::CHILD_PROCESS));
    kernel::RoutedChannel channel(f.context, f.client, "echo");
    auto epoch = f.client.resolve("echo").epoch;

    auto missing = component("echo", 2);
    missing.library = "/nonexistent/libnothing.so";
    std::vector<BrokenReplacement> cases{
        {"missing library", missing, ErrorKind::NOT_FOUND, "/nonexistent/libnothing.so"},
        {"entry fails", component("echo", 2, Placement::IN_PROCESS, "fail_on_start = true"),
         ErrorKind::INVALID_ARGUMENT, "configured to fail on start"},
        {"process aborts while starting",
         component("echo", 2, Placement::CHILD_PROCESS, "abort_on_start = true"),
         ErrorKind::UNAVAILABLE, "signal 6"},
    };
    for (const auto& c : cases) {
        try {
            f.kernel.swap("echo", c.spec);
            ADD_FAILURE() << c.label << ": the swap succeeded";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), c.kind) << c.label << ": " << e.what();
            EXPECT_NE(e.message().find(c.says), std::string::npos) << c.label << ": " << e.what();
        }
        EXPECT_EQ(echo_version(channel), "1") << c.label << ": the old version stopped serving";
        EXPECT_EQ(f.client.resolve("echo").epoch, epoch) << c.label << ": the route moved";
    }
    // The failed attempts are recorded as failed instances, not left starting.
    for (const auto& r : f.kernel.list())
        if (!r.routed) {
            EXPECT_EQ(r.state, ComponentState::FAILED) << r.instance;
        }
}

TEST(Swap, ConcurrentSwapOfTheSameNameIsRefused) {
    KernelFixture f{200ms};
    auto old = f.kernel.start(component("echo", 1));
    // A request held in the old instance keeps the first swap waiting in its drain. Over the
    // inproc socket (not direct dispatch) it runs on the service's workers, not on this thread.
    bus::ChannelOptions sockets;
    sockets.allow_direct = false;
    bus::Channel direct(f.context, old.endpoints.front(), "echo", sockets);
    bus::OutMessage hold;
    hold.init_payload<schema::HoldRequest>().setCapMs(1500);
    auto held = direct.call_async(TestMethod::HOLD, std::move(hold), {.timeout = 60s});
    ASSERT_TRUE(wait_holding(direct, 1));

    auto first =
        std::async(std::launch::async, [&] { return f.kernel.swap("echo", component("echo", 2)); });
    auto until = bus::Clock::now() + 20s;
    while (f.kernel.instance(old.instance).state != ComponentState::DRAINING &&
           bus::Clock::now() < until)
        std::this_thread::yield();
    ASSERT_EQ(f.kernel.instance(old.instance).state, ComponentState::DRAINING);
    try {
        f.kernel.swap("echo", component("echo", 1));
        FAIL() << "a second swap ran while the first was draining";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("in progress"), std::string::npos) << e.what();
    }
    // The held request finishes on the old instance; then the first swap completes.
    EXPECT_FALSE(held.get().payload<schema::HoldReply>().getReleased());
    EXPECT_EQ(first.get().version, "2");
    auto retired = f.kernel.instance(old.instance);
    EXPECT_EQ(retired.state, ComponentState::STOPPED);
    EXPECT_TRUE(retired.clean_stop);
}

} // namespace
} // namespace loom::test
