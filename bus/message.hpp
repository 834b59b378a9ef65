#pragma once
// Bus messages: frame 0 is a Cap'n Proto Envelope (schemas/bus.capnp), frames 1..n are side
// frames (tensor bytes) that the envelope's frame table describes (DESIGN.md §3).
//
// OutMessage is built by one thread and then handed to the bus. InMessage is immutable once
// decoded and may be read from any thread.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>

#include "bus/frame.hpp"
#include "bus/limits.hpp"
#include "bus/roles.hpp"
#include "schemas/bus.capnp.h"
#include "schemas/error.hpp"

namespace loom::bus {

class OutMessage {
public:
    OutMessage();
    OutMessage(OutMessage&&) noexcept;
    OutMessage& operator=(OutMessage&&) noexcept;
    ~OutMessage();

    // An error reply carrying `error`'s kind and message (and the moved route, for `moved`).
    static OutMessage error(const Error& error);

    template <class T>
    typename T::Builder init_payload() {
        return envelope().getBody().initPayload().initAs<T>();
    }
    template <class T>
    typename T::Builder payload() {
        return envelope().getBody().getPayload().getAs<T>();
    }

    // Attaches a side frame; the returned index is what descriptors in the payload refer to.
    std::uint32_t add_frame(Frame frame);
    const std::vector<Frame>& frames() const noexcept { return m_frames; }
    std::vector<Frame>& frames() noexcept { return m_frames; }
    std::uint64_t frame_bytes() const noexcept;

    schema::Envelope::Builder envelope() noexcept { return m_envelope; }
    capnp::MessageBuilder& builder() noexcept { return *m_builder; }
    // The caller's session with the service (Envelope.session; 0 = none).
    void set_session(std::uint64_t session) noexcept { m_envelope.setSession(session); }

    bool is_error() const;

private:
    std::unique_ptr<capnp::MallocMessageBuilder> m_builder;
    schema::Envelope::Builder m_envelope;
    std::vector<Frame> m_frames;
};

class InMessage {
public:
    InMessage() = default;
    InMessage(InMessage&&) noexcept;
    InMessage& operator=(InMessage&&) noexcept;
    ~InMessage();

    // Decodes an envelope from received bytes (copied to word-aligned memory only when the bytes
    // are not aligned) with the limits' ReaderOptions. Side frames are attached separately by
    // the transport (attach_frames). Throws invalid_argument naming what is malformed.
    static InMessage decode(Frame envelope_bytes, const Limits& limits);
    // Decodes from an aligned word array (the in-process path: no copy).
    static InMessage decode(kj::Array<capnp::word> words, const Limits& limits);

    schema::Envelope::Reader envelope() const noexcept { return m_envelope; }
    std::uint64_t request_id() const noexcept { return m_request_id; }
    // The caller's session with the service (Envelope.session; 0 = none).
    std::uint64_t session() const noexcept { return m_envelope.getSession(); }
    // The public key (Z85) the sender authenticated with over CURVE; empty on paths without
    // CURVE (in process, ipc, plain tcp). Set by the transport, never read from the message.
    const std::string& peer_key() const noexcept { return m_peer_key; }
    void set_peer_key(std::string key) { m_peer_key = std::move(key); }
    // What the sender may ask for (bus/roles.hpp). Every role unless the transport lowered it:
    // a CURVE tcp:// server sets the roles its key was given. Never read from the message.
    Roles roles() const noexcept { return m_roles; }
    void set_roles(Roles roles) noexcept { m_roles = roles; }
    // True when it came over tcp:// (from the network; see bus/library_policy.hpp), false in
    // process and over ipc:// (this host, this user's runtime directory).
    bool from_network() const noexcept { return m_from_network; }
    void set_from_network(bool network) noexcept { m_from_network = network; }

    // A reader viewing this message's bytes: valid while the message lives. Within one full
    // expression (`channel.call(...).payload<T>().getX()`) that holds; a reader kept in a
    // variable needs the message kept in one too.
    template <class T>
    typename T::Reader payload() const {
        return m_envelope.getBody().getPayload().getAs<T>();
    }

    bool is_error() const noexcept { return m_is_error; }
    // The error this reply carries, as a loom::Error (only when is_error()).
    Error error() const;
    // Throws error() if this is an error reply.
    void throw_if_error() const;

    // Logical side frames, in the order of the envelope's frame table.
    const Frame& frame(std::uint32_t index) const;
    std::size_t frame_count() const noexcept { return m_frames.size(); }
    const std::vector<Frame>& frames() const noexcept { return m_frames; }
    void set_frames(std::vector<Frame> frames) noexcept { m_frames = std::move(frames); }

private:
    void read_header();

    Frame m_bytes;                  // keeps the envelope's bytes alive (socket path)
    kj::Array<capnp::word> m_words; // aligned copy or in-process words
    std::unique_ptr<capnp::FlatArrayMessageReader> m_reader;
    schema::Envelope::Reader m_envelope;
    std::uint64_t m_request_id = 0;
    bool m_is_error = false;
    std::vector<Frame> m_frames;
    std::string m_peer_key;
    Roles m_roles = Roles::all();
    bool m_from_network = false;
};

// Serialises the envelope into one contiguous buffer (segment table + segments).
kj::Array<capnp::word> encode_words(OutMessage& message);
// Bytes needed for encode_into().
std::size_t encoded_size(OutMessage& message);
void encode_into(OutMessage& message, std::span<std::byte> out);

} // namespace loom::bus
