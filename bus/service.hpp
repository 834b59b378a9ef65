#pragma once
// Service — a named set of method handlers, and the Dispatcher that every transport path uses to
// run a request against it (socket loop, worker pool, and in-process direct dispatch), so every
// path answers with the same envelopes and the same errors (DESIGN.md §3).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "bus/message.hpp"

namespace loom::bus {

using Clock = std::chrono::steady_clock;

// What a handler sees of one request, and where it writes its reply. Used by one thread.
class Call {
public:
    Call(const InMessage& request, Clock::time_point deadline)
        : m_request(request)
        , m_deadline(deadline) {}

    const InMessage& request() const noexcept { return m_request; }
    std::uint16_t method() const { return m_request.envelope().getMethod(); }
    template <class T>
    typename T::Reader params() const {
        return m_request.payload<T>();
    }
    // The caller's session (0 = none) and authenticated key (see InMessage::peer_key).
    std::uint64_t session() const noexcept { return m_request.session(); }
    const std::string& peer_key() const noexcept { return m_request.peer_key(); }
    Roles roles() const noexcept { return m_request.roles(); }
    bool from_network() const noexcept { return m_request.from_network(); }
    // The request's side frame `index` (invalid_argument if absent).
    const Frame& frame(std::uint32_t index) const { return m_request.frame(index); }

    template <class T>
    typename T::Builder init_reply() {
        return m_reply.init_payload<T>();
    }
    std::uint32_t add_frame(Frame frame) { return m_reply.add_frame(std::move(frame)); }
    OutMessage& reply() noexcept { return m_reply; }

    // Absolute deadline (Clock::time_point::max() when the caller gave none).
    Clock::time_point deadline() const noexcept { return m_deadline; }
    bool expired() const noexcept { return Clock::now() >= m_deadline; }

private:
    const InMessage& m_request;
    Clock::time_point m_deadline;
    OutMessage m_reply;
};

// A handler fills call.reply() or throws loom::Error (sent back with its kind). Any other
// exception is answered as `internal`; a malformed payload (Cap'n Proto) as `invalid_argument`.
using Handler = std::function<void(Call&)>;

struct ServiceOptions {
    // Handlers may run concurrently on any thread. In-process callers then run them on their own
    // thread (direct dispatch); over sockets they run on the worker pool when `blocking`.
    bool thread_safe = false;
    // Handlers may block or take long: over sockets they run on a worker pool, not the loop.
    bool blocking = false;
    // Worker threads for blocking handlers (1 when not thread_safe).
    unsigned workers = 2;
};

class Service {
public:
    Service(std::string name, std::string version, ServiceOptions options = {});

    // Registers the handler of `method` (a value of the service's method enum). Not after the
    // service is served.
    // `needs`: the role a caller must hold (bus/roles.hpp); a caller without it is answered
    // permission_denied before the handler runs.
    template <class Method>
    void on(Method method, Handler handler, Role needs = Role::client) {
        on_method(static_cast<std::uint16_t>(method), std::move(handler), needs);
    }
    void on_method(std::uint16_t method, Handler handler, Role needs = Role::client);

    const std::string& name() const noexcept { return m_name; }
    const std::string& version() const noexcept { return m_version; }
    const ServiceOptions& options() const noexcept { return m_options; }
    const Handler* find(std::uint16_t method) const noexcept;
    // The role `method` needs (client for a method not registered).
    Role needs(std::uint16_t method) const noexcept;

private:
    std::string m_name;
    std::string m_version;
    ServiceOptions m_options;
    std::unordered_map<std::uint16_t, Handler> m_handlers;
    std::unordered_map<std::uint16_t, Role> m_needs;
};

inline constexpr std::string_view k_control_service = "$control";

// Runs requests against one Service and keeps its serving state (serving → draining → drained)
// and in-flight count. Thread-safe: the loop thread, workers and direct callers share it.
class Dispatcher {
public:
    Dispatcher(std::shared_ptr<const Service> service, Limits limits, std::uint64_t instance);

