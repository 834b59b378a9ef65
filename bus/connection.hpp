#pragma once
// Connection — one client DEALER socket to one endpoint, used by one request at a time (the
// channel's pool hands it out), so the calling thread waits on the socket itself. On ipc/tcp a
// socket monitor reports the peer's disconnection and refused handshakes at once (DESIGN.md §3).
// Not thread-safe: owned by exactly one request, or by the pool, at any time.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bus/context.hpp"
#include "bus/endpoint.hpp"
#include "bus/message.hpp"
#include "bus/security.hpp"
#include "bus/service.hpp"

namespace loom::bus {

class ShmSession;

class Connection {
public:
    // `connect_timeout`: how long a request may wait for a peer that neither accepts nor refuses
    // the connection (unavailable after it).
    Connection(Context& context, const Endpoint& endpoint, const ClientSecurity* security,
               std::shared_ptr<LocalEndpoint> local, std::chrono::milliseconds connect_timeout);
    ~Connection();

    // Waits until ZeroMQ takes a message again (its queue to the peer is full). unavailable: the
    // peer went away, or nothing came free by `deadline`; unauthenticated: the handshake was
    // refused.
    void wait_writable(Clock::time_point deadline);

    // Sends without blocking; false when ZeroMQ's queue is full.
    bool send(OutMessage& message, ShmSession* session, std::uint64_t shm_threshold);

    // Waits for the reply to `request_id` until `until`; nullopt when `until` passed first.
    // Stale replies (to earlier requests that timed out on this socket) are dropped. Errors
    // (the connection is then broken()): unavailable — the request was never delivered (the
    // peer refused the connection or none was made in time); unauthenticated — the security
    // handshake was refused; disconnected — the peer went away with the request in flight.
    std::optional<InMessage> wait_reply(std::uint64_t request_id, Clock::time_point until,
                                        ShmSession* session);

    // Adds this connection's poll items (for a reactor polling many connections).
    void poll_items(std::vector<zmq::pollitem_t>& items);
    std::size_t poll_item_count() const noexcept;
    // After a poll: processes what is readable; returns the reply if it arrived.
    std::optional<InMessage> on_ready(std::uint64_t request_id, ShmSession* session);

    // Reads pending socket events; true (and broken()) if the peer disconnected since the last
    // request on this connection (not read when a reply came less than 1 ms ago).
    bool lost_while_idle();
    bool broken() const noexcept { return m_broken; }
    void mark_broken() noexcept { m_broken = true; }
    const std::shared_ptr<LocalEndpoint>& local() const noexcept { return m_local; }

private:
    void read_events();
    // Throws what the monitor tells of the peer (see wait_reply); request 0: nothing sent yet.
    void check_peer(std::uint64_t request_id);
    // Reads replies until ours; waits up to `wait_ms` for the first one (0: not at all).
    std::optional<InMessage> read_replies(std::uint64_t request_id, ShmSession* session,
                                          int wait_ms);

    Context& m_context;
    const Endpoint& m_endpoint;
    std::shared_ptr<LocalEndpoint> m_local; // inproc: the bound service, to see it close
    zmq::socket_t m_monitor;                // declared before m_socket: closed after it
    zmq::socket_t m_socket;
    bool m_has_monitor = false;
    bool m_connected = false;
    Clock::time_point m_connect_deadline;
    bool m_broken = false;
    Clock::time_point m_last_reply; // when a reply last came: the peer was alive then
    std::string m_refused;          // why the peer refused us, if it did
    bool m_auth_failed = false;
    std::vector<zmq::message_t> m_parts;
};

} // namespace loom::bus
