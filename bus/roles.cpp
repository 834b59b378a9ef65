#include "bus/roles.hpp"

#include "schemas/error.hpp"

namespace loom::bus {

std::string_view to_string(Role role) noexcept {
    switch (role) {
    case Role::client:
        return "client";
    case Role::component:
        return "component";
    case Role::operator_:
        return "operator";
    }
    return "?";
}

std::string to_string(Roles roles) {
    std::string text;
    for (Role role : {Role::operator_, Role::component, Role::client}) {
        if (!roles.has(role)) continue;
        if (!text.empty()) text += ", ";
        text += to_string(role);
    }
    return text.empty() ? "no role" : text;
}

Role parse_role(std::string_view text) {
    for (Role role : {Role::operator_, Role::component, Role::client})
        if (text == to_string(role)) return role;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
               "unknown role '{}': the roles are operator, component and client", text);
}

} // namespace loom::bus
