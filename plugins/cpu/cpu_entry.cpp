// The CPU device library's one entry (LOOM_PLUGIN): the device of plugins/reference (properties,
// requests, extension swaps) whose models are compiled into graphs of oneDNN primitives
// (graph_compiler.hpp; per input shape for dynamic models, shape_cache.hpp) and run on the
// device's own streams (streams.hpp). Models the graph does not take (bodies, variables,
// extension ops) run as Plans with oneDNN nodes prepared into them (cpu_nodes.hpp).

#include <oneapi/dnnl/dnnl.hpp>

#include "plugins/cpu/cpu_nodes.hpp"
#include "plugins/cpu/graph_compiler.hpp"
#include "plugins/cpu/shape_cache.hpp"
#include "plugins/cpu/streams.hpp"
#include "plugins/reference/plugin.hpp"
#include "plugins/sdk/device_service.hpp"

namespace loom::plugins::cpu {
namespace {

std::string isa_name() {
    using I = dnnl::cpu_isa;
    switch (dnnl::get_effective_cpu_isa()) {
    case I::avx512_core_amx:
        return "avx512_core_amx";
    case I::avx512_core_bf16:
        return "avx512_core_bf16";
    case I::avx512_core_vnni:
        return "avx512_core_vnni";
    case I::avx512_core:
        return "avx512_core";
    case I::avx2_vnni:
        return "avx2_vnni";
    case I::avx2:
        return "avx2";
    case I::avx:
        return "avx";
    case I::sse41:
        return "sse41";
    default:
        return "other";
    }
}

// Whether oneDNN computes bf16 convolutions natively here (avx512_bf16 or AMX): OpenVINO's CPU
// device takes bf16 by default on such CPUs; Loom takes it with the hint.
bool bf16_native() {
    using I = dnnl::cpu_isa;
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == I::avx512_core_bf16 || isa == I::avx512_core_amx;
}

// The graph of a static model; per input shape for a dynamic one; else a Plan with oneDNN nodes
// (f32: the bf16 hint lowers only graphs).
std::shared_ptr<const loom::reference::Executable>
compile(const model::Model& m, const model::OpRegistry& registry,
        const loom::reference::KernelTable& kernels, const loom::reference::NodePreparer& prepare,
        const std::shared_ptr<const dnnl::engine>& engine, bool bf16) {
    using loom::reference::Plan;
    if (graph_applies(m, registry))
        if (auto graph = compile_graph(m, registry, kernels, prepare, *engine, bf16)) return graph;
    if (!graph_applies(m, registry, false))
        return std::make_shared<const Plan>(m, registry, kernels, prepare);
    // Dynamic shapes: compiled per concrete input shapes on first use.
    auto per_shape =
        [engine, prepare, &registry, &kernels,
         bf16](const model::Model& reshaped) -> std::shared_ptr<const loom::reference::Executable> {
        if (auto graph = compile_graph(reshaped, registry, kernels, prepare, *engine, bf16))
            return graph;
        return std::make_shared<const Plan>(reshaped, registry, kernels, prepare);
    };
    // The device's kernel table outlives its compiled models: held, not owned.
    std::shared_ptr<const loom::reference::KernelTable> evaluators(std::shared_ptr<const void>{},
                                                                   &kernels);
    return std::make_shared<const ShapeCache>(m, registry, std::move(evaluators),
                                              std::move(per_shape));
}

std::shared_ptr<sdk::Plugin> make_plugin(const kernel::ComponentArgs& args) {
    reference::Flavor flavor;
    flavor.device = "CPU";
    flavor.full_name = "Loom CPU (oneDNN " + std::to_string(dnnl_version()->major) + "." +
                       std::to_string(dnnl_version()->minor) +
                       " compiled graphs, reference kernels for the other ops)";
    flavor.prepare = make_dnnl_preparer();
    auto engine = std::make_shared<const dnnl::engine>(dnnl::engine::kind::cpu, 0);
    flavor.compile =
        [engine, prepare = flavor.prepare](
            const model::Model& m, const model::OpRegistry& registry,
            const loom::reference::KernelTable& kernels,
            const Properties& props) -> std::shared_ptr<const loom::reference::Executable> {
        // Compiled on a stream too: oneDNN's weight reorders are OpenMP regions, and a team
        // made on the compiling (bus) thread would outlive the compile — libgomp then counts
        // more threads than cores and stops spinning between regions (measured: cls 0.5 →
        // 3 ms, each primitive waking its team through the kernel).
        auto streams = std::make_shared<Streams>(stream_config(props));
        const bool bf16 = props.has(props::inference_precision.name) &&
                          props.get(props::inference_precision) == ElementType::BF16;
        std::shared_ptr<const loom::reference::Executable> inner;
        streams->run([&] { inner = compile(m, registry, kernels, prepare, engine, bf16); });
        return std::make_shared<const StreamedExecutable>(std::move(inner), std::move(streams));
    };
    flavor.property = [](const Properties& props,
                         const std::string& name) -> std::optional<std::string> {
        if (name == props::device_capabilities.name)
            return bf16_native() ? "FP32 BF16 EXPORT_IMPORT" : "FP32 EXPORT_IMPORT";
        return stream_property(props, name);
    };
    flavor.f32_by_default = true; // as OpenVINO's CPU device (bf16 comes with its hint)
    flavor.other_precision = [](ElementType type) -> std::string {
        if (type == ElementType::BF16 && bf16_native()) return {};
        if (type == ElementType::BF16)
            return fmt::format("INFERENCE_PRECISION_HINT bf16 needs a CPU with avx512_bf16 or AMX "
                               "(this CPU's best oneDNN ISA is {}); use f32",
                               isa_name());
        return fmt::format("INFERENCE_PRECISION_HINT {} is not supported: the CPU device computes "
                           "in f32, or in bf16 on CPUs with avx512_bf16 (this CPU's best oneDNN "
                           "ISA is {})",
                           loom::to_string(type), isa_name());
    };
    return std::make_shared<reference::ReferencePlugin>(args.registry, std::move(flavor));
}

} // namespace
} // namespace loom::plugins::cpu

LOOM_PLUGIN(loom::plugins::cpu::make_plugin)
