#pragma once
// Kernel — knows the components, never tensors or operations (DESIGN.md §4). It starts
// components (in this process from a shared library, or as a child `loom serve` process),
// accepts remote ones that dial in, tells clients where a name is served, watches heartbeats and
// child processes, and carries out swaps:
//   load the new instance beside the old; switch the route (a new epoch) only once it is ready;
//   the old one answers new requests `moved` and finishes the running ones; it is stopped once
//   drained. If the new one fails to start, the old one keeps serving and the caller gets the
//   error.
// The kernel is itself a bus service ("kernel"); its methods are also callable directly.
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/channel.hpp"
#include "bus/context.hpp"
#include "bus/events.hpp"
#include "bus/security.hpp"
#include "bus/server.hpp"
#include "kernel/component_api.hpp"
#include "kernel/process.hpp"
#include "kernel/registry.hpp"

namespace loom::kernel {

inline constexpr const char* k_kernel_service = "kernel";

struct KernelOptions {
    // Where the kernel service listens; empty: a private inproc endpoint and an ipc endpoint in
    // the runtime directory (children dial that one).
    std::vector<std::string> endpoints;
    std::vector<std::string> event_endpoints;    // same defaults, for events
    std::filesystem::path runtime_dir;           // empty: a fresh private temporary directory
    std::filesystem::path launcher;              // `loom` for child processes; empty: found
    std::optional<bus::ServerSecurity> security; // CURVE on the kernel's tcp:// endpoints
    bool insecure = false; // plain tcp:// endpoints allowed (warns; bus::check_bind)
    // The names each component key may register under (a trailing `*` matches any rest:
    // "device/*"). A CURVE peer registering another name is refused permission_denied.
    std::map<std::string, std::vector<std::string>> component_names;
    std::chrono::milliseconds start_timeout{15000};
    std::chrono::milliseconds drain_timeout{60000};
    std::chrono::milliseconds stop_timeout{5000}; // for a child to exit before SIGKILL
    std::size_t retired_kept = 64;                // stopped/failed instances remembered
    // What a component key can cost the kernel: live instances registered with one key, and
    // names routed in all (a name stays routed after its instance stops). Beyond either,
    // registering is refused `overloaded`.
    std::size_t max_instances_per_key = 64;
    std::size_t max_names = 4096;
    // Given to the components started in this process (ComponentArgs::registry).
    std::shared_ptr<model::RegistryHost> registry;
    // Answered beside every component started in this process, at its endpoints (e.g. the
    // process's extension loader; bus::ServerOptions::companions).
    std::vector<std::shared_ptr<const bus::Service>> companions;
};

struct Registration {
    std::string name, kind, version;
    std::vector<std::string> endpoints;
    std::string host;
    std::int32_t pid = 0;
    std::uint64_t token = 0; // from the kernel, for children it started
    bool replace = false;    // a remote newcomer replacing the serving instance
    std::string key;         // the CURVE key it proved (empty: a peer on this host)
    std::string server_key;  // its own CURVE public key on tcp endpoints (empty: none)
};

class Kernel {
public:
    Kernel(bus::Context& context, KernelOptions options = {});
    ~Kernel();
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    const std::vector<std::string>& endpoints() const noexcept;
    const std::vector<std::string>& event_endpoints() const noexcept;
    const std::filesystem::path& runtime_dir() const noexcept { return m_runtime_dir; }
    bus::Context& context() noexcept { return m_context; }

    // Starts a component under a name nobody serves; returns once it is ready.
    ComponentRecord start(const ComponentSpec& spec);
    // Replaces the instance serving `name` by `replacement` (see above). Returns the new
    // instance once routing has switched and the old one is drained and stopped.
    ComponentRecord swap(const std::string& name, ComponentSpec replacement);
    // Drains and stops the instance serving `name`.
    ComponentRecord stop(const std::string& name);

    Route resolve(const std::string& name) const;
    std::vector<ComponentRecord> list() const;
    // An instance's record (also once retired), optionally waiting until it is stopped/failed.
    ComponentRecord instance(std::uint64_t id,
                             std::chrono::milliseconds wait_terminal = std::chrono::milliseconds{
                                 0});

