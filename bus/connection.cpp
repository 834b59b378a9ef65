#include "bus/connection.hpp"

#include <algorithm>
#include <cstring>

#include "bus/wire.hpp"

namespace loom::bus {
namespace {

constexpr int k_monitored_events =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

} // namespace

Connection::Connection(Context& context, const Endpoint& endpoint, const ClientSecurity* security,
                       std::shared_ptr<LocalEndpoint> local,
                       std::chrono::milliseconds connect_timeout)
    : m_context(context)
    , m_endpoint(endpoint)
    , m_local(std::move(local))
    , m_socket(context.zmq(), zmq::socket_type::dealer) {
    const auto& limits = context.limits();
    m_socket.set(zmq::sockopt::linger, 0);
    // Not ZMQ_IMMEDIATE: with it, ZeroMQ discards replies not yet read when a connection drops
    // (a peer that answers and then stops would lose its last answers). Requests queued for a
    // peer that never connects are dropped with the connection instead (see on_ready).
    m_socket.set(zmq::sockopt::immediate, 0);
    m_connect_deadline = Clock::now() + connect_timeout;
    m_socket.set(zmq::sockopt::maxmsgsize, limits.max_frame_bytes);
    if (endpoint.transport != Transport::inproc) {
        apply_heartbeat(m_socket, context.options().heartbeat);
        auto address = fmt::format("inproc://loom.monitor.{}", context.next_id());
        if (zmq_socket_monitor(m_socket.handle(), address.c_str(), k_monitored_events) != 0)
            LOOM_THROW(ErrorKind::INTERNAL, "cannot monitor the connection to {}: {}",
                       endpoint.text, zmq_strerror(zmq_errno()));
        m_monitor = zmq::socket_t(context.zmq(), zmq::socket_type::pair);
        m_monitor.set(zmq::sockopt::linger, 0);
        m_monitor.connect(address);
        m_has_monitor = true;
    }
    if (endpoint.transport == Transport::tcp && security)
        apply_client_security(m_socket, *security);
    try {
        m_socket.connect(endpoint.text);
    } catch (const zmq::error_t& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot connect to {}: {}", endpoint.text,
                   e.what());
    }
}

Connection::~Connection() {
    if (m_has_monitor) zmq_socket_monitor(m_socket.handle(), nullptr, 0);
}

void Connection::read_events() {
    if (!m_has_monitor) return;
    for (;;) {
        zmq::message_t event, address;
        if (!m_monitor.recv(event, zmq::recv_flags::dontwait)) return;
        if (event.more()) (void)m_monitor.recv(address, zmq::recv_flags::none);
        if (event.size() < 6) continue;
        std::uint16_t id;
        std::memcpy(&id, event.data(), sizeof(id));
        switch (id) {
        case ZMQ_EVENT_CONNECTED:
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            m_connected = true;
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (m_connected) m_broken = true;
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            if (!m_connected) m_refused = "the peer refused the connection (nothing listens?)";
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            m_auth_failed = true;
            break;
        default:
            break;
        }
    }
}

bool Connection::lost_while_idle() {
    if (m_local && m_local->closed()) m_broken = true;
    // A socket whose peer answered it within the last millisecond is taken as it is: reading
    // the monitor costs a system call per request, and a peer that dies now is found by the
    // request's wait exactly as one that dies just after the check would be.
    if (m_connected && !m_broken && Clock::now() - m_last_reply < std::chrono::milliseconds(1))
        return false;
    read_events();
    if (m_has_monitor && !m_connected && !m_refused.empty()) m_broken = true;
    return m_broken;
}

void Connection::wait_writable(Clock::time_point deadline) {
    for (;;) {
        check_peer(0);
        if (m_socket.get(zmq::sockopt::events) & ZMQ_POLLOUT) return;
        if (Clock::now() >= deadline) {
            m_broken = true;
            LOOM_THROW(ErrorKind::OVERLOADED, "the send queue to {} stayed full", m_endpoint.text);
        }
        std::vector<zmq::pollitem_t> items{{m_socket.handle(), 0, ZMQ_POLLOUT, 0}};
        if (m_has_monitor) items.push_back({m_monitor.handle(), 0, ZMQ_POLLIN, 0});
        if (m_local) items.push_back({nullptr, m_local->closed_fd(), ZMQ_POLLIN, 0});
        zmq::poll(items.data(), items.size(),
                  std::chrono::milliseconds(std::min<long>(50, poll_timeout_ms(deadline))));
    }
}

