#pragma once
// The transform component's bus service (schemas/transform.capnp): runs a named loom::passes
// pipeline on the model it receives and returns the result with a per-pass report.
// Thread-safe and blocking; each request works on its own copy of the model, with the registry
// snapshot current when it starts (extension ops included, DESIGN.md §5) completed by
// `complete` (the component installs the reference evaluators for constant folding there).

#include <memory>
#include <string>

#include "bus/service.hpp"
#include "components/model/registry_host.hpp"
#include "components/passes/pass_manager.hpp"

namespace loom::transform {

std::shared_ptr<bus::Service>
make_transform_service(std::string name, std::shared_ptr<model::RegistryHost> registry,
                       std::function<void(model::OpRegistry&)> complete,
                       std::shared_ptr<const passes::PipelineRegistry> pipelines,
                       unsigned workers = 2);

} // namespace loom::transform
