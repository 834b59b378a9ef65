#pragma once
// bus::Context — what one process shares among all its bus users: the one zmq::context_t
// (inproc only connects sockets of the same context), the directory of in-process endpoints,
// the CURVE authenticator, and the limits. Created once by the process (launcher, test, host
// application) and passed by reference to every component; it must outlive them all.
// Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bus/limits.hpp"
#include "bus/security.hpp"

namespace loom::bus {

class Dispatcher;
class Authenticator;

// An endpoint bound in this process. Callers that find it may dispatch directly (when the
// service's handlers are thread-safe) and learn of its closing through closed_fd().
class LocalEndpoint {
public:
    LocalEndpoint(std::string endpoint, std::shared_ptr<Dispatcher> direct);
    ~LocalEndpoint();
    LocalEndpoint(const LocalEndpoint&) = delete;
    LocalEndpoint& operator=(const LocalEndpoint&) = delete;

    const std::string& endpoint() const noexcept { return m_endpoint; }
    // Non-null when the service may be called on the caller's thread. Immutable.
    const std::shared_ptr<Dispatcher>& direct() const noexcept { return m_direct; }
    bool closed() const noexcept { return m_closed.load(std::memory_order_acquire); }
    // An eventfd that becomes readable (and stays so) once the endpoint is closed.
    int closed_fd() const noexcept { return m_closed_fd; }
    void close() noexcept;

private:
    std::string m_endpoint;
    std::shared_ptr<Dispatcher> m_direct;
    std::atomic<bool> m_closed{false};
    int m_closed_fd = -1;
};

// ContextOptions::spin's default: 50 µs, or LOOM_SPIN_US from the environment (0 = never spin;
// a value that is not a number of µs up to 100000 is ignored with a warning).
std::chrono::microseconds default_spin();

struct ContextOptions {
    Limits limits;
    Heartbeat heartbeat;
    int io_threads = 1;
    int max_sockets = 8192;
    // Busy-poll this long for the next message before blocking: waking a blocked thread costs
    // ~30 µs here, more than a small request. A server loop spins after serving while none of
    // its requests runs — on every transport where the process may use more than one CPU (on
    // inproc always). A caller waiting for its reply spins on inproc only: on ipc/tcp the peer's
    // loop spins, and with both sides spinning the two spinners take the cores the four threads
    // of a round trip need (bench_bus on 2 cores: 126 µs against 34 with the server alone
    // spinning, 80 with neither). 0 = never spin.
    std::chrono::microseconds spin = default_spin();
    // CURVE keys this process uses as a client where a caller gave none (Channel): its key pair,
    // and the server public key (Z85) of each tcp:// endpoint it may call.
    std::optional<KeyPair> client_keys;
    std::map<std::string, std::string> server_keys;
    // Where libraries named by network peers may be loaded from (bus/library_policy.hpp);
    // empty: default_library_dirs().
    std::vector<std::filesystem::path> library_dirs;
};

class Context {
public:
    explicit Context(ContextOptions options = {});
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    zmq::context_t& zmq() noexcept { return m_zmq; }
    const ContextOptions& options() const noexcept { return m_options; }
    const Limits& limits() const noexcept { return m_options.limits; }

    // Registers an in-process endpoint; invalid_argument if it is already bound here.
    std::shared_ptr<LocalEndpoint> bind_local(const std::string& endpoint,
                                              std::shared_ptr<Dispatcher> direct);
    // Closes and forgets it (waiters see closed_fd() readable).
    void unbind_local(const std::string& endpoint) noexcept;
    // Null when nothing in this process is bound at `endpoint`.
    std::shared_ptr<LocalEndpoint> find_local(const std::string& endpoint) const;

    // Which of a service's `endpoints` (served by a process on host `host`, see host_id()) this
    // process should use: inproc if bound here, else ipc if on this host, else tcp. Empty when
    // none is reachable from here.
    std::string nearest(const std::vector<std::string>& endpoints, const std::string& host) const;

    // The process's ZAP handler for CURVE servers (started on first use).
    Authenticator& authenticator();

    // ClientSecurity for a tcp:// `endpoint` from client_keys and server_keys; none when either
    // is missing.
    std::optional<ClientSecurity> client_security(const std::string& endpoint) const;
    // options().library_dirs, or Loom's own library directories when none were given.
    std::vector<std::filesystem::path> library_dirs() const;
    // check_library_path against library_dirs() when `from_network`; else `path` as it is (a
    // caller in this process or on this host as this user may load what it can read).
    std::string trusted_library(const std::string& path, bool from_network) const;

    // Process-unique numbers (monitor endpoints, instance ids ...).
    std::uint64_t next_id() noexcept { return m_next_id.fetch_add(1) + 1; }

private:
    ContextOptions m_options;
    zmq::context_t m_zmq;
    mutable std::mutex m_mutex; // guards m_local and m_authenticator
    std::map<std::string, std::shared_ptr<LocalEndpoint>, std::less<>> m_local;
    std::unique_ptr<Authenticator> m_authenticator;
    std::atomic<std::uint64_t> m_next_id{0};
};

} // namespace loom::bus
