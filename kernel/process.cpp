#include "kernel/process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "schemas/error.hpp"

extern char** environ;

namespace loom::kernel {

ChildProcess::ChildProcess(const std::filesystem::path& program,
                           const std::vector<std::string>& args) {
    if (!std::filesystem::exists(program))
        LOOM_THROW(ErrorKind::NOT_FOUND, "cannot start a component process: {} does not exist",
                   program.string());
    std::vector<std::string> storage{program.string()};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage)
        argv.push_back(s.data());
    argv.push_back(nullptr);
    // A component process's stdout goes to our stderr: our stdout may be a contract (loom run,
    // loom check) that a child's "serving …" banner must not interleave with.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    int rc = ::posix_spawn(&m_pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        LOOM_THROW(ErrorKind::UNAVAILABLE, "cannot start {}: {}", program.string(),
                   std::strerror(rc));
    m_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, m_pid, 0));
    if (m_pidfd < 0) {
        int err = errno;
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, nullptr, 0);
        LOOM_THROW(ErrorKind::UNSUPPORTED, "pidfd_open failed ({}): Linux 5.3 or newer is needed",
                   std::strerror(err));
    }
}

ChildProcess::~ChildProcess() {
    if (!m_exited && m_pid > 0) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &m_status, 0);
    }
    if (m_pidfd >= 0) ::close(m_pidfd);
}

bool ChildProcess::reap() {
    if (m_exited) return true;
    int status = 0;
    pid_t r = ::waitpid(m_pid, &status, WNOHANG);
    if (r != m_pid) return false;
    m_exited = true;
    m_status = status;
    return true;
}

bool ChildProcess::exited_cleanly() const noexcept {
    return m_exited && WIFEXITED(m_status) && WEXITSTATUS(m_status) == 0;
}

std::string ChildProcess::exit_description() const {
    if (!m_exited) return "still running";
    if (WIFEXITED(m_status)) return fmt::format("exited with status {}", WEXITSTATUS(m_status));
    if (WIFSIGNALED(m_status))
        return fmt::format("killed by signal {} ({})", WTERMSIG(m_status),
                           ::strsignal(WTERMSIG(m_status)));
    return "ended";
}

void ChildProcess::signal(int signo) noexcept {
    if (!m_exited && m_pid > 0) ::kill(m_pid, signo);
}

} // namespace loom::kernel
