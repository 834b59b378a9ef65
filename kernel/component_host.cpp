#include "kernel/component_host.hpp"

#include <unistd.h>

#include <thread>

#include <spdlog/spdlog.h>

#include "bus/endpoint.hpp"
#include "kernel/component_library.hpp"

namespace loom::kernel {

ComponentHost::ComponentHost(bus::Context& context, HostOptions options)
    : m_context(context)
    , m_options(std::move(options))
    , m_heartbeat(context.options().heartbeat) {
    LOOM_REQUIRE(!m_options.binds.empty(), "component '{}' needs at least one --bind endpoint",
                 m_options.name);
    auto loaded = load_component(m_options.library, context, m_options.name, m_options.config,
                                 m_options.registry, m_options.kernel_endpoint);
    m_service = loaded.service;
    m_kind = loaded.kind;
    // The kernel it registers with drains, stops and pings it: the kernel's key is an operator
    // here.
    if (m_options.security && m_options.kernel_security)
        m_options.security->allow(m_options.kernel_security->server_public_key,
                                  bus::Roles(bus::Role::operator_) | bus::Role::client);
    m_server =
        std::make_unique<bus::Server>(context, m_service,
                                      bus::ServerOptions{.endpoints = m_options.binds,
                                                         .security = m_options.security,
                                                         .insecure = m_options.insecure,
                                                         .instance = m_options.instance,
                                                         .companions = m_options.companions});
    if (!m_options.kernel_endpoint.empty()) {
        bus::ChannelOptions channel;
        channel.security = m_options.kernel_security;
        m_kernel = std::make_unique<KernelClient>(context, m_options.kernel_endpoint, channel);
        register_now();
    }
}

ComponentHost::~ComponentHost() {
    if (m_server) m_server->stop();
}

void ComponentHost::register_now() {
    Registration r;
    r.name = m_options.name;
    r.kind = m_kind;
    r.version = m_service->version();
    r.endpoints = m_server->endpoints();
    r.host = bus::host_id();
    r.pid = static_cast<std::int32_t>(::getpid());
    r.token = m_options.token;
    r.replace = m_options.replace;
    if (m_options.security) r.server_key = m_options.security->keys.public_key;
    auto registered = m_kernel->register_component(r);
    m_instance = registered.instance;
    m_heartbeat = registered.heartbeat;
    m_options.token = 0; // a start token is good once; later registrations are plain
}

void ComponentHost::request_stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
}

void ComponentHost::run() {
    // A `stop` control request (from the kernel) ends the run like request_stop().
    std::thread watcher([this] {
        m_server->wait_stop_requested();
        request_stop();
    });
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            if (m_cv.wait_for(lock, m_heartbeat.interval, [&] { return m_stop; })) break;
        }
        if (!m_kernel) continue;
        try {
            auto state =
                m_server->dispatcher().drained() ? ComponentState::DRAINING : ComponentState::READY;
            if (!m_kernel->heartbeat(m_instance, state, m_server->dispatcher().in_flight())) {
                spdlog::warn("the kernel forgot '{}' (instance {}); registering again",
                             m_options.name, m_instance);
                register_now();
            }
        } catch (const Error& e) {
            spdlog::warn("heartbeat of '{}' to {} failed: {}", m_options.name,
                         m_options.kernel_endpoint, e.what());
        }
    }
    if (m_kernel && m_instance) {
        try {
            m_kernel->deregister(m_instance);
        } catch (const Error& e) {
            spdlog::debug("deregistering '{}': {}", m_options.name, e.what());
        }
    }
    m_server->stop(); // also wakes the watcher
    watcher.join();
}

} // namespace loom::kernel
