#pragma once
// Limits applied to every message a bus peer receives (DESIGN.md §3 "Untrusted bytes").

#include <chrono>
#include <cstdint>

namespace loom::bus {

struct Limits {
    // Frame 0 (the Cap'n Proto envelope) larger than this is refused with invalid_argument.
    std::uint64_t max_envelope_bytes = 64ull << 20;
    // Cap'n Proto ReaderOptions for every envelope decoded.
    std::uint64_t traversal_limit_words = 16ull << 20;
    int nesting_limit = 64;
    // Side frames per message.
    std::uint32_t max_frames = 4096;
    // ZMQ_MAXMSGSIZE: a single ZeroMQ frame above this drops the connection before it is
    // read (ZeroMQ cannot answer it). The largest tensor a deployment accepts.
    std::int64_t max_frame_bytes = 1ll << 30;
    // Sum of side-frame bytes in one message; services answer invalid_argument above it.
    std::uint64_t max_message_bytes = 2ull << 30;
    // Bytes of requests received on one ipc/tcp connection and not answered yet; a request
    // beyond it is answered `overloaded` and its bytes are dropped at once.
    std::uint64_t max_in_flight_bytes = 2ull << 30;
};

// Liveness of a connection, in the Paranoid Pirate style: a peer that sends nothing (not even a
// heartbeat) for interval × liveness is dead. Applied as ZMTP heartbeats on ipc/tcp connections
// and as the kernel's component heartbeats.
struct Heartbeat {
    std::chrono::milliseconds interval{1000};
    unsigned liveness = 3;
    std::chrono::milliseconds timeout() const { return interval * liveness; }
};

} // namespace loom::bus
