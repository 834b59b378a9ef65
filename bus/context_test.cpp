#include "bus/context.hpp"

#include <stdlib.h>

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace loom::bus {
namespace {

using std::chrono::microseconds;

// Sets LOOM_SPIN_US for one test and restores what was there.
class SpinEnvironment : public ::testing::Test {
protected:
    void SetUp() override {
        if (const char* v = ::getenv("LOOM_SPIN_US")) m_saved = v;
    }
    void TearDown() override {
        if (m_saved)
            ::setenv("LOOM_SPIN_US", m_saved->c_str(), 1);
        else
            ::unsetenv("LOOM_SPIN_US");
    }
    std::optional<std::string> m_saved;
};

TEST_F(SpinEnvironment, DefaultsTo50MicrosecondsAndFollowsLoomSpinUs) {
    ::unsetenv("LOOM_SPIN_US");
    EXPECT_EQ(default_spin(), microseconds(50));
    EXPECT_EQ(ContextOptions{}.spin, microseconds(50));
    ::setenv("LOOM_SPIN_US", "0", 1);
    EXPECT_EQ(default_spin(), microseconds(0));
    EXPECT_EQ(ContextOptions{}.spin, microseconds(0));
    ::setenv("LOOM_SPIN_US", "200", 1);
    EXPECT_EQ(default_spin(), microseconds(200));
}

TEST_F(SpinEnvironment, AValueThatIsNotMicrosecondsKeepsTheDefault) {
    for (const char* bad : {"", "abc", "12us", "-1", "100001", "99999999999999999999"}) {
        ::setenv("LOOM_SPIN_US", bad, 1);
        EXPECT_EQ(default_spin(), microseconds(50)) << "LOOM_SPIN_US='" << bad << "'";
    }
}

} // namespace
} // namespace loom::bus
