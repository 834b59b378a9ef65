#include "bus/library_policy.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include "schemas/error.hpp"

namespace loom::bus {
namespace {

std::string joined(const std::vector<std::filesystem::path>& dirs) {
    std::vector<std::string> texts;
    for (const auto& d : dirs)
        texts.push_back(d.string());
    return texts.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(texts, ", "));
}

bool inside(const std::filesystem::path& file, const std::filesystem::path& dir) {
    auto f = file.begin();
    for (auto d = dir.begin(); d != dir.end(); ++d, ++f) {
        if (d->empty()) continue; // a trailing separator
        if (f == file.end() || *f != *d) return false;
    }
    return f != file.end();
}

// Refuses a file or directory that others may change, or whose owner is neither root nor this
// user.
void require_private(const std::filesystem::path& path, const std::string& requested) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        LOOM_THROW(ErrorKind::NOT_FOUND, "library {}: cannot inspect {}", requested, path.string());
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        LOOM_THROW(ErrorKind::PERMISSION_DENIED,
                   "library {} refused: {} belongs to another user (uid {})", requested,
                   path.string(), st.st_uid);
    if (st.st_mode & S_IWOTH)
        LOOM_THROW(ErrorKind::PERMISSION_DENIED,
                   "library {} refused: {} is writable by others (mode {:o}); a library others "
                   "can change is not loaded",
                   requested, path.string(), st.st_mode & 07777);
}

} // namespace

std::vector<std::filesystem::path> default_library_dirs() {
    Dl_info info{};
    if (!::dladdr(reinterpret_cast<void*>(&default_library_dirs), &info) || !info.dli_fname)
        return {};
    std::error_code ec;
    auto dir = std::filesystem::canonical(info.dli_fname, ec).parent_path();
    if (ec) return {};
    // Installed: Loom's components and extensions live in lib/loom, beside other packages'
    // libraries in lib; the build tree keeps only Loom's in lib.
    if (std::filesystem::is_directory(dir / "loom", ec)) return {dir / "loom"};
    return {dir};
}

std::filesystem::path check_library_path(const std::string& path,
                                         const std::vector<std::filesystem::path>& allowed_dirs) {
    std::error_code ec;
    auto real = std::filesystem::canonical(path, ec);
    if (ec) LOOM_THROW(ErrorKind::NOT_FOUND, "library {} does not exist ({})", path, ec.message());
    LOOM_REQUIRE(std::filesystem::is_regular_file(real), "library {} is not a regular file", path);
    for (const auto& allowed : allowed_dirs) {
        auto dir = std::filesystem::canonical(allowed, ec);
        if (ec || !inside(real, dir)) continue;
        require_private(real, path);
        for (auto d = real.parent_path();; d = d.parent_path()) {
            require_private(d, path);
            if (d == dir || d == d.parent_path()) break;
        }
        return real;
    }
    LOOM_THROW(ErrorKind::PERMISSION_DENIED,
               "library {} refused: {} is not in an allowed library directory ({}); add its "
               "directory to the deployment's library_dirs (or --library-dir) to allow it",
               path, real.string(), joined(allowed_dirs));
}

} // namespace loom::bus
