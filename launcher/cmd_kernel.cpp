// loom kernel --config deploy.toml — runs a deployment until SIGINT/SIGTERM or
// `loom ctl shutdown`.

#include <iostream>

#include <fmt/ranges.h>

#include "components/model/registry_host.hpp"
#include "kernel/deployment.hpp"
#include "kernel/kernel.hpp"
#include "launcher/commands.hpp"
#include "launcher/signals.hpp"
#include "launcher/table.hpp"

namespace loom::launcher {

void add_kernel_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("kernel", "Run a deployment: a kernel and the components its "
                                             "TOML file lists, until SIGINT/SIGTERM or `loom ctl "
                                             "shutdown`");
    auto config = std::make_shared<std::string>();
    cmd->add_option("-c,--config", *config, "Deployment file (TOML)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->callback([&exit_code, config] {
        exit_code = guarded("kernel", [&] {
            auto deployment = kernel::load_deployment(*config);
            kernel::Kernel* running = nullptr;
            std::mutex mutex;
            SignalWatcher signals([&](int) {
                std::lock_guard lock(mutex);
                if (running) running->request_shutdown();
            });
            bus::Context context(deployment.context);
            // The op registry the components in this process share (an `extensions`
            // component of the deployment loads extensions into it).
            if (!deployment.kernel.registry)
                deployment.kernel.registry = model::make_native_registry_host();
            kernel::Kernel k(context, deployment.kernel);
            {
                std::lock_guard lock(mutex);
                running = &k;
            }
            for (const auto& spec : deployment.components)
                k.start(spec);
            std::cout << "kernel: " << fmt::format("{}", fmt::join(k.endpoints(), " ")) << "\n"
                      << "events: " << fmt::format("{}", fmt::join(k.event_endpoints(), " "))
                      << "\n";
            print_components(std::cout, k.list());
            std::cout << "ready" << std::endl;
            k.wait_shutdown_requested(bus::Clock::time_point::max());
            std::cout << "shutting down" << std::endl;
            k.shutdown();
            std::lock_guard lock(mutex);
            running = nullptr;
        });
    });
}

} // namespace loom::launcher
