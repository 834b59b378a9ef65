// An extension built for another ABI: its entry (written by hand, as LOOM_EXTENSION would
// expand with another LOOM_EXTENSION_ABI_VERSION) refuses every requested version but 999.
#include <string>

#include "extensions/sdk/extension.hpp"

extern "C" __attribute__((visibility("default"))) void
loom_create_extensions(const loom::extensions::sdk::ExtensionArgs& args,
                       loom::extensions::sdk::ExtensionResult& result) noexcept {
    if (args.abi_version == 999u) return;
    result.error_kind = loom::ErrorKind::UNSUPPORTED;
    result.error = "extension ABI version " + std::to_string(args.abi_version) +
                   " requested, this library implements 999";
}
