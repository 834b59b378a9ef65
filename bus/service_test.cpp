// The Dispatcher, driven directly: admission (service, method, deadline, state), handler
// outcomes and their error kinds, the control methods, and draining — including a drain racing
// with many threads admitting and running requests, where no request may be lost.

#include "bus/service.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace loom::bus {
namespace {

using namespace std::chrono_literals;

enum class Method : std::uint16_t { ok = 0, loom_error = 1, std_error = 2, malformed = 3 };

InMessage to_in(OutMessage& out) {
    return InMessage::decode(encode_words(out), Limits{});
}

InMessage request(std::string_view service, std::uint16_t method, std::uint64_t id = 7,
                  std::uint64_t deadline_us = 0) {
    OutMessage m;
    auto env = m.envelope();
    env.setRequestId(id);
    env.setService(std::string(service));
    env.setMethod(method);
    env.setDeadlineUs(deadline_us);
    m.init_payload<schema::PingRequest>();
    return to_in(m);
}

InMessage request(std::string_view service, Method method, std::uint64_t id = 7,
                  std::uint64_t deadline_us = 0) {
    return request(service, static_cast<std::uint16_t>(method), id, deadline_us);
}

InMessage control(schema::ControlMethod method, std::string moved_to = {},
                  std::uint64_t epoch = 0) {
    OutMessage m;
    m.envelope().setRequestId(99);
    m.envelope().setService(std::string(k_control_service));
    m.envelope().setMethod(static_cast<std::uint16_t>(method));
    if (method == schema::ControlMethod::DRAIN) {
        auto p = m.init_payload<schema::DrainRequest>();
        p.setMovedTo(moved_to);
        p.setMovedEpoch(epoch);
    } else {
        m.init_payload<schema::PingRequest>();
    }
    return to_in(m);
}

// The error an answer or reply carries (after a trip through the encoder).
Error error_of(OutMessage& reply) {
    InMessage in = to_in(reply);
    EXPECT_TRUE(in.is_error()) << "expected an error reply";
    if (!in.is_error()) return Error(ErrorKind::INTERNAL, "not an error");
    return in.error();
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

class DispatcherTest : public ::testing::Test {
protected:
    DispatcherTest() {
        auto s = std::make_shared<Service>("svc", "v3");
        s->on(Method::ok, [this](Call& call) {
            runs.fetch_add(1);
            call.init_reply<schema::ServiceStatus>().setName("ran");
        });
        s->on(Method::loom_error, [this](Call&) {
            runs.fetch_add(1);
            throw Error(ErrorKind::UNSUPPORTED, "f16 is not supported here");
        });
        s->on(Method::std_error, [this](Call&) {
            runs.fetch_add(1);
            throw std::runtime_error("vector too long");
        });
        s->on(Method::malformed, [this](Call& call) {
            runs.fetch_add(1);
            // Reading a struct where the payload holds something else fails in Cap'n Proto.
            auto params = call.params<schema::DrainRequest>();
            (void)params.getMovedTo();
        });
        service = s;
        dispatcher = std::make_unique<Dispatcher>(service, Limits{}, 1234);
    }

    // Admits `in`; expects an immediate answer and returns it.
    OutMessage answer(const InMessage& in, Clock::time_point received = Clock::now()) {
        auto admission = dispatcher->admit(in, received);
        auto* a = std::get_if<Dispatcher::Answer>(&admission);
        EXPECT_NE(a, nullptr) << "expected an immediate answer";
        if (!a) {
            if (auto* r = std::get_if<Dispatcher::Run>(&admission))
                (void)dispatcher->run(in, r->deadline);
            return OutMessage::error(Error(ErrorKind::INTERNAL, "no answer"));
        }
        return std::move(a->reply);
    }

    // Admits `in`; expects it to run and returns the Run (its ticket keeps it in flight).
    Dispatcher::Run admitted(const InMessage& in) {
        auto admission = dispatcher->admit(in, Clock::now());
        auto* r = std::get_if<Dispatcher::Run>(&admission);
        EXPECT_NE(r, nullptr) << "expected the request to be admitted";
        if (!r) return Dispatcher::Run{Clock::now(), {}};
        return std::move(*r);
    }

    // Admits and runs `in`, then releases its ticket (as a transport does once the reply is
    // handed over); returns the reply.
    OutMessage run_to_end(const InMessage& in) {
        auto run = admitted(in);
        OutMessage reply = dispatcher->run(in, run.deadline);
        run.ticket.release();
        return reply;
    }

    std::atomic<int> runs{0};
    std::shared_ptr<const Service> service;
    std::unique_ptr<Dispatcher> dispatcher;
};

TEST(Service, NeedsAName) {
    for (const char* name : {"", "$control"}) {
        try {
            Service s(name, "v1");
            FAIL() << "accepted service name '" << name << "'";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        }
    }
}

TEST(Service, RejectsAnEmptyHandler) {
    Service s("svc", "v1");
    try {
        s.on_method(1, Handler{});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    }
    EXPECT_EQ(s.find(1), nullptr);
}

TEST(Service, NotThreadSafeMeansOneWorker) {
    Service s("svc", "v1", ServiceOptions{false, true, 8});
    EXPECT_EQ(s.options().workers, 1u);
    Service t("svc", "v1", ServiceOptions{true, true, 0});
    EXPECT_EQ(t.options().workers, 1u);
}

TEST_F(DispatcherTest, RunsAnAdmittedRequest) {
    auto in = request("svc", Method::ok);
    auto run = admitted(in);
    EXPECT_EQ(run.deadline, Clock::time_point::max()) << "no budget means no deadline";
    EXPECT_EQ(dispatcher->in_flight(), 1u);
    OutMessage reply = dispatcher->run(in, run.deadline);
    EXPECT_EQ(dispatcher->served(), 1u);
    EXPECT_EQ(dispatcher->in_flight(), 1u) << "in flight until its reply is handed over";
    run.ticket.release();
    EXPECT_EQ(dispatcher->in_flight(), 0u);
    EXPECT_EQ(runs.load(), 1);
    InMessage r = to_in(reply);
    ASSERT_FALSE(r.is_error()) << r.error().what();
    EXPECT_EQ(std::string(r.payload<schema::ServiceStatus>().getName().cStr()), "ran");
}

TEST_F(DispatcherTest, DeadlineIsTheBudgetFromReception) {
    auto received = Clock::now();
    auto in = request("svc", Method::ok, 7, 5'000'000);
    auto admission = dispatcher->admit(in, received);
    auto* r = std::get_if<Dispatcher::Run>(&admission);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->deadline, received + 5s);
    (void)dispatcher->run(in, r->deadline);
}

TEST_F(DispatcherTest, UnknownServiceIsNotFoundAndNamesIt) {
    OutMessage a = answer(request("nobody-here", Method::ok));
    Error e = error_of(a);
    EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
    EXPECT_TRUE(contains(e.message(), "nobody-here")) << e.what();
    EXPECT_TRUE(contains(e.message(), "svc")) << e.what();
    EXPECT_EQ(runs.load(), 0);
    EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(DispatcherTest, UnknownMethodIsNotFound) {
    OutMessage a = answer(request("svc", std::uint16_t{4242}));
    Error e = error_of(a);
    EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
    EXPECT_TRUE(contains(e.message(), "4242")) << e.what();
    EXPECT_EQ(runs.load(), 0);
}

TEST_F(DispatcherTest, PassedDeadlineIsTimeoutWithoutRunningTheHandler) {
    auto in = request("svc", Method::ok, 7, 1);
    OutMessage a = answer(in, Clock::now() - 1s);
    Error e = error_of(a);
    EXPECT_EQ(e.kind(), ErrorKind::TIMEOUT);
    EXPECT_EQ(runs.load(), 0);
    EXPECT_EQ(dispatcher->in_flight(), 0u);
    EXPECT_EQ(dispatcher->served(), 0u);
}

TEST_F(DispatcherTest, DeadlinePassedBetweenAdmissionAndRunIsTimeout) {
    auto in = request("svc", Method::ok, 7, 1'000'000);
    auto run = admitted(in);
    // The request waited in a queue until after its deadline: run() must not start it.
    OutMessage reply = dispatcher->run(in, Clock::now() - 1ms);
    EXPECT_EQ(error_of(reply).kind(), ErrorKind::TIMEOUT);
    EXPECT_EQ(runs.load(), 0);
    run.ticket.release();
    EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(DispatcherTest, DroppingTheRunEndsTheRequest) {
    {
        auto run = admitted(request("svc", Method::ok));
        EXPECT_EQ(dispatcher->in_flight(), 1u);
        auto moved = std::move(run); // the ticket moves with the Run, it is not doubled
        EXPECT_EQ(dispatcher->in_flight(), 1u);
    }
    EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(DispatcherTest, HandlerLoomErrorKeepsItsKind) {
    auto in = request("svc", Method::loom_error);
    OutMessage reply = run_to_end(in);
    Error e = error_of(reply);
    EXPECT_EQ(e.kind(), ErrorKind::UNSUPPORTED);
    EXPECT_EQ(e.message(), "f16 is not supported here");
    EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(DispatcherTest, HandlerStdExceptionIsInternal) {
    auto in = request("svc", Method::std_error);
    OutMessage reply = run_to_end(in);
    Error e = error_of(reply);
    EXPECT_EQ(e.kind(), ErrorKind::INTERNAL);
    EXPECT_TRUE(contains(e.message(), "vector too long")) << e.what();
    EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(DispatcherTest, MalformedPayloadIsInvalidArgument) {
    // A payload whose pointer is a text, not the struct the handler reads.
    OutMessage m;
    m.envelope().setService("svc");
    m.envelope().setMethod(static_cast<std::uint16_t>(Method::malformed));
    m.envelope().getBody().initPayload().setAs<capnp::Text>("not a struct");
    InMessage in = to_in(m);
    OutMessage reply = run_to_end(in);
    Error e = error_of(reply);
    EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
    EXPECT_TRUE(contains(e.message(), "malformed request")) << e.what();
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(DispatcherTest, RequestWithAnErrorBodyIsRefused) {
    OutMessage m = OutMessage::error(Error(ErrorKind::INTERNAL, "i am a reply"));
    m.envelope().setService("svc");
    m.envelope().setMethod(static_cast<std::uint16_t>(Method::ok));
    OutMessage a = answer(to_in(m));
    Error e = error_of(a);
    EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), "error body")) << e.what();
    EXPECT_EQ(runs.load(), 0);
}

TEST_F(DispatcherTest, SideFramesOverTheLimitAreInvalidArgument) {
    Limits limits;
    limits.max_message_bytes = 100;
    Dispatcher small(service, limits, 1);
    auto in = request("svc", Method::ok);
    in.set_frames({Frame::allocate(60), Frame::allocate(41)});
    auto admission = small.admit(in, Clock::now());
    auto* a = std::get_if<Dispatcher::Answer>(&admission);
    ASSERT_NE(a, nullptr);
    Error e = error_of(a->reply);
    EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), "101 bytes")) << e.what();
    EXPECT_EQ(small.in_flight(), 0u);

    in.set_frames({Frame::allocate(60), Frame::allocate(40)});
    admission = small.admit(in, Clock::now());
    auto* r = std::get_if<Dispatcher::Run>(&admission);
    ASSERT_NE(r, nullptr) << "exactly the limit is allowed";
    (void)small.run(in, r->deadline);
    EXPECT_EQ(small.in_flight(), 1u);
}

TEST_F(DispatcherTest, PingReturnsTheStatus) {
    // One request in flight and one served, to see them counted.
    (void)run_to_end(request("svc", Method::ok));
    auto running = request("svc", Method::ok);
    auto run = admitted(running);

    OutMessage a = answer(control(schema::ControlMethod::PING));
    InMessage in = to_in(a);
    ASSERT_FALSE(in.is_error()) << in.error().what();
    auto s = in.payload<schema::ServiceStatus>();
    EXPECT_EQ(std::string(s.getName().cStr()), "svc");
    EXPECT_EQ(std::string(s.getVersion().cStr()), "v3");
    EXPECT_EQ(s.getInstance(), 1234u);
    EXPECT_EQ(s.getState(), schema::ServiceState::SERVING);
    EXPECT_EQ(s.getInFlight(), 1u);
    EXPECT_EQ(s.getServed(), 1u);
    EXPECT_EQ(s.getPid(), ::getpid());
    (void)dispatcher->run(running, run.deadline);
}

TEST_F(DispatcherTest, UnknownControlMethodIsNotFound) {
    OutMessage a = answer(control(static_cast<schema::ControlMethod>(77)));
    EXPECT_EQ(error_of(a).kind(), ErrorKind::NOT_FOUND);
}

TEST_F(DispatcherTest, StopAnswersTheStatusAndCallsBack) {
    int stops = 0;
    dispatcher->set_on_stop([&] { ++stops; });
    OutMessage a = answer(control(schema::ControlMethod::STOP));
    EXPECT_EQ(stops, 1);
    InMessage in = to_in(a);
    ASSERT_FALSE(in.is_error());
    EXPECT_EQ(std::string(in.payload<schema::ServiceStatus>().getName().cStr()), "svc");
}

TEST_F(DispatcherTest, DrainControlIsDeferredAndStartsDraining) {
    auto admission =
        dispatcher->admit(control(schema::ControlMethod::DRAIN, "tcp://b:1", 4), Clock::now());
    EXPECT_TRUE(std::holds_alternative<Dispatcher::DeferredDrain>(admission));
    EXPECT_TRUE(dispatcher->drained()) << "nothing was running";
    OutMessage a = answer(request("svc", Method::ok));
    Error e = error_of(a);
    EXPECT_EQ(e.kind(), ErrorKind::MOVED);
    EXPECT_EQ(e.moved_to(), "tcp://b:1");
    EXPECT_EQ(e.moved_epoch(), 4u);
}

TEST_F(DispatcherTest, MalformedDrainRequestIsInvalidArgumentAndDoesNotDrain) {
    OutMessage m;
    m.envelope().setRequestId(5);
    m.envelope().setService(std::string(k_control_service));
    m.envelope().setMethod(static_cast<std::uint16_t>(schema::ControlMethod::DRAIN));
    m.envelope().getBody().initPayload().setAs<capnp::Text>("not a DrainRequest");
    InMessage in = to_in(m);
    Dispatcher::Admission admission;
    ASSERT_NO_THROW(admission = dispatcher->admit(in, Clock::now()))
        << "admit() must answer, not throw: the server loop calls it unguarded";
    auto* a = std::get_if<Dispatcher::Answer>(&admission);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(error_of(a->reply).kind(), ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::SERVING);
    OutMessage here = dispatcher->dispatch_here(in, Clock::now());
    EXPECT_EQ(error_of(here).kind(), ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::SERVING);
}

TEST_F(DispatcherTest, DrainingAnswersMovedWithTheRoute) {
    dispatcher->start_drain("ipc:///tmp/next", 31);
    OutMessage a = answer(request("svc", Method::ok));
    Error e = error_of(a);
    EXPECT_EQ(e.kind(), ErrorKind::MOVED);
    EXPECT_EQ(e.moved_to(), "ipc:///tmp/next");
    EXPECT_EQ(e.moved_epoch(), 31u);
    EXPECT_EQ(runs.load(), 0);
    EXPECT_EQ(dispatcher->in_flight(), 0u);
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::DRAINED);
    // Control requests are still answered while draining.
    InMessage ping = [&] {
        OutMessage p = answer(control(schema::ControlMethod::PING));
        return to_in(p);
    }();
    ASSERT_FALSE(ping.is_error());
    EXPECT_EQ(ping.payload<schema::ServiceStatus>().getState(), schema::ServiceState::DRAINED);
}

