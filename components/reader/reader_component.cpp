// The reader as a component library (DESIGN.md §6): `library = ".../libloom_reader_component.so"`
// in a deployment, or `loom serve --component` for a process of its own.

#include "components/reader/reader_service.hpp"
#include "kernel/component_api.hpp"

namespace {

std::shared_ptr<loom::bus::Service> make(const loom::kernel::ComponentArgs& args,
                                         std::string& kind) {
    kind = "reader";
    return loom::reader::make_reader_service(
        args.name.empty() ? "reader" : args.name,
        args.registry ? args.registry : loom::model::make_native_registry_host());
}

} // namespace

LOOM_COMPONENT(make)
