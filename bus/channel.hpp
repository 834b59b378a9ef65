#pragma once
// Channel — the client side of one service at one endpoint (DESIGN.md §3).
//
// Paths, chosen per call: a thread-safe service bound in this process is called on the caller's
// thread (direct dispatch); otherwise the request goes over a socket (inproc, ipc, tcp) taken
// from the channel's pool for the duration of the request, and the calling thread waits on that
// socket itself: no I/O thread sits between the caller and its reply. Whatever the path, the
// caller sees the same envelopes, the same replies and the same errors.
//
// Thread-safe: many threads may call one Channel at once (each request has its own socket).
// Delivery is at-most-once: nothing is retried.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bus/context.hpp"
#include "bus/message.hpp"
#include "bus/security.hpp"
#include "bus/service.hpp"
#include "bus/shm.hpp"

namespace loom::bus {

struct ChannelOptions {
    std::optional<ClientSecurity> security; // CURVE, for tcp:// endpoints that require it
    bool allow_direct = true;               // false: in-process calls go over inproc sockets
    std::uint32_t max_connections = 64;     // requests in flight at once on this channel
    ShmOptions shm;                         // shared memory for large frames over ipc
    std::chrono::milliseconds connect_timeout{5000}; // to reach a peer that does not answer
};

struct CallOptions {
    std::chrono::microseconds timeout{0}; // deadline budget; 0 = none (a dead peer still fails)
    std::uint64_t epoch = 0;              // route epoch the caller resolved the service at
};

enum class Path { direct, inproc, ipc, tcp };
std::string_view to_string(Path path) noexcept;

// The outcome of an asynchronous call: a reply, or the error that ended it.
class Result {
public:
    explicit Result(InMessage reply)
        : m_reply(std::move(reply)) {}
    explicit Result(Error error)
        : m_error(std::move(error)) {}
    bool ok() const noexcept { return !m_error.has_value(); }
    const Error& error() const { return *m_error; }
    // The reply; throws the error if the call failed.
    InMessage& value() {
        if (m_error) throw *m_error;
        return m_reply;
    }

private:
    InMessage m_reply;
    std::optional<Error> m_error;
};

using Callback = std::function<void(Result)>;

struct PendingCall;

// A request in flight. get()/wait_for() wait on the request's socket on the calling thread.
// Movable, not copyable; safe to wait on from any one thread at a time.
class Future {
public:
    Future() = default;
    explicit Future(std::shared_ptr<PendingCall> pending)
        : m_pending(std::move(pending)) {}
    // The reply; throws loom::Error (timeout, disconnected, or the service's error).
    InMessage get();
    // True when the outcome is known (get() will not block).
    bool wait_for(std::chrono::microseconds budget);
    bool valid() const noexcept { return m_pending != nullptr; }

private:
    std::shared_ptr<PendingCall> m_pending;
};

class Channel {
public:
    Channel(Context& context, std::string endpoint, std::string service,
            ChannelOptions options = {});
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // One request/reply. Throws loom::Error: the service's typed error, or timeout,
    // disconnected, unavailable, unauthenticated, overloaded from the bus.
    template <class Method>
    InMessage call(Method method, OutMessage request, CallOptions options = {}) {
        return call_method(static_cast<std::uint16_t>(method), std::move(request), options);
    }
    InMessage call_method(std::uint16_t method, OutMessage request, CallOptions options = {});
    // As call_method, but leaves `request` intact so that it can be sent again (the routed
    // client re-sends a request that a draining service answered `moved`).
    InMessage call_method_keep(std::uint16_t method, OutMessage& request, CallOptions options = {});

    // Sends now; the reply is waited for through the Future.
    template <class Method>
    Future call_async(Method method, OutMessage request, CallOptions options = {}) {
        return call_async_method(static_cast<std::uint16_t>(method), std::move(request), options);
    }
    Future call_async_method(std::uint16_t method, OutMessage request, CallOptions options);

    // Sends now; `callback` runs exactly once with the outcome, on the channel's completion
    // thread (or on this thread if the call fails or completes before returning). Callbacks
    // must not block.
    template <class Method>
    void call_async(Method method, OutMessage request, CallOptions options, Callback callback) {
        call_async_method(static_cast<std::uint16_t>(method), std::move(request), options,
                          std::move(callback));
    }
    void call_async_method(std::uint16_t method, OutMessage request, CallOptions options,
                           Callback callback);

    // Built-in control methods of every service.
    InMessage ping(CallOptions options = {});
    InMessage drain(const std::string& moved_to, std::uint64_t moved_epoch,
                    CallOptions options = {});
    InMessage stop(CallOptions options = {});

    const std::string& endpoint() const noexcept;
    const std::string& service() const noexcept;
    // The path the next call will take.
    Path path() const;
    // The shared-memory session's counters (ipc only, once a session is open).
    std::optional<ShmSession::Stats> shm_stats() const;

    struct Core;

private:
    InMessage call_named(std::string_view target, std::uint16_t method, OutMessage& request,
                         CallOptions options);

    std::shared_ptr<Core> m_core;
};

} // namespace loom::bus
