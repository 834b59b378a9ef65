#include "bus/channel.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "bus/connection.hpp"
#include "bus/endpoint.hpp"
#include "bus/wire.hpp"

namespace loom::bus {

std::string_view to_string(Path path) noexcept {
    switch (path) {
    case Path::direct:
        return "direct";
    case Path::inproc:
        return "inproc";
    case Path::ipc:
        return "ipc";
    case Path::tcp:
        return "tcp";
    }
    return "?";
}

namespace {

Clock::time_point deadline_after(std::chrono::microseconds timeout) {
    return timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
}

// The reply, or its error body as an Error.
Result to_result(InMessage reply) {
    if (reply.is_error()) return Result(reply.error());
    return Result(std::move(reply));
}

class Reactor;

} // namespace

struct PendingCall {
    std::shared_ptr<Channel::Core> core;
    std::unique_ptr<Connection> connection;
    std::shared_ptr<ShmSession> session;
    std::uint64_t id = 0;
    Clock::time_point deadline;
    std::mutex mutex; // one waiter at a time; guards everything below
    std::optional<Result> outcome;
    Callback callback;

    void finish(Result result);
    Error timeout_error() const;
};

namespace {

// Completes callback-style calls: one thread per channel (started on first use) polls the
// sockets of the calls waiting for replies. Off the synchronous request path.
class Reactor {
public:
    Reactor()
        : m_wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        LOOM_ASSERT(m_wake_fd >= 0, "eventfd failed");
        m_thread = std::thread([this] { loop(); });
    }
    ~Reactor() {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        wake();
        m_thread.join();
        ::close(m_wake_fd);
    }
    void add(std::shared_ptr<PendingCall> call) {
        {
            std::lock_guard lock(m_mutex);
            m_incoming.push_back(std::move(call));
        }
        wake();
    }

private:
    void wake() {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(m_wake_fd, &one, sizeof(one));
    }
    static void complete(PendingCall& call, Result result) {
        Callback callback;
        {
            std::lock_guard lock(call.mutex);
            callback = std::move(call.callback);
            call.finish(std::move(result));
        }
        if (!callback) return;
        try {
            callback(std::move(*call.outcome));
        } catch (const std::exception& e) {
            spdlog::error("a bus callback threw (callbacks must not throw): {}", e.what());
        }
    }
    void loop();

    int m_wake_fd;
    std::mutex m_mutex; // guards m_incoming, m_stop
    std::vector<std::shared_ptr<PendingCall>> m_incoming;
    bool m_stop = false;
    std::thread m_thread;
};

void Reactor::loop() {
    std::vector<std::shared_ptr<PendingCall>> active;
    std::vector<zmq::pollitem_t> items;
    for (;;) {
        {
            std::lock_guard lock(m_mutex);
            for (auto& c : m_incoming)
                active.push_back(std::move(c));
            m_incoming.clear();
            if (m_stop) break;
        }
        items.clear();
        items.push_back({nullptr, m_wake_fd, ZMQ_POLLIN, 0});
        auto next = Clock::time_point::max();
        for (auto& c : active) {
            c->connection->poll_items(items);
            next = std::min(next, c->deadline);
        }
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(poll_timeout_ms(next)));
        if (items[0].revents & ZMQ_POLLIN) {
            std::uint64_t count;
            [[maybe_unused]] auto n = ::read(m_wake_fd, &count, sizeof(count));
        }
        std::size_t at = 1;
        auto now = Clock::now();
        std::vector<std::shared_ptr<PendingCall>> still;
        for (auto& c : active) {
            std::size_t n = c->connection->poll_item_count();
            bool ready = false;
            for (std::size_t k = 0; k < n; ++k)
                ready |= items[at + k].revents != 0;
            at += n;
            std::optional<Result> outcome;
            if (ready) {
                try {
                    if (auto reply = c->connection->on_ready(c->id, c->session.get()))
                        outcome = to_result(std::move(*reply));
                } catch (const Error& e) {
                    outcome = Result(e);
                }
            }
            if (!outcome && now >= c->deadline) outcome = Result(c->timeout_error());
            if (outcome)
                complete(*c, std::move(*outcome));
            else
                still.push_back(std::move(c));
        }
        active = std::move(still);
    }
    for (auto& c : active)
        complete(*c, Result(Error(ErrorKind::CANCELLED,
                                  "the channel was closed before the reply arrived")));
}

} // namespace

// ---- Channel::Core --------------------------------------------------------------------------