    // Keeps an admitted request counted in flight until it is destroyed. Destroy it once the
    // reply has been handed to the transport, so that "drained" means every reply is on its
    // way. The dispatcher must outlive its tickets.
    class Ticket {
    public:
        Ticket() = default;
        explicit Ticket(Dispatcher* dispatcher) noexcept
            : m_dispatcher(dispatcher) {}
        Ticket(Ticket&& other) noexcept
            : m_dispatcher(std::exchange(other.m_dispatcher, nullptr)) {}
        Ticket& operator=(Ticket&& other) noexcept {
            if (this != &other) {
                release();
                m_dispatcher = std::exchange(other.m_dispatcher, nullptr);
            }
            return *this;
        }
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket() { release(); }
        void release() noexcept {
            if (auto* d = std::exchange(m_dispatcher, nullptr)) d->finish_one();
        }

    private:
        Dispatcher* m_dispatcher = nullptr;
    };

    // The outcome of admitting a request: answer now (error or control reply), or run it.
    struct Run {
        Clock::time_point deadline;
        Ticket ticket;
    };
    struct Answer {
        OutMessage reply;
    };
    struct DeferredDrain {}; // a drain request; answer with status_reply() once drained()
    using Admission = std::variant<Run, Answer, DeferredDrain>;

    // Checks service, method, state and deadline. On Run the request counts as in flight until
    // its ticket is destroyed. `received` is when the transport received it (the deadline budget
    // starts).
    Admission admit(const InMessage& request, Clock::time_point received);
    // Runs an admitted request's handler on this thread; returns the reply (never throws). The
    // request stays in flight until the caller drops the Run's ticket.
    OutMessage run(const InMessage& request, Clock::time_point deadline);
    // admit + run + control handling on this thread (the in-process direct path).
    OutMessage dispatch_here(const InMessage& request, Clock::time_point received);

    // Starts draining: new requests are answered `moved` to (endpoint, epoch).
    void start_drain(std::string moved_to, std::uint64_t moved_epoch);
    bool drained() const noexcept;
    // Blocks until drained or the deadline passes; true when drained.
    bool wait_drained(Clock::time_point deadline);
    // Called (from whichever thread finishes the last running request) when draining completes.
    // Replacing or clearing a callback waits for a running one: after set_on_drained({}) returns,
    // the old callback never runs again.
    void set_on_drained(std::function<void()> callback);
    // Called after a `stop` control request has been admitted (its reply is the status); the
    // host stops serving once that reply is sent. Must not block.
    void set_on_stop(std::function<void()> callback);

    OutMessage status_reply() const;
    schema::ServiceState state() const noexcept;
    std::uint32_t in_flight() const noexcept { return m_in_flight.load(); }
    std::uint64_t served() const noexcept { return m_served.load(); }
    const Service& service() const noexcept { return *m_service; }
    // Another service answered at the same endpoints under its own name (e.g. the process's
    // extension loader beside a component in a process of its own). Before serving only.
    void add_companion(std::shared_ptr<const Service> companion);
    std::uint64_t instance() const noexcept { return m_instance; }
    const Limits& limits() const noexcept { return m_limits; }

private:
    OutMessage moved_reply() const;
    void finish_one();
    void notify_drained();
    void fire(const std::function<void()>& callback);

    // The service named `name` (the main one or a companion); nullptr when none.
    const Service* target(std::string_view name) const noexcept;

    std::shared_ptr<const Service> m_service;
    std::vector<std::shared_ptr<const Service>> m_companions; // fixed once serving
    Limits m_limits;
    std::uint64_t m_instance;
    std::atomic<bool> m_draining{false};
    std::atomic<std::uint32_t> m_in_flight{0};
    std::atomic<std::uint64_t> m_served{0};
    mutable std::mutex m_mutex; // guards the fields below
    std::condition_variable m_drained_cv;
    std::string m_moved_to;
    std::uint64_t m_moved_epoch = 0;
    bool m_drained_notified = false; // on_drained has fired: it fires once per dispatcher
    // Guards the callbacks and is held while one runs (see fire()).
    std::mutex m_callback_mutex;
    std::function<void()> m_on_drained;
    std::function<void()> m_on_stop;
};

// A poll timeout in milliseconds until `until` (rounded up; -1 for time_point::max(), 0 once
// passed).
long poll_timeout_ms(Clock::time_point until) noexcept;

// Absolute deadline of a request received at `received` with the envelope's relative budget.
Clock::time_point deadline_of(const InMessage& request, Clock::time_point received) noexcept;

} // namespace loom::bus
