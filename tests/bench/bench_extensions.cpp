// What extensions cost (issue 5's benchmark): one inference of a model with two custom-op nodes
// (the template extension's Activation on 1×64 and 64×1024 f32) with the extension in process
// and hosted in a process of its own (`loom serve --extension`, ops over ipc); a native model of
// the same shape (Relu twice) beside them; and the latency of a swap v1 → v2 with a compiled
// model to prepare. Run: build/bin/bench_extensions (paths are compiled in).

#include <benchmark/benchmark.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "components/runtime/core.hpp"
#include "schemas/error.hpp"
#include "tests/extensions/ext_models.hpp"

extern char** environ;

namespace {

using namespace loom;
using loom::test::CustomNode;

std::vector<CustomNode> custom() {
    CustomNode act{"Activation", "loom.template", {{"alpha", 0.75f}, {"beta", 1.5f}}};
    return {act, act};
}

Model read(Core& core, const std::string& text) {
    return core.read_model(std::as_bytes(std::span(text.data(), text.size())), {});
}

void infer(benchmark::State& state, Core& core, const std::vector<CustomNode>& nodes) {
    const std::vector<std::int64_t> dims{state.range(0), 1024};
    auto compiled =
        core.compile_model(read(core, loom::test::onnx_chain(nodes, dims)), "REFERENCE");
    auto request = compiled.create_infer_request();
    Tensor x(ElementType::F32, {dims[0], dims[1]});
    request.set_input_tensor(x);
    for (auto _ : state)
        request.infer();
    state.SetItemsProcessed(state.iterations() * dims[0] * dims[1]);
}

void native(benchmark::State& state) {
    Core core;
    infer(state, core, {{"Relu", "", {}}, {"Relu", "", {}}});
}

void in_process(benchmark::State& state) {
    Core core;
    core.add_extension(LOOM_TEMPLATE_V1);
    infer(state, core, custom());
}

void out_of_process(benchmark::State& state) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("loom-bench-ext-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto endpoint = "ipc://" + (dir / "ext").string();
    std::vector<std::string> args{LOOM_EXECUTABLE,  "serve", "--extension",
                                  LOOM_TEMPLATE_V1, "-b",    endpoint};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
    {
        Core core;
        // The host binds at once; retry the first describe until it answers.
        for (int i = 0;; ++i) {
            try {
                core.add_extension(endpoint);
                break;
            } catch (const Error&) {
                if (i == 100) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
        infer(state, core, custom());
    }
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    std::filesystem::remove_all(dir);
}

void swap(benchmark::State& state) {
    Core core;
    core.add_extension(LOOM_TEMPLATE_V1);
    auto compiled =
        core.compile_model(read(core, loom::test::onnx_chain(custom(), {64, 1024})), "REFERENCE");
    bool v2 = false;
    for (auto _ : state) {
        core.swap_extension("template", v2 ? LOOM_TEMPLATE_V1 : LOOM_TEMPLATE_V2);
        v2 = !v2;
    }
}

} // namespace

BENCHMARK(native)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(in_process)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(out_of_process)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(swap)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