struct Channel::Core : std::enable_shared_from_this<Channel::Core> {
    Core(Context& c, std::string endpoint_text, std::string service_name, ChannelOptions o)
        : context(c)
        , endpoint(parse_endpoint(endpoint_text))
        , service(std::move(service_name))
        , options(std::move(o)) {
        LOOM_REQUIRE(options.max_connections > 0, "max_connections must be positive");
        if (endpoint.transport != Transport::ipc || endpoint.address.front() == '@')
            options.shm.enabled = false;
    }

    ~Core() {
        std::lock_guard lock(pool_mutex);
        idle.clear(); // close the sockets before anything else goes
    }

    Context& context;
    const Endpoint endpoint;
    const std::string service;
    ChannelOptions options;
    std::atomic<std::uint64_t> next_id{1};

    std::mutex local_mutex; // guards local
    std::shared_ptr<LocalEndpoint> local;

    std::mutex pool_mutex; // guards idle, total
    std::condition_variable pool_cv;
    std::vector<std::unique_ptr<Connection>> idle;
    std::uint32_t total = 0;

    std::mutex shm_mutex; // guards shm, shm_retry_after
    std::shared_ptr<ShmSession> shm;
    Clock::time_point shm_retry_after{};

    std::mutex reactor_mutex; // guards reactor
    std::unique_ptr<Reactor> reactor;

    std::shared_ptr<LocalEndpoint> find_local() {
        std::lock_guard lock(local_mutex);
        if (!local || local->closed()) local = context.find_local(endpoint.text);
        return local;
    }

    std::unique_ptr<Connection> checkout(Clock::time_point deadline,
                                         const std::shared_ptr<LocalEndpoint>& current) {
        std::unique_lock lock(pool_mutex);
        for (;;) {
            while (!idle.empty()) {
                auto c = std::move(idle.back());
                idle.pop_back();
                if (c->local() == current) return c;
                --total; // made for a service instance that has closed since
                lock.unlock();
                c.reset();
                lock.lock();
            }
            if (total < options.max_connections) {
                ++total;
                lock.unlock();
                try {
                    return std::make_unique<Connection>(
                        context, endpoint, options.security ? &*options.security : nullptr, current,
                        options.connect_timeout);
                } catch (...) {
                    lock.lock();
                    --total;
                    pool_cv.notify_one();
                    throw;
                }
            }
            if (pool_cv.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty())
                LOOM_THROW(ErrorKind::OVERLOADED,
                           "{} requests are already in flight on the channel to '{}' at {}",
                           options.max_connections, service, endpoint.text);
        }
    }

    void checkin(std::unique_ptr<Connection> c) {
        if (!c) return;
        std::unique_lock lock(pool_mutex);
        if (c->broken()) {
            --total;
            lock.unlock();
            c.reset();
        } else {
            idle.push_back(std::move(c));
            lock.unlock();
        }
        pool_cv.notify_one();
    }

    std::shared_ptr<ShmSession> session(Clock::time_point deadline) {
        if (!options.shm.enabled) return nullptr;
        std::lock_guard lock(shm_mutex);
        if (shm && shm->alive()) return shm;
        auto now = Clock::now();
        if (now < shm_retry_after) return nullptr;
        shm = connect_shm(endpoint.address, options.shm,
                          std::min(deadline, now + std::chrono::seconds(1)));
        if (!shm) shm_retry_after = now + std::chrono::seconds(1);
        return shm;
    }

    void prepare(OutMessage& request, std::string_view target, std::uint16_t method,
                 std::uint64_t id, Clock::time_point deadline, std::uint64_t epoch) {
        auto env = request.envelope();
        env.setRequestId(id);
        env.setService(std::string(target));
        env.setMethod(method);
        env.setEpoch(epoch);
        if (deadline != Clock::time_point::max()) {
            auto left =
                std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
            env.setDeadlineUs(static_cast<std::uint64_t>(std::max<std::int64_t>(1, left.count())));
        }
    }

    // The in-process direct path: encode and decode once each way, run on this thread.
    InMessage call_direct(Dispatcher& dispatcher, std::string_view target, std::uint16_t method,
                          OutMessage& request, const CallOptions& o) {
        auto deadline = deadline_after(o.timeout);
        auto id = next_id.fetch_add(1);
        prepare(request, target, method, id, deadline, o.epoch);
        InMessage in = pass_in_process(request);
        OutMessage reply = dispatcher.dispatch_here(in, Clock::now());
        // A handler on this thread cannot be pre-empted, but a reply after the deadline is a
        // timeout here exactly as it is over a socket.
        if (Clock::now() > deadline && !reply.is_error())
            LOOM_THROW(ErrorKind::TIMEOUT, "'{}' at {} answered request {} after its deadline",
                       service, endpoint.text, id);
        return pass_in_process(reply);
    }

