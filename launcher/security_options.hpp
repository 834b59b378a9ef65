#pragma once
// Command-line options for CURVE keys, shared by the subcommands that talk over tcp://.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bus/security.hpp"

namespace loom::launcher {

// A client's keys: --key FILE (its own pair) and --server-key PUB (the server's public key).
struct ClientKeyOptions {
    std::string key;
    std::string server_key;
    void add(CLI::App& cmd, const std::string& what);
    std::optional<bus::ClientSecurity> load() const;
};

// A server's keys: --server-key FILE (its pair) and --allow PUB... (client public keys).
struct ServerKeyOptions {
    std::string key;
    std::vector<std::string> allowed;
    void add(CLI::App& cmd);
    std::optional<bus::ServerSecurity> load() const;
};

} // namespace loom::launcher
