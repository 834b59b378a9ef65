#pragma once
// ComponentHost — one component as a process of its own (`loom serve`): loads the component
// library, serves it on the given endpoints, registers with a kernel and sends it heartbeats
// until asked to stop (a `stop` control request from the kernel, or request_stop()).
// If the kernel goes away, the component keeps serving and registers again when it is back.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bus/context.hpp"
#include "bus/security.hpp"
#include "bus/server.hpp"
#include "kernel/client.hpp"
#include "kernel/component_api.hpp"

namespace loom::kernel {

struct HostOptions {
    std::string library;
    std::string name;
    std::string config; // TOML text given to the component
    std::vector<std::string> binds;
    std::string kernel_endpoint;                 // empty: serve without registering
    std::uint64_t token = 0;                     // from the kernel that started this process
    std::uint64_t instance = 0;                  // the kernel's id for it (0: assigned later)
    bool replace = false;                        // replace the instance serving `name` (a swap)
    std::optional<bus::ServerSecurity> security; // for tcp:// binds
    bool insecure = false;                       // plain tcp:// binds allowed (warns)
    std::optional<bus::ClientSecurity> kernel_security;          // to reach a CURVE kernel
    std::shared_ptr<model::RegistryHost> registry;               // ComponentArgs::registry
    std::vector<std::shared_ptr<const bus::Service>> companions; // served beside it
};

class ComponentHost {
public:
    // Loads, binds and registers; throws loom::Error if any of it fails.
    ComponentHost(bus::Context& context, HostOptions options);
    ~ComponentHost();

    // Serves until stopped, heartbeating meanwhile; then deregisters and stops serving.
    void run();
    // Asks run() to return (thread-safe; call it from a signal-handling thread).
    void request_stop();

    std::uint64_t instance() const noexcept { return m_instance; }
    const std::vector<std::string>& endpoints() const noexcept { return m_server->endpoints(); }

private:
    void register_now();

    bus::Context& m_context;
    HostOptions m_options;
    std::shared_ptr<bus::Service> m_service;
    std::string m_kind;
    std::unique_ptr<bus::Server> m_server;
    std::unique_ptr<KernelClient> m_kernel;
    std::uint64_t m_instance = 0;
    bus::Heartbeat m_heartbeat;
    std::mutex m_mutex; // guards m_stop
    std::condition_variable m_cv;
    bool m_stop = false;
};

} // namespace loom::kernel
