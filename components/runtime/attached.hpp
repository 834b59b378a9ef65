#pragma once
// A running deployment this process attached to through its kernel (`loom kernel`, DESIGN.md
// §4): the reader, transform and extension loader are the deployment's, resolved by name and
// followed through swaps (RoutedChannel); devices are its device components — "CPU" is
// "device/CPU", "CPU@nodeb" is "device/CPU@nodeb" (a `loom serve --device CPU --name nodeb`
// that dialled in). Nothing is started here. Models named by path travel to the reader as
// bytes: the reader may run on another host.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bus/security.hpp"
#include "components/runtime/deployment.hpp"
#include "kernel/client.hpp"
#include "kernel/routed_channel.hpp"

namespace loom::runtime {

struct AttachOptions {
    std::string kernel; // the kernel's endpoint
    // This process's bus context: CURVE client keys and the server keys of endpoints named
    // directly (TYPE@tcp://…).
    bus::ContextOptions context;
    // CURVE to a tcp:// kernel: this client's keys and the kernel's public key. Components
    // reached through it use the same client keys and the server key the kernel has for them.
    std::optional<bus::ClientSecurity> security;
    // This process's op registry when it is shared with in-process components (a client inside
    // the kernel's process); null: a registry of its own.
    std::shared_ptr<model::RegistryHost> registry;
};

class AttachedDeployment final : public Deployment {
public:
    // Connects and lists the deployment's components (so a wrong endpoint or key fails here,
    // typed: unavailable, timeout, unauthenticated).
    explicit AttachedDeployment(AttachOptions options);
    ~AttachedDeployment() override;

    // The deployment's device components that are ready ("CPU", "CPU@nodeb").
    std::vector<std::string> device_names() override;
    bool reader_is_remote() const noexcept override { return true; }

    kernel::KernelClient& kernel() noexcept { return client(); }

protected:
    DeviceCaller named_device(const std::string& name) override;
};

} // namespace loom::runtime
