#include "components/protocol/session_table.hpp"

#include <sys/random.h>

#include <algorithm>
#include <vector>

#include <pthread.h>

#include "schemas/error.hpp"

namespace loom::protocol {

namespace {

std::uint64_t random_u64() {
    std::uint64_t v = 0;
    auto* p = reinterpret_cast<char*>(&v);
    std::size_t got = 0;
    while (got < sizeof v) {
        auto n = ::getrandom(p + got, sizeof v - got, 0);
        LOOM_ASSERT(n > 0, "getrandom failed");
        got += static_cast<std::size_t>(n);
    }
    return v;
}

const char* kind_name(ObjectKind kind) noexcept {
    switch (kind) {
    case ObjectKind::COMPILED_MODEL:
        return "compiled model";
    case ObjectKind::INFER_REQUEST:
        return "infer request";
    case ObjectKind::REMOTE_TENSOR:
        return "remote tensor";
    }
    return "object";
}

} // namespace

SessionTable::SessionTable(std::string owner, SessionLimits limits)
    : m_owner(std::move(owner))
    , m_limits(limits) {
    m_reaper = std::thread([this] { reap(); });
    ::pthread_setname_np(m_reaper.native_handle(), "loom-sessions");
}

SessionTable::~SessionTable() {
    std::map<std::uint64_t, Session> sessions;
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        sessions.swap(m_sessions);
        m_object_session.clear();
    }
    m_wake.notify_all();
    m_reaper.join();
    for (auto& [id, s] : sessions)
        end(std::move(s.objects));
}

std::uint64_t SessionTable::fresh_id() const {
    for (;;) {
        auto id = random_u64();
        if (id != 0 && !m_sessions.contains(id) && !m_object_session.contains(id)) return id;
    }
}

SessionTable::Lease SessionTable::open(const std::string& peer_key,
                                       std::chrono::milliseconds requested) {
    const auto lease = requested.count() <= 0
                           ? m_limits.default_lease
                           : std::clamp(requested, m_limits.min_lease, m_limits.max_lease);
    std::lock_guard lock(m_mutex);
    if (m_sessions.size() >= m_limits.max_sessions)
        LOOM_THROW(ErrorKind::OVERLOADED, "{} has {} client sessions open, its limit", m_owner,
                   m_sessions.size());
    const auto id = fresh_id();
    const auto expires = Clock::now() + lease;
    m_sessions.emplace(id, Session{peer_key, lease, expires, {}});
    const bool earliest = m_expiries.empty() || expires < m_expiries.top().first;
    m_expiries.emplace(expires, id);
    if (earliest) m_wake.notify_all(); // the reaper sleeps until a later time
    return {id, lease};
}

SessionTable::Session& SessionTable::live(std::uint64_t session, const std::string& peer_key) {
    LOOM_REQUIRE(session != 0, "{}: this request needs a client session (open one first)", m_owner);
    auto it = m_sessions.find(session);
    // Another key's session reads exactly like one that does not exist.
    if (it == m_sessions.end() || it->second.peer_key != peer_key ||
        it->second.expires <= Clock::now())
        LOOM_THROW(ErrorKind::NOT_FOUND,
                   "{} has no client session {:#x} (it expired, was closed, or is not yours)",
                   m_owner, session);
    it->second.expires = Clock::now() + it->second.lease;
    return it->second;
}

SessionTable::Lease SessionTable::renew(std::uint64_t session, const std::string& peer_key) {
    std::lock_guard lock(m_mutex);
    return {session, live(session, peer_key).lease};
}

void SessionTable::close(std::uint64_t session, const std::string& peer_key) {
    std::map<std::uint64_t, Object> objects;
    {
        std::lock_guard lock(m_mutex);
        objects.swap(live(session, peer_key).objects);
        for (const auto& [handle, o] : objects)
            m_object_session.erase(handle);
        m_sessions.erase(session);
        if (m_expiries.size() > 2 * m_sessions.size() + 64) requeue();
    }
    end(std::move(objects));
}

