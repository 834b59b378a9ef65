#pragma once
// RoutedChannel — calls the service a name resolves to, through whatever swaps happen
// (DESIGN.md §3, §4). The route (endpoints + epoch) is cached; the request carries its epoch.
// A request is sent again (at most twice) only when it is certain the service never started
// it: the draining instance answered `moved`; nothing was delivered (`unavailable`) and the
// kernel has a newer route; or the connection dropped (`disconnected`) and the kernel confirms
// that instance stopped cleanly after draining. Everything else reaches the caller.
// Thread-safe.

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "bus/channel.hpp"
#include "kernel/client.hpp"

namespace loom::kernel {

class RoutedChannel {
public:
    RoutedChannel(bus::Context& context, KernelClient& kernel, std::string name,
                  bus::ChannelOptions options = {});

    template <class Method>
    bus::InMessage call(Method method, bus::OutMessage request, bus::CallOptions options = {}) {
        return call_method(static_cast<std::uint16_t>(method), request, options);
    }
    bus::InMessage call_method(std::uint16_t method, bus::OutMessage& request,
                               bus::CallOptions options = {});

    // The cached route (resolving it if there is none yet).
    Route route();
    // The instance requests go to now, for a caller that must reach one instance with several
    // calls (a pipeline request's items): calls on its channel are not re-routed — when that
    // instance drains, the caller sees `moved` (or, once it stopped, unavailable/disconnected).
    struct Pinned {
        Route route;
        std::shared_ptr<bus::Channel> channel;
    };
    Pinned pinned();
    // The instance the kernel routes the name to now if it is newer than `stale_epoch` (after a
    // pinned call failed), else nullopt.
    std::optional<Pinned> newer(std::uint64_t stale_epoch);
    // The endpoint requests go to now.
    std::string endpoint();

private:
    struct Target {
        Route route;
        std::string endpoint;
        std::shared_ptr<bus::Channel> channel;
    };
    std::shared_ptr<Target> current();
    // A route newer than `stale_epoch` (from the kernel, or `hint` if the kernel cannot say),
    // or null when there is none.
    std::shared_ptr<Target> newer_than(std::uint64_t stale_epoch, const Route* hint);
    std::shared_ptr<Target> make_target(Route route);

    bus::Context& m_context;
    KernelClient& m_kernel;
    std::string m_name;
    bus::ChannelOptions m_options;
    std::mutex m_mutex; // guards m_target
    std::shared_ptr<Target> m_target;
};

} // namespace loom::kernel
