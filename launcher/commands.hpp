#pragma once
// The `loom` subcommands. Each add_* registers a subcommand whose callback stores its exit code
// in `exit_code` (0 on success).

#include <string>

#include <CLI/CLI.hpp>

#include "components/model/properties.hpp"

namespace loom::launcher {

void add_kernel_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_ctl_command(CLI::App& app, int& exit_code);
void add_keygen_command(CLI::App& app, int& exit_code);
void add_info_command(CLI::App& app, int& exit_code);
void add_convert_command(CLI::App& app, int& exit_code);
void add_run_command(CLI::App& app, int& exit_code);
void add_check_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);

// `loom ctl ext …` under `ctl`; `endpoint` resolves the deployment's extension loader (the
// `extensions` component) through the kernel and calls `body` with a channel to it.
struct ExtensionChannel;
using WithExtensions = std::function<void(const std::function<void(ExtensionChannel&)>& body)>;
void add_ctl_ext_command(CLI::App& ctl, int& exit_code, WithExtensions with_extensions);

// An output's name as a file name: characters other than [A-Za-z0-9._-] become '_' (and "."
// or ".." become underscores); empty stays empty.
std::string output_file_name(const std::string& output_name);

// `--infer-precision f32|bf16` on `cmd` (OpenVINO benchmark_app's -infer_precision), stored in
// `precision`; and the properties it asks for (none when empty).
void add_precision_option(CLI::App& cmd, std::string& precision);
Properties precision_properties(const std::string& precision);

// Runs `body`, turning a loom::Error into a message on stderr and exit code 1.
int guarded(const char* command, const std::function<void()>& body);

} // namespace loom::launcher