    InMessage pass_in_process(OutMessage& message) {
        auto& frames = message.frames();
        auto table = message.envelope().initFrames(static_cast<unsigned>(frames.size()));
        for (unsigned i = 0; i < frames.size(); ++i)
            table[i].setSocket(i + 1);
        InMessage in = InMessage::decode(encode_words(message), context.limits());
        in.set_frames(frames); // shares the buffers; the message stays intact
        return in;
    }

    // Sends over a socket; the returned call owns the socket until its reply is consumed.
    std::shared_ptr<PendingCall> send(std::string_view target, std::uint16_t method,
                                      OutMessage& request, const CallOptions& o,
                                      const std::shared_ptr<LocalEndpoint>& current) {
        auto deadline = deadline_after(o.timeout);
        auto connection = checkout(deadline, current);
        if (connection->lost_while_idle()) {
            // The peer went away (and may be back) since this socket was last used: nothing
            // was sent on it, so take a fresh one.
            checkin(std::move(connection));
            connection = checkout(deadline, current);
        }
        auto pending = std::make_shared<PendingCall>();
        pending->core = shared_from_this();
        pending->deadline = deadline;
        try {
            pending->session = session(deadline);
            pending->id = next_id.fetch_add(1);
            prepare(request, target, method, pending->id, deadline, o.epoch);
            // Usually the connection is up: send at once, and wait for it only if ZeroMQ cannot
            // take the message yet (connecting, handshaking, or its queue is full).
            if (!connection->send(request, pending->session.get(), options.shm.threshold)) {
                connection->wait_writable(
                    std::min(deadline, Clock::now() + options.connect_timeout));
                if (!connection->send(request, pending->session.get(), options.shm.threshold))
                    LOOM_THROW(ErrorKind::OVERLOADED, "the send queue to {} is full",
                               endpoint.text);
            }
        } catch (...) {
            checkin(std::move(connection));
            throw;
        }
        pending->connection = std::move(connection);
        return pending;
    }

    // The path for this call: the dispatcher for a direct call, or the local endpoint (for
    // inproc sockets), or nothing (ipc, tcp).
    std::pair<std::shared_ptr<Dispatcher>, std::shared_ptr<LocalEndpoint>> route() {
        if (endpoint.transport != Transport::inproc) return {};
        auto current = find_local();
        if (!current)
            LOOM_THROW(ErrorKind::UNAVAILABLE, "nothing serves '{}' at {} in this process", service,
                       endpoint.text);
        if (current->direct() && options.allow_direct) return {current->direct(), current};
        return {nullptr, current};
    }

    Reactor& the_reactor() {
        std::lock_guard lock(reactor_mutex);
        if (!reactor) reactor = std::make_unique<Reactor>();
        return *reactor;
    }

    void shutdown() {
        std::unique_ptr<Reactor> r;
        {
            std::lock_guard lock(reactor_mutex);
            r = std::move(reactor);
        }
        r.reset(); // cancels the calls still waiting for replies
    }
};

// ---- PendingCall / Future -------------------------------------------------------------------

Error PendingCall::timeout_error() const {
    return Error(ErrorKind::TIMEOUT,
                 fmt::format("no reply from '{}' at {} to request {} before its deadline",
                             core->service, core->endpoint.text, id));
}

void PendingCall::finish(Result result) {
    outcome.emplace(std::move(result));
    core->checkin(std::move(connection));
}

InMessage Future::get() {
    LOOM_REQUIRE(m_pending != nullptr, "get() on an empty Future");
    auto pending = std::move(m_pending);
    std::lock_guard lock(pending->mutex);
    if (!pending->outcome) {
        try {
            auto reply = pending->connection->wait_reply(pending->id, pending->deadline,
                                                         pending->session.get());
            pending->finish(reply ? to_result(std::move(*reply))
                                  : Result(pending->timeout_error()));
        } catch (const Error& e) {
            pending->finish(Result(e));
        }
    }
    return std::move(pending->outcome->value());
}

bool Future::wait_for(std::chrono::microseconds budget) {
    LOOM_REQUIRE(m_pending != nullptr, "wait_for() on an empty Future");
    std::lock_guard lock(m_pending->mutex);
    if (m_pending->outcome) return true;
    auto until = std::min(m_pending->deadline, Clock::now() + budget);
    try {
        auto reply =
            m_pending->connection->wait_reply(m_pending->id, until, m_pending->session.get());
        if (reply)
            m_pending->finish(to_result(std::move(*reply)));
        else if (Clock::now() >= m_pending->deadline)
            m_pending->finish(Result(m_pending->timeout_error()));
    } catch (const Error& e) {
        m_pending->finish(Result(e));
    }
    return m_pending->outcome.has_value();
}

