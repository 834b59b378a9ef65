#include "components/protocol/executor.hpp"

#include <pthread.h>

namespace loom::protocol {

ThreadPoolExecutor::ThreadPoolExecutor(unsigned threads, std::string name) {
    threads = std::max(1u, threads);
    for (unsigned i = 0; i < threads; ++i) {
        m_threads.emplace_back([this] { loop(); });
        ::pthread_setname_np(m_threads.back().native_handle(), name.substr(0, 15).c_str());
    }
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads)
        t.join();
}

void ThreadPoolExecutor::run(std::function<void()> task) {
    {
        std::lock_guard lock(m_mutex);
        m_tasks.push_back(std::move(task));
    }
    m_wake.notify_one();
}

void ThreadPoolExecutor::loop() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
            if (m_tasks.empty()) return; // stopping and drained
            task = std::move(m_tasks.front());
            m_tasks.pop_front();
        }
        task();
    }
}

} // namespace loom::protocol
