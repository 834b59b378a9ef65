// Envelopes: OutMessage → bytes → InMessage round trips, decoding from misaligned received
// bytes, and every kind of malformed input refused as invalid_argument (DESIGN.md §3).

#include "bus/message.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace loom::bus {
namespace {

std::vector<std::byte> to_bytes(const kj::Array<capnp::word>& words) {
    auto bytes = words.asBytes();
    std::vector<std::byte> out(bytes.size());
    std::memcpy(out.data(), bytes.begin(), bytes.size());
    return out;
}

// A request with a payload and a frame table of one socket frame and one shared-memory slot.
OutMessage sample_request(std::uint64_t id = 0x1234'5678'9abc'def0ull) {
    OutMessage m;
    auto env = m.envelope();
    env.setRequestId(id);
    env.setService("reader");
    env.setMethod(3);
    env.setDeadlineUs(250000);
    env.setEpoch(17);
    env.setShmSession(99);
    auto status = m.init_payload<schema::ServiceStatus>();
    status.setName("payload-name");
    status.setServed(41);
    auto table = env.initFrames(2);
    table[0].setSocket(1);
    auto shm = table[1].initShm();
    shm.setPool(2);
    shm.setSlot(3);
    shm.setOffset(4096);
    shm.setLength(1000);
    shm.setGeneration(5);
    return m;
}

void expect_sample(const InMessage& in, std::uint64_t id = 0x1234'5678'9abc'def0ull) {
    EXPECT_EQ(in.request_id(), id);
    EXPECT_FALSE(in.is_error());
    auto env = in.envelope();
    EXPECT_EQ(env.getRequestId(), id);
    EXPECT_EQ(std::string(env.getService().cStr()), "reader");
    EXPECT_EQ(env.getMethod(), 3u);
    EXPECT_EQ(env.getDeadlineUs(), 250000u);
    EXPECT_EQ(env.getEpoch(), 17u);
    EXPECT_EQ(env.getShmSession(), 99u);
    auto status = in.payload<schema::ServiceStatus>();
    EXPECT_EQ(std::string(status.getName().cStr()), "payload-name");
    EXPECT_EQ(status.getServed(), 41u);
    auto table = env.getFrames();
    ASSERT_EQ(table.size(), 2u);
    ASSERT_EQ(table[0].which(), schema::FrameRef::SOCKET);
    EXPECT_EQ(table[0].getSocket(), 1u);
    ASSERT_EQ(table[1].which(), schema::FrameRef::SHM);
    auto shm = table[1].getShm();
    EXPECT_EQ(shm.getPool(), 2u);
    EXPECT_EQ(shm.getSlot(), 3u);
    EXPECT_EQ(shm.getOffset(), 4096u);
    EXPECT_EQ(shm.getLength(), 1000u);
    EXPECT_EQ(shm.getGeneration(), 5u);
}

// Runs `decode` and returns the invalid_argument it must throw.
template <class F>
Error expect_invalid(F&& decode) {
    try {
        decode();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not a loom::Error: " << e.what();
        return Error(ErrorKind::INTERNAL, "wrong exception type");
    }
    ADD_FAILURE() << "malformed input was accepted";
    return Error(ErrorKind::INTERNAL, "accepted");
}

TEST(Message, RoundTripThroughWords) {
    OutMessage out = sample_request();
    EXPECT_FALSE(out.is_error());
    InMessage in = InMessage::decode(encode_words(out), Limits{});
    expect_sample(in);
    EXPECT_EQ(in.frame_count(), 0u) << "side frames are attached by the transport";
}

TEST(Message, EncodeIntoMatchesEncodeWords) {
    OutMessage out = sample_request();
    auto words = to_bytes(encode_words(out));
    std::size_t size = encoded_size(out);
    ASSERT_EQ(size, words.size());
    EXPECT_EQ(size % sizeof(capnp::word), 0u);
    Frame buffer = Frame::allocate(size);
    encode_into(out, buffer.mutable_bytes());
    EXPECT_EQ(std::memcmp(buffer.data(), words.data(), size), 0);
    expect_sample(InMessage::decode(buffer, Limits{}));
}

TEST(Message, AlignedFrameIsDecodedInPlace) {
    OutMessage out = sample_request(1);
    Frame buffer = Frame::allocate(encoded_size(out));
    encode_into(out, buffer.mutable_bytes());
    InMessage in = InMessage::decode(buffer, Limits{});
    EXPECT_EQ(in.envelope().getRequestId(), 1u);
    // The decoded message reads the frame's bytes themselves: re-encoding another message of the
    // same size into them shows through.
    OutMessage other = sample_request(2);
    ASSERT_EQ(encoded_size(other), buffer.size());
    encode_into(other, buffer.mutable_bytes());
    EXPECT_EQ(in.envelope().getRequestId(), 2u);
    EXPECT_EQ(in.request_id(), 1u) << "the header is read once, at decode";
}

TEST(Message, MisalignedFrameIsCopiedToAlignedMemory) {
    OutMessage out = sample_request();
    std::size_t size = encoded_size(out);
    // As ZeroMQ delivers it: at an address that is not a multiple of 8.
    Frame big = Frame::allocate(size + 16);
    Frame misaligned = big.slice(3, size);
    ASSERT_LT(misaligned.alignment(), alignof(capnp::word));
    encode_into(out, misaligned.mutable_bytes());
    InMessage in = InMessage::decode(misaligned, Limits{});
    expect_sample(in);
    // A copy: overwriting the received bytes afterwards does not change the decoded message.
    std::memset(big.data(), 0xee, big.size());
    expect_sample(in);
}

TEST(Message, EveryMisalignmentDecodes) {
    OutMessage out = sample_request();
    std::size_t size = encoded_size(out);
    Frame big = Frame::allocate(size + 16);
    for (std::size_t offset = 1; offset < 8; ++offset) {
        Frame f = big.slice(offset, size);
        encode_into(out, f.mutable_bytes());
        expect_sample(InMessage::decode(f, Limits{}));
    }
}

TEST(Message, EmptyFrameIsInvalid) {
    auto e = expect_invalid([] { InMessage::decode(Frame{}, Limits{}); });
    EXPECT_NE(e.message().find("8-byte words"), std::string::npos) << e.what();
}

TEST(Message, SizeNotAMultipleOfEightIsInvalid) {
    OutMessage out = sample_request();
    auto bytes = to_bytes(encode_words(out));
    Frame f = Frame::copy_of(std::span<const std::byte>(bytes).first(bytes.size() - 3));
    auto e = expect_invalid([&] { InMessage::decode(f, Limits{}); });
    EXPECT_NE(e.message().find("not a whole number of 8-byte words"), std::string::npos)
        << e.what();
}

TEST(Message, TruncatedEnvelopeIsInvalid) {
    OutMessage out = sample_request();
    auto bytes = to_bytes(encode_words(out));
    std::size_t words = bytes.size() / sizeof(capnp::word);
    ASSERT_GE(words, 4u);
    for (std::size_t keep : {std::size_t{1}, words / 2, words - 1}) {
        Frame f = Frame::copy_of(std::span<const std::byte>(bytes).first(keep * 8));
        auto e = expect_invalid([&] { InMessage::decode(f, Limits{}); });
        EXPECT_NE(e.message().find("malformed envelope"), std::string::npos) << e.what();
    }
}

TEST(Message, GarbageIsInvalid) {
    // A segment table announcing 2^32 segments.
    std::vector<std::byte> ff(64, std::byte{0xff});
    auto e = expect_invalid([&] { InMessage::decode(Frame::copy_of(ff), Limits{}); });
    EXPECT_NE(e.message().find("malformed envelope"), std::string::npos) << e.what();

    // One segment of 2 words whose root pointer points far outside the segment.
    std::vector<std::byte> far(24, std::byte{0});
    std::uint32_t table[2] = {0, 2}; // 1 segment, 2 words
    std::memcpy(far.data(), table, sizeof(table));
    std::uint64_t root = (std::uint64_t{1} << 32) | (0x3fff'fff0ull << 2); // struct, huge offset
    std::memcpy(far.data() + 8, &root, sizeof(root));
    e = expect_invalid([&] { InMessage::decode(Frame::copy_of(far), Limits{}); });
    EXPECT_NE(e.message().find("malformed envelope"), std::string::npos) << e.what();

    // The same through the word-array path.
    auto words = kj::heapArray<capnp::word>(far.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), far.data(), far.size());
    expect_invalid([&] { InMessage::decode(std::move(words), Limits{}); });
}

TEST(Message, EnvelopeOverTheSizeLimitIsInvalid) {
    OutMessage out = sample_request();
    auto bytes = to_bytes(encode_words(out));
    Limits limits;
    limits.max_envelope_bytes = bytes.size() - 8;
    auto e = expect_invalid([&] { InMessage::decode(Frame::copy_of(bytes), limits); });
    EXPECT_NE(e.message().find("exceeds the limit"), std::string::npos) << e.what();
    limits.max_envelope_bytes = bytes.size();
    EXPECT_NO_THROW(InMessage::decode(Frame::copy_of(bytes), limits));
}

TEST(Message, TraversalLimitIsApplied) {
    OutMessage out = sample_request();
    out.envelope().setService(std::string(4000, 's')); // 500 words of text
    Limits limits;
    limits.traversal_limit_words = 64;
    auto bytes = to_bytes(encode_words(out));
    auto e = expect_invalid([&] { InMessage::decode(Frame::copy_of(bytes), limits); });
    EXPECT_NE(e.message().find("traversal limit"), std::string::npos) << e.what();
    expect_invalid([&] { InMessage::decode(encode_words(out), limits); });
    // The same bytes under the default limits are fine.
    EXPECT_EQ(InMessage::decode(Frame::copy_of(bytes), Limits{}).envelope().getService().size(),
              4000u);
}

TEST(Message, ErrorRoundTripKeepsKindAndMessage) {
    OutMessage out = OutMessage::error(Error(ErrorKind::UNSUPPORTED, "no int4 here"));
    out.envelope().setRequestId(8);
    EXPECT_TRUE(out.is_error());
    InMessage in = InMessage::decode(encode_words(out), Limits{});
    ASSERT_TRUE(in.is_error());
    EXPECT_EQ(in.request_id(), 8u);
    Error e = in.error();
    EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED);
    EXPECT_EQ(e.message(), "no int4 here");
    EXPECT_TRUE(e.moved_to().empty());
    try {
        in.throw_if_error();
        FAIL() << "throw_if_error did not throw";
    } catch (const Error& thrown) {
        EXPECT_EQ(thrown.kind(), ErrorKind::UNSUPPORTED);
    }
}

