#include "components/protocol/session_table.hpp"

#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "schemas/error.hpp"
#include "tests/support/expect.hpp"

namespace loom::protocol {
namespace {

using test::error_kind_of;
using test::eventually;

using namespace std::chrono_literals;

TEST(SessionTable, ObjectsAreVisibleOnlyToTheirSessionAndKey) {
    SessionTable t("device TEST");
    auto a = t.open("", 0ms);
    auto b = t.open("", 0ms);
    EXPECT_NE(a.session, b.session);
    EXPECT_EQ(a.lease, SessionLimits{}.default_lease);
    auto object = std::make_shared<int>(7);
    auto h = t.add(a.session, "", ObjectKind::COMPILED_MODEL, object);
    EXPECT_EQ(*t.get<int>(a.session, "", ObjectKind::COMPILED_MODEL, h), 7);
    // Another session, the wrong kind, or the right session with another key: as if absent.
    EXPECT_EQ(error_kind_of([&] { t.find(b.session, "", ObjectKind::COMPILED_MODEL, h); }),
              ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { t.find(a.session, "", ObjectKind::INFER_REQUEST, h); }),
              ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { t.find(a.session, "other-key", ObjectKind::COMPILED_MODEL, h); }),
              ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { t.release(b.session, "", ObjectKind::COMPILED_MODEL, h); }),
              ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { t.renew(a.session, "other-key"); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { t.close(a.session, "other-key"); }), ErrorKind::NOT_FOUND);
    // Still there for its owner.
    EXPECT_EQ(t.counts().compiled_models, 1u);
    t.release(a.session, "", ObjectKind::COMPILED_MODEL, h);
    EXPECT_EQ(t.counts().compiled_models, 0u);
    EXPECT_EQ(error_kind_of([&] { t.release(a.session, "", ObjectKind::COMPILED_MODEL, h); }),
              ErrorKind::NOT_FOUND);
}

TEST(SessionTable, SessionZeroIsRefusedAsACallerMistake) {
    SessionTable t("device TEST");
    EXPECT_EQ(
        error_kind_of([&] { t.add(0, "", ObjectKind::INFER_REQUEST, std::make_shared<int>()); }),
        ErrorKind::INVALID_ARGUMENT);
}

TEST(SessionTable, HandlesAreNotASequence) {
    SessionTable t("device TEST");
    auto s = t.open("k", 0ms);
    std::set<std::uint64_t> handles;
    std::uint64_t previous = 0;
    int consecutive = 0;
    for (int i = 0; i < 64; ++i) {
        auto h = t.add(s.session, "k", ObjectKind::INFER_REQUEST, std::make_shared<int>(i));
        EXPECT_NE(h, 0u);
        consecutive += h == previous + 1;
        previous = h;
        handles.insert(h);
    }
    EXPECT_EQ(handles.size(), 64u);
    EXPECT_LT(consecutive, 2); // random 64-bit handles: a run of neighbours is (almost) impossible
    EXPECT_EQ(handles.count(1), 0u);
}

TEST(SessionTable, CloseCancelsAndReleasesEverythingOfTheSession) {
    SessionTable t("device TEST");
    auto a = t.open("", 0ms);
    auto b = t.open("", 0ms);
    auto object = std::make_shared<int>(1);
    std::weak_ptr<int> weak = object;
    int cancelled = 0;
    t.add(a.session, "", ObjectKind::INFER_REQUEST, std::move(object), [&] { ++cancelled; });
    t.add(a.session, "", ObjectKind::COMPILED_MODEL, std::make_shared<int>(2));
    auto kept = t.add(b.session, "", ObjectKind::COMPILED_MODEL, std::make_shared<int>(3));
    EXPECT_EQ(t.counts().sessions, 2u);
    t.close(a.session, "");
    EXPECT_EQ(cancelled, 1);
    EXPECT_TRUE(weak.expired());
    auto c = t.counts();
    EXPECT_EQ(c.sessions, 1u);
    EXPECT_EQ(c.compiled_models, 1u);
    EXPECT_EQ(c.infer_requests, 0u);
    EXPECT_EQ(*t.get<int>(b.session, "", ObjectKind::COMPILED_MODEL, kept), 3);
    EXPECT_EQ(error_kind_of([&] { t.renew(a.session, ""); }), ErrorKind::NOT_FOUND);
}

