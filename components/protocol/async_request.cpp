#include "components/protocol/async_request.hpp"

#include "schemas/error.hpp"

namespace loom::protocol {

AsyncInferRequest::AsyncInferRequest(std::vector<Stage> pipeline, CancelHook cancel_hook)
    : m_pipeline(std::move(pipeline))
    , m_cancel_hook(std::move(cancel_hook)) {}

AsyncInferRequest::~AsyncInferRequest() {
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [&] { return !m_busy; });
}

void AsyncInferRequest::infer() {
    start_async();
    wait();
}

void AsyncInferRequest::start_async() {
    run_stage(0, begin_sync());
}

void AsyncInferRequest::run_stage(std::size_t index, std::uint64_t generation) {
    if (index == m_pipeline.size()) {
        finish(nullptr);
        return;
    }
    auto body = [this, index, generation] {
        try {
            {
                std::lock_guard lock(m_mutex);
                if (m_cancelled) LOOM_THROW(ErrorKind::CANCELLED, "the inference was cancelled");
            }
            m_pipeline[index].work();
        } catch (...) {
            finish(std::current_exception());
            return;
        }
        run_stage(index + 1, generation);
    };
    auto& executor = m_pipeline[index].executor;
    if (!executor) {
        body();
        return;
    }
    try {
        executor->run(std::move(body));
    } catch (...) {
        finish(std::current_exception());
    }
}

void AsyncInferRequest::finish(std::exception_ptr error) {
    std::function<void(std::exception_ptr)> callback;
    {
        std::lock_guard lock(m_mutex);
        m_error = error;
        callback = m_callback;
    }
    // The callback runs before wait() returns, like OpenVINO's; it must not destroy the request.
    if (callback) {
        try {
            callback(error);
        } catch (...) { // a throwing callback must not take the executor thread down
        }
    }
    // Notify under the lock: once m_busy is false the destructor may run, so nothing here may
    // touch the request after the lock is released.
    std::lock_guard lock(m_mutex);
    m_busy = false;
    m_done.notify_all();
}

void AsyncInferRequest::wait() {
    std::exception_ptr error;
    {
        std::unique_lock lock(m_mutex);
        m_done.wait(lock, [&] { return !m_busy; });
        error = m_error;
    }
    if (error) std::rethrow_exception(error);
}

bool AsyncInferRequest::wait_for(std::chrono::milliseconds timeout) {
    std::exception_ptr error;
    {
        std::unique_lock lock(m_mutex);
        if (!m_done.wait_for(lock, timeout, [&] { return !m_busy; })) return false;
        error = m_error;
    }
    if (error) std::rethrow_exception(error);
    return true;
}

void AsyncInferRequest::cancel() {
    std::uint64_t sequence = 0;
    {
        std::lock_guard lock(m_mutex);
        if (!m_busy) return;
        m_cancelled = true;
        sequence = m_generation;
    }
    if (m_cancel_hook) m_cancel_hook(sequence);
}

// Marks the request busy for a new inference (sync or the pipeline's) and numbers it.
std::uint64_t AsyncInferRequest::begin_sync() {
    std::lock_guard lock(m_mutex);
    LOOM_REQUIRE(!m_busy, "the infer request is busy: an inference is already running "
                          "(wait for it, or use one request per concurrent inference)");
    m_busy = true;
    m_cancelled = false;
    m_error = nullptr;
    return ++m_generation;
}

void AsyncInferRequest::end_sync() {
    std::lock_guard lock(m_mutex);
    m_busy = false;
    m_done.notify_all();
}

std::uint64_t AsyncInferRequest::sequence() const {
    std::lock_guard lock(m_mutex);
    return m_generation;
}

void AsyncInferRequest::set_callback(std::function<void(std::exception_ptr)> callback) {
    std::lock_guard lock(m_mutex);
    m_callback = std::move(callback);
}

bool AsyncInferRequest::busy() const {
    std::lock_guard lock(m_mutex);
    return m_busy;
}

} // namespace loom::protocol