TEST(Message, MovedErrorRoundTripKeepsTheRoute) {
    OutMessage out = OutMessage::error(Error::moved("ipc:///run/loom/reader-2", 12, "moved away"));
    InMessage in = InMessage::decode(encode_words(out), Limits{});
    ASSERT_TRUE(in.is_error());
    Error e = in.error();
    EXPECT_EQ(e.kind(), ErrorKind::MOVED);
    EXPECT_EQ(e.message(), "moved away");
    EXPECT_EQ(e.moved_to(), "ipc:///run/loom/reader-2");
    EXPECT_EQ(e.moved_epoch(), 12u);
}

TEST(Message, UnknownErrorKindReadsAsInternal) {
    // A newer peer may send a kind appended after this build: it must not read as garbage.
    OutMessage out;
    auto err = out.envelope().getBody().initError();
    err.setKind(static_cast<schema::ErrorKind>(200));
    err.setMessage("from the future");
    InMessage in = InMessage::decode(encode_words(out), Limits{});
    ASSERT_TRUE(in.is_error());
    EXPECT_EQ(in.error().kind(), ErrorKind::INTERNAL);
    EXPECT_EQ(in.error().message(), "from the future");
}

TEST(Message, PayloadReplyIsNotAnError) {
    OutMessage out = sample_request();
    InMessage in = InMessage::decode(encode_words(out), Limits{});
    EXPECT_NO_THROW(in.throw_if_error());
}

