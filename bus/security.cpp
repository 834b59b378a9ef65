#include "bus/security.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <zmq_utils.h>

#include "bus/endpoint.hpp"
#include "schemas/error.hpp"

namespace loom::bus {
namespace {

constexpr std::size_t k_z85_key_length = 40;

bool looks_like_z85_key(const std::string& text) {
    if (text.size() != k_z85_key_length) return false;
    std::array<std::uint8_t, 32> raw{};
    return zmq_z85_decode(raw.data(), text.c_str()) != nullptr;
}

std::map<std::string, std::string> read_key_file(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path))
        LOOM_THROW(ErrorKind::NOT_FOUND, "key file {} does not exist", path.string());
    toml::table table;
    try {
        table = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "key file {} is not valid TOML: {}", path.string(),
                   e.description());
    }
    std::map<std::string, std::string> values;
    for (const char* name : {"public", "secret"})
        if (auto value = table[name].value<std::string>()) values[name] = *value;
    return values;
}

std::string required_key(const std::map<std::string, std::string>& values, const char* name,
                         const std::filesystem::path& path) {
    auto it = values.find(name);
    LOOM_REQUIRE(it != values.end(), "key file {} has no `{}` key", path.string(), name);
    LOOM_REQUIRE(looks_like_z85_key(it->second),
                 "key file {}: `{}` is not a 40-character Z85 CURVE key", path.string(), name);
    return it->second;
}

} // namespace

KeyPair KeyPair::generate() {
    std::array<char, 41> pub{}, sec{};
    if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "this libzmq cannot make CURVE keys (built without libsodium?): {}",
                   zmq_strerror(zmq_errno()));
    return {pub.data(), sec.data()};
}

KeyPair KeyPair::load(const std::filesystem::path& path) {
    auto values = read_key_file(path);
    return {required_key(values, "public", path), required_key(values, "secret", path)};
}

void KeyPair::save(const std::filesystem::path& stem) const {
    auto key_path = std::filesystem::path(stem.string() + ".key");
    auto pub_path = std::filesystem::path(stem.string() + ".pub");
    {
        // Created 0600 (an existing file made 0600 before anything is written), never through a
        // symlink: nobody else may open it while or after the secret is written.
        int fd =
            ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || ::fchmod(fd, 0600) != 0) {
            if (fd >= 0) ::close(fd);
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot write {}: {}", key_path.string(),
                       std::strerror(errno));
        }
        auto text = fmt::format("# Loom CURVE key pair: keep this file secret\npublic = "
                                "\"{}\"\nsecret = \"{}\"\n",
                                public_key, secret_key);
        bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::close(fd);
        if (!written) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot write {}", key_path.string());
    }
    std::ofstream out(pub_path, std::ios::trunc);
    if (!out) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot write {}", pub_path.string());
    out << "# Loom CURVE public key\npublic = \"" << public_key << "\"\n";
}

std::string load_public_key(const std::string& path_or_key) {
    if (looks_like_z85_key(path_or_key) && !std::filesystem::exists(path_or_key))
        return path_or_key;
    auto values = read_key_file(path_or_key);
    return required_key(values, "public", path_or_key);
}

ServerSecurity& ServerSecurity::allow(const std::string& z85_key, Roles roles) {
    LOOM_REQUIRE(looks_like_z85_key(z85_key), "'{}' is not a 40-character Z85 CURVE public key",
                 z85_key);
    clients[z85_key] |= roles;
    return *this;
}

Roles ServerSecurity::roles_of(const std::string& z85_key) const {
    auto it = clients.find(z85_key);
    return it == clients.end() ? Roles::none() : it->second;
}

std::set<std::string> ServerSecurity::allowed_keys() const {
    std::set<std::string> keys_allowed;
    for (const auto& [key, roles] : clients)
        if (!roles.empty()) keys_allowed.insert(key);
    return keys_allowed;
}

// ---- Authenticator ------------------------------------------------------------------------

Authenticator::Authenticator(zmq::context_t& context)
    : m_socket(context, zmq::socket_type::rep)
    , m_wake_in(context, zmq::socket_type::pair)
    , m_wake_out(context, zmq::socket_type::pair) {
    m_socket.set(zmq::sockopt::linger, 0);
    try {
        m_socket.bind("inproc://zeromq.zap.01");
    } catch (const zmq::error_t& e) {
        LOOM_THROW(ErrorKind::INTERNAL, "cannot bind the ZAP handler: {}", e.what());
    }
    auto wake = fmt::format("inproc://loom.zap.wake.{}", static_cast<const void*>(this));
    m_wake_in.bind(wake);
    m_wake_out.connect(wake);
    m_thread = std::thread([this] { loop(); });
}

