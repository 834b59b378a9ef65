#include "components/extensions/elf_info.hpp"

#include <cxxabi.h>
#include <elf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>

#include "schemas/error.hpp"

namespace loom::extensions {
namespace {

// A byte range of the file: [offset, offset + size), already checked to lie inside it.
struct Range {
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

// Bounds-checked reads of the file's bytes; every failure is invalid_argument naming the file.
class ElfReader {
public:
    ElfReader(const std::filesystem::path& path, std::vector<char> bytes)
        : m_path(path)
        , m_bytes(std::move(bytes)) {}

    std::uint64_t size() const noexcept { return m_bytes.size(); }

    [[noreturn]] void fail(std::string_view what) const {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{} is not a readable 64-bit little-endian ELF shared library: {}",
                   m_path.string(), what);
    }

    // Checks that `count` entries of `entry_size` bytes at `offset` lie inside the file.
    Range range(std::uint64_t offset, std::uint64_t count, std::uint64_t entry_size,
                std::string_view what) const {
        if (offset > size())
            fail(fmt::format("{} starts at offset {}, beyond the end of the file ({} bytes)", what,
                             offset, size()));
        if (entry_size != 0 && count > (size() - offset) / entry_size)
            fail(fmt::format("{} ({} × {} bytes at offset {}) extends beyond the end of the file "
                             "({} bytes; truncated?)",
                             what, count, entry_size, offset, size()));
        return {offset, count * entry_size};
    }

    template <class T>
    T read(std::uint64_t offset, std::string_view what) const {
        range(offset, 1, sizeof(T), what);
        T value;
        std::memcpy(&value, m_bytes.data() + offset, sizeof(T));
        return value;
    }

    // The NUL-terminated string at `index` in the string table `table`.
    std::string string_at(const Range& table, std::uint64_t index, std::string_view what) const {
        if (index >= table.size)
            fail(fmt::format("{} names string {} but its string table has {} bytes", what, index,
                             table.size));
        const char* begin = m_bytes.data() + table.offset + index;
        const auto* end = static_cast<const char*>(std::memchr(begin, 0, table.size - index));
        if (!end)
            fail(fmt::format("{}: string {} is not terminated in its string table", what, index));
        return std::string(begin, end);
    }

private:
    const std::filesystem::path& m_path;
    std::vector<char> m_bytes;
};

std::vector<char> read_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        LOOM_THROW(ErrorKind::NOT_FOUND, "library {} does not exist", path.string());
    if (!std::filesystem::is_regular_file(path, ec))
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "library {} is not a regular file", path.string());
    std::ifstream in(path, std::ios::binary);
    if (!in)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot open library {}: {}", path.string(),
                   std::strerror(errno));
    auto size = std::filesystem::file_size(path, ec);
    if (ec)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot read library {}: {}", path.string(),
                   ec.message());
    std::vector<char> bytes(size);
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (static_cast<std::uintmax_t>(in.gcount()) != size)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "cannot read library {}: short read ({} of {} bytes)", path.string(),
                   in.gcount(), size);
    return bytes;
}

std::string demangle(const std::string& name) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
    if (status != 0 || !demangled) return name;
    std::string result(demangled);
    std::free(demangled);
    return result;
}

struct Headers {
    std::vector<Elf64_Phdr> programs;
    std::vector<Elf64_Shdr> sections;
};

Headers read_headers(const ElfReader& elf) {
    if (elf.size() < sizeof(Elf64_Ehdr))
        elf.fail(fmt::format("the file has {} bytes, fewer than an ELF header ({} bytes)",
                             elf.size(), sizeof(Elf64_Ehdr)));
    auto eh = elf.read<Elf64_Ehdr>(0, "the ELF header");
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) elf.fail("it does not start with \\x7fELF");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64) elf.fail("it is not a 64-bit ELF file");
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB) elf.fail("it is not a little-endian ELF file");

    Headers h;
    if (eh.e_phnum != 0) {
        if (eh.e_phentsize < sizeof(Elf64_Phdr))
            elf.fail(fmt::format("program header entries of {} bytes (expected {})", eh.e_phentsize,
                                 sizeof(Elf64_Phdr)));
        elf.range(eh.e_phoff, eh.e_phnum, eh.e_phentsize, "the program header table");
        for (std::uint64_t i = 0; i < eh.e_phnum; ++i)
            h.programs.push_back(
                elf.read<Elf64_Phdr>(eh.e_phoff + i * eh.e_phentsize, "a program header"));
    }
    if (eh.e_shoff != 0) {
        if (eh.e_shentsize < sizeof(Elf64_Shdr))
            elf.fail(fmt::format("section header entries of {} bytes (expected {})", eh.e_shentsize,
                                 sizeof(Elf64_Shdr)));
        std::uint64_t count = eh.e_shnum;
        if (count == 0) // more than SHN_LORESERVE sections: the count is in section 0
            count = elf.read<Elf64_Shdr>(eh.e_shoff, "section header 0").sh_size;
        elf.range(eh.e_shoff, count, eh.e_shentsize, "the section header table");
        for (std::uint64_t i = 0; i < count; ++i)
            h.sections.push_back(
                elf.read<Elf64_Shdr>(eh.e_shoff + i * eh.e_shentsize, "a section header"));
    }
    return h;
}

