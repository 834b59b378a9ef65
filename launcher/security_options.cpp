#include "launcher/security_options.hpp"

#include "components/runtime/deployment.hpp"
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

void ClientKeyOptions::apply(const std::vector<std::string>& sources,
                             bus::ContextOptions& options) const {
    auto security = load();
    if (!security) return;
    options.client_keys = security->keys;
    for (const auto& s : sources)
        if (s.starts_with("tcp://")) options.server_keys[s] = security->server_public_key;
}

void apply_keys(const ClientKeyOptions& keys, const std::vector<std::string>& sources,
                CoreOptions& options) {
    if (keys.key.empty() && keys.server_key.empty()) return;
    keys.load(); // both or neither
    options.client_key_file = keys.key;
    for (const auto& s : sources)
        if (s.starts_with("tcp://")) options.server_keys[s] = keys.server_key;
}

void add_kernel_option(CLI::App& cmd, std::string& kernel) {
    cmd.add_option("--kernel", kernel,
                   "Use the running deployment whose kernel is at ENDPOINT (ipc://PATH, "
                   "tcp://HOST:PORT with --key and --peer-key) instead of an embedded one")
        ->envname("LOOM_KERNEL");
}

CoreOptions client_core_options(const ClientKeyOptions& keys, const std::string& kernel,
                                const std::string& device,
                                const std::vector<std::string>& sources) {
    CoreOptions options;
    options.kernel = kernel;
    auto endpoints = sources;
    // Device hosts named by endpoint: "CPU@tcp://a:1" or members of "MULTI:CPU@tcp://a:1,…".
    auto members = runtime::composite_members(device, "MULTI");
    if (members.empty()) members = runtime::composite_members(device, "HETERO");
    if (members.empty()) members = {device};
    for (const auto& member : members)
        if (auto at = member.find("@tcp://"); at != std::string::npos)
            endpoints.push_back(member.substr(at + 1));
    if (kernel.starts_with("tcp://")) {
        LOOM_REQUIRE(!keys.key.empty() && !keys.server_key.empty(),
                     "--kernel {}: a tcp:// kernel needs CURVE: --key (this client's key pair) "
                     "and --peer-key (the kernel's public key)",
                     kernel);
        options.kernel_key = keys.server_key;
    }
    apply_keys(keys, endpoints, options);
    if (!keys.key.empty()) options.client_key_file = keys.key;
    return options;
}

void ServerKeyOptions::add(CLI::App& cmd) {
    cmd.add_option("--server-key", key,
                   "CURVE key pair file for the tcp:// endpoints (required for tcp unless "
                   "--insecure; callers need --allow or --operator)");
    cmd.add_option("--allow", allowed,
                   "A public key (file or Z85) allowed in with the client role (use, not control)");
    cmd.add_option("--operator", operators,
                   "A public key (file or Z85) allowed in with the operator role (stop, drain, "
                   "load extensions) and the client role");
    cmd.add_flag("--insecure", insecure,
                 "Serve tcp:// endpoints WITHOUT CURVE: anyone who reaches them may do anything");
    cmd.add_option("--library-dir", library_dirs,
                   "A directory libraries named by network peers may be loaded from (default: "
                   "Loom's own)");
}

std::optional<bus::ServerSecurity> ServerKeyOptions::load() const {
    bool listed = !allowed.empty() || !operators.empty();
    LOOM_REQUIRE(key.empty() == !listed,
                 "CURVE needs --server-key and at least one --allow or --operator key, or none");
    if (key.empty()) return std::nullopt;
    bus::ServerSecurity security(bus::KeyPair::load(key));
    for (const auto& a : allowed)
        security.allow(bus::load_public_key(a), bus::Role::client);
    for (const auto& a : operators)
        security.allow(bus::load_public_key(a),
                       bus::Roles(bus::Role::operator_) | bus::Role::client);
    return security;
}

bus::ContextOptions ServerKeyOptions::context() const {
    bus::ContextOptions options;
    for (const auto& d : library_dirs)
        options.library_dirs.emplace_back(d);
    return options;
}

} // namespace loom::launcher
