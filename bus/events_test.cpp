// PUB/SUB events (DESIGN.md §3): topic-prefix filtering and payload decoding over inproc and
// tcp, and malformed events skipped by the subscriber.

#include "bus/events.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <vector>

namespace loom::bus {
namespace {

using namespace std::chrono_literals;

std::string inproc_name(const char* what) {
    static std::atomic<int> counter{0};
    return fmt::format("inproc://events-{}-{}-{}", what, ::getpid(), counter.fetch_add(1));
}

void publish_status(Publisher& publisher, std::string_view topic, const std::string& name,
                    std::uint64_t served) {
    capnp::MallocMessageBuilder message;
    auto status = message.initRoot<schema::ServiceStatus>();
    status.setName(name);
    status.setServed(served);
    status.setState(schema::ServiceState::DRAINING);
    publisher.publish(topic, message);
}

// Publishes `topic` until the subscriber sees it (a subscription takes effect some time after
// connecting: ZeroMQ's slow joiner). Returns false if nothing arrived within the bound.
bool join(Publisher& publisher, Subscriber& subscriber, std::string_view topic) {
    auto give_up = Clock::now() + 10s;
    for (std::uint64_t i = 0; Clock::now() < give_up; ++i) {
        publish_status(publisher, topic, "join", i);
        if (auto event = subscriber.next(Clock::now() + 10ms)) {
            EXPECT_EQ(event->topic(), topic);
            return true;
        }
    }
    return false;
}

// The next event that is not a leftover of join(), within a bound.
std::optional<Event> next_after_join(Subscriber& subscriber, std::string_view join_topic) {
    auto give_up = Clock::now() + 5s;
    while (auto event = subscriber.next(give_up))
        if (event->topic() != join_topic ||
            std::string(event->as<schema::ServiceStatus>().getName().cStr()) != "join")
            return event;
    return std::nullopt;
}

class Events : public ::testing::TestWithParam<std::string> {
protected:
    // Plain tcp (the transport is under test; CURVE events are tested with the kernel).
    static constexpr bool k_insecure = true;
    std::string endpoint() {
        return GetParam() == "inproc" ? inproc_name("p") : "tcp://127.0.0.1:*";
    }
    Context context;
};

TEST_P(Events, SubscriberGetsOnlyItsTopicsWithTheirPayload) {
    Publisher publisher(context, {endpoint()}, std::nullopt, k_insecure);
    ASSERT_EQ(publisher.endpoints().size(), 1u);
    const std::string& bound = publisher.endpoints().front();
    if (GetParam() == "tcp") {
        EXPECT_EQ(bound.find('*'), std::string::npos) << "the port was not resolved: " << bound;
    }
    Subscriber subscriber(context, bound, {"component."});
    ASSERT_TRUE(join(publisher, subscriber, "component.up")) << "no event within 10 s";

    // An unsubscribed topic published first must not come before the subscribed one after it.
    publish_status(publisher, "kernel.swapped", "other", 1);
    publish_status(publisher, "componentless", "other", 2);
    publish_status(publisher, "component.down", "reader", 42);
    auto event = next_after_join(subscriber, "component.up");
    ASSERT_TRUE(event.has_value()) << "the subscribed event was lost";
    EXPECT_EQ(event->topic(), "component.down");
    auto status = event->as<schema::ServiceStatus>();
    EXPECT_EQ(std::string(status.getName().cStr()), "reader");
    EXPECT_EQ(status.getServed(), 42u);
    EXPECT_EQ(status.getState(), schema::ServiceState::DRAINING);

    // Nothing else is waiting: the unsubscribed events were filtered out.
    EXPECT_FALSE(subscriber.next(Clock::now() + 50ms).has_value());
}

TEST_P(Events, SeveralPrefixesAndSubscribers) {
    Publisher publisher(context, {endpoint()}, std::nullopt, k_insecure);
    const std::string& bound = publisher.endpoints().front();
    Subscriber both(context, bound, {"a.", "b."});
    Subscriber only_b(context, bound, {"b."});
    ASSERT_TRUE(join(publisher, both, "a.join"));
    ASSERT_TRUE(join(publisher, only_b, "b.join"));

    publish_status(publisher, "a.x", "ax", 1);
    publish_status(publisher, "b.y", "by", 2);
    std::vector<std::string> seen;
    auto give_up = Clock::now() + 5s;
    while (seen.size() < 2) {
        auto e = both.next(give_up);
        ASSERT_TRUE(e.has_value()) << "missing events; saw " << seen.size();
        std::string name = e->as<schema::ServiceStatus>().getName().cStr();
        if (name != "join") seen.push_back(e->topic());
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"a.x", "b.y"}));

