// loom — the launcher (DESIGN.md §7).

#include <iostream>

#include <kj/exception.h>

#include "launcher/commands.hpp"
#include "schemas/error.hpp"

namespace loom::launcher {

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
