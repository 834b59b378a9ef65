#pragma once
// SignalWatcher — turns SIGINT/SIGTERM into a callback on a thread of its own (signalfd), so
// shutdown is a request handled by ordinary code, not work done inside a signal handler.
// Construct it before starting other threads: it blocks the signals for the whole process.

#include <functional>
#include <thread>

namespace loom::launcher {

class SignalWatcher {
public:
    explicit SignalWatcher(std::function<void(int signo)> on_signal);
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

private:
    int m_signal_fd = -1;
    int m_stop_fd = -1;
    std::thread m_thread;
};

} // namespace loom::launcher
