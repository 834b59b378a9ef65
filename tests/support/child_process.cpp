#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

extern char** environ;

namespace loom::test {

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
        throw std::runtime_error("cannot start " + argv.at(0));
    }
}

ChildProcess::~ChildProcess() {
    if (m_pid > 0) {
        ::kill(m_pid, SIGTERM);
        ::waitpid(m_pid, nullptr, 0);
    }
    if (m_out >= 0) ::close(m_out);
}

std::string ChildProcess::read_until(const std::function<bool(const std::string&)>& done,
                                     std::chrono::milliseconds idle) {
    std::string text;
    pollfd p{m_out, POLLIN, 0};
    while (!done(text) && ::poll(&p, 1, static_cast<int>(idle.count())) > 0) {
        char buffer[4096];
        auto n = ::read(m_out, buffer, sizeof buffer);
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

int ChildProcess::wait() {
    int status = 0;
    if (m_pid > 0) ::waitpid(m_pid, &status, 0);
    m_pid = 0;
    return status;
}

Outcome run_process(std::vector<std::string> argv) {
    ChildProcess child(std::move(argv));
    Outcome o;
    o.output = child.read_all();
    const int status = child.wait();
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

} // namespace loom::test
