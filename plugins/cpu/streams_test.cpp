// The CPU device's streams: runs happen on the streams' own threads with their OpenMP team size,
// runs in flight overlap across streams, the reference kernels' parallel_for joins the stream's
// team, errors come back to the caller; and the hints' stream layouts.

#include <gtest/gtest.h>

#include <omp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "components/reference/kernel_util.hpp"
#include "plugins/cpu/streams.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {
namespace {

TEST(Streams, RunOnTheirOwnThreadsWithTheirTeamSize) {
    Streams streams({1, 2, false});
    std::thread::id ran_on;
    int team = 0;
    streams.run([&] {
        ran_on = std::this_thread::get_id();
        team = omp_get_max_threads();
    });
    EXPECT_NE(ran_on, std::this_thread::get_id());
    EXPECT_EQ(team, 2);
}

TEST(Streams, RunsInFlightOverlapAcrossStreams) {
    Streams streams({2, 1, true});
    std::mutex m;
    std::condition_variable cv;
    int started = 0;
    bool both = true;
    auto task = [&] {
        std::unique_lock lock(m);
        ++started;
        cv.notify_all();
        // Each run waits for the other to have started: only two streams let both finish.
        both = cv.wait_for(lock, std::chrono::seconds(30), [&] { return started == 2; }) && both;
    };
    std::thread other([&] { streams.run(task); });
    streams.run(task);
    other.join();
    EXPECT_TRUE(both) << "the second run did not start while the first was running";
}

TEST(Streams, KernelsParallelForRunsOnTheStreamsTeam) {
    Streams streams({1, 2, false});
    std::set<int> members;
    std::mutex m;
    bool inside_team = true;
    streams.run([&] {
        loom::reference::parallel_for(64, 1, [&](std::int64_t, std::int64_t) {
            std::lock_guard lock(m);
            members.insert(omp_get_thread_num());
            inside_team = inside_team && omp_in_parallel();
        });
    });
    EXPECT_TRUE(inside_team) << "chunks ran outside an OpenMP team (oneTBB?)";
    EXPECT_LE(members.size(), 2u);
    // Outside a stream the kernels' parallel_for is oneTBB's again (no OpenMP team).
    bool outside = false;
    loom::reference::parallel_for(64, 1, [&](std::int64_t, std::int64_t) {
        if (omp_in_parallel()) outside = true;
    });
    EXPECT_FALSE(outside);
}

TEST(Streams, AnErrorOfARunReachesItsCallerAndTheStreamGoesOn) {
    Streams streams({1, 1, false});
    try {
        streams.run([] { LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "bad input"); });
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    }
    int ran = 0;
    streams.run([&] { ++ran; });
    EXPECT_EQ(ran, 1);
}

TEST(Streams, HintsChooseTheLayout) {
    const auto cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const auto latency = stream_config({});
    EXPECT_EQ(latency.streams, 1);
    EXPECT_EQ(latency.threads, cores);
    const auto throughput =
        stream_config(Properties().set(props::performance_mode, PerformanceMode::THROUGHPUT));
    EXPECT_EQ(throughput.streams, std::max(std::min(2, cores), cores / 4));
    EXPECT_EQ(throughput.streams * throughput.threads <= cores, true);
    const auto fixed = stream_config(Properties()
                                         .set(props::num_streams, std::uint32_t{2})
                                         .set(props::inference_num_threads, std::uint32_t{4}));
    EXPECT_EQ(fixed.streams, 2);
    EXPECT_EQ(fixed.threads, 2);
    EXPECT_EQ(stream_property(Properties()
                                  .set(props::num_streams, std::uint32_t{3})
                                  .set(props::inference_num_threads, std::uint32_t{6}),
                              props::optimal_number_of_infer_requests.name),
              "3");
    EXPECT_EQ(stream_property(Properties()
                                  .set(props::performance_mode, PerformanceMode::THROUGHPUT)
                                  .set(props::num_streams, std::uint32_t{2}),
                              props::optimal_number_of_infer_requests.name),
              "4")
        << "two requests per stream";
    EXPECT_FALSE(stream_property({}, "PERF_COUNT").has_value());
}

} // namespace
} // namespace loom::plugins::cpu
