// Untrusted bytes against a running bus::Server (DESIGN.md §3 "Untrusted bytes"): raw DEALER
// sockets send garbage, truncated envelopes, bad frame tables, too many or too large frames and
// forged shared-memory references. Each is either answered invalid_argument with its request id
// or, when there is no request id to answer to, dropped — and the same server keeps serving.

#include "bus/server.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstring>

#include <capnp/any.h>

#include "bus/channel.hpp"
#include "bus/endpoint.hpp"
#include "schemas/element_type.hpp"
#include "schemas/schema_enums.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/expect.hpp"
#include "tests/support/test_service.hpp"

namespace loom::bus {
namespace {

using namespace std::chrono_literals;
using test::TestMethod;

constexpr std::uint32_t k_max_frames = 4;
constexpr std::int64_t k_max_frame_bytes = 1 << 20;
constexpr std::uint64_t k_traversal_limit_words = 2000;

ContextOptions small_limits() {
    ContextOptions options;
    options.limits.max_frames = k_max_frames;
    options.limits.max_frame_bytes = k_max_frame_bytes;
    options.limits.max_message_bytes = static_cast<std::uint64_t>(k_max_frame_bytes);
    options.limits.traversal_limit_words = k_traversal_limit_words;
    return options;
}

std::vector<std::byte> bytes_of(std::size_t size, unsigned seed) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((i * 13 + seed) & 0xff);
    return bytes;
}

zmq::message_t part(const std::vector<std::byte>& bytes) {
    return zmq::message_t(bytes.data(), bytes.size());
}

std::vector<std::byte> encoded(OutMessage& message) {
    auto words = encode_words(message);
    auto bytes = words.asBytes();
    std::vector<std::byte> out(bytes.size());
    std::memcpy(out.data(), bytes.begin(), bytes.size());
    return out;
}

// An echo request for `tensors` u8 tensors of `bytes` bytes, the i-th in socket frame i + 1.
OutMessage echo_request(std::uint64_t id, std::uint32_t tensors, std::size_t bytes) {
    OutMessage m;
    auto env = m.envelope();
    env.setRequestId(id);
    env.setService("svc");
    env.setMethod(static_cast<std::uint16_t>(TestMethod::ECHO));
    auto p = m.init_payload<test::schema::EchoRequest>();
    p.setValue(static_cast<std::int64_t>(id));
    p.setText("raw");
    auto descs = p.initTensors(tensors);
    auto table = env.initFrames(tensors);
    for (std::uint32_t i = 0; i < tensors; ++i) {
        descs[i].setElementType(to_schema(ElementType::U8));
        descs[i].initShape(1).set(0, static_cast<std::int64_t>(bytes));
        descs[i].setByteSize(bytes);
        descs[i].setFrame(i);
        table[i].setSocket(i + 1);
    }
    return m;
}

// The next reply on a raw socket (frames in socket order), or nothing within `budget`.
std::optional<InMessage> receive_on(zmq::socket_t& raw, std::chrono::milliseconds budget = 5s) {
    zmq::pollitem_t item{raw.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, budget);
    if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
    std::vector<zmq::message_t> parts;
    do {
        zmq::message_t p;
        (void)raw.recv(p, zmq::recv_flags::none);
        parts.push_back(std::move(p));
    } while (parts.back().more());
    InMessage reply = InMessage::decode(Frame::adopt(std::move(parts[0])), Limits{});
    std::vector<Frame> frames;
    for (std::size_t i = 1; i < parts.size(); ++i)
        frames.push_back(Frame::adopt(std::move(parts[i])));
    reply.set_frames(std::move(frames));
    return reply;
}

class BadInput : public ::testing::TestWithParam<Transport> {
protected:
    void SetUp() override {
        ServerOptions options;
        switch (GetParam()) {
        case Transport::inproc:
            options.endpoints = {
                fmt::format("inproc://bad-input-{}-{}", ::getpid(), counter.fetch_add(1))};
            break;
        case Transport::ipc:
            options.endpoints = {dir.ipc("svc")};
            break;
        case Transport::tcp:
            options.endpoints = {"tcp://127.0.0.1:*"};
            options.insecure = true; // what a peer past the handshake could send
            break;
        }
        server = std::make_unique<Server>(context, test::make_test_service("svc", "v1"), options);
        endpoint = server->endpoints().front();

        raw = zmq::socket_t(context.zmq(), zmq::socket_type::dealer);
        raw.set(zmq::sockopt::linger, 0);
        if (GetParam() != Transport::inproc) {
            auto address = fmt::format("inproc://bad-input-monitor-{}", counter.fetch_add(1));
            ASSERT_EQ(zmq_socket_monitor(raw.handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED), 0);
            monitor = zmq::socket_t(context.zmq(), zmq::socket_type::pair);
            monitor.set(zmq::sockopt::linger, 0);
            monitor.connect(address);
            monitoring = true;
        }
        raw.connect(endpoint);
    }

