// loom info [-m MODEL [--transform PIPELINE]] [--json FILE] [--verbose] — what Loom has, or what
// a model is (DESIGN.md §7). Without -m: version, pipelines, and each available device with its
// FULL_DEVICE_NAME, supported properties and op coverage (Core::op_coverage; --verbose lists the
// unsupported ops). With -m: inputs, outputs (names, types, partial shapes) and the op
// histogram, read through the reader component of an embedded deployment. Exits non-zero with
// the reason when the model cannot be read.

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "components/runtime/attached.hpp"
#include "components/runtime/embedded.hpp"
#include "launcher/commands.hpp"
#include "launcher/security_options.hpp"
#include "schemas/extensions.capnp.h"
#include "schemas/plugin.capnp.h"
#include <loom/core.hpp>
#include <loom/pipeline.hpp>

namespace loom::launcher {

namespace {

struct InfoOptions {
    std::string model;
    std::string pipeline; // --transform
    std::string pipeline_file;
    std::string json;
    bool isolate = false;
    bool verbose = false;
    std::vector<std::string> extensions;
    std::string kernel;    // a running deployment to describe
    ClientKeyOptions keys; // for the kernel or extensions at tcp:// endpoints
};

std::string port_name(const model::Node& node, const model::OutputInfo& out) {
    if (!out.names.empty()) {
        std::string joined;
        for (const auto& n : out.names)
            joined += (joined.empty() ? "" : ", ") + n;
        return joined;
    }
    return node.name.empty() ? "<unnamed>" : node.name;
}

nlohmann::json ports_json(const model::Model& m, bool inputs) {
    auto list = nlohmann::json::array();
    const auto& nodes = inputs ? m.parameters() : m.results();
    for (const auto* n : nodes) {
        const model::Node& producer = inputs ? *n : *n->inputs[0].node;
        const auto& out = inputs ? n->outputs[0] : producer.outputs[n->inputs[0].index];
        list.push_back({{"name", port_name(*n, out)},
                        {"type", std::string(loom::to_string(out.type))},
                        {"shape", out.shape.to_string()}});
    }
    return list;
}

void print_ports(const char* title, const nlohmann::json& ports) {
    std::cout << title << ":\n";
    for (const auto& p : ports)
        std::cout << fmt::format("  {:<24} {:<8} {}\n", p["name"].get<std::string>(),
                                 p["type"].get<std::string>(), p["shape"].get<std::string>());
}

nlohmann::json histogram_json(const model::Model& m) {
    auto h = nlohmann::json::object();
    for (const auto& [type, count] : m.histogram())
        h[type] = count;
    return h;
}

void print_histogram(const model::Model& m) {
    std::cout << fmt::format("operations: {} nodes\n", m.size());
    for (const auto& [type, count] : m.histogram())
        std::cout << fmt::format("  {:<28} {}\n", type, count);
}

void info_model(const InfoOptions& o) {
    auto co = client_core_options(o.keys, o.kernel, "", o.extensions);
    co.model_components_out_of_process = o.isolate;
    auto owned = runtime::make_deployment(co);
    auto& deployment = *owned;
    for (const auto& source : o.extensions) {
        bus::OutMessage request;
        request.init_payload<schema::ExtensionLoadRequest>().setSource(
            runtime::extension_source(source));
        deployment.extensions()(static_cast<std::uint16_t>(schema::ExtensionMethod::LOAD), request);
    }
    auto read = runtime::read_model_file(deployment, o.model);
    const auto& m = *read.model;
    nlohmann::json j = {{"model", o.model},
                        {"name", m.name},
                        {"read_ms", static_cast<double>(read.reader_micros) / 1000.0},
                        {"inputs", ports_json(m, true)},
                        {"outputs", ports_json(m, false)},
                        {"nodes", m.size()},
                        {"operations", histogram_json(m)}};
    std::cout << fmt::format("model: {}{}\n", o.model, m.name.empty() ? "" : " (" + m.name + ")");
    print_ports("inputs", j["inputs"]);
    print_ports("outputs", j["outputs"]);
    print_histogram(m);
    if (!o.pipeline.empty()) {
        auto t = runtime::transform_model(deployment.transform(), m, o.pipeline);
        std::cout << fmt::format("\ntransform '{}': {} -> {} nodes\n", o.pipeline, m.size(),
                                 t.model->size());
        std::cout << fmt::format("  {:<28} {:<8} {:>8} {:>16} {:>10}\n", "pass", "changed",
                                 "rewrites", "nodes", "time");
        auto passes = nlohmann::json::array();
        for (const auto& p : t.passes) {
            std::cout << fmt::format("  {:<28} {:<8} {:>8} {:>16} {:>7.2f} ms\n", p.name,
                                     p.changed ? "yes" : "no", p.rewrites,
                                     fmt::format("{} -> {}", p.nodes_before, p.nodes_after),
                                     static_cast<double>(p.micros) / 1000.0);
            passes.push_back({{"name", p.name},
                              {"changed", p.changed},
                              {"rewrites", p.rewrites},
                              {"nodes_before", p.nodes_before},
                              {"nodes_after", p.nodes_after},
                              {"micros", p.micros}});
        }
        print_histogram(*t.model);
        j["transform"] = {{"pipeline", o.pipeline},
                          {"nodes_before", m.size()},
                          {"nodes_after", t.model->size()},
                          {"passes", passes},
                          {"operations", histogram_json(*t.model)}};
    }
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << j.dump(2) << "\n";
        if (!out) throw Error(ErrorKind::INVALID_ARGUMENT, "cannot write " + o.json);
    }
}

nlohmann::json ports_of(const std::vector<Port>& ports) {
    auto a = nlohmann::json::array();
    for (const auto& p : ports)
        a.push_back({{"name", p.name},
                     {"type", std::string(loom::to_string(p.type))},
                     {"shape", p.shape.to_string()}});
    return a;
}

// `loom info --pipeline FILE`: the compiled pipeline's interface and nodes.
void info_pipeline(const InfoOptions& o) {
    auto co = client_core_options(o.keys, o.kernel, "", o.extensions);
    Core core(co);
    auto p = Pipeline::compile(core, o.pipeline_file);
    const auto& cm = p.compiled_model();
    nlohmann::json j = {{"pipeline", o.pipeline_file},
                        {"name", p.name()},
                        {"inputs", ports_of(cm.inputs())},
                        {"outputs", ports_of(cm.outputs())},
                        {"nodes", nlohmann::json::array()}};
    std::cout << fmt::format("pipeline: {} ({})\n", o.pipeline_file, p.name());
    print_ports("inputs", j["inputs"]);
    print_ports("outputs", j["outputs"]);
    std::cout << fmt::format("nodes: {}\n", p.nodes().size());
    for (const auto& n : p.describe()) {
        std::string where = n.demultiply          ? "demultiplies"
                            : !n.items_of.empty() ? "per item of " + n.items_of
                            : !n.gathers.empty()  ? "gathers " + n.gathers
                                                  : "";
        std::cout << fmt::format("  {:<14} {:<9} {}{}{}\n", n.name, n.kind, n.target,
                                 n.device.empty() ? "" : " on " + n.device,
                                 where.empty() ? "" : "  (" + where + ")");
        j["nodes"].push_back({{"name", n.name},
                              {"kind", n.kind},
                              {"target", n.target},
                              {"device", n.device},
                              {"demultiply", n.demultiply},
                              {"items_of", n.items_of},
                              {"gathers", n.gathers},
                              {"inputs", ports_of(n.inputs)},
                              {"outputs", ports_of(n.outputs)}});
    }
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << j.dump(2) << "\n";
        if (!out) throw Error(ErrorKind::INVALID_ARGUMENT, "cannot write " + o.json);
    }
}

