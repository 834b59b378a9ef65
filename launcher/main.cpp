// loom — the launcher (DESIGN.md §7).

#include <iostream>

#include <kj/exception.h>

#include "launcher/commands.hpp"
#include "schemas/error.hpp"

namespace loom::launcher {

void add_precision_option(CLI::App& cmd, std::string& precision) {
    cmd.add_option("--infer-precision", precision,
                   "INFERENCE_PRECISION_HINT: f32, or bf16 on CPUs with avx512_bf16 (default: the "
                   "device's own)")
        ->check(CLI::IsMember({"f32", "bf16"}));
}

Properties precision_properties(const std::string& precision) {
    Properties p;
    if (!precision.empty())
        p.set(props::inference_precision,
              precision == "bf16" ? ElementType::BF16 : ElementType::F32);
    return p;
}

int guarded(const char* command, const std::function<void()>& body) {
    try {
        body();
        return 0;
    } catch (const Error& e) {
        std::cerr << "loom " << command << ": error: " << e.what() << "\n";
    } catch (const kj::Exception& e) {
        std::cerr << "loom " << command << ": error: malformed data: " << e.getDescription().cStr()
                  << "\n";
    } catch (const std::exception& e) {
        std::cerr << "loom " << command << ": error: " << e.what() << "\n";
    }
    return 1;
}

} // namespace loom::launcher

int main(int argc, char** argv) {
    CLI::App app{"Loom — an inference runtime built as a microkernel: components talk over a "
                 "ZeroMQ bus and can be swapped, moved to other processes or other machines.",
                 "loom"};
    app.set_version_flag("--version", std::string("loom ") + LOOM_VERSION);
    app.require_subcommand(1);
    int exit_code = 0;
    loom::launcher::add_kernel_command(app, exit_code);
    loom::launcher::add_serve_command(app, exit_code);
    loom::launcher::add_ctl_command(app, exit_code);
    loom::launcher::add_keygen_command(app, exit_code);
    loom::launcher::add_info_command(app, exit_code);
    loom::launcher::add_convert_command(app, exit_code);
    loom::launcher::add_run_command(app, exit_code);
    loom::launcher::add_check_command(app, exit_code);
    loom::launcher::add_bench_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return exit_code;
}
