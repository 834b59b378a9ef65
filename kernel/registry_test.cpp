#include "kernel/registry.hpp"

#include <gtest/gtest.h>

#include <set>

#include "schemas/error.hpp"

namespace loom::kernel {
namespace {

using S = ComponentState;

ComponentRecord record(std::uint64_t id, const std::string& name) {
    ComponentRecord r;
    r.instance = id;
    r.name = name;
    r.endpoints = {"inproc://" + name + std::to_string(id)};
    return r;
}

TEST(Registry, StateMachineAllowsOnlyTheDesignedTransitions) {
    const S all[] = {S::STARTING, S::READY, S::DRAINING, S::STOPPED, S::FAILED};
    std::set<std::pair<S, S>> legal = {{S::STARTING, S::READY},   {S::STARTING, S::FAILED},
                                       {S::STARTING, S::STOPPED}, {S::READY, S::DRAINING},
                                       {S::READY, S::FAILED},     {S::READY, S::STOPPED},
                                       {S::DRAINING, S::STOPPED}, {S::DRAINING, S::FAILED}};
    for (auto from : all)
        for (auto to : all)
            EXPECT_EQ(Registry::allowed(from, to), legal.contains({from, to}))
                << to_string(from) << " -> " << to_string(to);
}

TEST(Registry, AnUnroutedNameResolvesNotFoundAndKeepsItsEpochs) {
    Registry reg;
    reg.add(record(1, "a"));
    reg.transition(1, S::READY);
    EXPECT_EQ(reg.route("a", 1), 1u);
    reg.transition(1, S::STOPPED);
    reg.unroute("a");
    EXPECT_EQ(reg.routed("a"), nullptr);
    EXPECT_FALSE(reg.get(1).routed);
    try {
        reg.resolve("a");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND) << e.what();
    }
    reg.add(record(2, "a"));
    reg.transition(2, S::READY);
    EXPECT_EQ(reg.route("a", 2), 2u) << "a later route continues the epochs";
}

TEST(Registry, IllegalTransitionIsAnInternalError) {
    Registry reg;
    reg.add(record(1, "a"));
    reg.transition(1, S::READY);
    reg.transition(1, S::STOPPED);
    try {
        reg.transition(1, S::READY);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INTERNAL);
        EXPECT_NE(e.message().find("stopped"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(reg.transition(1, S::STOPPED)) << "a no-op transition reports no change";
}

TEST(Registry, FailedKeepsTheReason) {
    Registry reg;
    reg.add(record(1, "a"));
    reg.transition(1, S::FAILED, "killed by signal 9");
    EXPECT_EQ(reg.get(1).last_error, "killed by signal 9");
}

TEST(Registry, RoutesCarryGrowingEpochs) {
    Registry reg;
    reg.add(record(1, "a"));
    reg.add(record(2, "a"));
    reg.transition(1, S::READY);
    reg.transition(2, S::READY);
    EXPECT_EQ(reg.route("a", 1), 1u);
    EXPECT_TRUE(reg.get(1).routed);
    EXPECT_EQ(reg.route("a", 2), 2u);
    EXPECT_FALSE(reg.get(1).routed);
    EXPECT_TRUE(reg.get(2).routed);
    auto route = reg.resolve("a");
    EXPECT_EQ(route.instance, 2u);
    EXPECT_EQ(route.epoch, 2u);
    EXPECT_EQ(route.endpoints, reg.get(2).endpoints);
}

TEST(Registry, ResolveSaysWhyItCannot) {
    Registry reg;
    try {
        reg.resolve("ghost");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
        EXPECT_NE(e.message().find("ghost"), std::string::npos);
    }
    reg.add(record(1, "a"));
    reg.route("a", 1);
    auto expect_unavailable = [&](const char* why) {
        try {
            reg.resolve("a");
            FAIL() << why;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::UNAVAILABLE);
            EXPECT_NE(e.message().find(why), std::string::npos) << e.what();
        }
    };
    expect_unavailable("starting");
    reg.transition(1, S::READY);
    EXPECT_NO_THROW(reg.resolve("a"));
    reg.transition(1, S::FAILED, "out of memory");
    expect_unavailable("out of memory");
}

TEST(Registry, PruneForgetsOnlyOldRetiredInstances) {
    Registry reg;
    for (std::uint64_t id = 1; id <= 5; ++id) {
        reg.add(record(id, "a"));
        reg.transition(id, S::READY);
        reg.route("a", id);
    }
    for (std::uint64_t id = 1; id <= 4; ++id)
        reg.transition(id, S::STOPPED);
    reg.prune(2);
    EXPECT_EQ(reg.find(1), nullptr);
    EXPECT_EQ(reg.find(2), nullptr);
    EXPECT_NE(reg.find(3), nullptr);
    EXPECT_NE(reg.find(4), nullptr);
    EXPECT_NE(reg.find(5), nullptr) << "the routed instance is never pruned";
}

} // namespace
} // namespace loom::kernel
