#include "components/protocol/executor.hpp"

#include <pthread.h>

#include <algorithm>

namespace loom::protocol {

ThreadPoolExecutor::ThreadPoolExecutor(unsigned threads, std::string name, unsigned max_threads)
    : m_name(name.substr(0, 15))
    , m_max_threads(std::max<std::size_t>({1u, threads, max_threads})) {
    std::lock_guard lock(m_mutex);
    for (unsigned i = 0; i < std::max(1u, threads); ++i)
        start_thread_locked();
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true; // no thread starts after this: m_threads stays as it is
    }
    m_wake.notify_all();
    for (auto& t : m_threads)
        t.join();
}

void ThreadPoolExecutor::start_thread_locked() {
    ++m_idle; // until it takes a task
    m_threads.emplace_back([this] { loop(); });
    ::pthread_setname_np(m_threads.back().native_handle(), m_name.c_str());
}

std::size_t ThreadPoolExecutor::threads() const {
    std::lock_guard lock(m_mutex);
    return m_threads.size();
}

void ThreadPoolExecutor::run(std::function<void()> task) {
    {
        std::lock_guard lock(m_mutex);
        m_tasks.push_back(std::move(task));
        if (m_tasks.size() > m_idle && m_threads.size() < m_max_threads && !m_stopping) {
            start_thread_locked();
            return; // the new thread takes a task without being woken
        }
    }
    m_wake.notify_one();
}

void ThreadPoolExecutor::loop() {
    bool busy = false;
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(m_mutex);
            if (busy) ++m_idle;
            busy = false;
            m_wake.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
            if (m_tasks.empty()) return; // stopping and drained
            task = std::move(m_tasks.front());
            m_tasks.pop_front();
            --m_idle;
            busy = true;
        }
        task();
    }
}

} // namespace loom::protocol
