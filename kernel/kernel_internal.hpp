#pragma once
// Private to the kernel's .cpp files: what it keeps for the instances it hosts or started.

#include <filesystem>
#include <memory>

#include "bus/server.hpp"
#include "kernel/kernel.hpp"
#include "kernel/process.hpp"

namespace loom::kernel {

struct Kernel::InProcess {
    std::shared_ptr<bus::Service> service;
    std::unique_ptr<bus::Server> server;
};

struct Kernel::Child {
    std::unique_ptr<ChildProcess> process;
    bool stopping = false; // the kernel asked it to stop: its exit is not a failure
    bool drained = false;
};

// Creates the runtime directory 0700, or checks that an existing one is this user's and closed
// to others (kernel_security.cpp).
void prepare_runtime_dir(const std::filesystem::path& dir);

} // namespace loom::kernel
