#include "components/model/registry_host.hpp"

#include <algorithm>

#include "schemas/error.hpp"

namespace loom::model {

RegistryHost::RegistryHost(std::shared_ptr<OpRegistry> initial) {
    LOOM_ASSERT(initial != nullptr);
    initial->set_generation(m_next_generation++);
    m_current = std::move(initial);
}

std::shared_ptr<const OpRegistry> RegistryHost::current() const {
    std::lock_guard lock(m_mutex);
    return m_current;
}

std::shared_ptr<OpRegistry> RegistryHost::draft() const {
    std::lock_guard lock(m_mutex);
    auto copy = std::make_shared<OpRegistry>(*m_current);
    copy->set_generation(m_next_generation++);
    return copy;
}

template <class F>
void RegistryHost::for_each_user(F f) {
    std::lock_guard lock(m_users_mutex);
    const auto users = m_users; // a user may unregister from within a call (same thread)
    for (auto* u : users)
        if (std::find(m_users.begin(), m_users.end(), u) != m_users.end()) f(*u);
}

void RegistryHost::prepare(const std::shared_ptr<const OpRegistry>& candidate) {
    try {
        for_each_user([&](SnapshotUser& u) { u.prepare(candidate); });
    } catch (...) {
        const auto generation = current()->generation();
        for_each_user([&](SnapshotUser& u) { u.settle(generation); });
        throw;
    }
}

void RegistryHost::publish(std::shared_ptr<const OpRegistry> candidate) {
    LOOM_ASSERT(candidate != nullptr);
    std::shared_ptr<const OpRegistry> old;
    const auto generation = candidate->generation();
    {
        std::lock_guard lock(m_mutex);
        old = std::exchange(m_current, std::move(candidate));
    }
    for_each_user([&](SnapshotUser& u) { u.settle(generation); });
    // `old` is released here, outside the lock: it may be the last holder of a library.
}

Watch RegistryHost::watch(SnapshotUser& user) {
    {
        std::lock_guard lock(m_users_mutex);
        m_users.push_back(&user);
    }
    return Watch(shared_from_this(), &user);
}

void RegistryHost::unwatch(SnapshotUser* user) noexcept {
    std::lock_guard lock(m_users_mutex);
    std::erase(m_users, user);
}

Watch::Watch(std::shared_ptr<RegistryHost> host, SnapshotUser* user)
    : m_host(std::move(host))
    , m_user(user) {}

Watch::~Watch() {
    release();
}

Watch::Watch(Watch&& other) noexcept
    : m_host(std::move(other.m_host))
    , m_user(std::exchange(other.m_user, nullptr)) {}

Watch& Watch::operator=(Watch&& other) noexcept {
    if (this != &other) {
        release();
        m_host = std::move(other.m_host);
        m_user = std::exchange(other.m_user, nullptr);
    }
    return *this;
}

void Watch::release() noexcept {
    if (m_host && m_user) m_host->unwatch(m_user);
    m_user = nullptr;
    m_host.reset();
}

std::shared_ptr<RegistryHost> make_native_registry_host() {
    return std::make_shared<RegistryHost>(make_native_registry());
}

} // namespace loom::model
