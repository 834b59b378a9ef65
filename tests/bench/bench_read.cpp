// Time for `read` to return a validated, shape-propagated model (issue 3's benchmark): the
// reader library called directly, the reader component in process (bus, direct dispatch) and a
// reader in another process (ipc + shared memory). Models come from LOOM_SHARED_DIR.
// tests/bench/compare_read.py runs this beside OpenVINO's Core.read_model on the same files.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>

#include "components/reader/reader.hpp"
#include "components/runtime/embedded.hpp"

namespace {

namespace fs = std::filesystem;

fs::path shared() {
    const char* env = std::getenv("LOOM_SHARED_DIR");
    return env ? fs::path(env) : fs::path("../shared");
}

const std::pair<const char*, const char*> k_models[] = {
    {"ppocr-det-v4", "models/ppocr-det-v4/model.onnx"},
    {"squeezenet-ir", "models/ir/squeezenet1.1-fp16/squeezenet1.1.xml"},
    {"ppocr-rec-v4", "models/ppocr-rec-v4/model.onnx"},
};

void direct(benchmark::State& state, std::string path) {
    auto registry = loom::model::make_native_registry();
    for (auto _ : state)
        benchmark::DoNotOptimize(loom::reader::read_model(path, *registry));
}

void via_bus(benchmark::State& state, std::string path, loom::kernel::Placement placement) {
    loom::runtime::EmbeddedOptions options;
    options.reader = placement;
    loom::runtime::EmbeddedDeployment deployment(options);
    auto reader = deployment.reader();
    for (auto _ : state)
        benchmark::DoNotOptimize(loom::runtime::read_model(reader, path).model);
}

int register_all() {
    for (auto [name, rel] : k_models) {
        auto path = (shared() / rel).string();
        if (!fs::exists(path)) continue;
        benchmark::RegisterBenchmark((std::string("read/direct/") + name).c_str(), direct, path)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("read/inproc/") + name).c_str(), via_bus, path,
                                     loom::kernel::Placement::IN_PROCESS)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("read/ipc/") + name).c_str(), via_bus, path,
                                     loom::kernel::Placement::CHILD_PROCESS)
            ->Unit(benchmark::kMillisecond);
    }
    return 0;
}

const int k_registered = register_all();

} // namespace

BENCHMARK_MAIN();
