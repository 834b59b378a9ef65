// loom kernel --config deploy.toml — runs a deployment until SIGINT/SIGTERM or
// `loom ctl shutdown`.

#include <iostream>
#include <optional>

#include <fmt/ranges.h>

#include "components/model/registry_host.hpp"
#include "components/serving/http_server.hpp"
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
            // [http]: the deployment's models and pipelines over HTTP, from a client Core
            // attached to this kernel over its ipc endpoint.
            std::optional<Core> core;
            std::optional<serving::HttpServer> http;
            if (!deployment.http.empty()) {
                auto options =
                    serving::parse_http_config(deployment.http, deployment.base_dir,
                                               *config + ": [http]", deployment.pipelines);
                std::string ipc;
                for (const auto& e : k.endpoints())
                    if (e.starts_with("ipc://") && ipc.empty()) ipc = e;
                LOOM_REQUIRE(!ipc.empty(),
                             "{}: [http] serves through the kernel's ipc:// endpoint; add one to "
                             "[kernel] endpoints",
                             *config);
                CoreOptions co;
                co.kernel = ipc;
                co.process_registry = deployment.kernel.registry;
                core.emplace(co);
                http.emplace(*core, std::move(options));
                http->start();
                std::cout << "http: http://" << http->options().address << ":" << http->port()
                          << "/v2" << std::endl;
            }
            std::cout << "kernel: " << fmt::format("{}", fmt::join(k.endpoints(), " ")) << "\n"
                      << "events: " << fmt::format("{}", fmt::join(k.event_endpoints(), " "))
                      << "\n";
            print_components(std::cout, k.list());
            std::cout << "ready" << std::endl;
            k.wait_shutdown_requested(bus::Clock::time_point::max());
            std::cout << "shutting down" << std::endl;
            if (http) http->stop(); // no new request reaches a component stopping below
            http.reset();
            core.reset();
            k.shutdown();
            std::lock_guard lock(mutex);
            running = nullptr;
        });
    });
}

} // namespace loom::launcher
