#pragma once
// The client side of a device session (DESIGN.md §6; the serving side is SessionTable): opens a
// session with a device, keeps its lease alive from a thread of its own while it lives, stamps
// every request with it, and closes it at the end — so the device releases what this client made
// if the client dies, freezes or is cut off, and nobody else can use it meanwhile.
//
// A session the device no longer knows (its lease ran out while this process was frozen or cut
// off, or the device restarted or was swapped) is replaced by a new one: by the renewing thread
// when it learns so, or at once by a compile/import the device refused for it (sent again in the
// new session). Objects of the old session are gone and naming them gives `not_found`.
//
// Threading: call() may be used from many threads at once.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "bus/channel.hpp"
#include "bus/message.hpp"
#include "schemas/plugin.capnp.h"

namespace loom::protocol {

struct SessionOptions {
    // The lease asked for (the device clamps it); renewed every third of it.
    std::chrono::milliseconds lease{std::chrono::seconds(10)};
    // Deadline of the calls made while tearing down (close, releases): a dead or frozen device
    // never blocks a destructor longer than this (DESIGN.md §9: shutdown is a protocol).
    std::chrono::milliseconds release_timeout{std::chrono::seconds(1)};
};

class DeviceSession {
public:
    // Sends a request and returns the reply (errors rethrown): a RoutedChannel or a Channel.
    using Caller = std::function<bus::InMessage(std::uint16_t method, bus::OutMessage& request,
                                                bus::CallOptions options)>;
    DeviceSession(Caller caller, SessionOptions options = {});
    // Closes the session (within release_timeout; errors ignored) and stops renewing.
    ~DeviceSession();
    DeviceSession(const DeviceSession&) = delete;
    DeviceSession& operator=(const DeviceSession&) = delete;

    // Sends `request` in the session, opening one first when there is none.
    bus::InMessage call(schema::DeviceMethod method, bus::OutMessage& request,
                        bus::CallOptions options = {});
    // As call() with the release deadline; for destructors (errors still thrown).
    bus::InMessage call_releasing(schema::DeviceMethod method, bus::OutMessage& request);
    // The session's number (opening one when there is none).
    std::uint64_t id();
    const SessionOptions& options() const noexcept { return m_options; }

private:
    std::uint64_t open_locked(std::unique_lock<std::mutex>& lock);
    // Asks the device whether `session` still exists; drops it (true) when it does not.
    bool forget_if_gone(std::uint64_t session);
    void renew_loop();

    Caller m_caller;
    SessionOptions m_options;
    std::mutex m_mutex; // guards the fields below
    std::condition_variable m_wake;
    std::uint64_t m_session = 0; // 0: none open (or the last one was lost)
    std::chrono::milliseconds m_lease{0};
    bool m_opening = false; // an open is on its way (others wait for it)
    bool m_stopping = false;
    std::thread m_renewer; // started with the first session
};

} // namespace loom::protocol
