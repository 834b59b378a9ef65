#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

extern char** environ;

namespace loom::test {

namespace {
using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}
} // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, bool with_stderr) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    if (with_stderr) posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&m_pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    m_out = out[0];
    if (rc != 0) {
        ::close(m_out);
        m_pid = 0;
        throw std::runtime_error("cannot start " + argv.at(0));
    }
    m_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, m_pid, 0));
    if (m_pidfd < 0) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, nullptr, 0);
        ::close(m_out);
        throw std::runtime_error("pidfd_open failed (Linux 5.3 or newer is needed)");
    }
}

ChildProcess::~ChildProcess() {
    if (m_pid > 0) {
        ::kill(m_pid, SIGTERM);
        if (!wait_for(std::chrono::seconds(30))) { // it ignored SIGTERM
            ::kill(m_pid, SIGKILL);
            wait();
        }
    }
    if (m_out >= 0) ::close(m_out);
    if (m_pidfd >= 0) ::close(m_pidfd);
}

std::string ChildProcess::read_until(const std::function<bool(const std::string&)>& done,
                                     std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    std::string text;
    while (!m_ended && !done(text)) {
        pollfd p{m_out, POLLIN, 0};
        if (::poll(&p, 1, ms_left(until)) <= 0) break; // timed out
        char buffer[65536];
        auto n = ::read(m_out, buffer, sizeof buffer);
        if (n <= 0) {
            m_ended = true;
            break;
        }
        text.append(buffer, static_cast<std::size_t>(n));
        m_output.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

void ChildProcess::signal(int signo) noexcept {
    if (m_pid > 0) ::kill(m_pid, signo);
}

int ChildProcess::wait() {
    int status = 0;
    if (m_pid > 0) ::waitpid(m_pid, &status, 0);
    m_pid = 0;
    return status;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    if (m_pid <= 0) return 0;
    pollfd p{m_pidfd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    return wait();
}

std::vector<std::string> Outcome::lines() const {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < output.size()) {
        auto end = output.find('\n', start);
        if (end == std::string::npos) end = output.size();
        out.push_back(output.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

Outcome run_process(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    ChildProcess child(std::move(argv));
    Outcome o;
    child.read_all(std::chrono::milliseconds(ms_left(until)));
    auto status = child.output_ended() ? child.wait_for(std::chrono::milliseconds(ms_left(until)))
                                       : std::nullopt;
    if (!status) { // still running past the timeout
        o.timed_out = true;
        child.signal(SIGKILL);
        status = child.wait();
    }
    o.output = child.output();
    if (WIFEXITED(*status) && !o.timed_out) o.exit_code = WEXITSTATUS(*status);
    if (WIFSIGNALED(*status)) o.signal = WTERMSIG(*status);
    return o;
}

} // namespace loom::test
