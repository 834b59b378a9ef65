#pragma once
// Requests for a service built from fuzz input: byte 0 picks the method (mod `methods`), the rest
// is a Cap'n Proto flat message whose root becomes the payload. Malformed Cap'n Proto is refused
// here (the envelope target covers raw bytes); what reaches the service is well-formed and
// arbitrary, as from a peer that speaks the protocol.

#include <cstring>
#include <optional>

#include <capnp/serialize.h>
#include <kj/exception.h>

#include "bus/message.hpp"
#include "tests/fuzz/targets/fuzz_target.hpp"

namespace loom::fuzz {

inline std::optional<bus::InMessage> request_from(const std::uint8_t* data, std::size_t size,
                                                  const std::string& service, unsigned methods,
                                                  const bus::Limits& limits) {
    if (size < 1) return std::nullopt;
    std::size_t words = (size - 1) / sizeof(capnp::word);
    auto aligned = kj::heapArray<capnp::word>(words);
    if (words) std::memcpy(aligned.begin(), data + 1, words * sizeof(capnp::word));
    bus::OutMessage out;
    auto env = out.envelope();
    env.setRequestId(1);
    env.setService(service);
    env.setMethod(static_cast<std::uint16_t>(data[0] % methods));
    try {
        capnp::ReaderOptions options;
        options.traversalLimitInWords = 1 << 16;
        options.nestingLimit = 32;
        capnp::FlatArrayMessageReader reader(aligned, options);
        env.getBody().initPayload().set(reader.getRoot<capnp::AnyPointer>());
    } catch (const kj::Exception&) {
        return std::nullopt;
    }
    auto in = bus::InMessage::decode(bus::encode_words(out), limits);
    in.set_frames(out.frames());
    return in;
}

// A seed: `method`, then `payload` as a flat message.
inline std::vector<std::uint8_t> payload_seed(std::uint16_t method,
                                              capnp::MessageBuilder& payload) {
    auto words = capnp::messageToFlatArray(payload);
    auto bytes = words.asBytes();
    std::vector<std::uint8_t> seed(1 + bytes.size());
    seed[0] = static_cast<std::uint8_t>(method);
    std::memcpy(seed.data() + 1, bytes.begin(), bytes.size());
    return seed;
}

} // namespace loom::fuzz
