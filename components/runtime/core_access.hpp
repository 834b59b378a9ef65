#pragma once
// What modules built on the runtime (components/pipeline, components/serving) reach of a Core
// beyond the public API: its deployment (components by name, the kernel client) and this
// process's op registry. Not for users: <loom/core.hpp> is their API.

#include <memory>

#include <loom/core.hpp>

#include "components/model/op_registry.hpp"
#include "components/runtime/deployment.hpp"

namespace loom {

struct CoreAccess {
    // The deployment the Core reaches its components through (valid while the Core lives).
    static runtime::Deployment& deployment(const Core& core);
    // The op registry snapshot current now in this process (extensions included); holding it
    // keeps its extensions' code loaded.
    static std::shared_ptr<const model::OpRegistry> registry(const Core& core);
};

} // namespace loom
