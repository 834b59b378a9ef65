#include "tests/support/net_hosts.hpp"

#include <unistd.h>

#include <stdexcept>

namespace loom::test {

namespace {

constexpr const char* k_ip = "/usr/sbin/ip";

// Runs `ip ARGS…`; its output when it fails, empty when it succeeds.
std::string ip(std::vector<std::string> args) {
    args.insert(args.begin(), k_ip);
    auto outcome = run_process(std::move(args), std::chrono::seconds(20));
    if (outcome.exit_code == 0) return {};
    return outcome.output.empty() ? "ip failed" : outcome.output;
}

} // namespace

std::unique_ptr<NetHosts> NetHosts::make(const std::vector<std::string>& names, std::string& why) {
    if (::access(k_ip, X_OK) != 0) {
        why = std::string(k_ip) + " is missing (iproute2)";
        return nullptr;
    }
    if (::geteuid() != 0) {
        why = "not running as root";
        return nullptr;
    }
    std::unique_ptr<NetHosts> hosts(new NetHosts());
    const auto tag = std::to_string(::getpid() % 100000);
    const auto subnet = "10.213." + std::to_string(::getpid() % 200 + 20) + ".";
    hosts->m_switch = "loom" + tag + "-sw";
    if (auto error = ip({"netns", "add", hosts->m_switch}); !error.empty()) {
        why = "ip netns add: " + error;
        hosts->m_switch.clear();
        return nullptr;
    }
    auto fail = [&](const std::string& step, const std::string& error) {
        why = step + ": " + error;
        return nullptr;
    };
    for (const auto& step : std::vector<std::vector<std::string>>{
             {"-n", hosts->m_switch, "link", "add", "br0", "type", "bridge"},
             {"-n", hosts->m_switch, "link", "set", "br0", "up"}})
        if (auto error = ip(step); !error.empty()) return fail("bridge", error);
    for (std::size_t i = 0; i < names.size(); ++i) {
        Host h;
        h.name = names[i];
        h.ns = "loom" + tag + "-" + names[i];
        h.address = subnet + std::to_string(i + 1);
        h.bridge_side = "lb" + tag + "x" + std::to_string(i);
        const auto host_side = "lh" + tag + "x" + std::to_string(i);
        if (auto error = ip({"netns", "add", h.ns}); !error.empty())
            return fail("ip netns add " + h.ns, error);
        hosts->m_hosts.push_back(h);
        for (const auto& step : std::vector<std::vector<std::string>>{
                 {"link", "add", host_side, "type", "veth", "peer", "name", h.bridge_side},
                 {"link", "set", host_side, "netns", h.ns},
                 {"link", "set", h.bridge_side, "netns", hosts->m_switch},
                 {"-n", hosts->m_switch, "link", "set", h.bridge_side, "master", "br0"},
                 {"-n", hosts->m_switch, "link", "set", h.bridge_side, "up"},
                 {"-n", h.ns, "addr", "add", h.address + "/24", "dev", host_side},
                 {"-n", h.ns, "link", "set", host_side, "up"},
                 {"-n", h.ns, "link", "set", "lo", "up"}})
            if (auto error = ip(step); !error.empty()) return fail("veth for " + h.name, error);
    }
    return hosts;
}

NetHosts::~NetHosts() {
    for (const auto& h : m_hosts)
        ip({"netns", "del", h.ns}); // its end of the veth pair goes with it, and the other end
    if (!m_switch.empty()) ip({"netns", "del", m_switch});
}

const NetHosts::Host& NetHosts::host(const std::string& name) const {
    for (const auto& h : m_hosts)
        if (h.name == name) return h;
    throw std::invalid_argument("no test host " + name);
}

const std::string& NetHosts::address(const std::string& name) const {
    return host(name).address;
}

std::vector<std::string> NetHosts::on(const std::string& name,
                                      std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {k_ip, "netns", "exec", host(name).ns});
    return argv;
}

void NetHosts::set_link(const std::string& name, bool up) const {
    auto error = ip({"-n", m_switch, "link", "set", host(name).bridge_side, up ? "up" : "down"});
    if (!error.empty()) throw std::runtime_error("ip link set: " + error);
}

} // namespace loom::test