    void TearDown() override {
        if (monitoring) zmq_socket_monitor(raw.handle(), nullptr, 0);
        monitor.close();
        raw.close();
    }

    void send(std::vector<zmq::message_t> parts) {
        for (std::size_t i = 0; i < parts.size(); ++i)
            ASSERT_TRUE(raw.send(parts[i], i + 1 == parts.size() ? zmq::send_flags::none
                                                                 : zmq::send_flags::sndmore));
    }
    void send(OutMessage& envelope, std::vector<std::vector<std::byte>> frames = {}) {
        std::vector<zmq::message_t> parts;
        parts.push_back(part(encoded(envelope)));
        for (auto& f : frames)
            parts.push_back(part(f));
        send(std::move(parts));
    }

    std::optional<InMessage> receive(std::chrono::milliseconds budget = 5s) {
        return receive_on(raw, budget);
    }

    // The reply to `id` must be invalid_argument naming `says`.
    void expect_invalid_reply(std::uint64_t id, std::string_view says) {
        auto reply = receive();
        ASSERT_TRUE(reply.has_value()) << "no reply within 5 s";
        EXPECT_EQ(reply->request_id(), id);
        ASSERT_TRUE(reply->is_error()) << "bad input was served";
        Error e = reply->error();
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        EXPECT_NE(e.message().find(says), std::string::npos)
            << "'" << e.message() << "' does not say '" << says << "'";
    }

    // The server answers a valid request on the same raw socket, and that answer is the next
    // thing the socket receives (so nothing was sent back for what came before it), and a
    // normal channel is still served.
    void expect_still_serving() {
        std::uint64_t id = next_id++;
        auto request = echo_request(id, 1, 24);
        auto tensor = bytes_of(24, 9);
        send(request, {tensor});
        auto reply = receive();
        ASSERT_TRUE(reply.has_value()) << "the server stopped answering this socket";
        ASSERT_EQ(reply->request_id(), id) << "an unexpected reply came first";
        ASSERT_FALSE(reply->is_error()) << reply->error().what();
        auto echo = reply->payload<test::schema::EchoReply>();
        EXPECT_EQ(echo.getValue(), static_cast<std::int64_t>(id));
        ASSERT_EQ(reply->frame_count(), 1u);
        EXPECT_EQ(std::memcmp(reply->frame(0).data(), tensor.data(), tensor.size()), 0);

        Channel channel(context, endpoint, "svc", ChannelOptions{.allow_direct = false});
        OutMessage m;
        m.init_payload<test::schema::EchoRequest>().setValue(77);
        auto r = channel.call(TestMethod::ECHO, std::move(m), {.timeout = 5s});
        EXPECT_EQ(r.payload<test::schema::EchoReply>().getValue(), 77);
    }

    // Waits until the server drops the raw socket's connection (ipc/tcp).
    bool wait_disconnected(std::chrono::milliseconds budget = 5s) {
        auto give_up = Clock::now() + budget;
        while (Clock::now() < give_up) {
            zmq::pollitem_t item{monitor.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, std::chrono::milliseconds(100));
            if (!(item.revents & ZMQ_POLLIN)) continue;
            zmq::message_t event, address;
            (void)monitor.recv(event, zmq::recv_flags::none);
            if (event.more()) (void)monitor.recv(address, zmq::recv_flags::none);
            std::uint16_t id = 0;
            std::memcpy(&id, event.data(), sizeof(id));
            if (id == ZMQ_EVENT_DISCONNECTED) return true;
        }
        return false;
    }

    static inline std::atomic<int> counter{0};
    Context context{small_limits()};
    test::TempDir dir;
    std::unique_ptr<Server> server;
    std::string endpoint;
    zmq::socket_t raw;
    zmq::socket_t monitor;
    bool monitoring = false;
    std::uint64_t next_id = 1000;
};

TEST_P(BadInput, ValidRawRequestsAreServed) {
    // The raw envelopes below are built the same way: a valid one must work, or the negative
    // cases prove nothing. Exactly max_frames side frames is allowed.
    auto request = echo_request(5, k_max_frames, 16);
    std::vector<std::vector<std::byte>> frames;
    for (std::uint32_t i = 0; i < k_max_frames; ++i)
        frames.push_back(bytes_of(16, i));
    send(request, frames);
    auto reply = receive();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->request_id(), 5u);
    ASSERT_FALSE(reply->is_error()) << reply->error().what();
    ASSERT_EQ(reply->frame_count(), k_max_frames);
    for (std::uint32_t i = 0; i < k_max_frames; ++i)
        EXPECT_EQ(std::memcmp(reply->frame(i).data(), frames[i].data(), 16), 0) << i;
    EXPECT_EQ(server->malformed(), 0u);
    expect_still_serving();
}

