#include "bus/server.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <tbb/concurrent_queue.h>

#include <algorithm>
#include <unordered_map>

#include "bus/endpoint.hpp"
#include "bus/wire.hpp"

namespace loom::bus {

struct Server::Bound {
    Endpoint endpoint;
    zmq::socket_t socket;
    std::unique_ptr<ShmListener> shm;
    int fd = -1; // the socket's ZMQ_FD (edge-triggered readiness)
};

// Bytes of requests admitted from each connection and not answered yet
// (Limits::max_in_flight_bytes). Holds are released on whichever thread drops the last
// reference, hence the mutex.
class Server::PeerBudget {
public:
    class Hold {
    public:
        Hold(PeerBudget& budget, std::string peer, std::uint64_t bytes)
            : m_budget(budget)
            , m_peer(std::move(peer))
            , m_bytes(bytes) {}
        ~Hold() { m_budget.release(m_peer, m_bytes); }
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;

    private:
        PeerBudget& m_budget;
        std::string m_peer;
        std::uint64_t m_bytes;
    };

    explicit PeerBudget(std::uint64_t limit)
        : m_limit(limit) {}
    // Null when `bytes` more would pass the limit (`held` then says how much is held).
    std::shared_ptr<Hold> take(const std::string& peer, std::uint64_t bytes, std::uint64_t& held) {
        std::lock_guard lock(m_mutex);
        held = m_held[peer];
        if (held + bytes > m_limit) {
            if (held == 0) m_held.erase(peer);
            return nullptr;
        }
        m_held[peer] = held + bytes;
        return std::make_shared<Hold>(*this, peer, bytes);
    }
    std::uint64_t limit() const noexcept { return m_limit; }

private:
    void release(const std::string& peer, std::uint64_t bytes) noexcept {
        std::lock_guard lock(m_mutex);
        auto it = m_held.find(peer);
        if (it == m_held.end()) return;
        it->second -= std::min(it->second, bytes);
        if (it->second == 0) m_held.erase(it);
    }

