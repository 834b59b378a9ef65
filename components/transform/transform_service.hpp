#pragma once
// The transform component's bus service (schemas/transform.capnp): runs a named loom::passes
// pipeline on the model it receives and returns the result with a per-pass report.
// Thread-safe and blocking; each request works on its own copy of the model.

#include <memory>
#include <string>

#include "bus/service.hpp"
#include "components/model/op_registry.hpp"
#include "components/passes/pass_manager.hpp"

namespace loom::transform {

std::shared_ptr<bus::Service>
make_transform_service(std::string name, std::shared_ptr<const model::OpRegistry> registry,
                       std::shared_ptr<const passes::PipelineRegistry> pipelines,
                       unsigned workers = 2);

} // namespace loom::transform
