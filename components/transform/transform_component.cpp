// The transform component as a component library (DESIGN.md §6).

#include "components/reference/kernel.hpp"
#include "components/transform/transform_service.hpp"
#include "kernel/component_api.hpp"

namespace {

std::shared_ptr<loom::bus::Service> make(const loom::kernel::ComponentArgs& args,
                                         std::string& kind) {
    kind = "transform";
    // Constant folding evaluates with the reference kernels (DESIGN.md §5).
    std::shared_ptr<const loom::reference::KernelTable> kernels =
        loom::reference::make_reference_kernels();
    auto complete = [kernels](loom::model::OpRegistry& r) {
        loom::reference::install_evaluators(r, kernels);
    };
    return loom::transform::make_transform_service(
        args.name.empty() ? "transform" : args.name,
        args.registry ? args.registry : loom::model::make_native_registry_host(), complete,
        std::make_shared<loom::passes::PipelineRegistry>(loom::passes::make_default_pipelines()));
}

} // namespace

LOOM_COMPONENT(make)