TEST_P(BadInput, GarbageFrameIsDropped) {
    send([] {
        std::vector<zmq::message_t> parts;
        parts.push_back(part(bytes_of(13, 1)));
        return parts;
    }());
    expect_still_serving();
    EXPECT_EQ(server->malformed(), 1u);

    // Whole words of garbage: a segment table announcing an absurd segment.
    send([] {
        std::vector<zmq::message_t> parts;
        parts.push_back(part(std::vector<std::byte>(64, std::byte{0xff})));
        return parts;
    }());
    expect_still_serving();
    EXPECT_EQ(server->malformed(), 2u);

    // An empty frame.
    send([] {
        std::vector<zmq::message_t> parts;
        parts.emplace_back();
        return parts;
    }());
    expect_still_serving();
    EXPECT_EQ(server->malformed(), 3u);
}

TEST_P(BadInput, TruncatedEnvelopeIsDropped) {
    auto request = echo_request(11, 1, 16);
    auto whole = encoded(request);
    std::size_t half = whole.size() / 16 * 8; // the first half, in whole words
    ASSERT_GT(half, 0u);
    std::vector<zmq::message_t> parts;
    parts.emplace_back(whole.data(), half);
    parts.push_back(part(bytes_of(16, 1)));
    send(std::move(parts));
    expect_still_serving();
    EXPECT_EQ(server->malformed(), 1u);
}

TEST_P(BadInput, FrameIndexOutOfRangeIsInvalidArgument) {
    auto request = echo_request(21, 1, 16);
    request.envelope().getFrames()[0].setSocket(5);
    send(request, {bytes_of(16, 1)});
    expect_invalid_reply(21, "refers to socket frame 5");
    EXPECT_EQ(server->malformed(), 1u);

    // Index 0 is the envelope itself, never a side frame.
    auto zero = echo_request(22, 1, 16);
    zero.envelope().getFrames()[0].setSocket(0);
    send(zero, {bytes_of(16, 1)});
    expect_invalid_reply(22, "refers to socket frame 0");
    EXPECT_EQ(server->malformed(), 2u);
    expect_still_serving();
}

TEST_P(BadInput, FrameReferencedTwiceIsInvalidArgument) {
    auto request = echo_request(31, 2, 16);
    request.envelope().getFrames()[1].setSocket(1);
    send(request, {bytes_of(16, 1), bytes_of(16, 2)});
    expect_invalid_reply(31, "referenced twice");
    EXPECT_EQ(server->malformed(), 1u);
    expect_still_serving();
}

TEST_P(BadInput, MoreFramesThanTheLimitIsInvalidArgument) {
    // More socket frames than max_frames.
    auto request = echo_request(41, k_max_frames + 2, 8);
    std::vector<std::vector<std::byte>> frames;
    for (std::uint32_t i = 0; i < k_max_frames + 2; ++i)
        frames.push_back(bytes_of(8, i));
    send(request, frames);
    expect_invalid_reply(41, fmt::format("more than {} side frames", k_max_frames));
    EXPECT_EQ(server->malformed(), 1u);

    // A frame table longer than max_frames, whatever the socket carries.
    auto listed = echo_request(42, k_max_frames + 1, 8);
    send(listed, {bytes_of(8, 0)});
    expect_invalid_reply(42, fmt::format("the limit is {}", k_max_frames));
    EXPECT_EQ(server->malformed(), 2u);
    expect_still_serving();
}

TEST_P(BadInput, FrameAboveTheSizeLimit) {
    auto big = static_cast<std::size_t>(k_max_frame_bytes) * 2;
    auto request = echo_request(51, 1, big);
    send(request, {bytes_of(big, 3)});
    if (GetParam() == Transport::inproc) {
        // No ZeroMQ decoder in process: the service checks the request's size itself.
        expect_invalid_reply(51, "accepts at most");
    } else {
        // ZMQ_MAXMSGSIZE: ZeroMQ drops the connection, nothing can answer.
        ASSERT_TRUE(wait_disconnected()) << "the oversized frame did not drop the connection";
        EXPECT_FALSE(receive(0ms).has_value());
        EXPECT_EQ(server->malformed(), 0u) << "the service never saw the message";
    }
    // The raw socket reconnects; the server serves it and everyone else.
    expect_still_serving();
}