    // A component dialling in; returns its instance id.
    std::uint64_t register_component(const Registration& registration);
    // False if the kernel does not know the instance (it should register again). `key`: the
    // CURVE key of the caller; an instance registered under another key is not known to it.
    bool heartbeat(std::uint64_t instance, ComponentState state, const std::string& key = {},
                   std::uint32_t in_flight = 0);
    void deregister(std::uint64_t instance, const std::string& key = {});
    // Checks a spec that arrived over the bus before anything is started: the library by the
    // context's library policy (bus::Context::trusted_library), ipc endpoints inside the runtime
    // directory. permission_denied / invalid_argument naming what is wrong.
    void check_requested(ComponentSpec& spec, bool from_network) const;

    // Publishes a `probe` event on `topic` (lets a subscriber know it is connected).
    void probe(const std::string& topic);

    // Stops every component; idempotent. Children get a stop request, then SIGKILL.
    void shutdown();
    // Asks whoever waits in wait_shutdown_requested() to shut the kernel down.
    void request_shutdown();
    // True once a shutdown was requested (over the bus: `loom ctl shutdown`, or locally).
    bool wait_shutdown_requested(bus::Clock::time_point deadline);

private:
    struct InProcess;
    struct Child;

    std::shared_ptr<bus::Service> make_service();
    std::uint64_t launch(ComponentSpec spec);
    void launch_in_process(std::uint64_t id, const ComponentSpec& spec);
    void launch_child(std::uint64_t id, const ComponentSpec& spec);
    // `loom serve` options that give a child this kernel's library policy and CURVE keys.
    void child_security_args(const std::string& stem, std::vector<std::string>& args) const;
    void wait_ready(std::uint64_t id, std::chrono::milliseconds timeout);
    void retire(std::uint64_t id, bool drain);
    void stop_instance(std::uint64_t id);
    // The kernel's CURVE keys towards a component's tcp endpoints (none when either is missing).
    bus::ChannelOptions control_options(const ComponentRecord& record) const;
    std::vector<std::string> default_endpoints(const ComponentSpec& spec, std::uint64_t id) const;
    std::vector<std::string> expand(const std::vector<std::string>& templates,
                                    const std::string& name, std::uint64_t id) const;
    void set_state(std::unique_lock<std::mutex>& lock, std::uint64_t id, ComponentState state,
                   const std::string& reason = {});
    void publish(schema::EventKind kind, const ComponentRecord& record, std::uint64_t previous = 0);
    void watch();
    void wake() noexcept;
    // Refuses `overloaded` a registration beyond max_names or max_instances_per_key. Under
    // m_mutex.
    void check_capacity(const Registration& reg, bool known_name) const;
    // Whether a caller holding `key` (empty: on this host) may act for `instance`. Under m_mutex.
    bool owned_by(std::uint64_t instance, const std::string& key) const;

    bus::Context& m_context;
    KernelOptions m_options;
    std::filesystem::path m_runtime_dir;
    bool m_own_runtime_dir = false;
    std::filesystem::path m_launcher;
    std::string m_child_kernel_endpoint; // the ipc endpoint children dial

    mutable std::mutex m_mutex; // guards everything below (not held across I/O or waits)
    std::condition_variable m_changed;
    Registry m_registry;
    std::uint64_t m_next_instance = 1;
    std::map<std::uint64_t, std::uint64_t> m_tokens; // token -> instance starting as a child
    std::map<std::uint64_t, std::unique_ptr<InProcess>> m_in_process;
    std::map<std::uint64_t, std::unique_ptr<Child>> m_children;
    std::map<std::uint64_t, bus::Clock::time_point> m_last_heartbeat;
    std::map<std::uint64_t, std::string> m_owner_keys; // instance -> CURVE key that registered it
    std::set<std::string> m_swapping;
    std::uint64_t m_event_sequence = 0;
    bool m_shutting_down = false;
    bool m_shutdown_requested = false;

    std::unique_ptr<bus::Publisher> m_events;
    std::unique_ptr<bus::Server> m_server;
    std::vector<std::thread> m_retirers; // drain replaced remote instances; joined at shutdown
    int m_wake_fd = -1;
    std::thread m_watcher;
};

} // namespace loom::kernel
