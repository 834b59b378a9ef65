#pragma once
// CurveZMQ security for tcp:// endpoints (DESIGN.md §3): a server key pair plus an allow-list of
// client public keys, enforced by the process's ZAP handler. An unauthorised peer gets nothing:
// its handshake is refused before any message reaches a service.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "bus/roles.hpp"

namespace loom::bus {

// Z85-encoded (40 characters) CURVE keys.
struct KeyPair {
    std::string public_key;
    std::string secret_key;

    static KeyPair generate();
    // Reads a key file written by save(): `public = "..."` and `secret = "..."` lines.
    static KeyPair load(const std::filesystem::path& path);
    // Writes `<stem>.key` (both keys, mode 0600) and `<stem>.pub` (public key only).
    void save(const std::filesystem::path& stem) const;
};

// Reads the public key from a `.pub` or `.key` file (or returns `text` if it is a Z85 key).
std::string load_public_key(const std::string& path_or_key);

// A CURVE server's key pair and the client keys it accepts, each with what it may do.
// Only keys listed here get past the handshake; the roles are checked per method.
struct ServerSecurity {
    KeyPair keys;
    std::map<std::string, Roles> clients; // Z85 public key -> roles

    ServerSecurity() = default;
    explicit ServerSecurity(KeyPair server_keys)
        : keys(std::move(server_keys)) {}
    // Adds `roles` to what `z85_key` may do.
    ServerSecurity& allow(const std::string& z85_key, Roles roles);
    Roles roles_of(const std::string& z85_key) const;
    std::set<std::string> allowed_keys() const;
};

struct ClientSecurity {
    KeyPair keys;
    std::string server_public_key;
};

// The ZAP handler (RFC 27) of one zmq context: answers handshakes of CURVE servers by looking up
// the client's key in the allow-list registered for the server's ZAP domain. Runs one thread,
// which sits off every request path (it only sees handshakes).
class Authenticator {
public:
    explicit Authenticator(zmq::context_t& context);
    ~Authenticator();
    Authenticator(const Authenticator&) = delete;
    Authenticator& operator=(const Authenticator&) = delete;

    void allow(const std::string& domain, std::set<std::string> z85_client_keys);
    void forget(const std::string& domain);
    std::uint64_t refused() const noexcept { return m_refused.load(); }

private:
    void loop();

    zmq::socket_t m_socket;   // REP bound at inproc://zeromq.zap.01; loop thread only
    zmq::socket_t m_wake_in;  // PAIR; loop thread only
    zmq::socket_t m_wake_out; // PAIR; destructor only
    std::mutex m_mutex;       // guards m_domains
    std::map<std::string, std::set<std::string>> m_domains;
    std::atomic<std::uint64_t> m_refused{0};
    std::thread m_thread;
};

struct Endpoint;

// The rules for binding `endpoint` (DESIGN.md §3 "Secure by default"), checked before a bind:
// - tcp:// needs CURVE (`curve`), unless `insecure` says plain tcp is wanted, which is logged as
//   a warning naming `who`; otherwise invalid_argument saying how to secure it;
// - ipc:// never replaces a file that is not a socket (ZeroMQ would unlink it).
void check_bind(const Endpoint& endpoint, bool curve, bool insecure, std::string_view who);

// Applies CURVE server options to a socket (before bind) under `domain`.
void apply_server_security(zmq::socket_t& socket, const ServerSecurity& security,
                           const std::string& domain);
// Applies CURVE client options to a socket (before connect).
void apply_client_security(zmq::socket_t& socket, const ClientSecurity& security);

} // namespace loom::bus