TEST_P(BadInput, MalformedDrainRequestIsInvalidArgument) {
    OutMessage m;
    m.envelope().setRequestId(81);
    m.envelope().setService(std::string(k_control_service));
    m.envelope().setMethod(static_cast<std::uint16_t>(schema::ControlMethod::DRAIN));
    m.envelope().getBody().initPayload().setAs<capnp::Text>("not a DrainRequest");
    send(m);
    expect_invalid_reply(81, "malformed");
    EXPECT_EQ(server->dispatcher().state(), schema::ServiceState::SERVING);
    expect_still_serving();
}

// Cap'n Proto counts every read against the traversal limit, also reads of fields the decoder
// has already checked: an envelope that passes decoding can exhaust the limit later, while the
// server admits it or resolves its frames. That must be answered, never crash the server.
TEST_P(BadInput, TraversalLimitReachedAfterDecodingIsAnswered) {
    // A service name of 700 words: decoding reads it once, admission reads it again.
    auto request = echo_request(85, 0, 0);
    request.envelope().setService(std::string(700 * 8 - 1, 's'));
    send(request);
    auto reply = receive();
    ASSERT_TRUE(reply.has_value()) << "no reply within 5 s";
    EXPECT_EQ(reply->request_id(), 85u);
    ASSERT_TRUE(reply->is_error());
    auto kind = reply->error().kind();
    EXPECT_TRUE(kind == ErrorKind::INVALID_ARGUMENT || kind == ErrorKind::NOT_FOUND)
        << reply->error().what();
    expect_still_serving();

    // A frame table of 900 entries (1800 words): decoding reads it once, resolving the frames
    // again.
    auto table = echo_request(86, 0, 0);
    table.envelope().initFrames(900);
    send(table);
    expect_invalid_reply(86, "malformed frame table");
    expect_still_serving();
}

TEST_P(BadInput, SharedMemoryReferenceWithoutASessionIsInvalidArgument) {
    for (std::uint64_t token : {std::uint64_t{0}, std::uint64_t{0x5eed}}) {
        std::uint64_t id = 60 + token % 7;
        auto request = echo_request(id, 1, 16);
        request.envelope().setShmSession(token);
        auto shm = request.envelope().getFrames()[0].initShm();
        shm.setPool(1);
        shm.setSlot(0);
        shm.setLength(16);
        shm.setGeneration(1);
        send(request);
        expect_invalid_reply(id, "shared-memory session");
    }
    EXPECT_EQ(server->malformed(), 2u);
    expect_still_serving();
}

// Shared-memory sessions exist on ipc:// endpoints only.
class BadInputShm : public BadInput {
protected:
    std::shared_ptr<ShmSession> open_session() {
        auto path = parse_endpoint(endpoint).address;
        auto session = connect_shm(path, ShmOptions{}, Clock::now() + 5s);
        EXPECT_NE(session, nullptr) << "the server offers no shared memory at " << path;
        return session;
    }
};

TEST_P(BadInputShm, SharedMemoryReferenceToAPoolNeverLent) {
    auto session = open_session();
    ASSERT_NE(session, nullptr);

    auto request = echo_request(71, 1, 16);
    request.envelope().setShmSession(session->token());
    auto ref = request.envelope().getFrames()[0].initShm();
    ref.setPool(9);
    ref.setSlot(0);
    ref.setLength(16);
    ref.setGeneration(1);
    send(request);
    expect_invalid_reply(71, "no such pool was lent");
    EXPECT_EQ(server->malformed(), 1u);

    // A pool this session really lent, but a slot it does not have.
    auto tensor = Frame::copy_of(bytes_of(16, 4));
    auto forged = echo_request(72, 1, 16);
    forged.envelope().setShmSession(session->token());
    auto slot = forged.envelope().getFrames()[0].initShm();
    ASSERT_TRUE(session->send(tensor, slot));
    slot.setSlot(ShmOptions{}.slots_per_pool + 3);
    send(forged);
    expect_invalid_reply(72, "bad shared-memory reference");
    EXPECT_EQ(server->malformed(), 2u);

    // The same session with a genuine reference is served: the refusals were about the
    // references, not the session.
    auto genuine = echo_request(73, 1, 16);
    genuine.envelope().setShmSession(session->token());
    ASSERT_TRUE(session->send(tensor, genuine.envelope().getFrames()[0].initShm()));
    send(genuine);
    auto reply = receive();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->request_id(), 73u);
    ASSERT_FALSE(reply->is_error()) << reply->error().what();
    ASSERT_EQ(reply->frame_count(), 1u);
    EXPECT_EQ(std::memcmp(reply->frame(0).data(), tensor.data(), 16), 0);
    EXPECT_EQ(server->malformed(), 2u);
    expect_still_serving();
}

