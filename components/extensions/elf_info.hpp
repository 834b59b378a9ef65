#pragma once
// Reads what the extension loader must know about a shared library before dlopen (DESIGN.md §6):
// the libraries it needs (DT_NEEDED) and its STB_GNU_UNIQUE symbols (they make a library
// impossible to unload). The file is parsed from its bytes — nothing is loaded or executed.

#include <filesystem>
#include <string>
#include <vector>

namespace loom::extensions {

struct ElfInfo {
    std::vector<std::string> needed;         // DT_NEEDED entries, in order
    std::vector<std::string> unique_symbols; // .dynsym symbols bound STB_GNU_UNIQUE, demangled
};

// Parses a 64-bit little-endian ELF file. not_found when the file cannot be read;
// invalid_argument naming the file and what is wrong when it is not such a file or is
// malformed or truncated (every offset and size is checked; a bad file never crashes).
ElfInfo read_elf_info(const std::filesystem::path& path);

} // namespace loom::extensions
