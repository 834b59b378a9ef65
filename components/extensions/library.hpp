#pragma once
// The extension loader's low level (DESIGN.md §6): one loaded extension library.
//
// open() checks the file (ELF, no STB_GNU_UNIQUE symbols), pre-loads the runtimes it needs
// (OpenMP, TBB, oneDNN, CUDA) with RTLD_NODELETE, copies it to a private file that it dlopens
// and then deletes (rebuilding the original in place cannot crash us; the mapping stays, shown
// "(deleted)" in /proc/self/maps), calls its entry and validates what the entry returned.
//
// Lifetime (like OpenVINO's SoPtr): every spec made by op_specs()/conversions() holds a
// shared_ptr to its ExtensionLibrary, and so do tensors returned by an op's evaluate and
// constants a conversion created. The library is dlclosed when the last of them is released;
// the destructor first destroys the entry's result (its std::function objects run library
// code), then dlcloses, then checks that the private copy is no longer mapped.
//
// Thread safety: an ExtensionLibrary is immutable after open(); its specs may be called from
// many threads at once (extensions promise their callbacks mutate no shared state).

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "components/model/op_registry.hpp"
#include "extensions/sdk/extension.hpp"

namespace loom::extensions {

class ExtensionLibrary : public std::enable_shared_from_this<ExtensionLibrary> {
public:
    // not_found: no such file, or it does not export loom_create_extensions; invalid_argument:
    // not a readable ELF library, STB_GNU_UNIQUE symbols, dlopen failed, or the entry returned
    // an invalid op/conversion (named); otherwise the kind the entry reported (unsupported for
    // an ABI mismatch). Messages name the library.
    static std::shared_ptr<ExtensionLibrary> open(const std::filesystem::path& path);
    ~ExtensionLibrary();
    ExtensionLibrary(const ExtensionLibrary&) = delete;
    ExtensionLibrary& operator=(const ExtensionLibrary&) = delete;

    const std::string& name() const noexcept { return m_result.name; }
    const std::string& version() const noexcept { return m_result.version; }
    // The file that was opened.
    const std::filesystem::path& path() const noexcept { return m_path; }
    // The private copy's path as /proc/self/maps shows it (without " (deleted)").
    const std::string& mapped_path() const noexcept { return m_mapped_path; }
    // "Type@domain" of each op, in the library's order.
    std::vector<std::string> op_names() const;

    // Host-side specs (version = the op's domain). Every callback calls the library's guarded
    // callback and rethrows a failure as loom::Error(kind, "<extension> <Type>: <message>");
    // cpu_kernel is empty when the library gave none; owner keeps this library loaded;
    // origin = `origin`.
    std::vector<model::OpSpec> op_specs(const std::string& origin) const;
    std::vector<model::ConversionSpec> conversions(const std::string& origin) const;
    // What the entry returned (valid while this object lives).
    const sdk::ExtensionResult& result() const noexcept { return m_result; }

private:
    struct Private {};

public:
    explicit ExtensionLibrary(Private) {}

private:
    std::filesystem::path m_path;
    std::string m_mapped_path;
    void* m_handle = nullptr;
    sdk::ExtensionResult m_result; // destroyed (cleared) in ~ExtensionLibrary before dlclose
};

// True when `path` is mapped into this process (/proc/self/maps, with or without " (deleted)").
bool is_mapped(const std::string& path);

} // namespace loom::extensions
