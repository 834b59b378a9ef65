#pragma once
// The embedded deployment (DESIGN.md §1): a kernel in this process with the model components —
// reader and transform — started from their component libraries, in process by default (bus
// over inproc, direct dispatch) or each in a child process (ipc, shared memory), and the
// extension loader (`extensions`, always in this process: it shares this process's op registry
// with the components here and installs extensions into the child processes). Callers reach
// the components only through routed channels, never by linking them.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/context.hpp"
#include "components/model/registry_host.hpp"
#include "components/runtime/deployment.hpp"
#include "components/runtime/model_client.hpp"
#include "kernel/client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/routed_channel.hpp"

namespace loom::runtime {

struct EmbeddedOptions {
    kernel::Placement reader = kernel::Placement::IN_PROCESS;
    kernel::Placement transform = kernel::Placement::IN_PROCESS;
    // Device plugins (libloom_plugin_<name>.so in the library dir) start on first use.
    kernel::Placement devices = kernel::Placement::IN_PROCESS;
    // Where the component libraries are; empty: LOOM_LIB_DIR, else beside libloom_runtime
    // (build tree: build/lib; installed: <prefix>/lib/loom).
    std::filesystem::path library_dir;
    // The process's bus context (CURVE client keys, limits, library policy).
    bus::ContextOptions context;
};

class EmbeddedDeployment final : public Deployment {
public:
    explicit EmbeddedDeployment(EmbeddedOptions options = {});
    ~EmbeddedDeployment();
    EmbeddedDeployment(const EmbeddedDeployment&) = delete;
    EmbeddedDeployment& operator=(const EmbeddedDeployment&) = delete;

    kernel::Kernel& kernel() noexcept { return *m_kernel; }
    // Device names of the plugin libraries found (upper case: "REFERENCE").
    std::vector<std::string> device_names() override;

protected:
    // The device component "device/<NAME>", started from libloom_plugin_<name>.so on first use;
    // not_found listing the available devices when there is no such plugin, or for a device on
    // another host (NAME@HOST: those are registered with a kernel — attach to it).
    DeviceCaller named_device(const std::string& name) override;

private:
    // Starts the plugin of device `name` (not_found listing the available ones).
    void start_device(const std::string& name);

    std::unique_ptr<kernel::Kernel> m_kernel;
    std::filesystem::path m_library_dir;
    kernel::Placement m_device_placement;
};

// An extension source as the loader should get it: library paths made absolute (other processes
// of the deployment open the same file), endpoints (ipc://, tcp://, inproc://) as they are.
std::string extension_source(const std::string& source);

// The directory holding Loom's component libraries (see EmbeddedOptions::library_dir).
std::filesystem::path component_library_dir();

} // namespace loom::runtime