// A host going away clears its callbacks; clearing waits for a callback that runs now, so none
// runs on a host that is gone (the last ticket may be released on a direct caller's thread).
TEST_F(DispatcherTest, ClearingTheDrainedCallbackWaitsForARunningOne) {
    std::promise<void> entered, release;
    auto released = release.get_future().share();
    std::atomic<bool> callback_done{false};
    dispatcher->set_on_drained([&] {
        entered.set_value();
        released.wait();
        callback_done = true;
    });
    auto in = request("svc", Method::ok);
    auto run = admitted(in);
    dispatcher->start_drain("inproc://next", 2);
    std::thread last([&] { run.ticket.release(); }); // fires on_drained on this thread
    entered.get_future().wait();
    auto cleared = std::async(std::launch::async, [&] { dispatcher->set_on_drained({}); });
    EXPECT_EQ(cleared.wait_for(50ms), std::future_status::timeout)
        << "clearing returned while the callback still ran";
    release.set_value();
    cleared.wait();
    EXPECT_TRUE(callback_done.load());
    last.join();
}

TEST_F(DispatcherTest, DrainWithARequestInFlight) {
    int callbacks = 0;
    dispatcher->set_on_drained([&] { ++callbacks; });
    auto in = request("svc", Method::ok);
    auto run = admitted(in);

    dispatcher->start_drain("inproc://next", 2);
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::DRAINING);
    EXPECT_FALSE(dispatcher->drained());
    EXPECT_EQ(callbacks, 0);
    EXPECT_FALSE(dispatcher->wait_drained(Clock::now() + 20ms)) << "drained while running";

    // New requests meanwhile are moved, and do not complete the drain.
    OutMessage moved = answer(request("svc", Method::ok, 8));
    EXPECT_EQ(error_of(moved).kind(), ErrorKind::MOVED);
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::DRAINING);
    EXPECT_EQ(callbacks, 0);

    OutMessage reply = dispatcher->run(in, run.deadline);
    EXPECT_FALSE(to_in(reply).is_error()) << "a running request finishes normally";
    // Its reply is not on its way yet: still draining until the transport drops the ticket.
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::DRAINING);
    EXPECT_FALSE(dispatcher->drained());
    EXPECT_EQ(callbacks, 0);
    run.ticket.release();
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::DRAINED);
    EXPECT_TRUE(dispatcher->drained());
    EXPECT_EQ(callbacks, 1);
    EXPECT_TRUE(dispatcher->wait_drained(Clock::now()));

    // Requests after the drain are moved; the drain completed once.
    for (int i = 0; i < 3; ++i) {
        OutMessage late = answer(request("svc", Method::ok, 20 + i));
        EXPECT_EQ(error_of(late).kind(), ErrorKind::MOVED);
    }
    EXPECT_EQ(callbacks, 1) << "on_drained fired again after draining had completed";
    EXPECT_EQ(dispatcher->state(), schema::ServiceState::DRAINED);
}

