#include "bus/wire.hpp"

#include <cstring>

#include <kj/exception.h>

#include "bus/shm.hpp"

namespace loom::bus {
namespace {

// Below this an envelope is copied into a ZeroMQ-owned buffer; above, handed over zero-copy.
constexpr std::size_t k_inline_envelope_bytes = 4096;

void release_frame_owner(void*, void* hint) noexcept {
    delete static_cast<std::shared_ptr<void>*>(hint);
}

void release_words(void*, void* hint) noexcept {
    delete static_cast<kj::Array<capnp::word>*>(hint);
}

} // namespace

zmq::message_t to_zmq(const Frame& frame) {
    if (frame.size() <= 32) return zmq::message_t(frame.data(), frame.size()); // ZeroMQ VSM
    auto* keep = new std::shared_ptr<void>(frame.owner());
    return zmq::message_t(const_cast<std::byte*>(frame.data()), frame.size(), release_frame_owner,
                          keep);
}

void apply_heartbeat(zmq::socket_t& socket, const Heartbeat& heartbeat) {
    auto timeout = static_cast<int>(heartbeat.timeout().count());
    socket.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(heartbeat.interval.count()));
    socket.set(zmq::sockopt::heartbeat_timeout, timeout);
    socket.set(zmq::sockopt::heartbeat_ttl, timeout);
}

bool recv_parts(zmq::socket_t& socket, std::vector<zmq::message_t>& parts, std::size_t max_parts,
                bool& too_many, bool wait) {
    parts.clear();
    too_many = false;
    zmq::message_t first;
    if (!socket.recv(first, wait ? zmq::recv_flags::none : zmq::recv_flags::dontwait)) return false;
    bool more = first.more();
    parts.push_back(std::move(first));
    while (more) {
        zmq::message_t part;
        // The remaining parts of a multipart message are already here: ZeroMQ delivers a
        // message atomically.
        (void)socket.recv(part, zmq::recv_flags::none);
        more = part.more();
        if (parts.size() < max_parts)
            parts.push_back(std::move(part));
        else
            too_many = true;
    }
    return true;
}

InMessage decode_envelope(std::vector<zmq::message_t>& parts, std::size_t first,
                          const Limits& limits) {
    LOOM_REQUIRE(parts.size() > first, "message has no envelope frame");
    return InMessage::decode(Frame::adopt(std::move(parts[first])), limits);
}

// Untrusted bytes: a malformed reference (or the traversal limit, reached by reading the table
// again) throws kj::Exception, which callers do not expect: it becomes invalid_argument.
void attach_frames(InMessage& message, std::vector<zmq::message_t>& parts, std::size_t first,
                   const Limits& limits, ShmSession* session) try {
    auto table = message.envelope().getFrames();
    std::size_t socket_frames = parts.size() - first - 1;
    LOOM_REQUIRE(table.size() <= limits.max_frames, "message lists {} side frames; the limit is {}",
                 table.size(), limits.max_frames);
    std::vector<Frame> frames;
    frames.reserve(table.size());
    std::vector<bool> taken(socket_frames + 1, false);
    for (unsigned i = 0; i < table.size(); ++i) {
        auto ref = table[i];
        switch (ref.which()) {
        case schema::FrameRef::SOCKET: {
            std::uint32_t index = ref.getSocket();
            LOOM_REQUIRE(index >= 1 && index <= socket_frames,
                         "side frame {} refers to socket frame {}, but the message has {} "
                         "socket frame(s) after the envelope",
                         i, index, socket_frames);
            // A socket frame backs one side frame only: it is adopted, not copied.
            LOOM_REQUIRE(!taken[index], "socket frame {} is referenced twice", index);
            taken[index] = true;
            frames.push_back(Frame::adopt(std::move(parts[first + index])));
            break;
        }
        case schema::FrameRef::SHM: {
            LOOM_REQUIRE(session != nullptr,
                         "side frame {} is in shared memory, but this connection has no "
                         "shared-memory session (only ipc:// peers on this host have one)",
                         i);
            frames.push_back(session->receive(ref.getShm()));
            break;
        }
        default:
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "side frame {} has an unknown location", i);
        }
    }
    message.set_frames(std::move(frames));
} catch (const kj::Exception& e) {
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "malformed frame table: {}", e.getDescription().cStr());
}

bool send_message(zmq::socket_t& socket, OutMessage& message, zmq::message_t* prefix,
                  ShmSession* session, std::uint64_t shm_threshold, bool dontwait) {
    auto& frames = message.frames();
    auto table = message.envelope().initFrames(static_cast<unsigned>(frames.size()));
    std::vector<zmq::message_t> parts;
    parts.reserve(frames.size());
    std::uint32_t socket_index = 0;
    bool any_shm = false;
    for (unsigned i = 0; i < frames.size(); ++i) {
        const Frame& f = frames[i];
        if (session && f.size() >= shm_threshold && session->send(f, table[i].initShm())) {
            any_shm = true;
            continue;
        }
        table[i].setSocket(++socket_index);
        parts.push_back(to_zmq(f));
    }
    // Slots taken for a message that ZeroMQ then refused go back to the session.
    auto give_back_slots = [&] {
        if (!any_shm) return;
        for (auto ref : table)
            if (ref.which() == schema::FrameRef::SHM) session->cancel(ref.getShm().asReader());
    };
    if (session) message.envelope().setShmSession(session->token());

    zmq::message_t envelope;
    std::size_t size = encoded_size(message);
    if (size <= k_inline_envelope_bytes) {
        envelope.rebuild(size);
        encode_into(message, {static_cast<std::byte*>(envelope.data()), size});
    } else {
        auto* words = new kj::Array<capnp::word>(encode_words(message));
        envelope = zmq::message_t(words->begin(), words->size() * sizeof(capnp::word),
                                  release_words, words);
    }

    auto flags = dontwait ? zmq::send_flags::dontwait : zmq::send_flags::none;
    auto more = flags | zmq::send_flags::sndmore;
    // ZeroMQ queues a multipart message atomically: once the first part is accepted, the rest is.
    if (prefix) {
        if (!socket.send(*prefix, more)) {
            give_back_slots();
            return false;
        }
        (void)socket.send(envelope,
                          parts.empty() ? zmq::send_flags::none : zmq::send_flags::sndmore);
    } else if (!socket.send(envelope, parts.empty() ? flags : more)) {
        give_back_slots();
        return false;
    }
    for (std::size_t i = 0; i < parts.size(); ++i)
        (void)socket.send(parts[i],
                          i + 1 == parts.size() ? zmq::send_flags::none : zmq::send_flags::sndmore);
    return true;
}

} // namespace loom::bus
