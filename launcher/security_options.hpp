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

// --kernel ENDPOINT on a client command (run, check, bench, info): use the running deployment
// whose kernel is there instead of an embedded one.
void add_kernel_option(CLI::App& cmd, std::string& kernel);

// CoreOptions of a client command: attached to `kernel` when it is given; --key/--peer-key for
// a tcp:// kernel, for the device hosts `device` names by tcp:// endpoint (CPU@tcp://…, also
// as MULTI/HETERO members) and for the tcp:// endpoints among `sources` (extension hosts).
CoreOptions client_core_options(const ClientKeyOptions& keys, const std::string& kernel,
                                const std::string& device, const std::vector<std::string>& sources);

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
