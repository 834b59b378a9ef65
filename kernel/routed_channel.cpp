#include "kernel/routed_channel.hpp"

#include <fmt/ranges.h>

#include "bus/endpoint.hpp"

namespace loom::kernel {

RoutedChannel::RoutedChannel(bus::Context& context, KernelClient& kernel, std::string name,
                             bus::ChannelOptions options)
    : m_context(context)
    , m_kernel(kernel)
    , m_name(std::move(name))
    , m_options(std::move(options)) {}

std::shared_ptr<RoutedChannel::Target> RoutedChannel::make_target(Route route) {
    auto target = std::make_shared<Target>();
    target->endpoint = m_context.nearest(route.endpoints, route.host);
    if (target->endpoint.empty())
        LOOM_THROW(ErrorKind::UNAVAILABLE,
                   "'{}' is served at {}, none of which is reachable from this process", m_name,
                   fmt::join(route.endpoints, ", "));
    // CURVE: this client's keys, and the server key the kernel has for this instance.
    auto options = m_options;
    if (options.security && !route.server_key.empty())
        options.security->server_public_key = route.server_key;
    target->channel = std::make_shared<bus::Channel>(m_context, target->endpoint, m_name, options);
    target->route = std::move(route);
    return target;
}

std::shared_ptr<RoutedChannel::Target> RoutedChannel::current() {
    std::lock_guard lock(m_mutex);
    if (!m_target) m_target = make_target(m_kernel.resolve(m_name));
    return m_target;
}

std::shared_ptr<RoutedChannel::Target> RoutedChannel::newer_than(std::uint64_t stale_epoch,
                                                                 const Route* hint) {
    std::lock_guard lock(m_mutex);
    if (m_target && m_target->route.epoch > stale_epoch) return m_target; // already refreshed
    Route route;
    try {
        route = m_kernel.resolve(m_name);
    } catch (const Error& e) {
        if (!hint || e.kind() == ErrorKind::NOT_FOUND) throw;
        route = *hint; // the kernel cannot be asked: trust the draining instance's pointer
    }
    if (route.epoch <= stale_epoch) return nullptr;
    m_target = make_target(std::move(route));
    return m_target;
}

RoutedChannel::Pinned RoutedChannel::pinned() {
    auto t = current();
    return {t->route, t->channel};
}

std::optional<RoutedChannel::Pinned> RoutedChannel::newer(std::uint64_t stale_epoch) {
    auto t = newer_than(stale_epoch, nullptr);
    if (!t) return std::nullopt;
    return Pinned{t->route, t->channel};
}

Route RoutedChannel::route() {
    return current()->route;
}
std::string RoutedChannel::endpoint() {
    return current()->endpoint;
}

bus::InMessage RoutedChannel::call_method(std::uint16_t method, bus::OutMessage& request,
                                          bus::CallOptions options) {
    auto deadline = options.timeout.count() > 0 ? bus::Clock::now() + options.timeout
                                                : bus::Clock::time_point::max();
    auto target = current();
    for (int resent = 0;; ++resent) {
        bus::CallOptions attempt = options;
        attempt.epoch = target->route.epoch;
        if (deadline != bus::Clock::time_point::max()) {
            attempt.timeout =
                std::chrono::duration_cast<std::chrono::microseconds>(deadline - bus::Clock::now());
            if (attempt.timeout.count() <= 0)
                LOOM_THROW(ErrorKind::TIMEOUT, "deadline passed before '{}' could be reached",
                           m_name);
        }
        try {
            return target->channel->call_method_keep(method, request, attempt);
        } catch (const Error& e) {
            if (resent >= 2) throw;
            std::shared_ptr<Target> next;
            switch (e.kind()) {
            case ErrorKind::MOVED: {
                // Not started by the draining instance: safe to send where it points.
                Route hint{m_name, {e.moved_to()}, e.moved_epoch(), 0, bus::host_id()};
                next = newer_than(target->route.epoch, e.moved_to().empty() ? nullptr : &hint);
                break;
            }
            case ErrorKind::UNAVAILABLE: // never delivered
                next = newer_than(target->route.epoch, nullptr);
                break;
            case ErrorKind::DISCONNECTED: {
                // Delivered or not? Only an instance that drained (started nothing it did not
                // answer) and then stopped lets us send again.
                auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                    m_context.options().heartbeat.timeout() * 2);
                auto record = m_kernel.instance(target->route.instance, wait);
                if (record.state == ComponentState::STOPPED && record.clean_stop)
                    next = newer_than(target->route.epoch, nullptr);
                break;
            }
            default:
                break;
            }
            if (!next) throw;
            target = std::move(next);
        }
    }
}

} // namespace loom::kernel
