#include "bus/events.hpp"

#include <cstring>

#include <kj/exception.h>

#include "bus/endpoint.hpp"

namespace loom::bus {

Publisher::Publisher(Context& context, const std::vector<std::string>& endpoints,
                     const std::optional<ServerSecurity>& security, bool insecure)
    : m_context(context)
    , m_socket(context.zmq(), zmq::socket_type::pub) {
    m_socket.set(zmq::sockopt::linger, 0);
    m_socket.set(zmq::sockopt::sndhwm, 10000);
    for (const auto& text : endpoints) {
        auto endpoint = parse_endpoint(text);
        check_bind(endpoint, security.has_value(), insecure, "the event publisher");
        if (endpoint.transport == Transport::tcp && security) {
            if (m_zap_domain.empty()) {
                m_zap_domain = fmt::format("loom.events.{}", context.next_id());
                context.authenticator().allow(m_zap_domain, security->allowed_keys());
            }
            apply_server_security(m_socket, *security, m_zap_domain);
        }
        try {
            m_socket.bind(text);
        } catch (const zmq::error_t& e) {
            LOOM_THROW(ErrorKind::UNAVAILABLE, "cannot bind the event endpoint {}: {}", text,
                       e.what());
        }
        m_endpoints.push_back(endpoint.transport == Transport::tcp
                                  ? m_socket.get(zmq::sockopt::last_endpoint)
                                  : text);
    }
}

Publisher::~Publisher() {
    if (!m_zap_domain.empty()) m_context.authenticator().forget(m_zap_domain);
}

void Publisher::publish(std::string_view topic, capnp::MessageBuilder& message) {
    auto words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    std::lock_guard lock(m_mutex);
    (void)m_socket.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    (void)m_socket.send(zmq::buffer(bytes.begin(), bytes.size()), zmq::send_flags::dontwait);
}

Event::Event(std::string topic, Frame bytes, const Limits& limits)
    : m_topic(std::move(topic)) {
    LOOM_REQUIRE(bytes.size() % sizeof(capnp::word) == 0 && bytes.size() > 0 &&
                     bytes.size() <= limits.max_envelope_bytes,
                 "malformed event of {} bytes on topic '{}'", bytes.size(), m_topic);
    if (bytes.alignment() < alignof(capnp::word)) bytes = Frame::copy_of(bytes.bytes());
    m_bytes = std::move(bytes);
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.traversal_limit_words;
    options.nestingLimit = limits.nesting_limit;
    try {
        m_reader = std::make_unique<capnp::FlatArrayMessageReader>(
            kj::arrayPtr(reinterpret_cast<const capnp::word*>(m_bytes.data()),
                         m_bytes.size() / sizeof(capnp::word)),
            options);
    } catch (const kj::Exception& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "malformed event on topic '{}': {}", m_topic,
                   e.getDescription().cStr());
    }
}

Subscriber::Subscriber(Context& context, const std::string& endpoint,
                       const std::vector<std::string>& topic_prefixes,
                       const std::optional<ClientSecurity>& security)
    : m_context(context)
    , m_socket(context.zmq(), zmq::socket_type::sub) {
    auto parsed = parse_endpoint(endpoint);
    m_socket.set(zmq::sockopt::linger, 0);
    m_socket.set(zmq::sockopt::maxmsgsize,
                 static_cast<std::int64_t>(context.limits().max_envelope_bytes));
    if (parsed.transport == Transport::tcp && security) apply_client_security(m_socket, *security);
    for (const auto& prefix : topic_prefixes)
        m_socket.set(zmq::sockopt::subscribe, prefix);
    m_socket.connect(endpoint);
}

std::optional<Event> Subscriber::next(Clock::time_point until) {
    for (;;) {
        zmq::pollitem_t item{m_socket.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(poll_timeout_ms(until)));
        if (!(item.revents & ZMQ_POLLIN)) {
            if (Clock::now() >= until) return std::nullopt;
            continue;
        }
        zmq::message_t topic, body;
        if (!m_socket.recv(topic, zmq::recv_flags::dontwait)) continue;
        if (!topic.more()) continue;
        (void)m_socket.recv(body, zmq::recv_flags::none);
        if (body.more()) { // not an event of ours: skip the rest of it
            zmq::message_t rest;
            do
                (void)m_socket.recv(rest, zmq::recv_flags::none);
            while (rest.more());
            continue;
        }
        try {
            return Event(topic.to_string(), Frame::adopt(std::move(body)), m_context.limits());
        } catch (const Error&) {
            continue; // a malformed event is dropped
        }
    }
}

} // namespace loom::bus