TEST(Message, FramesAreInTheOrderGiven) {
    OutMessage out;
    EXPECT_EQ(out.add_frame(Frame::copy_of(std::vector<std::byte>(10))), 0u);
    EXPECT_EQ(out.add_frame(Frame::copy_of(std::vector<std::byte>(20))), 1u);
    EXPECT_EQ(out.frames().size(), 2u);
    EXPECT_EQ(out.frame_bytes(), 30u);

    InMessage in = InMessage::decode(encode_words(out), Limits{});
    Frame a = Frame::allocate(4), b = Frame::allocate(8);
    in.set_frames({a, b});
    ASSERT_EQ(in.frame_count(), 2u);
    EXPECT_EQ(in.frame(0).data(), a.data());
    EXPECT_EQ(in.frame(1).data(), b.data());
    EXPECT_EQ(in.frames().size(), 2u);
}

TEST(Message, FrameOutOfRangeIsInvalid) {
    OutMessage out;
    InMessage in = InMessage::decode(encode_words(out), Limits{});
    in.set_frames({Frame::allocate(4)});
    auto e = expect_invalid([&] { (void)in.frame(1); });
    EXPECT_NE(e.message().find("frame index 1 out of range"), std::string::npos) << e.what();
    expect_invalid([&] { (void)in.frame(0xffffffffu); });
}

TEST(Message, DecodedMessageOutlivesTheSourceFrame) {
    InMessage in;
    {
        OutMessage out = sample_request();
        Frame f = Frame::allocate(encoded_size(out));
        encode_into(out, f.mutable_bytes());
        in = InMessage::decode(std::move(f), Limits{});
    }
    expect_sample(in);
    InMessage moved = std::move(in);
    expect_sample(moved);
}

} // namespace
} // namespace loom::bus
