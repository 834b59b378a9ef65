#pragma once
// Client sessions and the objects they own, on the serving side (DESIGN.md §6: objects on a
// device belong to the session that created them; ZooKeeper/Chubby sessions are the model).
//
// A session is an explicit lease: a client opens it, keeps it alive by renewing it (any request
// in the session renews it too) and closes it. It is bound to the key the client authenticated
// with (CURVE; empty on paths without CURVE), so knowing a session number is not enough to use
// it. Every object a session creates (compiled model, infer request, remote tensor) is named by
// a random handle and is visible only to that session: any other session — or a wrong key —
// naming it gets `not_found`, exactly as if it did not exist. When the session is closed or its
// lease runs out (client dead, frozen or cut off), its objects are released and the cancel hooks
// of its objects (running inferences) are called.
//
// Threading: every method may be called from any thread at once. Objects are released and
// cancel hooks called outside the table's lock, on the thread that closed the session or on the
// table's reaper thread (for expired leases).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>

namespace loom::protocol {

enum class ObjectKind : std::uint8_t { COMPILED_MODEL, INFER_REQUEST, REMOTE_TENSOR };

struct SessionCounts {
    std::size_t sessions = 0, compiled_models = 0, infer_requests = 0, remote_tensors = 0;
};

struct SessionLimits {
    std::chrono::milliseconds min_lease{100};
    std::chrono::milliseconds max_lease{std::chrono::minutes(10)};
    std::chrono::milliseconds default_lease{std::chrono::seconds(10)};
    std::size_t max_sessions = 4096;             // more: `overloaded`
    std::size_t max_objects_per_session = 65536; // more: `overloaded`
};

class SessionTable {
public:
    using Clock = std::chrono::steady_clock;
    // `owner` names the service in error messages ("device REFERENCE").
    explicit SessionTable(std::string owner, SessionLimits limits = {});
    // Stops the reaper and releases every session's objects.
    ~SessionTable();
    SessionTable(const SessionTable&) = delete;
    SessionTable& operator=(const SessionTable&) = delete;

    struct Lease {
        std::uint64_t session = 0;
        std::chrono::milliseconds lease{0}; // granted: the requested one clamped to the limits
    };
    // A new session bound to `peer_key` (0 ms asks for the default lease).
    Lease open(const std::string& peer_key, std::chrono::milliseconds requested);
    // Extends the lease; not_found when the session does not exist (expired, closed, never
    // opened, or another key's).
    Lease renew(std::uint64_t session, const std::string& peer_key);
    // Releases the session's objects (cancelling what runs); not_found as renew.
    void close(std::uint64_t session, const std::string& peer_key);

    // Adds an object to the session and returns its handle (random, never 0). `cancel` (may be
    // empty) is called when the session ends while the object is still held.
    std::uint64_t add(std::uint64_t session, const std::string& peer_key, ObjectKind kind,
                      std::shared_ptr<void> object, std::function<void()> cancel = {});
    // The object, if `handle` names one of `kind` in this session; not_found otherwise. Renews
    // the session.
    std::shared_ptr<void> find(std::uint64_t session, const std::string& peer_key, ObjectKind kind,
                               std::uint64_t handle);
    template <class T>
    std::shared_ptr<T> get(std::uint64_t session, const std::string& peer_key, ObjectKind kind,
                           std::uint64_t handle) {
        return std::static_pointer_cast<T>(find(session, peer_key, kind, handle));
    }
    // Drops the session's reference (the object lives on while a running call holds it);
    // not_found as find.
    void release(std::uint64_t session, const std::string& peer_key, ObjectKind kind,
                 std::uint64_t handle);

    SessionCounts counts() const;

private:
    struct Object {
        ObjectKind kind;
        std::shared_ptr<void> object;
        std::function<void()> cancel;
    };
    struct Session {
        std::string peer_key;
        std::chrono::milliseconds lease;
        Clock::time_point expires;
        std::map<std::uint64_t, Object> objects;
    };
    // The session, or not_found; m_mutex held.
    Session& live(std::uint64_t session, const std::string& peer_key);
    // The session's object `handle` of `kind`, or not_found; m_mutex held.
    std::map<std::uint64_t, Object>::iterator owned(std::uint64_t session,
                                                    const std::string& peer_key, ObjectKind kind,
                                                    std::uint64_t handle);
    std::uint64_t fresh_id() const; // m_mutex held: random, not 0, not in use
    // Cancels and drops `objects` (m_mutex not held).
    static void end(std::map<std::uint64_t, Object> objects) noexcept;
    void reap();
    // Rebuilds m_expiries from the open sessions (closed ones leave entries behind); m_mutex held.
    void requeue();

    const std::string m_owner;
    const SessionLimits m_limits;
    mutable std::mutex m_mutex; // guards everything below
    std::condition_variable m_wake;
    std::map<std::uint64_t, Session> m_sessions;
    std::map<std::uint64_t, std::uint64_t> m_object_session; // handle → session (unique handles)
    // When each session was last seen to expire, earliest first: the reaper looks only at the
    // front, and re-queues a session renewed meanwhile (renewing does not touch the queue), so
    // opening, renewing and closing stay O(log n) however many sessions are open.
    using Expiry = std::pair<Clock::time_point, std::uint64_t>;
    std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> m_expiries;
    bool m_stopping = false;
    std::thread m_reaper; // last: started once the rest exists
};

} // namespace loom::protocol