// The file offset of virtual address `address` through the PT_LOAD segments; nullopt when no
// segment's file image holds it. `available` receives the bytes left in that segment's image.
std::optional<std::uint64_t> file_offset(const Headers& h, std::uint64_t address,
                                         std::uint64_t* available = nullptr) {
    for (const auto& p : h.programs) {
        if (p.p_type != PT_LOAD || address < p.p_vaddr) continue;
        auto delta = address - p.p_vaddr;
        if (delta >= p.p_filesz) continue;
        if (available) *available = p.p_filesz - delta;
        return p.p_offset + delta;
    }
    return std::nullopt;
}

// A section's bytes, checked to lie in the file (SHT_NOBITS sections have none).
Range section_range(const ElfReader& elf, const Elf64_Shdr& s, std::string_view what) {
    if (s.sh_type == SHT_NOBITS) return {s.sh_offset, 0};
    return elf.range(s.sh_offset, s.sh_size, 1, what);
}

struct Dynamic {
    std::vector<std::uint64_t> needed; // string table indices
    std::optional<std::uint64_t> strtab, strsz, symtab, syment, hash, gnu_hash;
};

Dynamic read_dynamic(const ElfReader& elf, const Headers& h) {
    std::optional<Range> where;
    for (const auto& p : h.programs)
        if (p.p_type == PT_DYNAMIC) {
            where = elf.range(p.p_offset, p.p_filesz, 1, "the dynamic segment");
            break;
        }
    if (!where)
        for (const auto& s : h.sections)
            if (s.sh_type == SHT_DYNAMIC) {
                where = section_range(elf, s, "the dynamic section");
                break;
            }
    Dynamic d;
    if (!where) return d; // not dynamically linked: needs nothing
    for (std::uint64_t i = 0; i < where->size / sizeof(Elf64_Dyn); ++i) {
        auto e = elf.read<Elf64_Dyn>(where->offset + i * sizeof(Elf64_Dyn), "a dynamic entry");
        if (e.d_tag == DT_NULL) break;
        switch (e.d_tag) {
        case DT_NEEDED:
            d.needed.push_back(e.d_un.d_val);
            break;
        case DT_STRTAB:
            d.strtab = e.d_un.d_ptr;
            break;
        case DT_STRSZ:
            d.strsz = e.d_un.d_val;
            break;
        case DT_SYMTAB:
            d.symtab = e.d_un.d_ptr;
            break;
        case DT_SYMENT:
            d.syment = e.d_un.d_val;
            break;
        case DT_HASH:
            d.hash = e.d_un.d_ptr;
            break;
        case DT_GNU_HASH:
            d.gnu_hash = e.d_un.d_ptr;
            break;
        default:
            break;
        }
    }
    return d;
}

// The dynamic string table: DT_STRTAB mapped through the program headers, else .dynstr.
std::optional<Range> dynamic_strings(const ElfReader& elf, const Headers& h, const Dynamic& d) {
    if (d.strtab) {
        std::uint64_t available = 0;
        if (auto offset = file_offset(h, *d.strtab, &available)) {
            auto size = d.strsz ? *d.strsz : available;
            if (size > available)
                elf.fail(fmt::format("DT_STRSZ {} exceeds its segment ({} bytes left)", size,
                                     available));
            return elf.range(*offset, size, 1, "the dynamic string table");
        }
    }
    for (std::size_t i = 0; i < h.sections.size(); ++i) {
        const auto& s = h.sections[i];
        if (s.sh_type == SHT_DYNSYM) {
            if (s.sh_link >= h.sections.size())
                elf.fail(
                    fmt::format(".dynsym links to section {} of {}", s.sh_link, h.sections.size()));
            return section_range(elf, h.sections[s.sh_link], "the dynamic string table");
        }
    }
    return std::nullopt;
}

