#pragma once
// Deployments: a TOML file that says which components run where, on which endpoints, with which
// keys (DESIGN.md §4). `loom kernel --config FILE` starts a kernel from it.
//
//   [kernel]
//   endpoints = ["ipc://{runtime}/kernel", "tcp://0.0.0.0:7000"]   # optional
//   events = ["ipc://{runtime}/events"]                            # optional
//   runtime_dir = "/run/loom"                                      # optional
//   heartbeat_ms = 1000                                            # optional
//   liveness = 3                                                   # optional
//   server_key = "kernel.key"          # CURVE on tcp endpoints (with [roles])
//   insecure = false                   # true: plain tcp allowed (warns at start)
//   library_dirs = ["lib"]             # libraries named from the network (default: Loom's)
//   max_frame_mib = 1024               # limits for authenticated peers (bus::Limits)
//   max_frames = 4096
//   max_message_mib = 2048
//   max_in_flight_mib = 2048           # per connection
//
//   [roles]                            # CURVE public keys (files or Z85) and what they may do
//   operator = ["ops.pub"]             # start/stop/swap/shutdown, extensions (and client)
//   client = ["app.pub"]               # resolve/list, read, transform, infer
//   [[roles.component]]                # register and heartbeat under these names (and client)
//   key = "node1.pub"
//   names = ["device/*"]
//
//   [[component]]
//   name = "echo"
//   library = "lib/libecho.so"         # relative paths are relative to the file
//   where = "in-process"               # or "process"
//   endpoints = ["ipc://{runtime}/{name}-{instance}"]             # optional
//   start_timeout_ms = 10000                                      # optional
//   [component.config]                 # optional, handed to the component as TOML text
//
// `${VAR}` in strings is replaced by the environment variable VAR.

#include <filesystem>
#include <vector>

#include "bus/context.hpp"
#include <map>

#include "kernel/kernel.hpp"
#include "kernel/types.hpp"

namespace loom::kernel {

struct Deployment {
    bus::ContextOptions context;
    KernelOptions kernel;
    std::vector<ComponentSpec> components;
    // The [http] table as TOML text (components/serving reads it; the kernel does not) and the
    // folder its relative paths start from; empty: no HTTP server.
    std::string http;
    std::filesystem::path base_dir;
    // [[pipeline]] tables (pipelines declared in the deployment file) by name, as TOML text.
    std::map<std::string, std::string> pipelines;
};

// invalid_argument naming the file, the entry and what is wrong; not_found if no file.
Deployment load_deployment(const std::filesystem::path& path);
Deployment parse_deployment(std::string_view toml, const std::filesystem::path& base_dir,
                            const std::string& source_name = "deployment");

} // namespace loom::kernel