    std::uint64_t m_limit;
    std::mutex m_mutex; // guards m_held
    std::unordered_map<std::string, std::uint64_t> m_held;
};

struct Server::Completion {
    std::size_t socket;
    zmq::message_t identity;
    OutMessage reply;
    std::uint64_t request_id;
    std::uint64_t session;
    std::shared_ptr<Dispatcher::Ticket> ticket; // released once the reply is sent
    std::shared_ptr<PeerBudget::Hold> budget;   // likewise
};

struct Server::DrainWaiter {
    std::size_t socket;
    zmq::message_t identity;
    std::uint64_t request_id;
    Clock::time_point deadline;
};

// Threads for blocking handlers. The queue is oneTBB's; jobs run to completion on a worker and
// hand their reply back to the loop.
class Server::Workers {
public:
    explicit Workers(unsigned count) {
        for (unsigned i = 0; i < count; ++i)
            m_threads.emplace_back([this] {
                for (;;) {
                    std::function<void()> job;
                    m_jobs.pop(job);
                    if (!job) return;
                    job();
                }
            });
    }
    ~Workers() {
        for (std::size_t i = 0; i < m_threads.size(); ++i)
            m_jobs.push(nullptr);
        for (auto& t : m_threads)
            t.join();
    }
    void submit(std::function<void()> job) { m_jobs.push(std::move(job)); }

private:
    tbb::concurrent_bounded_queue<std::function<void()>> m_jobs;
    std::vector<std::thread> m_threads;
};

Server::Server(Context& context, std::shared_ptr<const Service> service, ServerOptions options)
    : m_context(context)
    , m_security(options.security)
    , m_shm_threshold(options.shm.threshold)
    , m_budget(std::make_unique<PeerBudget>(context.limits().max_in_flight_bytes)) {
    LOOM_REQUIRE(service != nullptr, "Server needs a service");
    LOOM_REQUIRE(!options.endpoints.empty(), "service '{}' needs at least one endpoint",
                 service->name());
    std::uint64_t instance = options.instance ? options.instance : context.next_id();
    m_dispatcher = std::make_shared<Dispatcher>(std::move(service), context.limits(), instance);
    for (auto& companion : options.companions)
        m_dispatcher->add_companion(std::move(companion));
    m_wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    LOOM_ASSERT(m_wake_fd >= 0, "eventfd failed");
    try {
        bind_all(options);
    } catch (...) {
        for (auto& local : m_local)
            m_context.unbind_local(local->endpoint());
        if (!m_zap_domain.empty()) m_context.authenticator().forget(m_zap_domain);
        m_bound.clear();
        ::close(m_wake_fd);
        throw;
    }
    const auto& so = m_dispatcher->service().options();
    if (so.blocking) m_workers = std::make_unique<Workers>(so.workers);
    m_dispatcher->set_on_drained([this] { wake(); });
    m_dispatcher->set_on_stop([this] { request_stop(); });
    m_thread = std::thread([this] { loop(); });
}

Server::~Server() {
    stop();
    ::close(m_wake_fd);
}

void Server::bind_all(const ServerOptions& options) {
    const auto& limits = m_context.limits();
    const auto& heartbeat = m_context.options().heartbeat;
    for (const auto& text : options.endpoints) {
        Endpoint endpoint = parse_endpoint(text);
        check_bind(endpoint, options.security.has_value(), options.insecure,
                   fmt::format("service '{}'", m_dispatcher->service().name()));
        zmq::socket_t socket(m_context.zmq(), zmq::socket_type::router);
        socket.set(zmq::sockopt::linger, 200);
        socket.set(zmq::sockopt::router_mandatory, 1);
        socket.set(zmq::sockopt::maxmsgsize, limits.max_frame_bytes);
        socket.set(zmq::sockopt::sndhwm, options.high_water_mark);
        socket.set(zmq::sockopt::rcvhwm, options.high_water_mark);
        if (endpoint.transport != Transport::inproc) apply_heartbeat(socket, heartbeat);
        if (endpoint.transport == Transport::tcp && options.security) {
            if (m_zap_domain.empty()) {
                m_zap_domain = fmt::format("loom.{}", m_dispatcher->instance());
                m_context.authenticator().allow(m_zap_domain, options.security->allowed_keys());
            }
            apply_server_security(socket, *options.security, m_zap_domain);
        }
        try {
            socket.bind(text);
        } catch (const zmq::error_t& e) {
            LOOM_THROW(e.num() == EADDRINUSE ? ErrorKind::UNAVAILABLE : ErrorKind::INVALID_ARGUMENT,
                       "service '{}' cannot bind {}: {}", m_dispatcher->service().name(), text,
                       e.what());
        }
        std::string bound = text;
        if (endpoint.transport == Transport::tcp) bound = socket.get(zmq::sockopt::last_endpoint);
        std::unique_ptr<ShmListener> shm;
        if (endpoint.transport == Transport::ipc && options.shm.enabled &&
            endpoint.address.front() != '@')
            shm = std::make_unique<ShmListener>(endpoint.address, options.shm);
        if (endpoint.transport == Transport::inproc) {
            bool direct = m_dispatcher->service().options().thread_safe;
            m_local.push_back(m_context.bind_local(text, direct ? m_dispatcher : nullptr));
        }
        m_endpoints.push_back(bound);
        int fd = socket.get(zmq::sockopt::fd);
        m_bound.push_back(Bound{std::move(endpoint), std::move(socket), std::move(shm), fd});
    }
}

int Server::usable_cpus() noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
    return CPU_COUNT(&set);
}

void Server::wake() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_wake_fd, &one, sizeof(one));
}

void Server::request_stop() noexcept {
    {
        std::lock_guard lock(m_stop_mutex);
        m_stop_requested = true;
    }
    m_stop_cv.notify_all();
}

bool Server::wait_stop_requested(Clock::time_point deadline) {
    std::unique_lock lock(m_stop_mutex);
    return m_stop_cv.wait_until(lock, deadline, [this] { return m_stop_requested; });
}

