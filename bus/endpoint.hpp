#pragma once
// Endpoint strings: inproc://name, ipc:///path, tcp://host:port (DESIGN.md §1).

#include <string>
#include <string_view>

namespace loom::bus {

enum class Transport { inproc, ipc, tcp };

struct Endpoint {
    Transport transport;
    std::string address; // after "<transport>://"
    std::string text;    // the whole endpoint
};

// Parses and checks an endpoint; invalid_argument naming what is wrong.
Endpoint parse_endpoint(std::string_view text);
std::string_view to_string(Transport transport) noexcept;

// An identity of this host for "is this ipc endpoint on my machine": hostname + boot id.
const std::string& host_id();

} // namespace loom::bus
