#pragma once
// ExtensionLoader — the extension libraries of one process and the op registry snapshots they
// make (DESIGN.md §4, §5, §6).
//
// An extension is known by its name (ExtensionResult::name): one version of a named extension is
// loaded at a time, and swap() replaces it. Every change builds a draft snapshot, lets the
// process's compiled models prepare for it (RegistryHost::prepare — any refusal aborts the change
// and leaves the old version serving) and publishes it; requests already running keep the
// snapshot they started with.
//
// Unloading is deferred, not refused: unload() takes the extension's ops out of the registry at
// once (new reads and compiles no longer see them), while compiled models and requests that use
// them keep the library mapped until they are released; then the library is really unmapped.
//
// Thread-safe; changes are serialised by the host's change lock.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "components/model/registry_host.hpp"

namespace loom::extensions {

struct ExtensionInfo {
    std::string name;
    std::string version;
    std::string source;                   // the library path, or the endpoint of a hosting process
    std::vector<std::string> ops;         // "Type@domain"
    std::vector<std::string> conversions; // "framework:domain:Type"
    std::string mapped_path; // the private copy (in-process libraries), for diagnostics
};

// What an extension contributes to the registry, whatever hosts it (a library in this process,
// or another process reached over the bus).
struct ExtensionContent {
    ExtensionInfo info;
    std::vector<model::OpSpec> ops;
    std::vector<model::ConversionSpec> conversions;
};

// Loads `source` (a library path, or ipc:// / tcp:// for an extension hosted in its own
// process) and returns its content with origin = its name. Replaceable for tests.
using ExtensionOpener = std::function<ExtensionContent(const std::string& source)>;

class ExtensionLoader {
public:
    ExtensionLoader(std::shared_ptr<model::RegistryHost> host, ExtensionOpener opener);

    // Loads and publishes. invalid_argument: an extension of that name is loaded already (use
    // swap), or one of its ops or conversions exists already; the opener's errors as they are.
    ExtensionInfo load(const std::string& source);
    // not_found when no extension has that name. See the header comment for what stays mapped.
    void unload(const std::string& name);
    // Replaces extension `name` with the one at `source` (same name not required). Refused
    // (invalid_argument, old version still serving) unless the new one has the same op types and
    // attribute schemas, and every compiled model accepts it (same output types and shapes).
    ExtensionInfo swap(const std::string& name, const std::string& source);
    std::vector<ExtensionInfo> list() const;

    model::RegistryHost& host() noexcept { return *m_host; }

private:
    std::shared_ptr<model::RegistryHost> m_host;
    ExtensionOpener m_opener;
    mutable std::mutex m_mutex; // guards m_loaded (changes also hold the host's change lock)
    std::map<std::string, ExtensionInfo> m_loaded;
};

} // namespace loom::extensions