void Server::stop() noexcept {
    std::call_once(m_stopped, [this] {
        // The dispatcher may outlive this server (a direct caller's ticket ends later): its
        // callbacks into this server go first, waiting for one that runs now.
        m_dispatcher->set_on_drained({});
        m_dispatcher->set_on_stop({});
        m_stopping.store(true);
        wake();
        // The loop lets running handlers finish and sends their replies before it exits.
        if (m_thread.joinable()) m_thread.join();
        // Only then do in-process callers see the endpoint closed (requests still queued in the
        // sockets were never started: their callers get `disconnected`).
        for (auto& local : m_local)
            m_context.unbind_local(local->endpoint());
        if (!m_zap_domain.empty()) m_context.authenticator().forget(m_zap_domain);
        request_stop();
    });
}

ShmSession* Server::session(std::uint64_t token) {
    if (token == 0) return nullptr;
    auto it = m_sessions.find(token);
    return it == m_sessions.end() ? nullptr : it->second.get();
}

void Server::loop() {
    std::vector<pollfd> fds;
    std::vector<std::uint64_t> fd_sessions; // session token of each trailing descriptor
    std::vector<std::uint64_t> ready_sessions;
    // After serving, the loop busy-polls for the next message (ContextOptions::spin) while no
    // request runs: on inproc always; on ipc/tcp only where this process may use more than one
    // CPU, so that the spinning never takes the core a handler or ZeroMQ's I/O thread needs.
    const auto spin = m_context.options().spin;
    const bool spin_on_sockets = spin.count() > 0 && usable_cpus() > 1;
    auto last_served = Clock::time_point{};
    while (!m_stopping.load()) {
        // Serve what the sockets hold. Their ZMQ_FD is edge-triggered: a socket is known to be
        // empty only once ZMQ_EVENTS says so, and only then may the loop block on it. (A raw
        // poll() here costs fewer system calls per request than zmq_poll.)
        bool more = false;
        for (std::size_t i = 0; i < m_bound.size(); ++i) {
            std::size_t served = serve_socket(i);
            more |= served == k_batch;
            if (served && (spin_on_sockets || m_bound[i].endpoint.transport == Transport::inproc))
                last_served = Clock::now();
        }
        fds.clear();
        fd_sessions.clear();
        for (auto& b : m_bound)
            fds.push_back({b.fd, POLLIN, 0});
        fds.push_back({m_wake_fd, POLLIN, 0});
        for (auto& b : m_bound)
            if (b.shm) fds.push_back({b.shm->fd(), POLLIN, 0});
        for (auto& [token, session] : m_sessions) {
            fds.push_back({session->fd(), POLLIN, 0});
            fd_sessions.push_back(token);
        }
        int timeout = more ? 0 : drain_timeout_ms();
        bool spinning = !more && spin.count() > 0 && m_dispatcher->in_flight() == 0 &&
                        Clock::now() - last_served < spin;
        if (spinning) timeout = 0;
        // A spinning loop gives way to any thread waiting for this CPU (one of the round trip's
        // own threads, like as not).
        if (::poll(fds.data(), fds.size(), timeout) == 0 && spinning) ::sched_yield();

        std::size_t i = m_bound.size();
        if (fds[i++].revents & POLLIN) {
            std::uint64_t count;
            [[maybe_unused]] auto n = ::read(m_wake_fd, &count, sizeof(count));
        }
        for (std::size_t b = 0; b < m_bound.size(); ++b)
            if (m_bound[b].shm && (fds[i++].revents & POLLIN)) accept_sessions(b);
        ready_sessions.clear();
        for (std::size_t k = 0; k < fd_sessions.size(); ++k)
            if (fds[i + k].revents & (POLLIN | POLLERR | POLLHUP))
                ready_sessions.push_back(fd_sessions[k]);
        pump_sessions(ready_sessions);
        // A reply from a worker counts as serving: its caller's next request may be close.
        if (send_completions() && spin_on_sockets) last_served = Clock::now();
        answer_drain_waiters();
    }
    // Stopping: let running handlers finish and send what they answered.
    m_workers.reset();
    send_completions();
    m_drain_waiters.clear();
    m_sessions.clear();
    m_bound.clear();
}

