#include "launcher/security_options.hpp"

#include "schemas/error.hpp"

namespace loom::launcher {

void ClientKeyOptions::add(CLI::App& cmd, const std::string& what) {
    cmd.add_option("--key", key, "This client's CURVE key pair file (from `loom keygen`)");
    cmd.add_option("--peer-key", server_key, "The CURVE public key (file or Z85) of " + what);
}

std::optional<bus::ClientSecurity> ClientKeyOptions::load() const {
    LOOM_REQUIRE(key.empty() == server_key.empty(),
                 "CURVE needs both --key and --peer-key, or neither");
    if (key.empty()) return std::nullopt;
    return bus::ClientSecurity{bus::KeyPair::load(key), bus::load_public_key(server_key)};
}

void ServerKeyOptions::add(CLI::App& cmd) {
    cmd.add_option("--server-key", key,
                   "CURVE key pair file for the tcp:// endpoints (clients must be --allow'ed)");
    cmd.add_option("--allow", allowed, "A client public key (file or Z85) allowed to connect");
}

std::optional<bus::ServerSecurity> ServerKeyOptions::load() const {
    LOOM_REQUIRE(key.empty() == allowed.empty(),
                 "CURVE needs both --server-key and at least one --allow, or neither");
    if (key.empty()) return std::nullopt;
    bus::ServerSecurity security{bus::KeyPair::load(key), {}};
    for (const auto& a : allowed)
        security.allowed_clients.insert(bus::load_public_key(a));
    return security;
}

} // namespace loom::launcher
