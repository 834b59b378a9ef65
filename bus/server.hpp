#pragma once
// Server — hosts one Service on one or more endpoints (DESIGN.md §3). One event-loop thread owns
// the ROUTER sockets: it receives, admits and (for non-blocking handlers) runs requests, and
// sends every reply. Blocking services run handlers on a worker pool whose replies come back to
// the loop. In-process endpoints of thread-safe services are also published for direct
// dispatch: callers in this process then run handlers on their own thread.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bus/context.hpp"
#include "bus/security.hpp"
#include "bus/service.hpp"
#include "bus/shm.hpp"

namespace loom::bus {

struct ServerOptions {
    std::vector<std::string> endpoints;     // inproc://, ipc://, tcp:// (port * = any)
    std::optional<ServerSecurity> security; // CURVE on the tcp:// endpoints
    // Serve tcp:// endpoints without CURVE (every peer then holds every role). Refused unless
    // set; warns when used (check_bind).
    bool insecure = false;
    ShmOptions shm;             // offered on the ipc:// endpoints
    std::uint64_t instance = 0; // 0: a fresh id from the context
    int high_water_mark = 10000;
    // Services answered beside the main one under their own names (Dispatcher::add_companion).
    std::vector<std::shared_ptr<const Service>> companions;
};

class Server {
public:
    // Binds every endpoint (invalid_argument / unavailable if one cannot be bound) and starts.
    Server(Context& context, std::shared_ptr<const Service> service, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // The endpoints as bound (a tcp port given as * is resolved).
    const std::vector<std::string>& endpoints() const noexcept { return m_endpoints; }
    Dispatcher& dispatcher() noexcept { return *m_dispatcher; }
    const Service& service() const noexcept { return m_dispatcher->service(); }

    // Blocks until a `stop` control request has been answered or stop() was called; false if the
    // deadline passed first.
    bool wait_stop_requested(Clock::time_point deadline = Clock::time_point::max());
    // Stops serving: closes the endpoints, lets running handlers finish, sends their replies and
    // joins the threads. Idempotent. Requests not yet started are dropped (their callers see
    // `disconnected`); drain first for a stop that fails nothing.
    void stop() noexcept;

    std::uint64_t malformed() const noexcept { return m_malformed.load(); }

private:
    struct Bound;
    struct Completion;
    struct DrainWaiter;
    class Workers;
    class PeerBudget;

    void bind_all(const ServerOptions& options);
    void loop();
    static constexpr std::size_t k_batch = 64;
    // Serves up to k_batch waiting messages; returns how many.
    std::size_t serve_socket(std::size_t index);
    bool send_completions(); // true if it sent any
    int drain_timeout_ms() const;
    void handle(std::size_t index, std::vector<zmq::message_t>& parts, bool too_many);
    void send_reply(std::size_t index, zmq::message_t& identity, OutMessage& reply,
                    std::uint64_t request_id, std::uint64_t session);
    void answer_drain_waiters();
    void accept_sessions(std::size_t index);
    void pump_sessions(const std::vector<std::uint64_t>& ready);
    ShmSession* session(std::uint64_t token);
    void wake() noexcept;
    static int usable_cpus() noexcept; // the CPUs this thread may run on
    void request_stop() noexcept;

    Context& m_context;
    std::shared_ptr<Dispatcher> m_dispatcher;
    std::vector<std::string> m_endpoints;
    std::vector<Bound> m_bound; // loop thread (after construction)
    std::vector<std::shared_ptr<LocalEndpoint>> m_local;
    std::string m_zap_domain;
    std::optional<ServerSecurity> m_security; // the roles of CURVE peers; immutable
    std::uint64_t m_shm_threshold = 0;
    std::map<std::uint64_t, std::shared_ptr<ShmSession>> m_sessions; // loop thread
    std::vector<DrainWaiter> m_drain_waiters;                        // loop thread
    std::unique_ptr<PeerBudget> m_budget;
    std::unique_ptr<Workers> m_workers;
    std::mutex m_done_mutex; // guards m_done
    std::vector<Completion> m_done;
    int m_wake_fd = -1;
    std::atomic<bool> m_stopping{false};
    std::atomic<std::uint64_t> m_malformed{0};
    std::mutex m_stop_mutex; // guards m_stop_requested
    std::condition_variable m_stop_cv;
    bool m_stop_requested = false;
    std::once_flag m_stopped;
    std::thread m_thread;
};

} // namespace loom::bus
