// The CPU device library's one entry (LOOM_PLUGIN): the Plan-interpreted device of
// plugins/reference with oneDNN nodes prepared into its plans (cpu_nodes.hpp).

#include <oneapi/dnnl/dnnl.hpp>

#include "plugins/cpu/cpu_nodes.hpp"
#include "plugins/cpu/graph_compiler.hpp"
#include "plugins/cpu/shape_cache.hpp"
#include "plugins/reference/plugin.hpp"
#include "plugins/sdk/device_service.hpp"

namespace loom::plugins::cpu {
namespace {

std::shared_ptr<sdk::Plugin> make_plugin(const kernel::ComponentArgs& args) {
    reference::Flavor flavor;
    flavor.device = "CPU";
    flavor.full_name = "Loom CPU (oneDNN " + std::to_string(dnnl_version()->major) + "." +
                       std::to_string(dnnl_version()->minor) +
                       " convolutions and matmuls, reference kernels for the other ops)";
    flavor.prepare = make_dnnl_preparer();
    auto engine = std::make_shared<const dnnl::engine>(dnnl::engine::kind::cpu, 0);
    flavor.compile = [engine, prepare = flavor.prepare](
                         const model::Model& m, const model::OpRegistry& registry,
                         const loom::reference::KernelTable& kernels)
        -> std::shared_ptr<const loom::reference::Executable> {
        if (graph_applies(m, registry)) return compile_graph(m, registry, kernels, prepare, *engine);
        if (!graph_applies(m, registry, false)) return nullptr; // a Plan
        // Dynamic shapes: compiled per concrete input shapes on first use.
        auto compile = [engine, prepare, &registry, &kernels](const model::Model& reshaped)
            -> std::shared_ptr<const loom::reference::Executable> {
            if (auto graph = compile_graph(reshaped, registry, kernels, prepare, *engine))
                return graph;
            return std::make_shared<const loom::reference::Plan>(reshaped, registry, kernels,
                                                                 prepare);
        };
        return std::make_shared<const ShapeCache>(m, registry, std::move(compile));
    };
    flavor.f32_by_default = true; // as OpenVINO's CPU device (bf16 comes with its hint)
    return std::make_shared<reference::ReferencePlugin>(args.registry, std::move(flavor));
}

} // namespace
} // namespace loom::plugins::cpu

LOOM_PLUGIN(loom::plugins::cpu::make_plugin)