// `loom info --extension LIB …`: what each extension provides (loading it checks it).
void info_extensions(const InfoOptions& o) {
    Core core(client_core_options(o.keys, o.kernel, "", o.extensions));
    auto list = nlohmann::json::array();
    for (const auto& source : o.extensions) {
        auto e = core.add_extension(source);
        std::cout << fmt::format("extension {} {} ({})\n", e.name, e.version, e.source);
        for (const auto& op : e.ops)
            std::cout << "  op " << op << "\n";
        for (const auto& c : e.conversions)
            std::cout << "  conversion " << c << "\n";
        list.push_back({{"name", e.name},
                        {"version", e.version},
                        {"source", e.source},
                        {"ops", e.ops},
                        {"conversions", e.conversions}});
    }
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << nlohmann::json{{"extensions", list}}.dump(2) << "\n";
        if (!out) throw Error(ErrorKind::INVALID_ARGUMENT, "cannot write " + o.json);
    }
}

// One device: its full name, supported properties (with values where readable) and op coverage.
nlohmann::json device_json(const Core& core, const std::string& device) {
    nlohmann::json d = {{"name", device}};
    d["full_name"] = core.get_property(device, props::device_full_name);
    auto properties = nlohmann::json::object();
    for (const auto& name : core.get_property(device, props::supported_properties)) {
        if (name == props::supported_properties.name) continue; // these rows are the list
        try {
            properties[name] = core.get_property(device, name);
        } catch (const Error& e) { // write-only or not readable now: say why
            properties[name] = fmt::format("<{}>", to_string(e.kind()));
        }
    }
    d["properties"] = properties;
    auto unsupported = nlohmann::json::array();
    std::size_t total = 0;
    for (const auto& [op, supported] : core.op_coverage(device)) {
        ++total;
        if (!supported) unsupported.push_back(op);
    }
    d["ops"] = {
        {"total", total}, {"supported", total - unsupported.size()}, {"unsupported", unsupported}};
    return d;
}

