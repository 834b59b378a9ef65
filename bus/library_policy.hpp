#pragma once
// Which shared libraries a peer on the network may make this process load (DESIGN.md §3
// "Secure by default"). A library path that arrives from the network — a component to start,
// an extension to load or swap — is loaded only if its real path lies in one of the allowed
// directories and neither the file nor any directory from the allowed one down to it can be
// written by others or belongs to anyone but root or this user. All is checked before dlopen, so
// no constructor of a refused file ever runs.

#include <filesystem>
#include <string>
#include <vector>

namespace loom::bus {

// Loom's own library directories: `<prefix>/lib/loom` (with its extensions) when installed, the
// build tree's `lib` otherwise — wherever libloom_bus is.
std::vector<std::filesystem::path> default_library_dirs();

// The canonical path of `path` if the rules above allow it; else permission_denied naming the
// rule it broke and the allowed directories (not_found if there is no such file).
std::filesystem::path check_library_path(const std::string& path,
                                         const std::vector<std::filesystem::path>& allowed_dirs);

} // namespace loom::bus