// The number of .dynsym entries from the GNU hash table at file offset `offset`.
std::uint64_t gnu_hash_symbol_count(const ElfReader& elf, std::uint64_t offset) {
    auto word = [&](std::uint64_t index) {
        return elf.read<std::uint32_t>(offset + index * 4, "the GNU hash table");
    };
    std::uint64_t buckets = word(0), symoffset = word(1), bloom_words = word(2);
    std::uint64_t bucket_start = 4 + bloom_words * 2; // bloom words are 64-bit
    elf.range(offset + bucket_start * 4, buckets, 4, "the GNU hash buckets");
    std::uint64_t last = 0;
    for (std::uint64_t b = 0; b < buckets; ++b)
        last = std::max<std::uint64_t>(last, word(bucket_start + b));
    if (last < symoffset) return symoffset;
    auto chain_start = bucket_start + buckets;
    // Chains end with a word whose low bit is set; bounded by the file size via word().
    for (;; ++last)
        if (word(chain_start + (last - symoffset)) & 1u) return last + 1;
}

struct Symbols {
    Range table;
    std::uint64_t entry_size = sizeof(Elf64_Sym);
};

// .dynsym from the section headers, else DT_SYMTAB with a count from DT_HASH or DT_GNU_HASH.
std::optional<Symbols> dynamic_symbols(const ElfReader& elf, const Headers& h, const Dynamic& d) {
    for (const auto& s : h.sections) {
        if (s.sh_type != SHT_DYNSYM) continue;
        std::uint64_t entry = s.sh_entsize == 0 ? sizeof(Elf64_Sym) : s.sh_entsize;
        if (entry < sizeof(Elf64_Sym))
            elf.fail(
                fmt::format(".dynsym entries of {} bytes (expected {})", entry, sizeof(Elf64_Sym)));
        return Symbols{elf.range(s.sh_offset, s.sh_size / entry, entry, "the .dynsym section"),
                       entry};
    }
    if (!d.symtab) return std::nullopt;
    auto offset = file_offset(h, *d.symtab);
    if (!offset) elf.fail("DT_SYMTAB lies outside every loadable segment");
    std::uint64_t entry = d.syment.value_or(sizeof(Elf64_Sym));
    if (entry < sizeof(Elf64_Sym))
        elf.fail(fmt::format("DT_SYMENT {} (expected {})", entry, sizeof(Elf64_Sym)));
    std::uint64_t count = 0;
    if (d.hash) {
        auto hash = file_offset(h, *d.hash);
        if (!hash) elf.fail("DT_HASH lies outside every loadable segment");
        count = elf.read<std::uint32_t>(*hash + 4, "the hash table (nchain)");
    } else if (d.gnu_hash) {
        auto hash = file_offset(h, *d.gnu_hash);
        if (!hash) elf.fail("DT_GNU_HASH lies outside every loadable segment");
        count = gnu_hash_symbol_count(elf, *hash);
    } else {
        elf.fail("DT_SYMTAB without section headers, DT_HASH or DT_GNU_HASH");
    }
    return Symbols{elf.range(*offset, count, entry, "the dynamic symbol table"), entry};
}

} // namespace

ElfInfo read_elf_info(const std::filesystem::path& path) {
    ElfReader elf(path, read_file(path));
    auto headers = read_headers(elf);
    auto dynamic = read_dynamic(elf, headers);
    auto strings = dynamic_strings(elf, headers, dynamic);

    ElfInfo info;
    if (!dynamic.needed.empty() && !strings)
        elf.fail("it has DT_NEEDED entries but no dynamic string table");
    for (auto index : dynamic.needed)
        info.needed.push_back(elf.string_at(*strings, index, "a DT_NEEDED entry"));

    if (auto symbols = dynamic_symbols(elf, headers, dynamic)) {
        auto count = symbols->table.size / symbols->entry_size;
        for (std::uint64_t i = 0; i < count; ++i) {
            auto sym = elf.read<Elf64_Sym>(symbols->table.offset + i * symbols->entry_size,
                                           "a dynamic symbol");
            if (ELF64_ST_BIND(sym.st_info) != STB_GNU_UNIQUE) continue;
            if (!strings) elf.fail("it has dynamic symbols but no dynamic string table");
            info.unique_symbols.push_back(
                demangle(elf.string_at(*strings, sym.st_name, "a dynamic symbol")));
        }
    }
    return info;
}

} // namespace loom::extensions
