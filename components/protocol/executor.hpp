#pragma once
// Executors (DESIGN.md §6): where the stages of an asynchronous inference run. Both sides of the
// device protocol use them — the device for its inference stages, the client (the Core) for the
// stage that sends a request over the bus.
//
// Threading: executors are thread-safe; run() never blocks for long.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace loom::protocol {

class Executor {
public:
    virtual ~Executor() = default;
    // Runs `task` some time later on an executor thread; never blocks for long.
    virtual void run(std::function<void()> task) = 0;
};

// N threads over one FIFO queue; the destructor finishes queued tasks, then joins. With
// `max_threads` above `threads`, a task that finds every thread busy starts another, up to
// `max_threads`: tasks that block (a call waiting for a remote device's reply) then do not hold
// back the ones behind them. Threads are never stopped before the destructor.
class ThreadPoolExecutor final : public Executor {
public:
    explicit ThreadPoolExecutor(unsigned threads, std::string name = "loom-exec",
                                unsigned max_threads = 0);
    ~ThreadPoolExecutor() override;
    void run(std::function<void()> task) override;
    std::size_t threads() const;

private:
    void loop();
    void start_thread_locked();
    const std::string m_name;
    const std::size_t m_max_threads;
    mutable std::mutex m_mutex; // guards everything below
    std::condition_variable m_wake;
    std::deque<std::function<void()>> m_tasks;
    std::size_t m_idle = 0; // threads started and not running a task
    bool m_stopping = false;
    std::vector<std::thread> m_threads;
};

// Runs each task on the calling thread.
class ImmediateExecutor final : public Executor {
public:
    void run(std::function<void()> task) override { task(); }
};

} // namespace loom::protocol
