#pragma once
// Private to the kernel's .cpp files: what it keeps for the instances it hosts or started.

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

} // namespace loom::kernel