int Server::drain_timeout_ms() const {
    if (m_drain_waiters.empty()) return -1;
    auto next = Clock::time_point::max();
    for (const auto& w : m_drain_waiters)
        next = std::min(next, w.deadline);
    return static_cast<int>(std::min<long>(poll_timeout_ms(next), INT32_MAX));
}

bool Server::send_completions() {
    std::vector<Completion> done;
    {
        std::lock_guard lock(m_done_mutex);
        done.swap(m_done);
    }
    for (auto& c : done) {
        // The request's bytes stop counting against its connection before the caller can see
        // the reply: a caller that sends its next request on the reply must find the budget back.
        c.budget.reset();
        send_reply(c.socket, c.identity, c.reply, c.request_id, c.session);
    }
    // `done` goes here, and with it the tickets: these requests are answered.
    return !done.empty();
}

std::size_t Server::serve_socket(std::size_t index) {
    auto& socket = m_bound[index].socket;
    std::vector<zmq::message_t> parts;
    // A bounded batch per round so that one busy socket does not starve the others.
    std::size_t served = 0;
    try {
        while (served < k_batch && (socket.get(zmq::sockopt::events) & ZMQ_POLLIN)) {
            bool too_many = false;
            if (!recv_parts(socket, parts, m_context.limits().max_frames + 2, too_many)) break;
            handle(index, parts, too_many);
            ++served;
        }
    } catch (const zmq::error_t& e) {
        spdlog::warn("service '{}': receive failed: {}", service().name(), e.what());
    }
    return served;
}

void Server::handle(std::size_t index, std::vector<zmq::message_t>& parts, bool too_many) {
    auto received = Clock::now();
    if (parts.size() < 2) {
        m_malformed.fetch_add(1);
        return; // no envelope: nothing to answer
    }
    zmq::message_t identity = std::move(parts[0]);
    std::uint64_t bytes = 0; // what this request costs while in flight (PeerBudget)
    for (std::size_t p = 1; p < parts.size(); ++p)
        bytes += parts[p].size();
    // CURVE peers: the key the ZAP handler accepted (bus/security.cpp sets it as the user id).
    const char* user = zmq_msg_gets(parts[1].handle(), "User-Id");
    auto request = std::make_shared<InMessage>();
    try {
        *request = decode_envelope(parts, 1, m_context.limits());
        if (user && *user) request->set_peer_key(user);
        // Only CURVE tcp peers are strangers: their key's roles bound what they may ask.
        bool network = m_bound[index].endpoint.transport == Transport::tcp;
        request->set_from_network(network);
        if (network && m_security) request->set_roles(m_security->roles_of(request->peer_key()));
    } catch (const Error& e) {
        // Without a readable envelope there is no request id to answer to.
        m_malformed.fetch_add(1);
        spdlog::debug("service '{}': dropped a malformed message: {}", service().name(), e.what());
        return;
    }
    std::uint64_t id = request->request_id();
    std::uint64_t token = request->envelope().getShmSession();
    ShmSession* shm =
        m_bound[index].endpoint.transport == Transport::ipc ? session(token) : nullptr;
    std::uint64_t reply_token = shm ? token : 0;
    try {
        LOOM_REQUIRE(!too_many, "message has more than {} side frames",
                     m_context.limits().max_frames);
        attach_frames(*request, parts, 1, m_context.limits(), shm);
    } catch (const Error& e) {
        m_malformed.fetch_add(1);
        auto reply = OutMessage::error(e);
        send_reply(index, identity, reply, id, reply_token);
        return;
    }
    std::shared_ptr<PeerBudget::Hold> budget;
    if (m_bound[index].endpoint.transport != Transport::inproc) {
        std::uint64_t held = 0;
        auto peer = std::to_string(index) + "/" + identity.to_string();
        budget = m_budget->take(peer, bytes, held);
        if (!budget) {
            parts.clear();
            request.reset(); // its bytes go now, not after the reply
            auto reply = OutMessage::error(Error(
                ErrorKind::OVERLOADED,
                fmt::format("'{}': this connection has {} bytes of requests in flight; {} more "
                            "would pass the limit of {} (Limits::max_in_flight_bytes)",
                            service().name(), held, bytes, m_budget->limit())));
            send_reply(index, identity, reply, id, reply_token);
            return;
        }
    }
    auto admission = m_dispatcher->admit(*request, received);
    if (auto* answer = std::get_if<Dispatcher::Answer>(&admission)) {
        budget.reset();
        send_reply(index, identity, answer->reply, id, reply_token);
    } else if (std::holds_alternative<Dispatcher::DeferredDrain>(admission)) {
        m_drain_waiters.push_back(
            DrainWaiter{index, std::move(identity), id, deadline_of(*request, received)});
        answer_drain_waiters();
    } else {
        auto& run = std::get<Dispatcher::Run>(admission);
        auto deadline = run.deadline;
        if (!m_workers) {
            auto reply = m_dispatcher->run(*request, deadline);
            budget.reset(); // answered: see send_completions
            send_reply(index, identity, reply, id, reply_token);
            return; // the ticket (in `admission`) ends after the send
        }
        auto job_identity = std::make_shared<zmq::message_t>(std::move(identity));
        // The ticket travels with the job and its completion: the request stays in flight until
        // the loop has sent its reply, not only until it was handed to a worker.
        auto ticket = std::make_shared<Dispatcher::Ticket>(std::move(run.ticket));
        m_workers->submit([this, index, job_identity, request, deadline, id, reply_token, ticket,
                           budget]() mutable {
            auto reply = m_dispatcher->run(*request, deadline);
            {
                std::lock_guard lock(m_done_mutex);
                // The completion holds the budget alone (send_completions releases it).
                m_done.push_back(Completion{index, std::move(*job_identity), std::move(reply), id,
                                            reply_token, ticket, std::move(budget)});
            }
            wake();
        });
    }
}

