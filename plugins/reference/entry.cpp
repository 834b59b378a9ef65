// The REFERENCE device library's one entry (LOOM_PLUGIN): the Plan-interpreted device with every
// node on its reference kernel.

#include "plugins/reference/plugin.hpp"
#include "plugins/sdk/device_service.hpp"

namespace loom::plugins::reference {
namespace {

std::shared_ptr<sdk::Plugin> make_plugin(const kernel::ComponentArgs& args) {
    return std::make_shared<ReferencePlugin>(args.registry);
}

} // namespace
} // namespace loom::plugins::reference

LOOM_PLUGIN(loom::plugins::reference::make_plugin)
