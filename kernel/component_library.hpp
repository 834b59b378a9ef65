#pragma once
// Loads a component library and makes its service. The returned service holds the library
// handle, so the code stays mapped while the service, its handlers or anything sharing them
// live (like OpenVINO's SoPtr).

#include <memory>
#include <string>

#include "kernel/component_api.hpp"

namespace loom::kernel {

struct LoadedComponent {
    std::shared_ptr<bus::Service> service;
    std::string kind;
};

// not_found: no such file, or no entry symbol; unsupported: ABI mismatch; otherwise the
// kind the entry reported, with a message naming the library.
LoadedComponent load_component(const std::string& library, bus::Context& context,
                               const std::string& name, const std::string& config,
                               std::shared_ptr<model::RegistryHost> registry = nullptr,
                               const std::string& kernel_endpoint = {});

} // namespace loom::kernel
