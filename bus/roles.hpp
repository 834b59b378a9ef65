#pragma once
// Roles (DESIGN.md §3 "Secure by default"): what a peer that proved a CURVE key may ask for.
//   operator  — start/stop/swap/shutdown, drain and stop components, load/swap/unload extensions
//   component — register and heartbeat with a kernel, under the names it was given
//   client    — resolve/list, read, transform, infer
// Roles are checked per method before a handler runs (Service::on). Peers on paths that cannot
// be reached from the network — in process, and ipc:// under the user's own 0700 runtime
// directory — hold every role; so does a plain tcp:// endpoint that was explicitly marked
// insecure.

#include <cstdint>
#include <string>
#include <string_view>

namespace loom::bus {

enum class Role : std::uint8_t { client = 1, component = 2, operator_ = 4 };

// "client", "component", "operator".
std::string_view to_string(Role role) noexcept;

class Roles {
public:
    constexpr Roles() = default;
    constexpr Roles(Role role) noexcept // NOLINT(google-explicit-constructor): a role is a set
        : m_bits(static_cast<std::uint8_t>(role)) {}
    static constexpr Roles all() noexcept { return from_bits(7); }
    static constexpr Roles none() noexcept { return {}; }

    constexpr bool has(Role role) const noexcept {
        return (m_bits & static_cast<std::uint8_t>(role)) != 0;
    }
    constexpr bool empty() const noexcept { return m_bits == 0; }
    constexpr Roles operator|(Roles other) const noexcept {
        return from_bits(m_bits | other.m_bits);
    }
    constexpr Roles& operator|=(Roles other) noexcept {
        m_bits |= other.m_bits;
        return *this;
    }
    constexpr bool operator==(const Roles&) const = default;

private:
    static constexpr Roles from_bits(unsigned bits) noexcept {
        Roles r;
        r.m_bits = static_cast<std::uint8_t>(bits);
        return r;
    }
    std::uint8_t m_bits = 0;
};

// "operator, client", or "no role".
std::string to_string(Roles roles);
// "operator" → Role::operator_ ...; invalid_argument naming the roles there are otherwise.
Role parse_role(std::string_view text);

} // namespace loom::bus
