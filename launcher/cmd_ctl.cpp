// loom ctl — talk to a running deployment's kernel.

#include <iostream>

#include <fmt/format.h>

#include "bus/channel.hpp"
#include "bus/endpoint.hpp"
#include "kernel/client.hpp"
#include "launcher/commands.hpp"
#include "launcher/ctl_ext.hpp"
#include "launcher/security_options.hpp"
#include "launcher/table.hpp"

namespace loom::launcher {
namespace {

struct CtlOptions {
    std::string kernel;
    ClientKeyOptions keys;
    bool json = false;
    std::string name;
    std::string library;
    std::string where = "in-process";
    std::vector<std::string> endpoints;
    int count = 3;
};

kernel::ComponentSpec spec_of(const CtlOptions& o) {
    kernel::ComponentSpec spec;
    spec.name = o.name;
    spec.library = std::filesystem::absolute(o.library).string();
    LOOM_REQUIRE(o.where == "in-process" || o.where == "process",
                 "--where is '{}'; use in-process or process", o.where);
    spec.placement =
        o.where == "process" ? kernel::Placement::CHILD_PROCESS : kernel::Placement::IN_PROCESS;
    spec.endpoints = o.endpoints;
    return spec;
}

template <class Body>
void with_kernel(const CtlOptions& o, Body body) {
    LOOM_REQUIRE(!o.kernel.empty(), "give the kernel endpoint with --kernel (or LOOM_KERNEL)");
    bus::Context context;
    bus::ChannelOptions options;
    options.security = o.keys.load();
    kernel::KernelClient client(context, o.kernel, options);
    body(client, context);
}

// This client's keys towards a component the kernel routes to: the component's own public key
// (from the kernel's registry), not the kernel's.
bus::ChannelOptions component_options(const CtlOptions& o, const kernel::Route& route) {
    bus::ChannelOptions options;
    options.security = o.keys.load();
    if (options.security && !route.server_key.empty())
        options.security->server_public_key = route.server_key;
    return options;
}

void ping(const CtlOptions& o, kernel::KernelClient& client, bus::Context& context) {
    auto route = client.resolve(o.name);
    auto endpoint = context.nearest(route.endpoints, route.host);
    LOOM_REQUIRE(!endpoint.empty(), "'{}' has no endpoint reachable from here", o.name);
    bus::Channel channel(context, endpoint, o.name, component_options(o, route));
    for (int i = 0; i < o.count; ++i) {
        auto t0 = bus::Clock::now();
        auto reply = channel.ping({.timeout = std::chrono::seconds(10)});
        auto us = std::chrono::duration<double, std::micro>(bus::Clock::now() - t0).count();
        auto s = reply.payload<schema::ServiceStatus>();
        // The kernel's instance number (as `ctl list` shows it), not the server's own.
        std::cout << fmt::format("{} version {} instance {} pid {} at {}: {:.0f} µs\n",
                                 s.getName().cStr(), s.getVersion().cStr(), route.instance,
                                 s.getPid(), endpoint, us);
    }
}

} // namespace

void add_ctl_command(CLI::App& app, int& exit_code) {
    auto* ctl = app.add_subcommand("ctl", "Control a running deployment through its kernel");
    ctl->require_subcommand(1);
    auto o = std::make_shared<CtlOptions>();
    ctl->add_option("-k,--kernel", o->kernel, "Kernel endpoint")->envname("LOOM_KERNEL");
    o->keys.add(*ctl, "the kernel");

    auto* list = ctl->add_subcommand("list", "Components and their states (* = routed)");
    list->add_flag("--json", o->json, "Print JSON");
    list->callback([&exit_code, o] {
        exit_code = guarded("ctl list", [&] {
            with_kernel(*o, [&](kernel::KernelClient& k, bus::Context&) {
                auto records = k.list();
                if (o->json)
                    print_components_json(std::cout, records);
                else
                    print_components(std::cout, records);
            });
        });
    });

    auto* ping_cmd = ctl->add_subcommand("ping", "Ping the component serving NAME");
    ping_cmd->add_option("name", o->name, "Component name")->required();
    ping_cmd->add_option("-n,--count", o->count, "Pings to send")->check(CLI::Range(1, 1000000));
    ping_cmd->callback([&exit_code, o] {
        exit_code = guarded("ctl ping", [&] {
            with_kernel(*o, [&](kernel::KernelClient& k, bus::Context& c) { ping(*o, k, c); });
        });
    });

    for (const char* verb : {"start", "swap"}) {
        auto* cmd = ctl->add_subcommand(
            verb, std::string(verb) == "start"
                      ? "Start a component under a new name"
                      : "Replace the component serving NAME (the old one drains, then stops)");
        cmd->add_option("name", o->name, "Component name")->required();
        cmd->add_option("-l,--library", o->library, "Component library")->required();
        cmd->add_option("-w,--where", o->where, "in-process (in the kernel) or process");
        cmd->add_option("-e,--endpoint", o->endpoints, "Endpoint(s) to bind");
        bool is_swap = std::string(verb) == "swap";
        cmd->callback([&exit_code, o, is_swap] {
            exit_code = guarded(is_swap ? "ctl swap" : "ctl start", [&] {
                with_kernel(*o, [&](kernel::KernelClient& k, bus::Context&) {
                    auto record = is_swap ? k.swap(o->name, spec_of(*o)) : k.start(spec_of(*o));
                    print_components(std::cout, {record});
                });
            });
        });
    }

    auto* stop = ctl->add_subcommand("stop", "Drain and stop the component serving NAME");
    stop->add_option("name", o->name, "Component name")->required();
    stop->callback([&exit_code, o] {
        exit_code = guarded("ctl stop", [&] {
            with_kernel(*o, [&](kernel::KernelClient& k, bus::Context&) {
                print_components(std::cout, {k.stop(o->name)});
            });
        });
    });

    add_ctl_ext_command(*ctl, exit_code, [o](const std::function<void(ExtensionChannel&)>& body) {
        with_kernel(*o, [&](kernel::KernelClient& k, bus::Context& c) {
            auto route = k.resolve("extensions");
            auto endpoint = c.nearest(route.endpoints, route.host);
            LOOM_REQUIRE(!endpoint.empty(),
                         "the deployment's extension loader has no endpoint reachable from here");
            ExtensionChannel channel{
                bus::Channel(c, endpoint, "extensions", component_options(*o, route))};
            body(channel);
        });
    });

    auto* shutdown = ctl->add_subcommand("shutdown", "Stop the deployment");
    shutdown->callback([&exit_code, o] {
        exit_code = guarded("ctl shutdown", [&] {
            with_kernel(*o, [&](kernel::KernelClient& k, bus::Context&) { k.shutdown(); });
        });
    });
}

} // namespace loom::launcher
