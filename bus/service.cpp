#include "bus/service.hpp"

#include <unistd.h>

#include <kj/exception.h>

namespace loom::bus {

// ---- Service ------------------------------------------------------------------------------

Service::Service(std::string name, std::string version, ServiceOptions options)
    : m_name(std::move(name))
    , m_version(std::move(version))
    , m_options(options) {
    LOOM_REQUIRE(!m_name.empty() && m_name != k_control_service,
                 "a service needs a name other than '' and '{}'", k_control_service);
    if (!m_options.thread_safe) m_options.workers = 1;
    if (m_options.workers == 0) m_options.workers = 1;
}

void Service::on_method(std::uint16_t method, Handler handler, Role needs) {
    LOOM_REQUIRE(handler != nullptr, "empty handler for method {} of service '{}'", method, m_name);
    m_handlers[method] = std::move(handler);
    m_needs[method] = needs;
}

Role Service::needs(std::uint16_t method) const noexcept {
    auto it = m_needs.find(method);
    return it == m_needs.end() ? Role::client : it->second;
}

const Handler* Service::find(std::uint16_t method) const noexcept {
    auto it = m_handlers.find(method);
    return it == m_handlers.end() ? nullptr : &it->second;
}

// ---- Dispatcher ---------------------------------------------------------------------------

long poll_timeout_ms(Clock::time_point until) noexcept {
    if (until == Clock::time_point::max()) return -1;
    auto left = until - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    return static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

Clock::time_point deadline_of(const InMessage& request, Clock::time_point received) noexcept {
    std::uint64_t budget = request.envelope().getDeadlineUs();
    constexpr std::uint64_t k_max_budget_us = 10ull * 365 * 24 * 3600 * 1000000;
    if (budget == 0 || budget > k_max_budget_us) return Clock::time_point::max();
    return received + std::chrono::microseconds(budget);
}

Dispatcher::Dispatcher(std::shared_ptr<const Service> service, Limits limits,
                       std::uint64_t instance)
    : m_service(std::move(service))
    , m_limits(limits)
    , m_instance(instance) {
    LOOM_ASSERT(m_service != nullptr);
}

namespace {

OutMessage denied(const InMessage& request, std::string_view service, std::uint16_t method,
                  Role needs) {
    const auto& key = request.peer_key();
    return OutMessage::error(Error(
        ErrorKind::PERMISSION_DENIED,
        fmt::format("'{}' method {} needs the {} role; the key {} holds {} (roles are given per "
                    "key by the server's deployment)",
                    service, method, to_string(needs),
                    key.empty() ? "(none)" : key.substr(0, 8) + "…", to_string(request.roles()))));
}

} // namespace

// Untrusted bytes: reading the envelope or a control payload may throw kj::Exception (a
// malformed pointer, or the traversal limit reached by reading fields again). The server loop
// calls admit() unguarded, so such a request is answered invalid_argument here. Nothing that
// can throw runs after the request is counted in flight.
Dispatcher::Admission Dispatcher::admit(const InMessage& request, Clock::time_point received) try {
    auto env = request.envelope();
    if (request.is_error())
        return Answer{OutMessage::error(
            Error(ErrorKind::INVALID_ARGUMENT, "a request cannot carry an error body"))};
    std::string_view service(env.getService().cStr(), env.getService().size());
    std::uint16_t method = env.getMethod();
    if (service == k_control_service) {
        auto control = static_cast<schema::ControlMethod>(method);
        Role needs = control == schema::ControlMethod::PING ? Role::client : Role::operator_;
        if (!request.roles().has(needs)) return Answer{denied(request, "$control", method, needs)};
        switch (control) {
        case schema::ControlMethod::PING:
            return Answer{status_reply()};
        case schema::ControlMethod::DRAIN: {
            auto params = request.payload<schema::DrainRequest>();
            start_drain(params.getMovedTo().cStr(), params.getMovedEpoch());
            return DeferredDrain{};
        }
        case schema::ControlMethod::STOP: {
            auto reply = status_reply();
            fire(m_on_stop);
            return Answer{std::move(reply)};
        }
        }
        return Answer{OutMessage::error(
            Error(ErrorKind::NOT_FOUND, fmt::format("no control method {}", method)))};
    }
    const Service* target_service = target(service);
    if (!target_service)
        return Answer{OutMessage::error(Error(
            ErrorKind::NOT_FOUND, fmt::format("no service '{}' here: this endpoint serves '{}'",
                                              service, m_service->name())))};
    if (target_service->find(method) == nullptr)
        return Answer{OutMessage::error(
            Error(ErrorKind::NOT_FOUND,
                  fmt::format("service '{}' has no method {}", target_service->name(), method)))};
    if (Role needs = target_service->needs(method); !request.roles().has(needs))
        return Answer{denied(request, target_service->name(), method, needs)};
    auto deadline = deadline_of(request, received);
    if (Clock::now() >= deadline)
        return Answer{OutMessage::error(
            Error(ErrorKind::TIMEOUT,
                  fmt::format("deadline of {} µs passed before '{}' method {} started",
                              env.getDeadlineUs(), m_service->name(), method)))};
    std::uint64_t bytes = 0;
    for (const auto& f : request.frames())
        bytes += f.size();
    if (bytes > m_limits.max_message_bytes)
        return Answer{OutMessage::error(
            Error(ErrorKind::INVALID_ARGUMENT,
                  fmt::format("request carries {} bytes of side frames; '{}' accepts at most {}",
                              bytes, m_service->name(), m_limits.max_message_bytes)))};
    // Count first, then look at the state: start_drain() sets the state first, then looks at the
    // count, so a request is either counted before the drain sees zero or it sees draining.
    m_in_flight.fetch_add(1);
    Ticket ticket(this);
    if (m_draining.load()) return Answer{moved_reply()}; // the ticket ends here
    return Run{deadline, std::move(ticket)};
} catch (const kj::Exception& e) {
    return Answer{
        OutMessage::error(Error(ErrorKind::INVALID_ARGUMENT,
                                fmt::format("malformed request: {}", e.getDescription().cStr())))};
}

void Dispatcher::add_companion(std::shared_ptr<const Service> companion) {
    LOOM_ASSERT(companion != nullptr);
    LOOM_REQUIRE(!target(companion->name()), "service '{}' is already served here",
                 companion->name());
    m_companions.push_back(std::move(companion));
}

const Service* Dispatcher::target(std::string_view name) const noexcept {
    if (name == m_service->name()) return m_service.get();
    for (const auto& c : m_companions)
        if (c->name() == name) return c.get();
    return nullptr;
}

OutMessage Dispatcher::run(const InMessage& request, Clock::time_point deadline) {
    std::uint16_t method = request.envelope().getMethod();
    OutMessage reply;
    try {
        Call call(request, deadline);
        if (call.expired())
            LOOM_THROW(ErrorKind::TIMEOUT, "deadline passed before '{}' method {} started",
                       m_service->name(), method);
        // admit() checked that the service and the method exist.
        const auto env = request.envelope();
        const Service* service =
            target(std::string_view(env.getService().cStr(), env.getService().size()));
        LOOM_ASSERT(service != nullptr);
        (*service->find(method))(call);
        reply = std::move(call.reply());
    } catch (const Error& e) {
        reply = OutMessage::error(e);
    } catch (const kj::Exception& e) {
        reply = OutMessage::error(
            Error(ErrorKind::INVALID_ARGUMENT,
                  fmt::format("malformed request to '{}' method {}: {}", m_service->name(), method,
                              e.getDescription().cStr())));
    } catch (const std::exception& e) {
        reply = OutMessage::error(
            Error(ErrorKind::INTERNAL,
                  fmt::format("'{}' method {} failed: {}", m_service->name(), method, e.what())));
    } catch (...) {
        reply = OutMessage::error(
            Error(ErrorKind::INTERNAL, fmt::format("'{}' method {} threw a non-standard exception",
                                                   m_service->name(), method)));
    }
    m_served.fetch_add(1);
    return reply;
}

OutMessage Dispatcher::dispatch_here(const InMessage& request, Clock::time_point received) {
    OutMessage reply;
    try {
        auto admission = admit(request, received);
        if (auto* run_it = std::get_if<Run>(&admission)) {
            reply = run(request, run_it->deadline);
        } else if (auto* answer = std::get_if<Answer>(&admission)) {
            reply = std::move(answer->reply);
        } else {
            reply = wait_drained(deadline_of(request, received))
                        ? status_reply()
                        : OutMessage::error(Error(ErrorKind::TIMEOUT,
                                                  fmt::format("'{}' did not drain in time: {} "
                                                              "request(s) still running",
                                                              m_service->name(), in_flight())));
        }
    } catch (const Error& e) {
        reply = OutMessage::error(e);
    } catch (const kj::Exception& e) {
        reply = OutMessage::error(
            Error(ErrorKind::INVALID_ARGUMENT,
                  fmt::format("malformed request: {}", e.getDescription().cStr())));
    }
    reply.envelope().setRequestId(request.request_id());
    return reply;
}

void Dispatcher::start_drain(std::string moved_to, std::uint64_t moved_epoch) {
    {
        std::lock_guard lock(m_mutex);
        m_moved_to = std::move(moved_to);
        m_moved_epoch = moved_epoch;
        m_draining.store(true);
    }
    if (m_in_flight.load() == 0) notify_drained();
}

bool Dispatcher::drained() const noexcept {
    return m_draining.load() && m_in_flight.load() == 0;
}

bool Dispatcher::wait_drained(Clock::time_point deadline) {
    std::unique_lock lock(m_mutex);
    return m_drained_cv.wait_until(lock, deadline, [this] { return drained(); });
}

void Dispatcher::set_on_drained(std::function<void()> callback) {
    std::lock_guard lock(m_callback_mutex); // waits for a running callback
    m_on_drained = std::move(callback);
}

void Dispatcher::set_on_stop(std::function<void()> callback) {
    std::lock_guard lock(m_callback_mutex);
    m_on_stop = std::move(callback);
}

void Dispatcher::fire(const std::function<void()>& callback) {
    // Held while the callback runs: whoever replaces or clears it (a host going away) waits for
    // it, so a callback never runs on a host that is gone (found by ASan: the last request's
    // ticket, released on a direct caller's thread, woke a server destroyed meanwhile).
    std::lock_guard lock(m_callback_mutex);
    if (callback) callback();
}

void Dispatcher::notify_drained() {
    bool first = false;
    {
        std::lock_guard lock(m_mutex);
        m_drained_cv.notify_all();
        // A request refused while draining counts as in flight for a moment, so its finish (and
        // a racing start_drain) may see zero again: fire only the first time.
        first = !std::exchange(m_drained_notified, true);
    }
    if (first) fire(m_on_drained);
}

void Dispatcher::finish_one() {
    if (m_in_flight.fetch_sub(1) == 1 && m_draining.load()) notify_drained();
}

schema::ServiceState Dispatcher::state() const noexcept {
    if (!m_draining.load()) return schema::ServiceState::SERVING;
    return m_in_flight.load() == 0 ? schema::ServiceState::DRAINED : schema::ServiceState::DRAINING;
}

OutMessage Dispatcher::status_reply() const {
    OutMessage reply;
    auto s = reply.init_payload<schema::ServiceStatus>();
    s.setName(m_service->name());
    s.setVersion(m_service->version());
    s.setInstance(m_instance);
    s.setState(state());
    s.setInFlight(m_in_flight.load());
    s.setServed(m_served.load());
    s.setPid(static_cast<std::int32_t>(::getpid()));
    return reply;
}

OutMessage Dispatcher::moved_reply() const {
    std::lock_guard lock(m_mutex);
    return OutMessage::error(
        Error::moved(m_moved_to, m_moved_epoch,
                     fmt::format("'{}' instance {} is draining; the service moved to {} (epoch {})",
                                 m_service->name(), m_instance, m_moved_to, m_moved_epoch)));
}

} // namespace loom::bus
