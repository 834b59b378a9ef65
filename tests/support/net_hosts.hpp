#pragma once
// Several hosts on one machine for end-to-end tests (DESIGN.md §8): one network namespace per
// host, each joined by a veth pair to a bridge in a switch namespace of its own, 10.R.0.N/24 —
// made by the test and removed when it ends (ip netns / ip link from iproute2; needs root).
// Only the namespaces' own addresses are used: nothing reaches this machine's own network.
// Processes run on a host through `ip netns exec`.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/shared_data.hpp"

namespace loom::test {

class NetHosts {
public:
    // Makes the hosts named (short names: "kernel", "nodeb" …); nullopt and `why` when this
    // machine cannot (not root, no iproute2, no namespaces).
    static std::unique_ptr<NetHosts> make(const std::vector<std::string>& names, std::string& why);
    ~NetHosts(); // kills nothing: stop the processes first; removes the namespaces
    NetHosts(const NetHosts&) = delete;
    NetHosts& operator=(const NetHosts&) = delete;

    const std::string& address(const std::string& host) const;
    // argv run on `host` (through `ip netns exec`).
    std::vector<std::string> on(const std::string& host, std::vector<std::string> argv) const;
    // Takes `host`'s link down (its packets are dropped, nothing is closed) or up again.
    void set_link(const std::string& host, bool up) const;

private:
    NetHosts() = default;
    struct Host {
        std::string name, ns, address, bridge_side;
    };
    const Host& host(const std::string& name) const;
    std::string m_switch;
    std::vector<Host> m_hosts;
};

} // namespace loom::test

// Makes `var` (a std::unique_ptr<NetHosts>) with `names`, or skips saying why (fails under
// CI=true, where root and iproute2 are given).
#define LOOM_MAKE_NET_HOSTS(var, ...)                                                              \
    std::string var##_why;                                                                         \
    auto var = ::loom::test::NetHosts::make(__VA_ARGS__, var##_why);                               \
    if (!var) {                                                                                    \
        if (::loom::test::running_in_ci())                                                         \
            FAIL() << "network namespaces are needed under CI: " << var##_why;                     \
        GTEST_SKIP() << "skipped: no network namespaces here (" << var##_why                       \
                     << "); run as root with iproute2";                                            \
    }
