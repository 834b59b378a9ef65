#pragma once
// Child processes the kernel starts and watches (pidfd: readable when the child exits).

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace loom::kernel {

class ChildProcess {
public:
    // Starts `program` with `args` (argv[1..]); stdout/stderr are inherited.
    ChildProcess(const std::filesystem::path& program, const std::vector<std::string>& args);
    ~ChildProcess(); // kills (SIGKILL) and reaps a child still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const noexcept { return m_pid; }
    int pidfd() const noexcept { return m_pidfd; }
    // Reaps the child if it has exited; true then, and exit_description() says how it ended.
    bool reap();
    bool exited() const noexcept { return m_exited; }
    bool exited_cleanly() const noexcept;
    std::string exit_description() const;
    void signal(int signo) noexcept;

private:
    pid_t m_pid = -1;
    int m_pidfd = -1;
    bool m_exited = false;
    int m_status = 0;
};

} // namespace loom::kernel
