#include "bus/context.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include <spdlog/spdlog.h>

#include "bus/endpoint.hpp"
#include "bus/library_policy.hpp"
#include "bus/security.hpp"
#include "schemas/error.hpp"

namespace loom::bus {

LocalEndpoint::LocalEndpoint(std::string endpoint, std::shared_ptr<Dispatcher> direct)
    : m_endpoint(std::move(endpoint))
    , m_direct(std::move(direct))
    , m_closed_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (m_closed_fd < 0)
        LOOM_THROW(ErrorKind::OVERLOADED, "eventfd for {} failed: out of file descriptors?",
                   m_endpoint);
}

LocalEndpoint::~LocalEndpoint() {
    if (m_closed_fd >= 0) ::close(m_closed_fd);
}

void LocalEndpoint::close() noexcept {
    if (m_closed.exchange(true, std::memory_order_acq_rel)) return;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_closed_fd, &one, sizeof(one));
}

std::chrono::microseconds default_spin() {
    constexpr std::chrono::microseconds k_default{50};
    const char* text = std::getenv("LOOM_SPIN_US");
    if (!text) return k_default;
    char* end = nullptr;
    errno = 0;
    long us = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || us < 0 || us > 100000) {
        static std::once_flag warned;
        std::call_once(warned, [&] {
            spdlog::warn("LOOM_SPIN_US='{}' is not a number of microseconds from 0 to 100000: "
                         "spinning {} µs",
                         text, k_default.count());
        });
        return k_default;
    }
    return std::chrono::microseconds(us);
}

Context::Context(ContextOptions options)
    : m_options(options)
    , m_zmq(options.io_threads, options.max_sockets) {
    LOOM_REQUIRE(options.heartbeat.interval.count() > 0 && options.heartbeat.liveness > 0,
                 "heartbeat interval and liveness must be positive");
}

Context::~Context() {
    {
        std::lock_guard lock(m_mutex);
        for (auto& [name, local] : m_local)
            local->close();
        m_local.clear();
    }
    m_authenticator.reset(); // closes its sockets before the zmq context terminates
}

std::shared_ptr<LocalEndpoint> Context::bind_local(const std::string& endpoint,
                                                   std::shared_ptr<Dispatcher> direct) {
    std::lock_guard lock(m_mutex);
    auto [it, inserted] = m_local.try_emplace(endpoint);
    LOOM_REQUIRE(inserted, "endpoint {} is already bound in this process", endpoint);
    it->second = std::make_shared<LocalEndpoint>(endpoint, std::move(direct));
    return it->second;
}

void Context::unbind_local(const std::string& endpoint) noexcept {
    std::shared_ptr<LocalEndpoint> local;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_local.find(endpoint);
        if (it == m_local.end()) return;
        local = std::move(it->second);
        m_local.erase(it);
    }
    local->close();
}

std::shared_ptr<LocalEndpoint> Context::find_local(const std::string& endpoint) const {
    std::lock_guard lock(m_mutex);
    auto it = m_local.find(endpoint);
    return it == m_local.end() ? nullptr : it->second;
}

std::string Context::nearest(const std::vector<std::string>& endpoints,
                             const std::string& host) const {
    for (const auto& e : endpoints)
        if (e.starts_with("inproc://") && find_local(e)) return e;
    if (host == host_id())
        for (const auto& e : endpoints)
            if (e.starts_with("ipc://")) return e;
    for (const auto& e : endpoints)
        if (e.starts_with("tcp://")) return e;
    return {};
}

Authenticator& Context::authenticator() {
    std::lock_guard lock(m_mutex);
    if (!m_authenticator) m_authenticator = std::make_unique<Authenticator>(m_zmq);
    return *m_authenticator;
}

std::vector<std::filesystem::path> Context::library_dirs() const {
    return m_options.library_dirs.empty() ? default_library_dirs() : m_options.library_dirs;
}

std::string Context::trusted_library(const std::string& path, bool from_network) const {
    if (!from_network) return path;
    return check_library_path(path, library_dirs()).string();
}

std::optional<ClientSecurity> Context::client_security(const std::string& endpoint) const {
    if (!endpoint.starts_with("tcp://") || !m_options.client_keys) return std::nullopt;
    auto it = m_options.server_keys.find(endpoint);
    if (it == m_options.server_keys.end()) return std::nullopt;
    return ClientSecurity{*m_options.client_keys, it->second};
}

} // namespace loom::bus
