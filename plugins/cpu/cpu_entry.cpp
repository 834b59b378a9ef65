// The CPU device library's one entry (LOOM_PLUGIN): the Plan-interpreted device of
// plugins/reference with oneDNN nodes prepared into its plans (cpu_nodes.hpp).

#include <oneapi/dnnl/dnnl.hpp>

#include "plugins/cpu/cpu_nodes.hpp"
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
    flavor.f32_by_default = true; // as OpenVINO's CPU device (bf16 comes with its hint)
    return std::make_shared<reference::ReferencePlugin>(args.registry, std::move(flavor));
}

} // namespace
} // namespace loom::plugins::cpu

LOOM_PLUGIN(loom::plugins::cpu::make_plugin)