void Connection::check_peer(std::uint64_t request_id) {
    read_events();
    if (m_auth_failed) {
        m_broken = true;
        LOOM_THROW(ErrorKind::UNAUTHENTICATED,
                   "{} refused the security handshake (CURVE server key wrong, or this client's "
                   "key is not allowed)",
                   m_endpoint.text);
    }
    if (m_has_monitor && !m_connected &&
        (!m_refused.empty() || Clock::now() > m_connect_deadline)) {
        // Never connected: whatever was queued was never delivered, and goes with the socket.
        m_broken = true;
        LOOM_THROW(ErrorKind::UNAVAILABLE, "cannot reach {}: {}", m_endpoint.text,
                   m_refused.empty() ? "no connection could be made in time" : m_refused);
    }
    if (m_broken || (m_local && m_local->closed())) {
        m_broken = true;
        if (request_id == 0)
            LOOM_THROW(ErrorKind::UNAVAILABLE, "the connection to {} was lost before sending",
                       m_endpoint.text);
        LOOM_THROW(ErrorKind::DISCONNECTED,
                   "the service at {} went away while request {} was in flight", m_endpoint.text,
                   request_id);
    }
}

bool Connection::send(OutMessage& message, ShmSession* session, std::uint64_t shm_threshold) {
    return send_message(m_socket, message, nullptr, session, shm_threshold, true);
}

std::optional<InMessage> Connection::read_replies(std::uint64_t request_id, ShmSession* session,
                                                  int wait_ms) {
    const auto& limits = m_context.limits();
    bool too_many = false;
    if (wait_ms > 0) m_socket.set(zmq::sockopt::rcvtimeo, wait_ms);
    bool wait = wait_ms > 0;
    while (recv_parts(m_socket, m_parts, limits.max_frames + 1, too_many, wait)) {
        InMessage reply;
        try {
            reply = decode_envelope(m_parts, 0, limits);
        } catch (const Error& e) {
            // This socket carries only our requests' replies: the peer is broken.
            m_broken = true;
            LOOM_THROW(ErrorKind::INTERNAL, "malformed reply from {}: {}", m_endpoint.text,
                       e.message());
        }
        if (reply.request_id() != request_id) continue; // a late reply to a timed-out request
        try {
            LOOM_REQUIRE(!too_many, "more than {} side frames", limits.max_frames);
            attach_frames(reply, m_parts, 0, limits, session);
        } catch (const Error& e) {
            m_broken = true;
            LOOM_THROW(ErrorKind::INTERNAL, "malformed reply from {}: {}", m_endpoint.text,
                       e.message());
        }
        m_last_reply = Clock::now();
        return reply;
    }
    return std::nullopt;
}

std::optional<InMessage> Connection::on_ready(std::uint64_t request_id, ShmSession* session) {
    if (auto reply = read_replies(request_id, session, 0)) return reply;
    try {
        check_peer(request_id);
    } catch (const Error&) {
        // A reply that came in just before the peer went is still in the pipe.
        if (auto reply = read_replies(request_id, session, 0)) return reply;
        throw;
    }
    return std::nullopt;
}

std::optional<InMessage> Connection::wait_reply(std::uint64_t request_id, Clock::time_point until,
                                                ShmSession* session) {
    const auto spin = m_context.options().spin;
    if (spin.count() > 0 && m_endpoint.transport == Transport::inproc) {
        auto spin_until = std::min(until, Clock::now() + spin);
        while (Clock::now() < spin_until) {
            if (m_socket.get(zmq::sockopt::events) & ZMQ_POLLIN) break;
        }
    }
    // The caller's thread blocks in recv on the socket itself (cheaper than polling it with the
    // monitor); between slices it reads the monitor, so a dead peer is noticed within a slice.
    constexpr long k_slice_ms = 50;
    for (;;) {
        long wait =
            std::min(k_slice_ms, poll_timeout_ms(until) < 0 ? k_slice_ms : poll_timeout_ms(until));
        if (auto reply = read_replies(request_id, session, static_cast<int>(wait))) return reply;
        if (auto reply = on_ready(request_id, session)) return reply;
        if (Clock::now() >= until) return std::nullopt;
    }
}

void Connection::poll_items(std::vector<zmq::pollitem_t>& items) {
    items.push_back({m_socket.handle(), 0, ZMQ_POLLIN, 0});
    if (m_has_monitor) items.push_back({m_monitor.handle(), 0, ZMQ_POLLIN, 0});
    if (m_local) items.push_back({nullptr, m_local->closed_fd(), ZMQ_POLLIN, 0});
}

std::size_t Connection::poll_item_count() const noexcept {
    return 1 + (m_has_monitor ? 1 : 0) + (m_local ? 1 : 0);
}

} // namespace loom::bus
