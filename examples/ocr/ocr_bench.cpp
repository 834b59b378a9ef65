// The declared OCR pipeline (ocr.toml) against loom-ocr's hand-written one on the shared
// page.png, both on CPU in this process (Google Benchmark; README "Pipelines" has the numbers):
// what declaring the pipeline costs, and what running its items concurrently gains.
//   build/bin/ocr_bench [--benchmark_repetitions=5]   (LOOM_SHARED_DIR: the folder with models/)

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <benchmark/benchmark.h>

#include <loom/core.hpp>
#include <loom/pipeline.hpp>

#include "pipeline.hpp"
#include "png.hpp"

namespace {

namespace fs = std::filesystem;

fs::path models() {
    const char* env = std::getenv("LOOM_SHARED_DIR");
    return (env && *env ? fs::path(env) : fs::path("../shared")) / "models";
}

std::string page_bytes() {
    std::ifstream in(models() / "ocr-pipeline" / "page.png", std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void hand_written(benchmark::State& state) {
    const auto png = page_bytes();
    loom::ocr::Pipeline ocr(loom::ocr::ModelPaths::under(models()), "CPU");
    const auto decode = [&] {
        return loom::ocr::decode_png(
            {reinterpret_cast<const std::uint8_t*>(png.data()), png.size()});
    };
    ocr.run(decode()); // compiles for the page's shapes
    for (auto _ : state)
        benchmark::DoNotOptimize(ocr.run(decode()).lines.size());
}

void declared(benchmark::State& state) {
    setenv("LOOM_SHARED_DIR", fs::absolute(models().parent_path()).c_str(), 1);
    const auto png = page_bytes();
    loom::Core core;
    auto p = loom::Pipeline::compile(core, LOOM_OCR_TOML);
    loom::Tensor image(loom::ElementType::U8, {static_cast<std::int64_t>(png.size())});
    std::copy(png.begin(), png.end(), image.data<char>());
    auto request = p.compiled_model().create_infer_request();
    request.set_tensor("image", image);
    request.infer();
    for (auto _ : state) {
        request.infer();
        benchmark::DoNotOptimize(request.get_tensor("text").size());
    }
}

} // namespace

BENCHMARK(hand_written)
    ->Name("ocr/loom-ocr (hand-written)")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(declared)->Name("ocr/ocr.toml (declared)")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
