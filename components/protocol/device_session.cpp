#include "components/protocol/device_session.hpp"

#include <pthread.h>

#include "schemas/error.hpp"

namespace loom::protocol {

using schema::DeviceMethod;

DeviceSession::DeviceSession(Caller caller, SessionOptions options)
    : m_caller(std::move(caller))
    , m_options(options) {}

DeviceSession::~DeviceSession() {
    std::uint64_t session = 0;
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        session = std::exchange(m_session, 0);
    }
    m_wake.notify_all();
    if (m_renewer.joinable()) m_renewer.join();
    if (session == 0) return;
    try {
        bus::OutMessage request;
        request.set_session(session);
        m_caller(static_cast<std::uint16_t>(DeviceMethod::CLOSE_SESSION), request,
                 bus::CallOptions{m_options.release_timeout});
    } catch (...) { // gone or frozen: its lease runs out on the device
    }
}

std::uint64_t DeviceSession::open_locked(std::unique_lock<std::mutex>& lock) {
    while (m_opening)
        m_wake.wait(lock);
    if (m_session != 0) return m_session;
    m_opening = true;
    lock.unlock();
    std::uint64_t id = 0;
    std::chrono::milliseconds lease{0};
    try {
        bus::OutMessage request;
        request.init_payload<schema::SessionRequest>().setLeaseMs(
            static_cast<std::uint32_t>(m_options.lease.count()));
        auto reply = m_caller(static_cast<std::uint16_t>(DeviceMethod::OPEN_SESSION), request, {});
        auto info = reply.payload<schema::SessionInfo>();
        id = info.getSession();
        lease = std::chrono::milliseconds(info.getLeaseMs());
    } catch (...) {
        lock.lock();
        m_opening = false;
        m_wake.notify_all();
        throw;
    }
    lock.lock();
    m_opening = false;
    LOOM_ASSERT(id != 0, "the device opened session 0");
    m_session = id;
    m_lease = std::max(lease, std::chrono::milliseconds(1));
    if (!m_renewer.joinable() && !m_stopping) {
        m_renewer = std::thread([this] { renew_loop(); });
        ::pthread_setname_np(m_renewer.native_handle(), "loom-lease");
    }
    m_wake.notify_all();
    return id;
}

std::uint64_t DeviceSession::id() {
    std::unique_lock lock(m_mutex);
    return m_session != 0 ? m_session : open_locked(lock);
}

bool DeviceSession::forget_if_gone(std::uint64_t session) {
    try {
        bus::OutMessage probe;
        probe.set_session(session);
        m_caller(static_cast<std::uint16_t>(DeviceMethod::RENEW_SESSION), probe,
                 bus::CallOptions{m_options.release_timeout});
        return false;
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::NOT_FOUND) return false;
    }
    std::lock_guard lock(m_mutex);
    if (m_session == session) m_session = 0;
    return true;
}

bus::InMessage DeviceSession::call(DeviceMethod method, bus::OutMessage& request,
                                   bus::CallOptions options) {
    const auto session = id();
    request.set_session(session);
    try {
        return m_caller(static_cast<std::uint16_t>(method), request, options);
    } catch (const Error& e) {
        // A compile or import is refused before it starts when the device no longer knows the
        // session (its lease ran out, or the device was restarted or swapped): it is sent once
        // more in a new session. Calls naming objects fail — the objects went with the session.
        const bool creates =
            method == DeviceMethod::COMPILE_MODEL || method == DeviceMethod::IMPORT_MODEL;
        if (!creates || e.kind() != ErrorKind::NOT_FOUND || !forget_if_gone(session)) throw;
    }
    request.set_session(id());
    return m_caller(static_cast<std::uint16_t>(method), request, options);
}

bus::InMessage DeviceSession::call_releasing(DeviceMethod method, bus::OutMessage& request) {
    std::uint64_t session = 0;
    {
        std::lock_guard lock(m_mutex);
        session = m_session;
    }
    // No session (never opened, or lost): the device holds nothing of ours to release.
    if (session == 0) LOOM_THROW(ErrorKind::NOT_FOUND, "no device session: nothing to release");
    request.set_session(session);
    return m_caller(static_cast<std::uint16_t>(method), request,
                    bus::CallOptions{m_options.release_timeout});
}

void DeviceSession::renew_loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        const auto period = std::max(m_lease / 3, std::chrono::milliseconds(1));
        m_wake.wait_for(lock, period, [this] { return m_stopping; });
        if (m_stopping || m_session == 0) continue;
        const auto session = m_session;
        lock.unlock();
        bool lost = false;
        try {
            bus::OutMessage request;
            request.set_session(session);
            m_caller(static_cast<std::uint16_t>(DeviceMethod::RENEW_SESSION), request,
                     bus::CallOptions{period});
        } catch (const Error& e) {
            // not_found: the device forgot us (lease ran out, device restarted). Anything else
            // (timeout, disconnected): try again next period; the lease may still hold.
            lost = e.kind() == ErrorKind::NOT_FOUND;
        } catch (...) {
        }
        lock.lock();
        if (lost && m_session == session) m_session = 0;
    }
}

} // namespace loom::protocol
