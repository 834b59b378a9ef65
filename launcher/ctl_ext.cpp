// loom ctl ext — load, swap, unload and list extensions in a running deployment (DESIGN.md §7).

#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "components/runtime/embedded.hpp"
#include "launcher/ctl_ext.hpp"
#include "schemas/extensions.capnp.h"

namespace loom::launcher {
namespace {

struct ExtOptions {
    std::string source, name;
    bool json = false;
};

void print(const schema::ExtensionInfo::Reader& e) {
    std::vector<std::string> ops;
    for (auto op : e.getOps())
        ops.emplace_back(op.cStr());
    std::cout << fmt::format("{} {} from {}: {}", e.getName().cStr(), e.getVersion().cStr(),
                             e.getSource().cStr(), fmt::join(ops, " "));
    if (e.getProcesses() > 1) std::cout << fmt::format(" ({} processes)", e.getProcesses());
    std::cout << "\n";
}

} // namespace

void add_ctl_ext_command(CLI::App& ctl, int& exit_code, WithExtensions with) {
    auto* ext = ctl.add_subcommand("ext", "Extensions of the running deployment");
    ext->require_subcommand(1);
    auto o = std::make_shared<ExtOptions>();

    auto* load = ext->add_subcommand("load", "Load an extension library (or ipc://, tcp://)");
    load->add_option("source", o->source, "Library path or endpoint")->required();
    load->callback([&exit_code, o, with] {
        exit_code = guarded("ctl ext load", [&] {
            with([&](ExtensionChannel& c) {
                bus::OutMessage m;
                m.init_payload<schema::ExtensionLoadRequest>().setSource(
                    runtime::extension_source(o->source));
                auto reply = c.channel.call(schema::ExtensionMethod::LOAD, std::move(m));
                print(reply.payload<schema::ExtensionInfo>());
            });
        });
    });

    auto* swap = ext->add_subcommand(
        "swap", "Replace a loaded extension; running requests finish on the old version");
    swap->add_option("name", o->name, "Loaded extension's name")->required();
    swap->add_option("source", o->source, "New library path or endpoint")->required();
    swap->callback([&exit_code, o, with] {
        exit_code = guarded("ctl ext swap", [&] {
            with([&](ExtensionChannel& c) {
                bus::OutMessage m;
                auto p = m.init_payload<schema::ExtensionSwapRequest>();
                p.setName(o->name);
                p.setSource(runtime::extension_source(o->source));
                auto reply = c.channel.call(schema::ExtensionMethod::SWAP, std::move(m));
                print(reply.payload<schema::ExtensionInfo>());
            });
        });
    });

    auto* unload = ext->add_subcommand(
        "unload", "Unload an extension (unmapped once the compiled models using it are gone)");
    unload->add_option("name", o->name, "Loaded extension's name")->required();
    unload->callback([&exit_code, o, with] {
        exit_code = guarded("ctl ext unload", [&] {
            with([&](ExtensionChannel& c) {
                bus::OutMessage m;
                m.init_payload<schema::ExtensionUnloadRequest>().setName(o->name);
                c.channel.call(schema::ExtensionMethod::UNLOAD, std::move(m));
                std::cout << "unloaded " << o->name << "\n";
            });
        });
    });

    auto* list = ext->add_subcommand("list", "Loaded extensions");
    list->add_flag("--json", o->json, "Print JSON (an array; [] when none is loaded)");
    list->callback([&exit_code, o, with] {
        exit_code = guarded("ctl ext list", [&] {
            with([&](ExtensionChannel& c) {
                auto reply = c.channel.call(schema::ExtensionMethod::LIST, bus::OutMessage{});
                auto all = reply.payload<schema::ExtensionList>().getExtensions();
                if (!o->json) { // one line per extension; a line saying so when none
                    if (all.size() == 0) std::cout << "no extensions loaded\n";
                    for (auto e : all)
                        print(e);
                    return;
                }
                auto out = nlohmann::json::array();
                for (auto e : all) {
                    auto ops = nlohmann::json::array();
                    for (auto op : e.getOps())
                        ops.push_back(op.cStr());
                    out.push_back({{"name", e.getName().cStr()},
                                   {"version", e.getVersion().cStr()},
                                   {"source", e.getSource().cStr()},
                                   {"ops", ops}});
                }
                std::cout << out.dump(2) << "\n";
            });
        });
    });
}

} // namespace loom::launcher
