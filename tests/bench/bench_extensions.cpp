// What extensions cost (issue 5's benchmark): one inference of a model with two custom-op nodes
// (the template extension's Activation on 1×64 and 64×1024 f32) with the extension in process
// and hosted in a process of its own (`loom serve --extension`, ops over ipc); a native model of
// the same shape (Relu twice) beside them; and the latency of a swap v1 → v2 with a compiled
// model to prepare. Run: build/bin/bench_extensions (paths are compiled in).

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "schemas/error.hpp"
#include "tests/extensions/ext_models.hpp"
#include "tests/support/child_process.hpp"
#include <loom/core.hpp>

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
    {
        loom::test::ChildProcess host(
            {LOOM_EXECUTABLE, "serve", "--extension", LOOM_TEMPLATE_V1, "-b", endpoint}, false);
        host.read_until([](const std::string& t) { return t.find('\n') != std::string::npos; });
        Core core;
        core.add_extension(endpoint);
        infer(state, core, custom());
    }
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
