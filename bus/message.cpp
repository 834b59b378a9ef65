#include "bus/message.hpp"

#include "schemas/schema_enums.hpp"

#include <cstring>

#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

namespace loom::bus {
namespace {

// Small first segment: most envelopes are a few hundred bytes, and the builder's first segment
// is allocated (and zeroed) for every message.
constexpr unsigned k_first_segment_words = 128;

capnp::ReaderOptions reader_options(const Limits& limits) {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.traversal_limit_words;
    options.nestingLimit = limits.nesting_limit;
    return options;
}

} // namespace

// ---- OutMessage ---------------------------------------------------------------------------

OutMessage::OutMessage()
    : m_builder(std::make_unique<capnp::MallocMessageBuilder>(k_first_segment_words))
    , m_envelope(m_builder->initRoot<schema::Envelope>()) {}

OutMessage::OutMessage(OutMessage&&) noexcept = default;
OutMessage& OutMessage::operator=(OutMessage&&) noexcept = default;
OutMessage::~OutMessage() = default;

OutMessage OutMessage::error(const Error& error) {
    OutMessage m;
    auto e = m.envelope().getBody().initError();
    e.setKind(to_schema(error.kind()));
    e.setMessage(error.message());
    if (error.kind() == ErrorKind::MOVED) {
        e.setMovedTo(error.moved_to());
        e.setMovedEpoch(error.moved_epoch());
    }
    return m;
}

std::uint32_t OutMessage::add_frame(Frame frame) {
    m_frames.push_back(std::move(frame));
    return static_cast<std::uint32_t>(m_frames.size() - 1);
}

std::uint64_t OutMessage::frame_bytes() const noexcept {
    std::uint64_t total = 0;
    for (const auto& f : m_frames)
        total += f.size();
    return total;
}

bool OutMessage::is_error() const {
    return m_envelope.asReader().getBody().which() == schema::Envelope::Body::ERROR;
}

kj::Array<capnp::word> encode_words(OutMessage& message) {
    return capnp::messageToFlatArray(message.builder());
}

std::size_t encoded_size(OutMessage& message) {
    return capnp::computeSerializedSizeInWords(message.builder()) * sizeof(capnp::word);
}

void encode_into(OutMessage& message, std::span<std::byte> out) {
    kj::ArrayOutputStream stream(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size()));
    capnp::writeMessage(stream, message.builder());
    LOOM_ASSERT(stream.getArray().size() == out.size(), "encoded {} bytes, expected {}",
                stream.getArray().size(), out.size());
}

// ---- InMessage ----------------------------------------------------------------------------

InMessage::InMessage(InMessage&&) noexcept = default;
InMessage& InMessage::operator=(InMessage&&) noexcept = default;
InMessage::~InMessage() = default;

InMessage InMessage::decode(Frame bytes, const Limits& limits) {
    LOOM_REQUIRE(bytes.size() <= limits.max_envelope_bytes,
                 "envelope of {} bytes exceeds the limit of {} bytes", bytes.size(),
                 limits.max_envelope_bytes);
    LOOM_REQUIRE(bytes.size() >= sizeof(capnp::word) && bytes.size() % sizeof(capnp::word) == 0,
                 "malformed envelope: {} bytes is not a whole number of 8-byte words",
                 bytes.size());
    InMessage m;
    std::size_t words = bytes.size() / sizeof(capnp::word);
    if (bytes.alignment() >= alignof(capnp::word)) {
        m.m_bytes = std::move(bytes);
        auto ptr = kj::arrayPtr(reinterpret_cast<const capnp::word*>(m.m_bytes.data()), words);
        try {
            m.m_reader =
                std::make_unique<capnp::FlatArrayMessageReader>(ptr, reader_options(limits));
        } catch (const kj::Exception& e) {
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "malformed envelope: {}",
                       e.getDescription().cStr());
        }
    } else {
        // ZeroMQ delivers frames at arbitrary addresses; Cap'n Proto needs word alignment.
        m.m_words = kj::heapArray<capnp::word>(words);
        std::memcpy(m.m_words.begin(), bytes.data(), bytes.size());
        try {
            m.m_reader = std::make_unique<capnp::FlatArrayMessageReader>(m.m_words.asPtr(),
                                                                         reader_options(limits));
        } catch (const kj::Exception& e) {
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "malformed envelope: {}",
                       e.getDescription().cStr());
        }
    }
    m.read_header();
    return m;
}

InMessage InMessage::decode(kj::Array<capnp::word> words, const Limits& limits) {
    InMessage m;
    m.m_words = std::move(words);
    try {
        m.m_reader = std::make_unique<capnp::FlatArrayMessageReader>(m.m_words.asPtr(),
                                                                     reader_options(limits));
    } catch (const kj::Exception& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "malformed envelope: {}",
                   e.getDescription().cStr());
    }
    m.read_header();
    return m;
}

void InMessage::read_header() {
    try {
        m_envelope = m_reader->getRoot<schema::Envelope>();
        m_request_id = m_envelope.getRequestId();
        auto body = m_envelope.getBody();
        m_is_error = body.which() == schema::Envelope::Body::ERROR;
        if (m_is_error) {
            // Touch the error's fields now so a malformed error is reported here, not later.
            auto e = body.getError();
            (void)e.getMessage();
            (void)e.getMovedTo();
        }
        (void)m_envelope.getService();
        (void)m_envelope.getFrames();
    } catch (const kj::Exception& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "malformed envelope: {}",
                   e.getDescription().cStr());
    }
}

Error InMessage::error() const {
    LOOM_ASSERT(m_is_error, "error() on a reply that is not an error");
    auto e = m_envelope.getBody().getError();
    auto kind = from_schema(e.getKind());
    if (to_string(kind) == "unknown_error_kind") kind = ErrorKind::INTERNAL;
    std::string message(e.getMessage().cStr());
    if (kind == ErrorKind::MOVED)
        return Error::moved(e.getMovedTo().cStr(), e.getMovedEpoch(), message);
    return Error(kind, message);
}

void InMessage::throw_if_error() const {
    if (m_is_error) throw error();
}

const Frame& InMessage::frame(std::uint32_t index) const {
    LOOM_REQUIRE(index < m_frames.size(),
                 "frame index {} out of range: the message carries {} side frame(s)", index,
                 m_frames.size());
    return m_frames[index];
}

} // namespace loom::bus