    auto e = next_after_join(only_b, "b.join");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->topic(), "b.y");
}

TEST_P(Events, NextReturnsNothingAtItsDeadline) {
    Publisher publisher(context, {endpoint()}, std::nullopt, k_insecure);
    Subscriber subscriber(context, publisher.endpoints().front(), {"x"});
    auto start = Clock::now();
    EXPECT_FALSE(subscriber.next(start + 30ms).has_value());
    EXPECT_GE(Clock::now() - start, 30ms);
    EXPECT_FALSE(subscriber.next(start).has_value()) << "a passed deadline returns at once";
}

INSTANTIATE_TEST_SUITE_P(Transports, Events, ::testing::Values("inproc", "tcp"),
                         [](const auto& param_info) { return param_info.param; });

TEST(EventsMalformed, SubscriberSkipsMalformedEvents) {
    Context context;
    std::string endpoint = inproc_name("raw");
    zmq::socket_t raw(context.zmq(), zmq::socket_type::pub);
    raw.set(zmq::sockopt::linger, 0);
    raw.bind(endpoint);
    Subscriber subscriber(context, endpoint, {"t"});

    capnp::MallocMessageBuilder message;
    message.initRoot<schema::ServiceStatus>().setName("valid");
    auto words = capnp::messageToFlatArray(message);
    auto valid = words.asBytes();
    auto send_valid = [&](std::string_view topic) {
        raw.send(zmq::buffer(topic), zmq::send_flags::sndmore);
        raw.send(zmq::buffer(valid.begin(), valid.size()), zmq::send_flags::none);
    };

    // Slow joiner: repeat until the subscription is in place.
    bool joined = false;
    for (auto give_up = Clock::now() + 10s; !joined && Clock::now() < give_up;) {
        send_valid("t.join");
        joined = subscriber.next(Clock::now() + 10ms).has_value();
    }
    ASSERT_TRUE(joined);
    while (subscriber.next(Clock::now() + 20ms)) {
    } // leftovers of joining

    // Not a multiple of 8 bytes; a lone frame; three frames; a bad segment table; then a valid one.
    const char odd[5] = {1, 2, 3, 4, 5};
    raw.send(zmq::buffer(std::string_view("t.odd")), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(odd, sizeof(odd)), zmq::send_flags::none);
    raw.send(zmq::buffer(std::string_view("t.lone")), zmq::send_flags::none);
    raw.send(zmq::buffer(std::string_view("t.three")), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(valid.begin(), valid.size()), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(valid.begin(), valid.size()), zmq::send_flags::none);
    const std::uint32_t table[4] = {0, 0xfffffff0u, 0, 0};
    raw.send(zmq::buffer(std::string_view("t.table")), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(table, sizeof(table)), zmq::send_flags::none);
    send_valid("t.good");

    auto event = subscriber.next(Clock::now() + 5s);
    ASSERT_TRUE(event.has_value()) << "the valid event after the malformed ones was lost";
    EXPECT_EQ(event->topic(), "t.good");
    EXPECT_EQ(std::string(event->as<schema::ServiceStatus>().getName().cStr()), "valid");
}

TEST(EventsMalformed, EventConstructorChecksTheBytes) {
    Limits limits;
    try {
        Event("t", Frame::copy_of(std::vector<std::byte>(12)), limits);
        FAIL() << "accepted 12 bytes";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    }
    std::vector<std::byte> ff(16, std::byte{0xff});
    try {
        Event("t", Frame::copy_of(ff), limits);
        FAIL() << "accepted a bad segment table";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    }
    // Misaligned bytes are copied, not refused.
    capnp::MallocMessageBuilder message;
    message.initRoot<schema::ServiceStatus>().setServed(5);
    auto words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    Frame big = Frame::allocate(bytes.size() + 8);
    Frame odd = big.slice(1, bytes.size());
    std::memcpy(odd.data(), bytes.begin(), bytes.size());
    Event event("t", odd, limits);
    EXPECT_EQ(event.as<schema::ServiceStatus>().getServed(), 5u);
}

} // namespace
} // namespace loom::bus