TEST(SessionTable, AnExpiredLeaseReleasesTheSessionAndCancelsWhatRuns) {
    SessionLimits limits;
    limits.min_lease = 10ms;
    SessionTable t("device TEST", limits);
    auto s = t.open("", 50ms);
    EXPECT_EQ(s.lease, 50ms);
    auto object = std::make_shared<int>(1);
    std::weak_ptr<int> weak = object;
    std::atomic<int> cancelled{0};
    t.add(s.session, "", ObjectKind::INFER_REQUEST, std::move(object), [&] { ++cancelled; });
    // Nobody renews: the reaper ends the session.
    ASSERT_TRUE(eventually([&] { return t.counts().sessions == 0; }));
    EXPECT_EQ(cancelled.load(), 1);
    EXPECT_TRUE(weak.expired());
    EXPECT_EQ(error_kind_of([&] { t.renew(s.session, ""); }), ErrorKind::NOT_FOUND);
}

TEST(SessionTable, AShortLeaseAmongManyLongOnesExpiresAndClosedOnesLeaveNothingBehind) {
    SessionLimits limits;
    limits.min_lease = 10ms;
    SessionTable t("device TEST", limits);
    std::vector<std::uint64_t> long_lived;
    for (int i = 0; i < 1000; ++i)
        long_lived.push_back(t.open("", 600000ms).session);
    for (int i = 0; i < 900; ++i) // closing most of them compacts the reaper's queue
        t.close(long_lived[static_cast<std::size_t>(i)], "");
    auto s = t.open("", 50ms);
    t.add(s.session, "", ObjectKind::INFER_REQUEST, std::make_shared<int>(1));
    ASSERT_TRUE(eventually([&] { return t.counts().infer_requests == 0; }));
    EXPECT_EQ(t.counts().sessions, 100u);
    EXPECT_EQ(error_kind_of([&] { t.renew(s.session, ""); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { t.renew(long_lived[0], ""); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(t.renew(long_lived[999], "").session, long_lived[999]);
}

TEST(SessionTable, RenewingKeepsTheSession) {
    SessionLimits limits;
    limits.min_lease = 10ms;
    SessionTable t("device TEST", limits);
    auto s = t.open("", 1000ms);
    t.add(s.session, "", ObjectKind::COMPILED_MODEL, std::make_shared<int>(1));
    // Renewed for 2.5 lease lengths: without the renewals it would have expired.
    const auto end = std::chrono::steady_clock::now() + 2500ms;
    while (std::chrono::steady_clock::now() < end) {
        t.renew(s.session, "");
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(t.counts().compiled_models, 1u);
}

TEST(SessionTable, LeasesAreClampedAndLimitsAnswerOverloaded) {
    SessionLimits limits;
    limits.max_sessions = 2;
    limits.max_objects_per_session = 1;
    SessionTable t("device TEST", limits);
    EXPECT_EQ(t.open("", 1ms).lease, limits.min_lease);
    auto s = t.open("", std::chrono::hours(100));
    EXPECT_EQ(s.lease, limits.max_lease);
    EXPECT_EQ(error_kind_of([&] { t.open("", 0ms); }), ErrorKind::OVERLOADED);
    t.add(s.session, "", ObjectKind::INFER_REQUEST, std::make_shared<int>());
    EXPECT_EQ(error_kind_of([&] {
                  t.add(s.session, "", ObjectKind::INFER_REQUEST, std::make_shared<int>());
              }),
              ErrorKind::OVERLOADED);
}

} // namespace
} // namespace loom::protocol
