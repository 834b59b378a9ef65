#include "components/protocol/async_request.hpp"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

#include "schemas/error.hpp"

namespace loom::protocol {
namespace {

TEST(AsyncInferRequest, StagesRunInOrderOnTheirExecutorsAndCallbackFiresOnce) {
    auto pool = std::make_shared<ThreadPoolExecutor>(2);
    std::vector<int> order;
    std::mutex m;
    auto stage = [&](int i) {
        return AsyncInferRequest::Stage{pool, [&, i] {
                                            std::lock_guard lock(m);
                                            order.push_back(i);
                                        }};
    };
    AsyncInferRequest request({stage(1), stage(2), stage(3)});
    std::atomic<int> calls{0};
    std::exception_ptr seen = std::make_exception_ptr(1);
    request.set_callback([&](std::exception_ptr e) {
        seen = e;
        ++calls;
    });
    request.start_async();
    request.wait();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(seen, nullptr);
    request.infer(); // reusable
    EXPECT_EQ(calls.load(), 2);
    EXPECT_EQ(order.size(), 6u);
}

TEST(AsyncInferRequest, ErrorReachesWaitAndCallback) {
    auto pool = std::make_shared<ThreadPoolExecutor>(1);
    AsyncInferRequest request(
        {{pool, [] { LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "bad input 'x'"); }}});
    std::exception_ptr seen;
    request.set_callback([&](std::exception_ptr e) { seen = e; });
    request.start_async();
    try {
        request.wait();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    }
    EXPECT_NE(seen, nullptr);
}

TEST(AsyncInferRequest, StartWhileBusyIsRefusedAndCancelSkipsPendingStages) {
    auto pool = std::make_shared<ThreadPoolExecutor>(1);
    std::promise<void> release;
    auto gate = release.get_future().share();
    std::atomic<bool> second_ran{false};
    std::atomic<int> hook_calls{0};
    std::atomic<std::uint64_t> hook_sequence{0};
    AsyncInferRequest request({{pool, [gate] { gate.wait(); }}, {pool, [&] { second_ran = true; }}},
                              [&](std::uint64_t sequence) {
                                  hook_sequence = sequence;
                                  ++hook_calls;
                              });
    request.start_async();
    EXPECT_EQ(request.sequence(), 1u);
    EXPECT_FALSE(request.wait_for(std::chrono::milliseconds(0)));
    EXPECT_THROW(request.start_async(), Error);
    request.cancel();
    release.set_value();
    try {
        request.wait();
        FAIL() << "expected cancelled";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::CANCELLED);
    }
    EXPECT_FALSE(second_ran.load());
    EXPECT_EQ(hook_calls.load(), 1);
    EXPECT_EQ(hook_sequence.load(), 1u); // the hook names the inference it cancels
    request.cancel();                    // idle: no effect
    EXPECT_EQ(hook_calls.load(), 1);
}

TEST(AsyncInferRequest, ManyRequestsInFlightOnOneExecutor) {
    auto pool = std::make_shared<ThreadPoolExecutor>(2);
    std::atomic<int> done{0};
    std::vector<std::unique_ptr<AsyncInferRequest>> requests;
    for (int i = 0; i < 8; ++i)
        requests.push_back(std::make_unique<AsyncInferRequest>(
            std::vector<AsyncInferRequest::Stage>{{pool, [&] { ++done; }}}));
    for (auto& r : requests)
        r->start_async();
    for (auto& r : requests)
        r->wait();
    EXPECT_EQ(done.load(), 8);
}

} // namespace
} // namespace loom::protocol