TEST_F(DispatcherTest, DrainWithNothingRunningCompletesAtOnce) {
    int callbacks = 0;
    dispatcher->set_on_drained([&] { ++callbacks; });
    dispatcher->start_drain("inproc://next", 2);
    EXPECT_TRUE(dispatcher->drained());
    EXPECT_EQ(callbacks, 1);
    OutMessage late = answer(request("svc", Method::ok));
    EXPECT_EQ(error_of(late).kind(), ErrorKind::MOVED);
    EXPECT_EQ(callbacks, 1) << "on_drained fired again after draining had completed";
}

TEST_F(DispatcherTest, WaitDrainedWakesWhenTheLastRequestFinishes) {
    auto in = request("svc", Method::ok);
    auto run = admitted(in);
    dispatcher->start_drain("inproc://next", 2);
    std::atomic<bool> finished{false};
    std::thread finisher([&] {
        // Runs once the waiter is (very likely) waiting; correctness does not depend on it.
        (void)dispatcher->run(in, run.deadline);
        finished.store(true);
        run.ticket.release();
    });
    bool drained = dispatcher->wait_drained(Clock::now() + 10s);
    finisher.join();
    EXPECT_TRUE(drained);
    EXPECT_TRUE(finished.load());
    EXPECT_EQ(dispatcher->in_flight(), 0u);
}

