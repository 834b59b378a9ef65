#pragma once
// The multipart wire format shared by every socket path (DESIGN.md §3): [prefix frames (the
// ROUTER identity)] [envelope] [side frames ...]. Side frames are handed to ZeroMQ without
// copying; over ipc, frames above a threshold go through a shared-memory session instead.

#include <cstdint>
#include <vector>

#include <zmq.hpp>

#include "bus/message.hpp"

namespace loom::bus {

class ShmSession;

// Receives one whole multipart message. Returns false if nothing was waiting (non-blocking), or,
// with `wait`, if nothing came within the socket's ZMQ_RCVTIMEO. A message with more than
// `max_parts` parts is read to its end and reported with `too_many`.
bool recv_parts(zmq::socket_t& socket, std::vector<zmq::message_t>& parts, std::size_t max_parts,
                bool& too_many, bool wait = false);

// Decodes parts[first] as the envelope (invalid_argument if malformed).
InMessage decode_envelope(std::vector<zmq::message_t>& parts, std::size_t first,
                          const Limits& limits);
// Resolves the envelope's frame table against parts[first+1..] and, for shared-memory
// references, `session` (null when the peer has none). Throws invalid_argument naming the bad
// frame reference.
void attach_frames(InMessage& message, std::vector<zmq::message_t>& parts, std::size_t first,
                   const Limits& limits, ShmSession* session);

// Fills the envelope's frame table (socket frames, or shared-memory slots of `session` for
// frames of at least `shm_threshold` bytes) and sends [prefix][envelope][frames]. Non-blocking
// when `dontwait`; returns false if ZeroMQ would block (nothing was sent).
bool send_message(zmq::socket_t& socket, OutMessage& message, zmq::message_t* prefix,
                  ShmSession* session, std::uint64_t shm_threshold, bool dontwait);

// ZMTP heartbeats on an ipc/tcp socket: a peer silent for heartbeat.timeout() is disconnected.
void apply_heartbeat(zmq::socket_t& socket, const Heartbeat& heartbeat);

// A zero-copy ZeroMQ message over a Frame's bytes; the frame's owner is released (on any
// thread) when ZeroMQ is done with it.
zmq::message_t to_zmq(const Frame& frame);

} // namespace loom::bus
