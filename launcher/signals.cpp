#include "launcher/signals.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdint>

namespace loom::launcher {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    m_signal_fd = ::signalfd(-1, &set, SFD_CLOEXEC);
    m_stop_fd = ::eventfd(0, EFD_CLOEXEC);
    m_thread = std::thread([this, on_signal = std::move(on_signal)] {
        pollfd fds[] = {{m_signal_fd, POLLIN, 0}, {m_stop_fd, POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 2, -1) < 0) continue;
            if (fds[1].revents & POLLIN) return;
            signalfd_siginfo info{};
            if (::read(m_signal_fd, &info, sizeof(info)) == sizeof(info))
                on_signal(static_cast<int>(info.ssi_signo));
        }
    });
}

SignalWatcher::~SignalWatcher() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_stop_fd, &one, sizeof(one));
    m_thread.join();
    ::close(m_signal_fd);
    ::close(m_stop_fd);
}

} // namespace loom::launcher
