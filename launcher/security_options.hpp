#pragma once
// Command-line options for CURVE keys, shared by the subcommands that talk over tcp://.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bus/context.hpp"
#include "bus/security.hpp"
#include <loom/core.hpp>

namespace loom::launcher {

// A client's keys: --key FILE (its own pair) and --server-key PUB (the server's public key).
struct ClientKeyOptions {
    std::string key;
    std::string server_key;
    void add(CLI::App& cmd, const std::string& what);
    std::optional<bus::ClientSecurity> load() const;
    // These keys for each tcp:// endpoint among `sources` (e.g. --extension tcp://…), as a
    // process's default client keys (bus::ContextOptions::client_keys / server_keys).
    void apply(const std::vector<std::string>& sources, bus::ContextOptions& options) const;
};

// CoreOptions' CURVE keys from `keys` for the tcp:// endpoints among `sources`.
void apply_keys(const ClientKeyOptions& keys, const std::vector<std::string>& sources,
                CoreOptions& options);

// A server's keys: --server-key FILE (its pair), --allow PUB... (client keys) and --operator
// PUB... (operator keys); --insecure for plain tcp; --library-dir for libraries named over tcp.
struct ServerKeyOptions {
    std::string key;
    std::vector<std::string> allowed;
    std::vector<std::string> operators;
    std::vector<std::string> library_dirs;
    bool insecure = false;
    void add(CLI::App& cmd);
    std::optional<bus::ServerSecurity> load() const;
    // library_dirs as the bus context's (empty: Loom's own).
    bus::ContextOptions context() const;
};

} // namespace loom::launcher