void print_device(const nlohmann::json& d, bool verbose) {
    std::cout << fmt::format("\n{}: {}\n", d["name"].get<std::string>(),
                             d.value("full_name", std::string()));
    if (d.contains("error")) {
        std::cout << "  unavailable: " << d["error"].get<std::string>() << "\n";
        return;
    }
    std::cout << "  properties:\n";
    for (const auto& item : d["properties"].items())
        std::cout << fmt::format("    {:<36} {}\n", item.key(), item.value().get<std::string>());
    const auto& ops = d["ops"];
    const auto unsupported = ops["unsupported"].size();
    std::cout << fmt::format("  operations: {} of {} supported",
                             ops["supported"].get<std::size_t>(), ops["total"].get<std::size_t>());
    if (unsupported && !verbose) std::cout << " (--verbose lists the others)";
    std::cout << "\n";
    if (verbose && unsupported) {
        std::cout << "  unsupported:";
        std::size_t column = 15;
        for (const auto& op : ops["unsupported"]) {
            const auto text = op.get<std::string>();
            if (column + text.size() + 1 > 100) {
                std::cout << "\n               ";
                column = 15;
            }
            std::cout << " " << text;
            column += text.size() + 1;
        }
        std::cout << "\n";
    }
}

void info_loom(const InfoOptions& o) {
    nlohmann::json j = {{"version", LOOM_VERSION}};
    {
        runtime::EmbeddedDeployment deployment;
        j["pipelines"] = runtime::list_pipelines(deployment.transform());
    }
    std::cout << "loom " << LOOM_VERSION << "\n";
    std::cout << "components: reader (OpenVINO IR v10/v11, ONNX opsets 1-17), transform\n";
    std::cout << "pipelines:";
    for (const auto& p : j["pipelines"])
        std::cout << " " << p.get<std::string>();
    CoreOptions co;
    co.devices_out_of_process = co.model_components_out_of_process = o.isolate;
    Core core(co);
    const auto devices = core.available_devices();
    std::cout << "\ndevices:";
    for (const auto& d : devices)
        std::cout << " " << d;
    std::cout << (devices.empty() ? " none\n" : "\n");
    j["devices"] = nlohmann::json::array();
    for (const auto& name : devices) {
        nlohmann::json d;
        try {
            d = device_json(core, name);
        } catch (const Error& e) { // e.g. CUDA without a GPU: report it, go on
            d = {{"name", name}, {"error", e.what()}};
        }
        print_device(d, o.verbose);
        j["devices"].push_back(d);
    }
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << j.dump(2) << "\n";
        if (!out) throw Error(ErrorKind::INVALID_ARGUMENT, "cannot write " + o.json);
    }
}

