// The transform component as a component library (DESIGN.md §6).

#include "components/transform/transform_service.hpp"
#include "kernel/component_api.hpp"

namespace {

std::shared_ptr<loom::bus::Service> make(const loom::kernel::ComponentArgs& args,
                                         std::string& kind) {
    kind = "transform";
    return loom::transform::make_transform_service(
        args.name.empty() ? "transform" : args.name, loom::model::make_native_registry(),
        std::make_shared<loom::passes::PipelineRegistry>(loom::passes::make_default_pipelines()));
}

} // namespace

LOOM_COMPONENT(make)
