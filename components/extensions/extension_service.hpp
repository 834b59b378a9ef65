#pragma once
// The "extensions" bus service (schemas/extensions.capnp) over one process's ExtensionLoader.
//
// Without peers it changes this process only (the companion served beside a component in a
// process of its own). With peers (the deployment's `extensions` component) it coordinates: a
// load or swap is applied here first, then in every other process `peers()` returns (their
// companions, called with localOnly); if any of them refuses, the ones already changed are
// rolled back (unloaded, or swapped back to the previous source) and the caller gets that
// process's error. So a deployment either runs the new version everywhere or nowhere; each
// request still runs one version throughout (the snapshot it pinned in its own process).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bus/context.hpp"
#include "bus/service.hpp"
#include "components/extensions/loader.hpp"

namespace loom::extensions {

inline constexpr const char* k_extension_service = "extensions";

// Endpoints of the other processes hosting components (one per process).
using PeerList = std::function<std::vector<std::string>()>;

// `name`: the service's name (the component's; companions are always "extensions").
std::shared_ptr<bus::Service> make_extension_service(std::shared_ptr<ExtensionLoader> loader,
                                                     bus::Context& context, PeerList peers = {},
                                                     std::string name = k_extension_service);

} // namespace loom::extensions
