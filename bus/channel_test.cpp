// The bus contract, run over every path: direct dispatch, inproc sockets, ipc (with shared
// memory), tcp, and tcp with CURVE. The caller must see the same replies and errors on each.

#include "bus/channel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "bus/server.hpp"
#include "bus/tensor_frame.hpp"
#include "schemas/schema_enums.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/test_service.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;

class ChannelContract : public ::testing::TestWithParam<PathKind> {
protected:
    void SetUp() override {
        setup = serve_on(context, GetParam(), dir, make_test_service("svc", "v1"));
    }
    bus::Channel& channel() { return *setup.channel; }

    // A hold sent from a thread of its own.
    std::future<bus::InMessage> hold_elsewhere(std::chrono::milliseconds cap) {
        return std::async(std::launch::async, [this, cap] {
            bus::OutMessage hold;
            hold.init_payload<schema::HoldRequest>().setCapMs(
                static_cast<std::uint32_t>(cap.count()));
            return channel().call(TestMethod::HOLD, std::move(hold), {.timeout = 30s});
        });
    }
    bool wait_holding() { return test::wait_holding(channel(), 1); }

    bus::OutMessage echo_request(const std::string& text, std::int64_t value) {
        bus::OutMessage m;
        auto p = m.init_payload<schema::EchoRequest>();
        p.setText(text);
        p.setValue(value);
        return m;
    }

    bus::Context context;
    TempDir dir;
    PathSetup setup;
};

TEST_P(ChannelContract, TakesTheExpectedPath) {
    auto expected = std::map<PathKind, bus::Path>{{PathKind::direct, bus::Path::direct},
                                                  {PathKind::inproc, bus::Path::inproc},
                                                  {PathKind::ipc, bus::Path::ipc},
                                                  {PathKind::tcp, bus::Path::tcp},
                                                  {PathKind::tcp_curve, bus::Path::tcp}};
    EXPECT_EQ(channel().path(), expected.at(GetParam()));
}

TEST_P(ChannelContract, EchoesPayload) {
    auto reply = channel().call(TestMethod::ECHO, echo_request("hello", 42));
    auto r = reply.payload<schema::EchoReply>();
    EXPECT_EQ(std::string(r.getText().cStr()), "hello");
    EXPECT_EQ(r.getValue(), 42);
    EXPECT_EQ(std::string(r.getVersion().cStr()), "v1");
    EXPECT_EQ(reply.frame_count(), 0u);
}

TEST_P(ChannelContract, TensorsTravelBesideTheMessage) {
    for (std::size_t bytes :
         {std::size_t{0}, std::size_t{24}, std::size_t{4096}, std::size_t{3u << 20}}) {
        auto frame = bus::Frame::allocate(bytes);
        for (std::size_t i = 0; i < bytes; ++i)
            frame.data()[i] = std::byte(i * 7 + 1);
        bus::OutMessage m = echo_request("t", 1);
        auto tensors = m.payload<schema::EchoRequest>().initTensors(1);
        std::int64_t shape[] = {static_cast<std::int64_t>(bytes)};
        bus::write_tensor(m, tensors[0], ElementType::U8, shape, frame, "bytes");
        auto reply = channel().call(TestMethod::ECHO, std::move(m));
        auto t = bus::read_tensor(reply, reply.payload<schema::EchoReply>().getTensors()[0]);
        EXPECT_EQ(t.type, ElementType::U8);
        EXPECT_EQ(t.name, "bytes");
        ASSERT_EQ(t.data.size(), bytes);
        EXPECT_TRUE(
            std::equal(t.data.bytes().begin(), t.data.bytes().end(), frame.bytes().begin()));
        if (GetParam() == PathKind::direct || GetParam() == PathKind::inproc) {
            // In-process the bus never copies a tensor: the reply views the caller's buffer.
            if (bytes > 32) {
                EXPECT_EQ(t.data.data(), frame.data()) << bytes << " bytes copied";
            }
        }
    }
    if (GetParam() == PathKind::ipc) {
        auto stats = channel().shm_stats();
        ASSERT_TRUE(stats.has_value()) << "no shared-memory session over ipc";
        EXPECT_GE(stats->slots_sent, 1u) << "the 3 MiB tensor did not go through shared memory";
        EXPECT_GE(stats->slots_received, 1u) << "the reply's tensor did not come back in a slot";
    }
}