TEST_F(DispatcherTest, DispatchHereSetsTheRequestId) {
    OutMessage reply = dispatcher->dispatch_here(request("svc", Method::ok, 555), Clock::now());
    InMessage in = to_in(reply);
    EXPECT_EQ(in.request_id(), 555u);
    EXPECT_FALSE(in.is_error());
    OutMessage err = dispatcher->dispatch_here(request("nope", Method::ok, 556), Clock::now());
    InMessage e = to_in(err);
    EXPECT_EQ(e.request_id(), 556u);
    ASSERT_TRUE(e.is_error());
    EXPECT_EQ(e.error().kind(), ErrorKind::NOT_FOUND);
}

TEST_F(DispatcherTest, DispatchHereDrainAnswersTheStatusOnceDrained) {
    OutMessage reply =
        dispatcher->dispatch_here(control(schema::ControlMethod::DRAIN, "x://y", 1), Clock::now());
    InMessage in = to_in(reply);
    ASSERT_FALSE(in.is_error()) << in.error().what();
    EXPECT_EQ(in.payload<schema::ServiceStatus>().getState(), schema::ServiceState::DRAINED);
}

// Many threads admit and run requests while another drains. Every request is either run to
// completion (its handler ran, it counted as in flight until then) or answered `moved` without
// running; the drain completes exactly once, and only when nothing runs.
TEST(DispatcherConcurrency, DrainUnderLoadLosesNoRequest) {
    constexpr int k_threads = 4;
    constexpr int k_moved_per_thread = 50;
    std::atomic<int> running{0}, started{0}, completed{0};
    auto service = std::make_shared<Service>("svc", "v1", ServiceOptions{true, false, 1});
    service->on_method(0, [&](Call& call) {
        running.fetch_add(1);
        started.fetch_add(1);
        for (int i = 0; i < 50; ++i)
            std::this_thread::yield();
        call.init_reply<schema::ServiceStatus>().setServed(1);
        running.fetch_sub(1);
    });
    Dispatcher dispatcher(service, Limits{}, 1);

    std::atomic<int> callbacks{0}, running_at_callback{-1};
    dispatcher.set_on_drained([&] {
        callbacks.fetch_add(1);
        running_at_callback.store(running.load());
    });

    std::atomic<int> admitted{0}, moved{0}, other{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t)
        threads.emplace_back([&, t] {
            auto in = request("svc", std::uint16_t{0}, static_cast<std::uint64_t>(t));
            while (!go.load())
                std::this_thread::yield();
            int seen_moved = 0;
            auto give_up = Clock::now() + 30s;
            while (seen_moved < k_moved_per_thread && Clock::now() < give_up) {
                auto admission = dispatcher.admit(in, Clock::now());
                if (auto* r = std::get_if<Dispatcher::Run>(&admission)) {
                    admitted.fetch_add(1);
                    OutMessage reply = dispatcher.run(in, r->deadline);
                    InMessage out = to_in(reply); // "sent": now the ticket may go
                    r->ticket.release();
                    if (!out.is_error() && out.payload<schema::ServiceStatus>().getServed() == 1)
                        completed.fetch_add(1);
                    else
                        other.fetch_add(1);
                } else if (auto* a = std::get_if<Dispatcher::Answer>(&admission)) {
                    InMessage out = to_in(a->reply);
                    if (out.is_error() && out.error().kind() == ErrorKind::MOVED &&
                        out.error().moved_to() == "inproc://next") {
                        moved.fetch_add(1);
                        ++seen_moved;
                    } else {
                        other.fetch_add(1);
                    }
                } else {
                    other.fetch_add(1);
                }
            }
        });
    go.store(true);
    // Let the workers get going, then drain from this thread.
    auto until = Clock::now() + 10s;
    while (admitted.load() < 200 && Clock::now() < until)
        std::this_thread::yield();
    dispatcher.start_drain("inproc://next", 3);
    bool drained = dispatcher.wait_drained(Clock::now() + 30s);
    for (auto& t : threads)
        t.join();

    EXPECT_TRUE(drained);
    EXPECT_EQ(other.load(), 0) << "a request got neither its reply nor `moved`";
    EXPECT_EQ(moved.load(), k_threads * k_moved_per_thread);
    EXPECT_GT(admitted.load(), 0);
    EXPECT_EQ(completed.load(), admitted.load()) << "an admitted request did not complete";
    EXPECT_EQ(started.load(), admitted.load()) << "a handler ran for a request not admitted";
    EXPECT_EQ(dispatcher.served(), static_cast<std::uint64_t>(admitted.load()));
    EXPECT_EQ(dispatcher.in_flight(), 0u);
    EXPECT_TRUE(dispatcher.drained());
    EXPECT_EQ(callbacks.load(), 1) << "on_drained must fire exactly once";
    EXPECT_EQ(running_at_callback.load(), 0) << "drained while a handler was running";
}

} // namespace
} // namespace loom::bus
