#pragma once
// An extension hosted in a process of its own (DESIGN.md §6): `loom serve --extension LIB` serves
// the library as the "extension-host" service; a process that loads it by endpoint gets op specs
// whose shape inference and evaluation go over the bus, so a crashing or leaking extension cannot
// take the runtime down — a request it was running fails with `disconnected`, and requests after
// the host is restarted (same endpoint) are served again. Conversions are not hosted remotely
// (they build graph nodes in the reading process): load such a library in process.

#include <memory>
#include <string>

#include "bus/context.hpp"
#include "bus/service.hpp"
#include "components/extensions/library.hpp"
#include "components/extensions/loader.hpp"

namespace loom::extensions {

inline constexpr const char* k_extension_host_service = "extension-host";

// The service hosting `library` (its ops run on the service's workers, many at once).
std::shared_ptr<bus::Service>
make_extension_host_service(std::shared_ptr<const ExtensionLibrary> library);

// Describes the extension served at `endpoint` and returns specs that call it. unavailable /
// disconnected when nothing answers there.
ExtensionContent open_remote(bus::Context& context, const std::string& endpoint);

// The opener an ExtensionLoader uses: ipc://, tcp:// and inproc:// sources are hosted extensions
// (open_remote), anything else a library path (ExtensionLibrary::open, in this process).
ExtensionOpener make_opener(bus::Context& context);

} // namespace loom::extensions