TEST_P(ChannelContract, ServiceErrorsKeepTheirKindAndMessage) {
    for (auto kind : {ErrorKind::INVALID_ARGUMENT, ErrorKind::NOT_FOUND, ErrorKind::UNSUPPORTED,
                      ErrorKind::OVERLOADED, ErrorKind::INTERNAL}) {
        bus::OutMessage m;
        auto p = m.init_payload<schema::FailRequest>();
        p.setKind(to_schema(kind));
        p.setMessage("input 'x' has the wrong shape");
        try {
            channel().call(TestMethod::FAIL, std::move(m));
            FAIL() << "no error for " << loom::to_string(kind);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), kind);
            EXPECT_EQ(e.message(), "input 'x' has the wrong shape");
        }
    }
}

TEST_P(ChannelContract, UnknownMethodAndServiceAreNotFound) {
    try {
        channel().call_method(999, echo_request("", 0));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
        EXPECT_NE(e.message().find("999"), std::string::npos) << e.what();
    }
    // The same endpoint, asked for a service it does not serve.
    auto setup2 = serve_on(context, GetParam(), dir, make_test_service("other", "v1"));
    bus::ChannelOptions options;
    options.allow_direct = GetParam() == PathKind::direct;
    if (GetParam() == PathKind::tcp_curve) return; // keys are per setup; same dispatcher code
    bus::Channel wrong(context, setup2.endpoint, "nobody", options);
    try {
        wrong.call(TestMethod::ECHO, echo_request("", 0));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
        EXPECT_NE(e.message().find("nobody"), std::string::npos) << e.what();
    }
}

TEST_P(ChannelContract, BadTensorReferenceIsInvalidArgument) {
    bus::OutMessage m = echo_request("x", 0);
    auto t = m.payload<schema::EchoRequest>().initTensors(1)[0];
    t.setElementType(to_schema(ElementType::F32));
    t.initShape(1).set(0, 4);
    t.setByteSize(16);
    t.setFrame(3); // the message carries no frames
    try {
        channel().call(TestMethod::ECHO, std::move(m));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("frame index 3"), std::string::npos) << e.what();
    }
}

TEST_P(ChannelContract, DeadlineGivesTimeoutAndTheChannelStaysUsable) {
    bus::OutMessage hold;
    hold.init_payload<schema::HoldRequest>().setCapMs(2000);
    auto start = bus::Clock::now();
    try {
        channel().call(TestMethod::HOLD, std::move(hold), {.timeout = 100ms});
        FAIL() << "a held request returned before its deadline";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::TIMEOUT) << e.what();
    }
    if (GetParam() != PathKind::direct) {
        // Sockets: the caller is not kept past its deadline.
        EXPECT_LT(bus::Clock::now() - start, 1900ms);
    }
    bus::OutMessage release;
    release.init_payload<schema::ReleaseRequest>();
    channel().call(TestMethod::RELEASE, std::move(release));
    auto reply = channel().call(TestMethod::ECHO, echo_request("after", 7));
    EXPECT_EQ(reply.payload<schema::EchoReply>().getValue(), 7);
}