std::uint64_t SessionTable::add(std::uint64_t session, const std::string& peer_key, ObjectKind kind,
                                std::shared_ptr<void> object, std::function<void()> cancel) {
    std::lock_guard lock(m_mutex);
    auto& s = live(session, peer_key);
    if (s.objects.size() >= m_limits.max_objects_per_session)
        LOOM_THROW(ErrorKind::OVERLOADED, "{}: the client session holds {} objects, its limit",
                   m_owner, s.objects.size());
    const auto handle = fresh_id();
    s.objects.emplace(handle, Object{kind, std::move(object), std::move(cancel)});
    m_object_session.emplace(handle, session);
    return handle;
}

std::map<std::uint64_t, SessionTable::Object>::iterator
SessionTable::owned(std::uint64_t session, const std::string& peer_key, ObjectKind kind,
                    std::uint64_t handle) {
    auto& objects = live(session, peer_key).objects;
    auto it = objects.find(handle);
    if (it == objects.end() || it->second.kind != kind)
        LOOM_THROW(ErrorKind::NOT_FOUND, "{} {:#x} does not exist on {} (released?)",
                   kind_name(kind), handle, m_owner);
    return it;
}

std::shared_ptr<void> SessionTable::find(std::uint64_t session, const std::string& peer_key,
                                         ObjectKind kind, std::uint64_t handle) {
    std::lock_guard lock(m_mutex);
    return owned(session, peer_key, kind, handle)->second.object;
}

void SessionTable::release(std::uint64_t session, const std::string& peer_key, ObjectKind kind,
                           std::uint64_t handle) {
    Object dropped{kind, nullptr, {}};
    {
        std::lock_guard lock(m_mutex);
        auto it = owned(session, peer_key, kind, handle);
        dropped = std::move(it->second);
        m_sessions.at(session).objects.erase(it);
        m_object_session.erase(handle);
    }
    // `dropped` goes here, outside the lock: a compiled model may take a while to destroy.
}

SessionCounts SessionTable::counts() const {
    std::lock_guard lock(m_mutex);
    SessionCounts c;
    c.sessions = m_sessions.size();
    for (const auto& [id, s] : m_sessions)
        for (const auto& [handle, o] : s.objects) {
            switch (o.kind) {
            case ObjectKind::COMPILED_MODEL:
                ++c.compiled_models;
                break;
            case ObjectKind::INFER_REQUEST:
                ++c.infer_requests;
                break;
            case ObjectKind::REMOTE_TENSOR:
                ++c.remote_tensors;
                break;
            }
        }
    return c;
}

void SessionTable::end(std::map<std::uint64_t, Object> objects) noexcept {
    // Cancel first, so inferences still running stop early; then drop our references (a running
    // call keeps its own until it returns).
    for (auto& [handle, o] : objects)
        if (o.cancel) o.cancel();
    objects.clear();
}

void SessionTable::requeue() {
    std::vector<Expiry> live;
    live.reserve(m_sessions.size());
    for (const auto& [id, session] : m_sessions)
        live.emplace_back(session.expires, id);
    m_expiries = decltype(m_expiries)(std::greater<>(), std::move(live));
}

void SessionTable::reap() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        std::vector<std::map<std::uint64_t, Object>> expired;
        const auto now = Clock::now();
        while (!m_expiries.empty() && m_expiries.top().first <= now) {
            const auto id = m_expiries.top().second;
            m_expiries.pop();
            auto it = m_sessions.find(id);
            if (it == m_sessions.end()) continue; // closed
            if (it->second.expires > now) {       // renewed since it was queued
                m_expiries.emplace(it->second.expires, id);
                continue;
            }
            for (const auto& [handle, o] : it->second.objects)
                m_object_session.erase(handle);
            expired.push_back(std::move(it->second.objects));
            m_sessions.erase(it);
        }
        if (!expired.empty()) {
            lock.unlock();
            for (auto& objects : expired)
                end(std::move(objects));
            lock.lock();
            continue; // the table may have changed meanwhile
        }
        if (m_expiries.empty()) {
            m_wake.wait(lock);
        } else {
            // A copy: wait_until reads its deadline while the lock is released and the queue
            // changes.
            const auto next = m_expiries.top().first;
            m_wake.wait_until(lock, next);
        }
    }
}

} // namespace loom::protocol
