#pragma once
// KernelClient — the kernel's methods over the bus, for launchers, component hosts and the
// runtime. Thread-safe (one Channel underneath).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bus/channel.hpp"
#include "kernel/kernel.hpp"
#include "kernel/types.hpp"

namespace loom::kernel {

class KernelClient {
public:
    KernelClient(bus::Context& context, std::string endpoint, bus::ChannelOptions options = {});

    Route resolve(const std::string& name);
    std::vector<ComponentRecord> list();
    ComponentRecord start(const ComponentSpec& spec);
    ComponentRecord swap(const std::string& name, const ComponentSpec& replacement);
    ComponentRecord stop(const std::string& name);
    ComponentRecord instance(std::uint64_t id,
                             std::chrono::milliseconds wait_terminal = std::chrono::milliseconds{
                                 0});

    struct Registered {
        std::uint64_t instance = 0;
        bus::Heartbeat heartbeat;
        std::uint64_t epoch = 0;
    };
    Registered register_component(const Registration& registration);
    bool heartbeat(std::uint64_t instance, ComponentState state, std::uint32_t in_flight);
    void deregister(std::uint64_t instance);
    void probe(const std::string& topic);
    void shutdown();

    const std::string& endpoint() const noexcept { return m_channel.endpoint(); }
    bus::Context& context() noexcept { return m_context; }

private:
    bus::Context& m_context;
    bus::Channel m_channel;
    std::chrono::microseconds m_quick; // budget of the quick methods
};

} // namespace loom::kernel