// `loom info --kernel ENDPOINT`: every device of a running deployment — where it runs, its
// state and load — and, for the ready ones, what they are (as `loom info` shows local ones).
void info_deployment(const InfoOptions& o) {
    auto attached = runtime::make_deployment(client_core_options(o.keys, o.kernel, "", {}));
    auto& kernel = dynamic_cast<runtime::AttachedDeployment&>(*attached).kernel();
    nlohmann::json j = {{"version", LOOM_VERSION}, {"kernel", o.kernel}};
    j["devices"] = nlohmann::json::array();
    std::cout << "deployment at " << o.kernel << "\n";
    std::cout << fmt::format("  {:<22} {:<9} {:<24} {:>5}  {}\n", "device", "state", "host", "load",
                             "endpoint");
    for (const auto& r : kernel.list()) {
        if (!r.name.starts_with("device/")) continue;
        const auto name = r.name.substr(7);
        const auto host = r.host.substr(0, r.host.find('/'));
        const auto endpoint = r.endpoints.empty() ? std::string("-") : r.endpoints.back();
        const auto state = std::string(kernel::to_string(r.state));
        std::cout << fmt::format("  {:<22} {:<9} {:<24} {:>5}  {}\n", name, state, host,
                                 r.in_flight, endpoint);
        nlohmann::json d = {{"name", name},
                            {"state", state},
                            {"host", host},
                            {"in_flight", r.in_flight},
                            {"endpoints", r.endpoints},
                            {"instance", r.instance}};
        if (r.state == kernel::ComponentState::READY) {
            try {
                bus::OutMessage request;
                request.init_payload<schema::PropertyRequest>().setName("FULL_DEVICE_NAME");
                auto reply = attached->device(name)(
                    static_cast<std::uint16_t>(schema::DeviceMethod::GET_PROPERTY), request, {});
                d["full_name"] = reply.payload<schema::PropertyValue>().getValue().cStr();
            } catch (const Error& e) {
                d["error"] = e.what();
            }
        }
        j["devices"].push_back(d);
    }
    if (j["devices"].empty()) std::cout << "  (no devices)\n";
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << j.dump(2) << "\n";
        if (!out) throw Error(ErrorKind::INVALID_ARGUMENT, "cannot write " + o.json);
    }
}

} // namespace

void add_info_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<InfoOptions>();
    auto* cmd = app.add_subcommand("info", "What Loom provides, or with -m what a model is: "
                                           "inputs, outputs, operations");
    cmd->add_option("-m,--model", o->model, "Model file (.xml OpenVINO IR or .onnx)");
    cmd->add_option("--pipeline", o->pipeline_file,
                    "A pipeline file (TOML): its inputs, outputs and nodes (compiled to check it)");
    cmd->add_option("--transform", o->pipeline,
                    "Also run this transform pipeline (e.g. common) and report node counts");
    cmd->add_option("--json", o->json, "Also write the report as JSON to FILE");
    cmd->add_flag("--isolate", o->isolate,
                  "Run the components (and, without -m, the devices) in processes of their own");
    cmd->add_flag("-v,--verbose", o->verbose, "Without -m: list each device's unsupported ops");
    cmd->add_option("--extension", o->extensions,
                    "Extension library (or ipc:// / tcp:// endpoint): without -m, list its ops; "
                    "with -m, load it before reading");
    add_kernel_option(*cmd, o->kernel);
    o->keys.add(*cmd, "the kernel, or the tcp:// extension hosts");
    cmd->callback([&exit_code, o] {
        exit_code = guarded("info", [&] {
            if (!o->pipeline_file.empty())
                info_pipeline(*o);
            else if (o->model.empty() && !o->extensions.empty())
                info_extensions(*o);
            else if (o->model.empty() && !o->kernel.empty())
                info_deployment(*o);
            else if (o->model.empty())
                info_loom(*o);
            else
                info_model(*o);
        });
    });
}

} // namespace loom::launcher
