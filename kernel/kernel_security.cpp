// The kernel's security rules (DESIGN.md §3 "Secure by default"): its runtime directory, what a
// spec that arrived over the bus may name, the keys and library policy it gives the children it
// starts, and its keys towards components.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bus/endpoint.hpp"
#include "kernel/kernel.hpp"
#include "kernel/kernel_internal.hpp"

namespace loom::kernel {

// The runtime directory holds the deployment's ipc sockets: whoever can enter it can call every
// component with every role, so it is this user's alone (0700).
void prepare_runtime_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec || ::chmod(dir.c_str(), 0700) != 0)
            LOOM_THROW(ErrorKind::UNAVAILABLE, "cannot create the runtime directory {}: {}",
                       dir.string(), ec ? ec.message() : std::strerror(errno));
        return;
    }
    struct stat st {};
    LOOM_REQUIRE(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode),
                 "runtime directory {} is not a directory", dir.string());
    LOOM_REQUIRE(st.st_uid == ::geteuid() && (st.st_mode & 077) == 0,
                 "runtime directory {} must belong to this user (uid {}) with mode 0700; it has "
                 "uid {} and mode {:o} (others could reach the deployment's ipc endpoints)",
                 dir.string(), ::geteuid(), st.st_uid, st.st_mode & 07777);
}

void Kernel::check_requested(ComponentSpec& spec, bool from_network) const {
    if (!spec.library.empty()) spec.library = m_context.trusted_library(spec.library, from_network);
    const auto runtime = std::filesystem::weakly_canonical(m_runtime_dir);
    for (const auto& text : expand(spec.endpoints, spec.name, 0)) {
        auto endpoint = bus::parse_endpoint(text);
        if (endpoint.transport != bus::Transport::ipc) continue;
        std::filesystem::path path(endpoint.address);
        bool inside =
            path.is_absolute() && path.lexically_normal() == path && path.parent_path() == runtime;
        for (const auto& part : path)
            inside = inside && part != "..";
        if (!inside)
            LOOM_THROW(ErrorKind::PERMISSION_DENIED,
                       "component '{}': ipc endpoint {} is refused: a requested ipc endpoint must "
                       "name a socket directly in the deployment's runtime directory ({}; write "
                       "ipc://{{runtime}}/NAME)",
                       spec.name, text, runtime.string());
    }
}

void Kernel::child_security_args(const std::string& stem, std::vector<std::string>& args) const {
    for (const auto& dir : m_context.options().library_dirs) {
        args.push_back("--library-dir");
        args.push_back(dir.string());
    }
    if (m_options.insecure) args.push_back("--insecure");
    if (!m_options.security) return;
    // The child serves its tcp endpoints with the kernel's key pair (written 0600 into the 0700
    // runtime directory) to the same operator and client keys.
    auto key_stem = m_runtime_dir / stem;
    m_options.security->keys.save(key_stem);
    args.push_back("--server-key");
    args.push_back(key_stem.string() + ".key");
    for (const auto& [key, roles] : m_options.security->clients) {
        if (roles.has(bus::Role::operator_)) {
            args.push_back("--operator");
            args.push_back(key);
        } else if (roles.has(bus::Role::client)) {
            args.push_back("--allow");
            args.push_back(key);
        }
    }
    args.push_back("--operator"); // the kernel drains and stops it
    args.push_back(m_options.security->keys.public_key);
}

bus::ChannelOptions Kernel::control_options(const ComponentRecord& r) const {
    bus::ChannelOptions options;
    if (m_options.security && !r.server_key.empty())
        options.security = bus::ClientSecurity{m_options.security->keys, r.server_key};
    return options;
}

} // namespace loom::kernel
