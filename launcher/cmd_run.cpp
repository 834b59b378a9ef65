// loom run (-m MODEL | --pipeline FILE) [-d DEVICE] [-i NAME=FILE ...] [-o DIR] [--extension LIB
// ...]
//          [--shape NAME=D0,D1,...] [--trace FILE] [--isolate]
// One inference through the public API (DESIGN.md §7): inputs from .npy or ONNX TensorProto .pb
// files, each output written as DIR/<output-name>.npy (characters unsafe in file names replaced
// by '_'), one line per output on stdout: name, element type, shape, file. Any failure exits
// non-zero with the reason on stderr.

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "components/runtime/tensor_io.hpp"
#include "launcher/commands.hpp"
#include "launcher/model_inputs.hpp"
#include "launcher/security_options.hpp"
#include "launcher/trace.hpp"
#include "schemas/error.hpp"
#include <loom/core.hpp>
#include <loom/pipeline.hpp>

namespace loom::launcher {

namespace fs = std::filesystem;

namespace {

struct RunOptions {
    std::string model;
    std::string pipeline;
    std::string device = "REFERENCE";
    std::vector<std::string> inputs;
    std::string output_dir = ".";
    std::vector<std::string> extensions;
    std::vector<std::string> shapes;
    bool isolate = false;
    std::string trace;
    std::string precision;
    std::string kernel;    // a running deployment to use
    ClientKeyOptions keys; // for the kernel, devices and extensions at tcp:// endpoints
};

// bf16 has no NumPy dtype: such outputs are written as f32.
Tensor writable(const Tensor& t) {
    if (t.element_type() != ElementType::BF16) return t;
    Tensor f(ElementType::F32, t.shape());
    const auto* in = t.data<std::uint16_t>();
    auto* out = f.data<float>();
    for (std::int64_t i = 0; i < t.size(); ++i)
        out[i] = model::bf16_to_f32(in[i]);
    return f;
}

void write_outputs(const InferRequest& request, const std::vector<Port>& outputs,
                   const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    LOOM_REQUIRE(fs::is_directory(dir), "-o {}: cannot create the directory{}", dir.string(),
                 ec ? " (" + ec.message() + ")" : "");
    std::set<std::string> used;
    for (const auto& port : outputs) {
        auto base = output_file_name(port.name);
        if (base.empty()) base = fmt::format("output_{}", port.index);
        if (!used.insert(base).second) {
            base += fmt::format("_{}", port.index);
            used.insert(base);
        }
        const auto file = dir / (base + ".npy");
        auto tensor = request.get_output_tensor(port.index);
        runtime::write_npy(file, writable(tensor));
        std::cout << fmt::format("{:<24} {:<8} {:<20} {}\n", port.name,
                                 tensor.element_type() == ElementType::BF16
                                     ? "bf16(as f32)"
                                     : std::string(loom::to_string(tensor.element_type())),
                                 model::to_string(tensor.shape()), file.string());
        if (tensor.element_type() == ElementType::STRING) { // text: show it
            const auto values = tensor.impl().string_values();
            for (std::size_t i = 0; i < values.size() && i < 50; ++i)
                std::cout << fmt::format("  [{}] {}\n", i, values[i]);
            if (values.size() > 50) std::cout << fmt::format("  ... {} more\n", values.size() - 50);
        }
    }
}

void run(const RunOptions& o) {
    auto co = client_core_options(o.keys, o.kernel, o.device, o.extensions);
    co.devices_out_of_process = co.model_components_out_of_process = o.isolate;
    Core core(co);
    for (const auto& lib : o.extensions)
        core.add_extension(lib);
    auto properties = precision_properties(o.precision);
    if (!o.trace.empty()) properties.set(props::enable_profiling, true);
    auto target =
        compile_target(core, o.model, o.pipeline, o.device, o.shapes, !o.trace.empty(), properties);
    const auto& compiled = target.compiled; // (target keeps a pipeline alive)
    auto request = compiled.create_infer_request();
    for (const auto& [index, b] : bind_inputs(o.inputs, compiled.inputs())) {
        try {
            request.set_input_tensor(index, b.tensor);
        } catch (const Error& e) {
            throw Error(e.kind(), fmt::format("{} (from {})", e.message(), b.file));
        }
    }
    request.infer();
    write_outputs(request, compiled.outputs(), o.output_dir);
    if (!o.trace.empty()) {
        Trace trace(o.device);
        trace.add(0, std::chrono::microseconds(0), request.get_profiling_info());
        trace.write(o.trace);
    }
}

} // namespace

std::string output_file_name(const std::string& name) {
    std::string s;
    for (char c : name) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        s += safe ? c : '_';
    }
    if (s == "." || s == "..") s = std::string(s.size(), '_');
    return s;
}

void add_run_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<RunOptions>();
    auto* cmd = app.add_subcommand(
        "run", "Run one inference: inputs from .npy or ONNX .pb files, each output written as "
               "DIR/<output-name>.npy");
    auto* model = cmd->add_option("-m,--model", o->model, "Model file (.xml OpenVINO IR or .onnx)");
    auto* pipeline = cmd->add_option(
        "--pipeline", o->pipeline,
        "A pipeline file (TOML, README \"Pipelines\") to run where a model would go; its model "
        "nodes name their devices");
    model->excludes(pipeline);
    pipeline->excludes(model);
    cmd->add_option("-d,--device", o->device, "Device (default REFERENCE)");
    cmd->add_option("-i,--input", o->inputs,
                    "NAME=FILE (.npy or TensorProto .pb); a bare FILE feeds a single-input model");
    cmd->add_option("-o,--output-dir", o->output_dir, "Where outputs are written (default .)");
    cmd->add_option("--extension", o->extensions,
                    "Extension library with custom operations (or the ipc:// / tcp:// endpoint "
                    "of one hosted with `loom serve --extension`)");
    add_kernel_option(*cmd, o->kernel);
    o->keys.add(*cmd, "the kernel, or the tcp:// device and extension hosts");
    cmd->add_option("--shape", o->shapes,
                    "Reshape an input first: NAME=D0,D1,... (? or -1 for a dynamic dimension)");
    cmd->add_option("--trace", o->trace,
                    "Write the inference's per-node profile as Chrome-trace JSON (Perfetto, "
                    "chrome://tracing)");
    add_precision_option(*cmd, o->precision);
    cmd->add_flag("--isolate", o->isolate,
                  "Run the device and the reader/transform components in processes of their own");
    cmd->callback([&exit_code, o] { exit_code = guarded("run", [&] { run(*o); }); });
}

} // namespace loom::launcher
