#include "bus/endpoint.hpp"

#include <unistd.h>

#include <fstream>

#include "schemas/error.hpp"

namespace loom::bus {

Endpoint parse_endpoint(std::string_view text) {
    auto sep = text.find("://");
    LOOM_REQUIRE(sep != std::string_view::npos,
                 "endpoint '{}' has no transport: use inproc://NAME, ipc:///PATH or "
                 "tcp://HOST:PORT",
                 text);
    auto scheme = text.substr(0, sep);
    auto address = text.substr(sep + 3);
    LOOM_REQUIRE(!address.empty(), "endpoint '{}' has an empty address", text);
    Endpoint e{Transport::inproc, std::string(address), std::string(text)};
    if (scheme == "inproc") {
        e.transport = Transport::inproc;
    } else if (scheme == "ipc") {
        e.transport = Transport::ipc;
        // Linux sun_path holds 107 characters plus the terminator.
        LOOM_REQUIRE(address.size() <= 100, "ipc endpoint path '{}' is longer than 100 bytes",
                     address);
    } else if (scheme == "tcp") {
        e.transport = Transport::tcp;
        auto colon = address.rfind(':');
        LOOM_REQUIRE(colon != std::string_view::npos && colon + 1 < address.size(),
                     "tcp endpoint '{}' needs HOST:PORT (PORT may be * to pick one)", text);
    } else {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "endpoint '{}' has unknown transport '{}': use inproc, ipc or tcp", text,
                   scheme);
    }
    return e;
}

std::string_view to_string(Transport transport) noexcept {
    switch (transport) {
    case Transport::inproc:
        return "inproc";
    case Transport::ipc:
        return "ipc";
    case Transport::tcp:
        return "tcp";
    }
    return "?";
}

const std::string& host_id() {
    static const std::string id = [] {
        char name[256] = {};
        ::gethostname(name, sizeof(name) - 1);
        std::string boot;
        std::ifstream in("/proc/sys/kernel/random/boot_id");
        std::getline(in, boot);
        return std::string(name) + "/" + boot;
    }();
    return id;
}

} // namespace loom::bus