void Server::send_reply(std::size_t index, zmq::message_t& identity, OutMessage& reply,
                        std::uint64_t request_id, std::uint64_t token) {
    reply.envelope().setRequestId(request_id);
    ShmSession* shm = session(token);
    try {
        if (!send_message(m_bound[index].socket, reply, &identity, shm, m_shm_threshold, true))
            spdlog::warn("service '{}': reply to request {} dropped: the caller's queue is full",
                         service().name(), request_id);
    } catch (const zmq::error_t& e) {
        // EHOSTUNREACH: the caller is gone; nobody is waiting for this reply.
        spdlog::debug("service '{}': reply to request {} dropped: {}", service().name(), request_id,
                      e.what());
    } catch (const Error& e) {
        spdlog::warn("service '{}': reply to request {} failed: {}", service().name(), request_id,
                     e.what());
    }
}

void Server::answer_drain_waiters() {
    if (m_drain_waiters.empty()) return;
    bool drained = m_dispatcher->drained();
    auto now = Clock::now();
    std::vector<DrainWaiter> keep;
    for (auto& w : m_drain_waiters) {
        if (drained) {
            auto reply = m_dispatcher->status_reply();
            send_reply(w.socket, w.identity, reply, w.request_id, 0);
        } else if (now >= w.deadline) {
            auto reply = OutMessage::error(Error(
                ErrorKind::TIMEOUT, fmt::format("'{}' did not drain in time: {} request(s) running",
                                                service().name(), m_dispatcher->in_flight())));
            send_reply(w.socket, w.identity, reply, w.request_id, 0);
        } else {
            keep.push_back(std::move(w));
        }
    }
    m_drain_waiters = std::move(keep);
}

void Server::accept_sessions(std::size_t index) {
    while (auto s = m_bound[index].shm->accept())
        m_sessions[s->token()] = std::move(s);
}

void Server::pump_sessions(const std::vector<std::uint64_t>& ready) {
    for (auto token : ready) {
        auto it = m_sessions.find(token);
        if (it != m_sessions.end() && !it->second->pump()) m_sessions.erase(it);
    }
}

} // namespace loom::bus
