#include "components/protocol/executor.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

namespace loom::protocol {
namespace {

using namespace std::chrono_literals;

// Tasks that each block until `count` of them run at the same time (or a deadline passes):
// how many ran together tells how many threads the pool gave them.
struct Rendezvous {
    std::mutex mutex;
    std::condition_variable cv;
    int running = 0;
    int most = 0;
    int finished = 0;
    bool met = false; // `count` ran together once

    void arrive_and_wait(int count, std::chrono::milliseconds patience = 5s) {
        std::unique_lock lock(mutex);
        most = std::max(most, ++running);
        met = met || running >= count;
        cv.notify_all();
        cv.wait_for(lock, patience, [&] { return met; });
        --running;
        ++finished;
        cv.notify_all();
    }
    void wait_finished(int count) {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 10s, [&] { return finished == count; });
    }
};

TEST(ThreadPoolExecutor, GrowsWhenEveryThreadIsBlockedUpToItsMaximum) {
    ThreadPoolExecutor pool(1, "test-pool", 3);
    Rendezvous r;
    for (int i = 0; i < 3; ++i)
        pool.run([&] { r.arrive_and_wait(3); });
    r.wait_finished(3);
    EXPECT_EQ(r.most, 3); // all three blocked at once: the pool grew to 3 threads
    EXPECT_EQ(pool.threads(), 3u);
    // At its maximum, a fourth and fifth task wait for a free thread instead.
    Rendezvous more;
    for (int i = 0; i < 5; ++i)
        pool.run([&] { more.arrive_and_wait(5, 100ms); });
    more.wait_finished(5);
    EXPECT_EQ(more.finished, 5);
    EXPECT_EQ(more.most, 3);
    EXPECT_EQ(pool.threads(), 3u);
}

TEST(ThreadPoolExecutor, AFixedPoolKeepsItsThreadsAndIdleThreadsTakeNewTasks) {
    ThreadPoolExecutor fixed(2, "test-fixed");
    Rendezvous r;
    for (int i = 0; i < 4; ++i)
        fixed.run([&] { r.arrive_and_wait(3, 100ms); });
    r.wait_finished(4);
    EXPECT_EQ(r.finished, 4);
    EXPECT_EQ(r.most, 2);
    EXPECT_EQ(fixed.threads(), 2u);
    // Sequential tasks reuse the idle threads of a growing pool: it does not grow for them.
    ThreadPoolExecutor growing(2, "test-grow", 8);
    for (int i = 0; i < 20; ++i) {
        std::atomic<bool> done{false};
        growing.run([&] { done = true; });
        while (!done)
            std::this_thread::yield();
    }
    EXPECT_EQ(growing.threads(), 2u);
}

TEST(ThreadPoolExecutor, DestructorFinishesQueuedTasksIncludingOnesTheyQueue) {
    std::atomic<int> ran{0};
    {
        ThreadPoolExecutor pool(1, "test-drain", 4);
        for (int i = 0; i < 10; ++i)
            pool.run([&] {
                ++ran;
                pool.run([&] { ++ran; });
            });
    }
    EXPECT_EQ(ran.load(), 20);
}

} // namespace
} // namespace loom::protocol
