// loom convert MODEL -o OUT.xml [--transform PIPELINE] — writes OpenVINO IR v11 (OUT.xml and
// OUT.bin) through the reader component (DESIGN.md §7).

#include <iostream>

#include <fmt/format.h>

#include "components/runtime/embedded.hpp"
#include "launcher/commands.hpp"

namespace loom::launcher {

void add_convert_command(CLI::App& app, int& exit_code) {
    struct Options {
        std::string model, output, pipeline;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("convert", "Write a model as OpenVINO IR (.xml + .bin)");
    cmd->add_option("model", o->model, "Model file (.xml OpenVINO IR or .onnx)")->required();
    cmd->add_option("-o,--output", o->output, "Output .xml path (the .bin is written beside it)")
        ->required();
    cmd->add_option("--transform", o->pipeline, "Run this transform pipeline first");
    cmd->callback([&exit_code, o] {
        exit_code = guarded("convert", [&] {
            runtime::EmbeddedDeployment deployment;
            auto model = runtime::read_model(deployment.reader(), o->model).model;
            if (!o->pipeline.empty())
                model = runtime::transform_model(deployment.transform(), *model, o->pipeline).model;
            auto [bin, bytes] = runtime::write_ir(deployment.reader(), *model, o->output);
            std::cout << fmt::format("wrote {} and {} ({} bytes of weights), {} nodes\n", o->output,
                                     bin, bytes, model->size());
        });
    });
}

} // namespace loom::launcher