// ---- Channel --------------------------------------------------------------------------------

namespace {

// The process's own CURVE keys for `endpoint` where the caller gave none (ContextOptions).
ChannelOptions with_context_keys(const Context& context, const std::string& endpoint,
                                 ChannelOptions options) {
    if (!options.security) options.security = context.client_security(endpoint);
    return options;
}

} // namespace

Channel::Channel(Context& context, std::string endpoint, std::string service,
                 ChannelOptions options)
    : m_core(std::make_shared<Core>(context, endpoint, std::move(service),
                                    with_context_keys(context, endpoint, std::move(options)))) {}

Channel::~Channel() {
    m_core->shutdown();
}

const std::string& Channel::endpoint() const noexcept {
    return m_core->endpoint.text;
}
const std::string& Channel::service() const noexcept {
    return m_core->service;
}

Path Channel::path() const {
    switch (m_core->endpoint.transport) {
    case Transport::ipc:
        return Path::ipc;
    case Transport::tcp:
        return Path::tcp;
    case Transport::inproc:
        break;
    }
    auto local = m_core->find_local();
    return local && local->direct() && m_core->options.allow_direct ? Path::direct : Path::inproc;
}

std::optional<ShmSession::Stats> Channel::shm_stats() const {
    std::lock_guard lock(m_core->shm_mutex);
    if (!m_core->shm) return std::nullopt;
    return m_core->shm->stats();
}

InMessage Channel::call_method(std::uint16_t method, OutMessage request, CallOptions options) {
    return call_named(m_core->service, method, request, options);
}

InMessage Channel::call_method_keep(std::uint16_t method, OutMessage& request,
                                    CallOptions options) {
    return call_named(m_core->service, method, request, options);
}

InMessage Channel::call_named(std::string_view target, std::uint16_t method, OutMessage& request,
                              CallOptions options) {
    auto [direct, local] = m_core->route();
    InMessage reply;
    if (direct) {
        reply = m_core->call_direct(*direct, target, method, request, options);
    } else {
        auto pending = m_core->send(target, method, request, options, local);
        reply = Future(std::move(pending)).get();
    }
    reply.throw_if_error();
    return reply;
}

Future Channel::call_async_method(std::uint16_t method, OutMessage request, CallOptions options) {
    auto done = [&](Result r) {
        auto p = std::make_shared<PendingCall>();
        p->core = m_core;
        p->outcome.emplace(std::move(r));
        return Future(std::move(p));
    };
    const auto& target = m_core->service;
    try {
        auto [direct, local] = m_core->route();
        if (direct)
            return done(to_result(m_core->call_direct(*direct, target, method, request, options)));
        return Future(m_core->send(target, method, request, options, local));
    } catch (const Error& e) {
        return done(Result(e));
    }
}

void Channel::call_async_method(std::uint16_t method, OutMessage request, CallOptions options,
                                Callback callback) {
    LOOM_REQUIRE(callback != nullptr, "call_async needs a callback");
    const auto& target = m_core->service;
    std::optional<Result> now;
    try {
        auto [direct, local] = m_core->route();
        if (direct) {
            now = to_result(m_core->call_direct(*direct, target, method, request, options));
        } else {
            auto pending = m_core->send(target, method, request, options, local);
            pending->callback = std::move(callback);
            m_core->the_reactor().add(std::move(pending));
            return;
        }
    } catch (const Error& e) {
        now.emplace(e);
    }
    callback(std::move(*now));
}

InMessage Channel::ping(CallOptions options) {
    OutMessage request;
    request.init_payload<schema::PingRequest>();
    return call_named(k_control_service, static_cast<std::uint16_t>(schema::ControlMethod::PING),
                      request, options);
}

InMessage Channel::drain(const std::string& moved_to, std::uint64_t moved_epoch,
                         CallOptions options) {
    OutMessage request;
    auto params = request.init_payload<schema::DrainRequest>();
    params.setMovedTo(moved_to);
    params.setMovedEpoch(moved_epoch);
    return call_named(k_control_service, static_cast<std::uint16_t>(schema::ControlMethod::DRAIN),
                      request, options);
}

InMessage Channel::stop(CallOptions options) {
    OutMessage request;
    request.init_payload<schema::StopRequest>();
    return call_named(k_control_service, static_cast<std::uint16_t>(schema::ControlMethod::STOP),
                      request, options);
}

} // namespace loom::bus
