#pragma once
// A child process for end-to-end tests: argv run with stdout (and stderr unless asked not to)
// on one pipe the test reads. Waiting is on output or exit, bounded by a timeout, never on a
// guessed delay. The one spawn helper of the tests: use it rather than fork/posix_spawn/popen.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace loom::test {

class ChildProcess {
public:
    // Starts argv[0] (a path) with argv; stderr joins stdout when `with_stderr`. Throws
    // std::runtime_error when it cannot be started.
    explicit ChildProcess(std::vector<std::string> argv, bool with_stderr = true);
    ~ChildProcess(); // if still running: SIGTERM (SIGKILL 30 s later) and reap
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Reads until `done(output read by this call)`, the end of the output, or `timeout` has
    // passed since the call; the output read by this call (output() has all of it).
    std::string read_until(const std::function<bool(const std::string&)>& done,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));
    // Reads to the end of the output (the child exited or closed it), or until `timeout`.
    std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
        return read_until([](const std::string&) { return false; }, timeout);
    }
    // Everything read so far; whether the child closed its output.
    const std::string& output() const noexcept { return m_output; }
    bool output_ended() const noexcept { return m_ended; }

    // Sends `signo` to the child if it still runs.
    void signal(int signo) noexcept;
    // Waits for the exit; the wait status.
    int wait();
    // Waits for the exit up to `timeout`; the wait status, or nullopt if it still runs.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    pid_t pid() const noexcept { return m_pid; }

private:
    pid_t m_pid = 0; // 0 once reaped
    int m_out = -1;
    int m_pidfd = -1; // readable when the child exits
    bool m_ended = false;
    std::string m_output;
};

struct Outcome {
    int exit_code = -1;     // -1: killed by a signal, or timed out
    int signal = 0;         // the signal that ended it, if one did
    bool timed_out = false; // killed (SIGKILL) after running past the timeout
    std::string output;     // stdout and stderr
    std::vector<std::string> lines() const;
};

// Runs argv to its end; a run past `timeout` is killed (timed_out).
Outcome run_process(std::vector<std::string> argv,
                    std::chrono::milliseconds timeout = std::chrono::seconds(120));

} // namespace loom::test