Authenticator::~Authenticator() {
    m_wake_out.send(zmq::message_t(), zmq::send_flags::none);
    m_thread.join();
}

void Authenticator::allow(const std::string& domain, std::set<std::string> z85_client_keys) {
    std::lock_guard lock(m_mutex);
    m_domains[domain] = std::move(z85_client_keys);
}

void Authenticator::forget(const std::string& domain) {
    std::lock_guard lock(m_mutex);
    m_domains.erase(domain);
}

void Authenticator::loop() {
    zmq::pollitem_t items[] = {{m_socket.handle(), 0, ZMQ_POLLIN, 0},
                               {m_wake_in.handle(), 0, ZMQ_POLLIN, 0}};
    for (;;) {
        zmq::poll(items, 2, std::chrono::milliseconds(-1));
        if (items[1].revents & ZMQ_POLLIN) break;
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        std::vector<zmq::message_t> parts;
        for (;;) {
            zmq::message_t part;
            if (!m_socket.recv(part, zmq::recv_flags::none)) break;
            bool more = part.more();
            parts.push_back(std::move(part));
            if (!more) break;
        }
        // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
        std::string version = parts.size() > 0 ? parts[0].to_string() : "";
        std::string request_id = parts.size() > 1 ? parts[1].to_string() : "";
        std::string domain = parts.size() > 2 ? parts[2].to_string() : "";
        std::string mechanism = parts.size() > 5 ? parts[5].to_string() : "";
        bool ok = false;
        std::array<char, 41> z85{};
        if (version == "1.0" && mechanism == "CURVE" && parts.size() > 6 && parts[6].size() == 32) {
            zmq_z85_encode(z85.data(), parts[6].data<std::uint8_t>(), 32);
            std::lock_guard lock(m_mutex);
            auto it = m_domains.find(domain);
            ok = it != m_domains.end() && it->second.contains(z85.data());
        }
        if (!ok) m_refused.fetch_add(1);
        m_socket.send(zmq::buffer(std::string_view("1.0")), zmq::send_flags::sndmore);
        m_socket.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
        m_socket.send(zmq::buffer(std::string_view(ok ? "200" : "400")), zmq::send_flags::sndmore);
        m_socket.send(zmq::buffer(std::string_view(ok ? "OK" : "client key not allowed")),
                      zmq::send_flags::sndmore);
        // The user id is the client's key: every message from it carries it ("User-Id"), so
        // services can bind what a client owns to the key it proved (InMessage::peer_key).
        m_socket.send(zmq::buffer(std::string_view(ok ? z85.data() : "")),
                      zmq::send_flags::sndmore);
        m_socket.send(zmq::buffer(std::string_view("")), zmq::send_flags::none);
    }
}

void check_bind(const Endpoint& endpoint, bool curve, bool insecure, std::string_view who) {
    if (endpoint.transport == Transport::tcp && !curve) {
        LOOM_REQUIRE(insecure,
                     "{} refuses plain {}: tcp endpoints need CURVE — a server key pair and the "
                     "client keys allowed with their roles (`loom keygen`; --server-key/--allow, "
                     "or server_key and [roles] in the deployment). Plain tcp only with an "
                     "explicit insecure switch (--insecure, insecure = true)",
                     who, endpoint.text);
        spdlog::warn("{} serves {} WITHOUT CURVE (insecure): anyone who can reach it may use it "
                     "with every role",
                     who, endpoint.text);
    }
    if (endpoint.transport == Transport::ipc && !endpoint.address.starts_with('@')) {
        struct stat st {};
        if (::lstat(endpoint.address.c_str(), &st) == 0)
            LOOM_REQUIRE(S_ISSOCK(st.st_mode),
                         "{} refuses to bind {}: {} exists and is not a socket (binding would "
                         "delete it)",
                         who, endpoint.text, endpoint.address);
    }
}

void apply_server_security(zmq::socket_t& socket, const ServerSecurity& security,
                           const std::string& domain) {
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, security.keys.secret_key);
    socket.set(zmq::sockopt::zap_domain, domain);
}

void apply_client_security(zmq::socket_t& socket, const ClientSecurity& security) {
    socket.set(zmq::sockopt::curve_serverkey, security.server_public_key);
    socket.set(zmq::sockopt::curve_publickey, security.keys.public_key);
    socket.set(zmq::sockopt::curve_secretkey, security.keys.secret_key);
}

} // namespace loom::bus
