#pragma once
// RegistryHost — a process's op registry as immutable, numbered snapshots (DESIGN.md §5).
//
// One per process that hosts components, made by whoever starts them (the embedded deployment,
// `loom serve`, `loom kernel`) and passed in — never a global. Readers, passes and devices take
// current() when a request starts and keep that snapshot for the whole request. The extension
// loader changes the registry: it takes lock_changes(), builds a draft(), lets every watching
// SnapshotUser prepare() for it (a compiled model checks its shapes and builds the draft's
// kernels; any refusal aborts the change), then publish()es it.
//
// Thread-safe. A snapshot holds the extension libraries its ops come from (OpSpec::owner), so a
// library stays mapped while any request, compiled model or model read with it holds its snapshot.

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "components/model/op_registry.hpp"

namespace loom::model {

class SnapshotUser {
public:
    virtual ~SnapshotUser() = default;
    // Checks that this user still works with `candidate` (throw invalid_argument naming what
    // differs to refuse the change) and prepares for it. Runs under the host's change lock, on
    // the changing thread, concurrently with requests; the candidate may never be published.
    virtual void prepare(const std::shared_ptr<const OpRegistry>& candidate) = 0;
    // Snapshot `generation` is now the one in force — after a publish (prepared for it or not:
    // an unload does not prepare) or after a refused change (the candidate is dropped): what was
    // prepared for other snapshots may be released. Must not throw.
    virtual void settle(std::uint64_t generation) noexcept = 0;
};

class RegistryHost;

// Keeps a SnapshotUser registered with a host until destroyed (and keeps the host alive). A user
// holds its Watch as its last-declared member, so that it unregisters before it is destroyed;
// the host then never touches a user — nor a control block — of an unloaded library.
class Watch {
public:
    Watch() = default;
    Watch(std::shared_ptr<RegistryHost> host, SnapshotUser* user);
    ~Watch();
    Watch(Watch&& other) noexcept;
    Watch& operator=(Watch&& other) noexcept;
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

private:
    void release() noexcept;
    std::shared_ptr<RegistryHost> m_host;
    SnapshotUser* m_user = nullptr;
};

class RegistryHost : public std::enable_shared_from_this<RegistryHost> {
public:
    explicit RegistryHost(std::shared_ptr<OpRegistry> initial);

    // The published snapshot (generation ≥ 1).
    std::shared_ptr<const OpRegistry> current() const;

    // Serialises changes (load, unload, swap); hold it from draft() to publish().
    std::unique_lock<std::mutex> lock_changes() { return std::unique_lock(m_change_mutex); }
    // A copy of current() numbered with the next generation, to be edited and published.
    std::shared_ptr<OpRegistry> draft() const;
    // Calls prepare() of every live user; the first refusal is rethrown after every user has
    // settled back on current() (nothing is published).
    void prepare(const std::shared_ptr<const OpRegistry>& candidate);
    void publish(std::shared_ptr<const OpRegistry> candidate);

    // Registers `user` for prepare() and settle() until the returned Watch is destroyed. The
    // host must be owned by a shared_ptr.
    [[nodiscard]] Watch watch(SnapshotUser& user);

private:
    friend class Watch;
    void unwatch(SnapshotUser* user) noexcept;
    // Calls f(user) for each registered user; a user unregistering meanwhile (on any thread)
    // waits until its call is over, and is skipped if it has not been called yet.
    template <class F>
    void for_each_user(F f);

    mutable std::mutex m_mutex; // guards m_current, m_next_generation
    std::shared_ptr<const OpRegistry> m_current;
    mutable std::uint64_t m_next_generation = 1;
    std::mutex m_change_mutex;
    std::recursive_mutex m_users_mutex; // guards m_users; held while a user is called
    std::vector<SnapshotUser*> m_users;
};

// A host publishing the native op set (for components started without one).
std::shared_ptr<RegistryHost> make_native_registry_host();

} // namespace loom::model
