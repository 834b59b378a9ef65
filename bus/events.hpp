#pragma once
// PUB/SUB events (DESIGN.md §3): a two-part message, [topic][Cap'n Proto message]. Events are a
// convenience for watchers: nothing that must happen depends on an event being delivered
// (ZeroMQ drops events for slow or not-yet-connected subscribers).

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <zmq.hpp>

#include "bus/context.hpp"
#include "bus/frame.hpp"
#include "bus/security.hpp"
#include "bus/service.hpp"

namespace loom::bus {

class Publisher {
public:
    Publisher(Context& context, const std::vector<std::string>& endpoints,
              const std::optional<ServerSecurity>& security = std::nullopt,
              bool insecure = false); // plain tcp:// allowed (warns); see check_bind
    ~Publisher();
    const std::vector<std::string>& endpoints() const noexcept { return m_endpoints; }
    // Thread-safe. Never blocks: a subscriber that cannot keep up loses events.
    void publish(std::string_view topic, capnp::MessageBuilder& message);

private:
    Context& m_context;
    std::mutex m_mutex; // guards m_socket
    zmq::socket_t m_socket;
    std::vector<std::string> m_endpoints;
    std::string m_zap_domain;
};

class Event {
public:
    Event(std::string topic, Frame bytes, const Limits& limits);
    const std::string& topic() const noexcept { return m_topic; }
    template <class T>
    typename T::Reader as() const {
        return m_reader->getRoot<T>();
    }

private:
    std::string m_topic;
    Frame m_bytes;
    std::unique_ptr<capnp::FlatArrayMessageReader> m_reader;
};

// Used by one thread at a time.
class Subscriber {
public:
    Subscriber(Context& context, const std::string& endpoint,
               const std::vector<std::string>& topic_prefixes,
               const std::optional<ClientSecurity>& security = std::nullopt);
    // The next event, or nullopt if none arrived before `until`. Malformed events are skipped.
    std::optional<Event> next(Clock::time_point until);

private:
    Context& m_context;
    zmq::socket_t m_socket;
};

} // namespace loom::bus
