#include "components/protocol/device_session.hpp"

#include <atomic>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "schemas/error.hpp"
#include "tests/support/expect.hpp"

namespace loom::protocol {
namespace {

using test::error_kind_of;
using test::eventually;

using namespace std::chrono_literals;
using schema::DeviceMethod;

// A device that speaks only the session methods and INFER (which echoes its session), and
// counts what it was asked.
struct FakeDevice {
    std::mutex mutex;
    std::uint64_t next = 41;
    std::map<std::uint64_t, bool> open; // session → open
    std::map<DeviceMethod, int> calls;
    std::chrono::microseconds last_close_timeout{0};
    std::uint64_t last_session = 0;

    bus::InMessage operator()(std::uint16_t m, bus::OutMessage& request, bus::CallOptions o) {
        const auto method = static_cast<DeviceMethod>(m);
        std::lock_guard lock(mutex);
        ++calls[method];
        const auto session = request.envelope().asReader().getSession();
        bus::OutMessage reply;
        switch (method) {
        case DeviceMethod::OPEN_SESSION: {
            auto info = reply.init_payload<schema::SessionInfo>();
            open[++next] = true;
            info.setSession(next);
            info.setLeaseMs(request.payload<schema::SessionRequest>().getLeaseMs());
            break;
        }
        case DeviceMethod::RENEW_SESSION:
        case DeviceMethod::INFER:
        case DeviceMethod::COMPILE_MODEL:
            if (!open[session]) reply = bus::OutMessage::error(Error(ErrorKind::NOT_FOUND, "gone"));
            last_session = session;
            break;
        case DeviceMethod::CLOSE_SESSION:
            open[session] = false;
            last_close_timeout = o.timeout;
            last_session = session;
            break;
        default:
            break;
        }
        auto in = bus::InMessage::decode(bus::encode_words(reply), bus::Limits{});
        in.throw_if_error();
        return in;
    }
    int count(DeviceMethod m) {
        std::lock_guard lock(mutex);
        return calls[m];
    }
};

DeviceSession::Caller caller(FakeDevice& device) {
    return [&device](std::uint16_t m, bus::OutMessage& r, bus::CallOptions o) {
        return device(m, r, o);
    };
}

TEST(DeviceSession, OpensOnFirstUseStampsEveryCallAndClosesAtTheEnd) {
    FakeDevice device;
    {
        DeviceSession session(caller(device), SessionOptions{10s, 250ms});
        EXPECT_EQ(device.count(DeviceMethod::OPEN_SESSION), 0); // lazily
        bus::OutMessage a, b;
        session.call(DeviceMethod::INFER, a);
        session.call(DeviceMethod::INFER, b);
        EXPECT_EQ(device.count(DeviceMethod::OPEN_SESSION), 1);
        EXPECT_EQ(device.last_session, 42u);
        EXPECT_EQ(session.id(), 42u);
    }
    EXPECT_EQ(device.count(DeviceMethod::CLOSE_SESSION), 1);
    EXPECT_EQ(device.last_session, 42u);
    EXPECT_EQ(device.last_close_timeout, 250ms); // a destructor never waits longer
}

TEST(DeviceSession, RenewsTheLeaseWhileItLives) {
    FakeDevice device;
    DeviceSession session(caller(device), SessionOptions{30ms, 1s});
    session.id();
    // Every 10 ms (a third of the lease): several renewals arrive.
    EXPECT_TRUE(eventually([&] { return device.count(DeviceMethod::RENEW_SESSION) >= 3; }));
}

TEST(DeviceSession, ASessionTheDeviceForgotIsReplacedOnTheNextCall) {
    FakeDevice device;
    DeviceSession session(caller(device), SessionOptions{30ms, 1s});
    EXPECT_EQ(session.id(), 42u);
    {
        std::lock_guard lock(device.mutex);
        device.open[42] = false; // its lease ran out on the device
    }
    // The renewer learns it (not_found) and drops it; the next call opens another.
    EXPECT_TRUE(eventually([&] { return device.count(DeviceMethod::RENEW_SESSION) >= 1; }));
    EXPECT_TRUE(eventually([&] {
        bus::OutMessage m;
        try {
            session.call(DeviceMethod::INFER, m);
            return true;
        } catch (const Error&) {
            return false;
        }
    }));
    EXPECT_EQ(session.id(), 43u);
    EXPECT_EQ(device.count(DeviceMethod::OPEN_SESSION), 2);
}

TEST(DeviceSession, ACompileRefusedForAForgottenSessionIsSentAgainInANewOne) {
    FakeDevice device;
    DeviceSession session(caller(device), SessionOptions{10s, 1s}); // the renewer stays quiet
    EXPECT_EQ(session.id(), 42u);
    {
        std::lock_guard lock(device.mutex);
        device.open[42] = false; // e.g. the device was restarted
    }
    bus::OutMessage compile;
    session.call(DeviceMethod::COMPILE_MODEL, compile);
    EXPECT_EQ(device.last_session, 43u);
    EXPECT_EQ(device.count(DeviceMethod::COMPILE_MODEL), 2);
    // A call naming an object of the old session is not repeated: the object is gone.
    {
        std::lock_guard lock(device.mutex);
        device.open[43] = false;
    }
    bus::OutMessage infer;
    EXPECT_THROW(session.call(DeviceMethod::INFER, infer), Error);
    EXPECT_EQ(device.count(DeviceMethod::INFER), 1);
}

TEST(DeviceSession, NoSessionNothingToRelease) {
    FakeDevice device;
    DeviceSession session(caller(device), {});
    bus::OutMessage m;
    EXPECT_THROW(session.call_releasing(DeviceMethod::RELEASE_MODEL, m), Error);
    EXPECT_EQ(device.count(DeviceMethod::OPEN_SESSION), 0); // releasing never opens one
}

} // namespace
} // namespace loom::protocol
