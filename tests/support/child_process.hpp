#pragma once
// A child process for end-to-end tests: argv run with stdout (and stderr unless asked not to)
// on one pipe the test reads. Waiting is on output or exit, never on a guessed delay.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace loom::test {

class ChildProcess {
public:
    // Starts argv[0] with argv; stderr joins stdout when `with_stderr`.
    explicit ChildProcess(std::vector<std::string> argv, bool with_stderr = true);
    ~ChildProcess(); // SIGTERM and reap if still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Reads until `done(output so far)`, end of output, or `idle` without output; the output
    // read by this call.
    std::string read_until(const std::function<bool(const std::string&)>& done,
                           std::chrono::milliseconds idle = std::chrono::seconds(60));
    std::string read_all(std::chrono::milliseconds idle = std::chrono::seconds(120)) {
        return read_until([](const std::string&) { return false; }, idle);
    }
    // Waits for the exit; the wait status.
    int wait();
    pid_t pid() const noexcept { return m_pid; }

private:
    pid_t m_pid = 0;
    int m_out = -1;
};

struct Outcome {
    int exit_code = -1; // -1: killed by a signal
    std::string output; // stdout and stderr
};

// Runs argv to its end.
Outcome run_process(std::vector<std::string> argv);

} // namespace loom::test