TEST_P(ChannelContract, ManyThreadsEachReplyMatchesItsRequest) {
    constexpr int k_threads = 4, k_calls = 200;
    std::atomic<int> mismatches{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < k_calls; ++i) {
                std::int64_t value = t * 100000 + i;
                try {
                    auto r = channel().call(TestMethod::ECHO,
                                            echo_request(std::to_string(value), value));
                    auto p = r.payload<schema::EchoReply>();
                    if (p.getValue() != value ||
                        std::string(p.getText().cStr()) != std::to_string(value))
                        mismatches.fetch_add(1);
                } catch (const Error&) {
                    failures.fetch_add(1);
                }
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_EQ(failures.load(), 0);
}

TEST_P(ChannelContract, ManyInFlightRepliesInAnyOrder) {
    // Hold several requests, answer others meanwhile, then release the holds: replies come back
    // out of send order. On sockets the holds are futures of this thread; a direct call runs on
    // its caller's thread, so there each hold gets a thread of its own.
    auto hold_request = [] {
        bus::OutMessage hold;
        hold.init_payload<schema::HoldRequest>().setCapMs(10000);
        return hold;
    };
    std::vector<bus::Future> futures;
    std::vector<std::future<bus::InMessage>> threads;
    for (int i = 0; i < 3; ++i) {
        if (GetParam() == PathKind::direct)
            threads.push_back(std::async(std::launch::async, [&] {
                return channel().call(TestMethod::HOLD, hold_request(), {.timeout = 20s});
            }));
        else
            futures.push_back(
                channel().call_async(TestMethod::HOLD, hold_request(), {.timeout = 20s}));
    }
    std::vector<bus::Future> echoes;
    for (int i = 0; i < 20; ++i)
        echoes.push_back(channel().call_async(TestMethod::ECHO, echo_request("", i)));
    for (int i = 19; i >= 0; --i)
        EXPECT_EQ(echoes[i].get().payload<schema::EchoReply>().getValue(), i);
    ASSERT_TRUE(test::wait_holding(channel(), 3));
    bus::OutMessage release;
    release.init_payload<schema::ReleaseRequest>();
    channel().call(TestMethod::RELEASE, std::move(release));
    for (auto& f : futures)
        EXPECT_TRUE(f.get().payload<schema::HoldReply>().getReleased());
    for (auto& t : threads)
        EXPECT_TRUE(t.get().payload<schema::HoldReply>().getReleased());
}

TEST_P(ChannelContract, CallbackFiresExactlyOnce) {
    constexpr int k_calls = 50;
    std::atomic<int> calls{0}, ok{0};
    std::promise<void> all;
    for (int i = 0; i < k_calls; ++i)
        channel().call_async(TestMethod::ECHO, echo_request("cb", i), {}, [&, i](bus::Result r) {
            if (r.ok() && r.value().payload<schema::EchoReply>().getValue() == i) ok.fetch_add(1);
            if (calls.fetch_add(1) + 1 == k_calls) all.set_value();
        });
    ASSERT_EQ(all.get_future().wait_for(30s), std::future_status::ready);
    EXPECT_EQ(ok.load(), k_calls);
    EXPECT_EQ(calls.load(), k_calls);
}

TEST_P(ChannelContract, CallbackGetsErrors) {
    std::promise<Error> got;
    bus::OutMessage m;
    auto p = m.init_payload<schema::FailRequest>();
    p.setKind(to_schema(ErrorKind::UNSUPPORTED));
    p.setMessage("nope");
    channel().call_async(TestMethod::FAIL, std::move(m), {}, [&](bus::Result r) {
        got.set_value(r.ok() ? Error(ErrorKind::INTERNAL, "no error") : r.error());
    });
    auto f = got.get_future();
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    EXPECT_EQ(f.get().kind(), ErrorKind::UNSUPPORTED);
}

TEST_P(ChannelContract, PingReportsStatus) {
    auto reply = channel().ping();
    auto status = reply.payload<loom::schema::ServiceStatus>();
    EXPECT_EQ(std::string(status.getName().cStr()), "svc");
    EXPECT_EQ(std::string(status.getVersion().cStr()), "v1");
    EXPECT_EQ(status.getState(), loom::schema::ServiceState::SERVING);
    EXPECT_EQ(status.getPid(), ::getpid());
}

TEST_P(ChannelContract, DrainAnswersMovedAndFinishesRunningRequests) {
    // The hold runs on a thread of its own (a direct call runs on its caller's thread).
    auto held = hold_elsewhere(1500ms);
    ASSERT_TRUE(wait_holding());
    // Drain from another thread: it answers once the held request is done.
    auto drained = std::async(std::launch::async, [&] {
        return channel()
            .drain("inproc://elsewhere", 9, {.timeout = 20s})
            .payload<loom::schema::ServiceStatus>()
            .getState();
    });
    // New requests are answered `moved` with the new route.
    for (auto until = bus::Clock::now() + 10s;;) {
        try {
            channel().call(TestMethod::ECHO, echo_request("", 0));
            ASSERT_LT(bus::Clock::now(), until) << "never started draining";
        } catch (const Error& e) {
            ASSERT_EQ(e.kind(), ErrorKind::MOVED) << e.what();
            EXPECT_EQ(e.moved_to(), "inproc://elsewhere");
            EXPECT_EQ(e.moved_epoch(), 9u);
            break;
        }
    }
    EXPECT_EQ(drained.wait_for(0ms), std::future_status::timeout) << "drained while running";
    // The held request still finishes on the draining service (at its cap: a release would be
    // answered `moved` too), and only then is the service drained.
    EXPECT_FALSE(held.get().payload<schema::HoldReply>().getReleased());
    EXPECT_EQ(drained.get(), loom::schema::ServiceState::DRAINED);
}

TEST_P(ChannelContract, StoppingFinishesRunningRequestsThenRefusesNewOnes) {
    auto held = hold_elsewhere(500ms);
    ASSERT_TRUE(wait_holding());
    // Stopped without draining while the request runs: stop() lets the handler finish and its
    // reply go out before the endpoint closes.
    setup.server->stop();
    EXPECT_FALSE(held.get().payload<schema::HoldReply>().getReleased());
    // Afterwards nobody serves: the next call fails fast and says so.
    try {
        channel().call(TestMethod::ECHO, echo_request("", 0), {.timeout = 3s});
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(e.kind() == ErrorKind::UNAVAILABLE || e.kind() == ErrorKind::DISCONNECTED)
            << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(EveryPath, ChannelContract, ::testing::ValuesIn(all_paths()),
                         [](const auto& param_info) { return to_string(param_info.param); });

} // namespace
} // namespace loom::test