TEST_P(BadInputShm, MalformedSharedMemoryReferenceIsInvalidArgument) {
    auto session = open_session();
    ASSERT_NE(session, nullptr);
    auto request = echo_request(91, 1, 16);
    request.envelope().setShmSession(session->token());
    auto ref = request.envelope().getFrames()[0];
    ref.initShm().setLength(16);
    // The union says `shm`, but its pointer holds a text instead of a ShmRef struct.
    capnp::AnyStruct::Builder any = capnp::toAny(ref);
    any.getPointerSection()[0].setAs<capnp::Text>("not a ShmRef");
    send(request);
    expect_invalid_reply(91, "malformed frame table");
    EXPECT_EQ(server->malformed(), 1u);
    expect_still_serving();
}

// A peer's requests in flight on one connection are bounded in bytes (Limits::
// max_in_flight_bytes): one past the bound is answered `overloaded` at once, and the connection
// is served again once earlier requests are answered.
TEST(InFlightBudget, ARequestPastAConnectionsBudgetIsOverloadedAtOnce) {
    ContextOptions options;
    options.limits.max_in_flight_bytes = 64 << 10;
    Context context(options);
    test::TempDir dir;
    Server server(context, test::make_test_service("svc", "v1"),
                  ServerOptions{.endpoints = {dir.ipc("svc")}});
    zmq::socket_t raw(context.zmq(), zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.connect(server.endpoints().front());
    auto hold = [&](std::uint64_t id) {
        OutMessage m;
        auto env = m.envelope();
        env.setRequestId(id);
        env.setService("svc");
        env.setMethod(static_cast<std::uint16_t>(TestMethod::HOLD));
        m.init_payload<test::schema::HoldRequest>().setCapMs(20000);
        env.initFrames(1)[0].setSocket(1);
        auto frame = bytes_of(40 << 10, static_cast<unsigned>(id));
        auto envelope = encoded(m);
        raw.send(part(envelope), zmq::send_flags::sndmore);
        raw.send(part(frame), zmq::send_flags::none);
    };
    auto receive = [&] {
        auto reply = receive_on(raw, 10s);
        EXPECT_TRUE(reply.has_value()) << "no reply within 10 s";
        return reply ? std::move(*reply) : InMessage{};
    };
    // A release reaches only holds already running: wait for the hold to run first.
    auto release_running_hold = [&] {
        ASSERT_TRUE(test::eventually([&] {
            OutMessage m;
            m.init_payload<test::schema::StatsRequest>();
            return Channel(context, server.endpoints().front(), "svc")
                       .call(TestMethod::STATS, std::move(m), {.timeout = 5s})
                       .payload<test::schema::Stats>()
                       .getHolding() == 1;
        })) << "the held request never started";
        Channel other(context, server.endpoints().front(), "svc");
        OutMessage m;
        m.init_payload<test::schema::ReleaseRequest>();
        other.call(TestMethod::RELEASE, std::move(m), {.timeout = 10s});
    };
    hold(1); // 40 KiB held
    hold(2); // 80 KiB would be in flight
    auto refused = receive();
    EXPECT_EQ(refused.request_id(), 2u);
    ASSERT_TRUE(refused.is_error());
    EXPECT_EQ(refused.error().kind(), ErrorKind::OVERLOADED) << refused.error().what();
    EXPECT_NE(refused.error().message().find("in flight"), std::string::npos);
    ASSERT_NO_FATAL_FAILURE(release_running_hold());
    auto first = receive();
    EXPECT_EQ(first.request_id(), 1u);
    EXPECT_FALSE(first.is_error());
    hold(3); // the budget is back: served, not refused
    ASSERT_NO_FATAL_FAILURE(release_running_hold());
    auto third = receive();
    EXPECT_EQ(third.request_id(), 3u);
    EXPECT_FALSE(third.is_error());
}

INSTANTIATE_TEST_SUITE_P(Ipc, BadInputShm, ::testing::Values(Transport::ipc),
                         [](const auto& param_info) {
                             return std::string(to_string(param_info.param));
                         });

INSTANTIATE_TEST_SUITE_P(Transports, BadInput,
                         ::testing::Values(Transport::inproc, Transport::ipc, Transport::tcp),
                         [](const auto& param_info) {
                             return std::string(to_string(param_info.param));
                         });

} // namespace
} // namespace loom::bus
