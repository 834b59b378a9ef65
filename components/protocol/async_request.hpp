#pragma once
// Asynchronous inference (DESIGN.md §6, OpenVINO's AsyncInferRequest design): an inference is a
// pipeline of stages, each run on an executor; start_async() queues the first stage and returns;
// each stage queues the next; the end (or the first error) completes the request, wakes wait()
// and runs the callback exactly once. Several requests may be in flight on one executor.
//
// Threading: an AsyncInferRequest is used by one thread at a time (its owner), except cancel(),
// which any thread may call. Executors are thread-safe. Destroying a request waits for its
// running pipeline to finish, so stages never outlive the request.

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "components/protocol/executor.hpp"

namespace loom::protocol {

class AsyncInferRequest {
public:
    struct Stage {
        std::shared_ptr<Executor> executor; // null: run on the thread that finished the last
        std::function<void()> work;
    };
    // `cancel_hook` is called by cancel() with the cancelled inference's sequence number (e.g. to
    // set a device request's cancel flag for that inference only).
    using CancelHook = std::function<void(std::uint64_t sequence)>;
    AsyncInferRequest(std::vector<Stage> pipeline, CancelHook cancel_hook = {});
    virtual ~AsyncInferRequest();
    AsyncInferRequest(const AsyncInferRequest&) = delete;
    AsyncInferRequest& operator=(const AsyncInferRequest&) = delete;

    // Runs the pipeline on this thread; rethrows its error.
    void infer();
    // invalid_argument ("busy") when an inference is already running.
    void start_async();
    void wait();
    bool wait_for(std::chrono::milliseconds timeout);
    // Pending stages are skipped and the inference ends with `cancelled`; the hook is called
    // so a running stage can stop early.
    void cancel();
    void set_callback(std::function<void(std::exception_ptr)> callback);
    bool busy() const;
    // A synchronous inference run by the caller outside the pipeline: begin_sync marks the
    // request busy (invalid_argument when it is) and returns the inference's sequence number, so
    // cancel() from another thread reaches it; end_sync ends it (no callback).
    std::uint64_t begin_sync();
    void end_sync();
    // The running (or last) inference's sequence number: 1 for the first start_async/infer,
    // then one more each time. Stages read it to tag the work they hand to a device.
    std::uint64_t sequence() const;

private:
    void run_stage(std::size_t index, std::uint64_t generation);
    void finish(std::exception_ptr error);

    std::vector<Stage> m_pipeline;
    CancelHook m_cancel_hook;
    mutable std::mutex m_mutex; // guards everything below
    std::condition_variable m_done;
    bool m_busy = false;
    bool m_cancelled = false;
    std::uint64_t m_generation = 0;
    std::exception_ptr m_error;
    std::function<void(std::exception_ptr)> m_callback;
};

} // namespace loom::protocol
