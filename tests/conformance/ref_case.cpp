// ref_case — a developer tool: runs ONNX backend-test cases directly on the reference kernels
// (reader library → `common` pipeline → Plan), with no bus, Core or device in between. It prints
// what `loom check` prints (PASS/FAIL lines, then "N passed, N failed"). Use it to debug a kernel
// against /usr/share/libonnx-testdata/data/node/<case>; `loom check -d REFERENCE` is the product
// path and the conformance test.
//
//   ref_case [--no-transform] CASE_DIR ...

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "components/passes/pass_manager.hpp"
#include "components/reader/onnx/convert_context.hpp"
#include "components/reader/reader.hpp"
#include "components/reference/interpreter.hpp"
#include "schemas/error.hpp"

namespace fs = std::filesystem;
using namespace loom;

namespace {

model::Tensor read_pb(const fs::path& path) {
    onnx::TensorProto proto;
    std::ifstream in(path, std::ios::binary);
    LOOM_REQUIRE(in && proto.ParseFromIstream(&in), "cannot parse {}", path.string());
    return reader::onnx_fe::tensor_from_proto(proto, path.parent_path().string());
}

std::string compare(const model::Tensor& got, const model::Tensor& want, double rtol, double atol) {
    if (got.shape() != want.shape())
        return fmt::format("shape {} != expected {}", model::to_string(got.shape()),
                           model::to_string(want.shape()));
    if (got.element_type() != want.element_type())
        return fmt::format("type {} != expected {}", loom::to_string(got.element_type()),
                           loom::to_string(want.element_type()));
    auto g = got.to_f64();
    auto w = want.to_f64();
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (std::isnan(w[i]) && std::isnan(g[i])) continue;
        if (std::isinf(w[i]) && g[i] == w[i]) continue;
        if (!(std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i])))
            return fmt::format("element {}: {} != expected {}", i, g[i], w[i]);
    }
    return {};
}

std::string run_case(const fs::path& dir, bool transform, const model::OpRegistry& registry,
                     const reference::KernelTable& kernels) {
    auto model = reader::read_model((dir / "model.onnx").string(), registry);
    if (transform) {
        auto pipelines = passes::make_default_pipelines();
        pipelines.make("common").run(*model, registry);
    }
    reference::Plan plan(*model, registry, kernels);
    for (int set = 0;; ++set) {
        auto data = dir / ("test_data_set_" + std::to_string(set));
        if (!fs::exists(data)) return set == 0 ? "no test_data_set_0" : "";
        std::vector<model::Tensor> inputs;
        for (std::size_t i = 0; i < model->parameters().size(); ++i)
            inputs.push_back(read_pb(data / ("input_" + std::to_string(i) + ".pb")));
        reference::VariableStore vars;
        reference::RunState run{&registry, &kernels, &vars, nullptr};
        auto outputs = plan.run(inputs, run, nullptr);
        for (std::size_t o = 0; o < outputs.size(); ++o) {
            auto file = data / ("output_" + std::to_string(o) + ".pb");
            if (!fs::exists(file)) continue;
            auto why = compare(outputs[o], read_pb(file), 1e-3, 1e-7);
            if (!why.empty()) return fmt::format("set {} output {}: {}", set, o, why);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    bool transform = true;
    std::vector<fs::path> cases;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--no-transform")
            transform = false;
        else
            cases.emplace_back(a);
    }
    auto registry = model::make_native_registry();
    auto kernels = reference::make_reference_kernels();
    reference::install_evaluators(*registry, kernels);
    int passed = 0, failed = 0;
    for (const auto& dir : cases) {
        std::string why;
        try {
            why = run_case(dir, transform, *registry, *kernels);
        } catch (const std::exception& e) {
            why = e.what();
        }
        if (why.empty()) {
            ++passed;
            std::cout << "PASS " << dir.filename().string() << "\n";
        } else {
            ++failed;
            std::cout << "FAIL " << dir.filename().string() << ": " << why << "\n";
        }
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
}
