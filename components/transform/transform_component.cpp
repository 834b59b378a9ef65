// The transform component as a component library (DESIGN.md §6).

#include "components/transform/transform_service.hpp"
#include "kernel/component_api.hpp"
#include "plugins/reference/kernels/kernel.hpp"

namespace {

std::shared_ptr<loom::bus::Service> make(const loom::kernel::ComponentArgs& args,
                                         std::string& kind) {
    kind = "transform";
    // Constant folding evaluates with the reference kernels (DESIGN.md §5).
    auto registry = loom::model::make_native_registry();
    loom::reference::install_evaluators(*registry, loom::reference::make_reference_kernels());
    return loom::transform::make_transform_service(
        args.name.empty() ? "transform" : args.name, std::move(registry),
        std::make_shared<loom::passes::PipelineRegistry>(loom::passes::make_default_pipelines()));
}

} // namespace

LOOM_COMPONENT(make)
