#include "components/extensions/library.hpp"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>

#include "components/extensions/elf_info.hpp"

namespace loom::extensions {
namespace {

// Runtimes that must never be unloaded once loaded (unloading an OpenMP or TBB user otherwise
// crashes when their worker threads or atexit handlers run unmapped code), by file-name stem.
constexpr std::string_view k_runtimes[] = {"libgomp",   "libomp",       "libiomp5",
                                           "libtbb",    "libtbbmalloc", "libdnnl",
                                           "libcudart", "libcublas",    "libcudnn"};

// "libgomp.so.1" → true; "libgompx.so" → false. Directories in `name` are ignored.
bool is_runtime(std::string_view name) {
    if (auto slash = name.rfind('/'); slash != std::string_view::npos)
        name.remove_prefix(slash + 1);
    auto so = name.find(".so");
    if (so == std::string_view::npos) return false;
    if (so + 3 != name.size() && name[so + 3] != '.') return false;
    auto stem = name.substr(0, so);
    return std::find(std::begin(k_runtimes), std::end(k_runtimes), stem) != std::end(k_runtimes);
}

// Loads the runtimes `library` needs before it, global and never unloaded. A runtime that
// cannot be found by name here may still be found through the library's RUNPATH; it is made
// RTLD_NODELETE after the library loaded (promote_loaded_runtimes).
void preload_runtimes(const ElfInfo& info, const std::filesystem::path& library) {
    for (const auto& needed : info.needed) {
        if (!is_runtime(needed)) continue;
        // The handle is deliberately never closed: the runtime stays for the process's life.
        if (!::dlopen(needed.c_str(), RTLD_NOW | RTLD_NODELETE | RTLD_GLOBAL))
            spdlog::warn("extension library {} needs {}, which could not be pre-loaded: {}",
                         library.string(), needed, ::dlerror());
    }
}

// Marks every loaded runtime RTLD_NODELETE (those the library pulled in indirectly too).
void promote_loaded_runtimes() {
    std::vector<std::string> names;
    ::dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) {
            if (info->dlpi_name && is_runtime(info->dlpi_name))
                static_cast<std::vector<std::string>*>(data)->emplace_back(info->dlpi_name);
            return 0;
        },
        &names);
    for (const auto& name : names)
        if (!::dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE))
            spdlog::warn("cannot keep runtime {} loaded: {}", name, ::dlerror());
}

// A private copy of a library: <TMPDIR or /tmp>/loom-ext-<pid>-XXXXXX/<stem>-<n>.so in a
// directory only we can use. The destructor removes the file and the directory (an open
// mapping of the file stays valid).
class PrivateCopy {
public:
    explicit PrivateCopy(const std::filesystem::path& original) {
        static std::atomic<unsigned> counter{0};
        const char* tmp = std::getenv("TMPDIR");
        std::filesystem::path root = tmp && *tmp ? tmp : "/tmp";
        auto pattern = (root / fmt::format("loom-ext-{}-XXXXXX", ::getpid())).string();
        if (!::mkdtemp(pattern.data()))
            LOOM_THROW(ErrorKind::INTERNAL,
                       "cannot create a private directory {} to load extension library {}: {} "
                       "(set TMPDIR to a writable directory)",
                       pattern, original.string(), std::strerror(errno));
        std::error_code ec;
        // /proc/self/maps shows the resolved path.
        m_dir = std::filesystem::canonical(pattern, ec);
        if (ec) m_dir = pattern;
        m_file = m_dir / fmt::format("{}-{}.so", original.stem().string(), counter++);
        std::filesystem::copy_file(original, m_file, ec);
        if (ec) {
            remove();
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot copy extension library {} to {}: {}",
                       original.string(), m_file.string(), ec.message());
        }
    }
    ~PrivateCopy() { remove(); }
    PrivateCopy(const PrivateCopy&) = delete;
    PrivateCopy& operator=(const PrivateCopy&) = delete;

    const std::filesystem::path& file() const noexcept { return m_file; }
    const std::filesystem::path& dir() const noexcept { return m_dir; }

    void remove() noexcept {
        std::error_code ec;
        if (!m_file.empty()) std::filesystem::remove(m_file, ec);
        if (!m_dir.empty()) std::filesystem::remove(m_dir, ec);
        m_file.clear();
        m_dir.clear();
    }

private:
    std::filesystem::path m_dir;
    std::filesystem::path m_file;
};

std::string symbol_list(const std::vector<std::string>& symbols) {
    std::string list;
    for (std::size_t i = 0; i < symbols.size() && i < 5; ++i)
        list += (i ? ", " : "") + symbols[i];
    if (symbols.size() > 5) list += fmt::format(" and {} more", symbols.size() - 5);
    return list;
}

} // namespace

std::shared_ptr<ExtensionLibrary> ExtensionLibrary::open(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        LOOM_THROW(ErrorKind::NOT_FOUND, "extension library {} does not exist", path.string());
    auto info = read_elf_info(path);
    if (!info.unique_symbols.empty())
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "extension library {} has {} STB_GNU_UNIQUE symbol(s) ({}), which would keep it "
                   "loaded forever: build with -fno-gnu-unique (CMake's loom_extension() does)",
                   path.string(), info.unique_symbols.size(), symbol_list(info.unique_symbols));
    preload_runtimes(info, path);

    auto lib = std::make_shared<ExtensionLibrary>(Private{});
    lib->m_path = path;
    {
        PrivateCopy copy(path);
        lib->m_handle = ::dlopen(copy.file().c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!lib->m_handle) {
            std::string error = ::dlerror();
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                       "cannot load extension library {} (private copy {}): {}{}", path.string(),
                       copy.file().string(), error,
                       error.find("map segment") != std::string::npos
                           ? " (is TMPDIR or /tmp mounted noexec? point TMPDIR elsewhere)"
                           : "");
        }
        lib->m_mapped_path = copy.file().string();
    } // the copy is deleted here; its mapping stays
    if (!is_mapped(lib->m_mapped_path))
        spdlog::warn("extension library {}: its private copy {} is not in /proc/self/maps; the "
                     "check that it is unmapped after the last release is disabled",
                     path.string(), lib->m_mapped_path);
    promote_loaded_runtimes();

    auto entry = reinterpret_cast<sdk::ExtensionEntry>(
        ::dlsym(lib->m_handle, sdk::k_extension_entry_symbol));
    if (!entry)
        LOOM_THROW(ErrorKind::NOT_FOUND,
                   "{} is not a Loom extension library: it does not export {}", path.string(),
                   sdk::k_extension_entry_symbol);
    sdk::ExtensionArgs args{LOOM_EXTENSION_ABI_VERSION};
    entry(args, lib->m_result);
    auto& result = lib->m_result;
    if (!result.error.empty())
        LOOM_THROW(result.error_kind, "extension library {} failed to initialise: {}",
                   path.string(), result.error);

    auto invalid = [&](std::string_view what, const std::string& detail) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "extension library {} ({}): {}: {}", path.string(),
                   result.name.empty() ? "unnamed" : result.name, what, detail);
    };
    if (result.name.empty()) invalid("the extension", "it has no name (call ext.name(...))");
    std::set<std::pair<std::string, std::string>> seen;
    for (std::size_t i = 0; i < result.ops.size(); ++i) {
        const auto& op = result.ops[i];
        auto what = fmt::format("op #{} '{}@{}'", i, op.type, op.domain);
        if (op.type.empty()) invalid(what, "the op type is empty");
        if (op.domain.empty()) invalid(what, "the domain is empty");
        if (model::opset_number(op.domain))
            invalid(what, "domain '" + op.domain +
                              "' is reserved for native ops; use the extension's own domain");
        if (!op.infer) invalid(what, "it has no infer function");
        if (!op.evaluate) invalid(what, "it has no evaluate function");
        if (op.min_inputs > op.max_inputs)
            invalid(what, fmt::format("min_inputs {} exceeds max_inputs {}", op.min_inputs,
                                      op.max_inputs));
        if (!seen.emplace(op.type, op.domain).second) invalid(what, "it is declared twice");
    }
    std::set<std::tuple<std::string, std::string, std::string>> seen_conversions;
    for (std::size_t i = 0; i < result.conversions.size(); ++i) {
        const auto& c = result.conversions[i];
        auto what = fmt::format("conversion #{} '{}' {}:{}", i, c.framework, c.domain, c.type);
        if (c.framework != "onnx" && c.framework != "ir")
            invalid(what, "the framework must be \"onnx\" or \"ir\"");
        if (c.type.empty()) invalid(what, "the op type is empty");
        if (!c.convert) invalid(what, "it has no convert function");
        if (!seen_conversions.emplace(c.framework, c.domain, c.type).second)
            invalid(what, "it is declared twice");
    }
    spdlog::debug("loaded extension {} {} from {} ({} ops, {} conversions)", result.name,
                  result.version, path.string(), result.ops.size(), result.conversions.size());
    return lib;
}

ExtensionLibrary::~ExtensionLibrary() {
    // The result's std::function objects (and anything they captured) run library code.
    m_result.ops.clear();
    m_result.conversions.clear();
    if (!m_handle) return;
    if (::dlclose(m_handle) != 0)
        spdlog::error("cannot unload extension library {}: {}", m_path.string(), ::dlerror());
    else if (!m_mapped_path.empty() && is_mapped(m_mapped_path))
        spdlog::error("extension library {} is still mapped after its last release ({}): "
                      "something keeps it loaded (STB_GNU_UNIQUE symbols, RTLD_NODELETE, or "
                      "another dlopen of it)",
                      m_path.string(), m_mapped_path);
}

std::vector<std::string> ExtensionLibrary::op_names() const {
    std::vector<std::string> names;
    for (const auto& op : m_result.ops)
        names.push_back(op.type + "@" + op.domain);
    return names;
}

namespace {

using Self = std::shared_ptr<const ExtensionLibrary>;

void check(const sdk::Status& status, const ExtensionLibrary& lib, const std::string& type) {
    if (!status.ok)
        throw Error(status.kind, fmt::format("{} {}: {}", lib.name(), type,
                                             status.message.empty() ? "failed" : status.message));
}

// The same bytes, with an owner that also keeps the library loaded (the original owner may
// run library code when released); the original owner is released first.
model::Tensor keep_loaded(const model::Tensor& tensor, const Self& lib) {
    if (tensor.empty()) return tensor;
    struct Owner {
        Self library;
        std::shared_ptr<const void> owner; // destroyed before `library`
    };
    auto owner = std::make_shared<const Owner>(Owner{lib, tensor.owner()});
    return model::Tensor::view(tensor.element_type(), tensor.shape(), tensor.bytes(),
                               std::move(owner));
}

// Extension kernels get dense tensors aligned at least to their element size (DESIGN.md §3):
// views on bus frames may sit at any address, so those are copied (64-byte aligned). Returns
// `inputs` itself when nothing needs copying, else `storage` filled with the aligned inputs.
std::span<const model::Tensor> aligned(std::span<const model::Tensor> inputs,
                                       std::vector<model::Tensor>& storage) {
    auto misaligned = [](const model::Tensor& t) {
        return !t.empty() &&
               t.alignment() < std::max<std::size_t>(element_size(t.element_type()), 1);
    };
    if (std::none_of(inputs.begin(), inputs.end(), misaligned)) return inputs;
    storage.clear();
    for (const auto& t : inputs)
        storage.push_back(
            misaligned(t) ? model::Tensor::copy_of(t.element_type(), t.shape(), t.bytes()) : t);
    return storage;
}

} // namespace

std::vector<model::OpSpec> ExtensionLibrary::op_specs(const std::string& origin) const {
    Self self = shared_from_this();
    std::vector<model::OpSpec> specs;
    // Entries are never moved after open(), so pointers to them stay valid while `self` lives.
    for (const auto& op : m_result.ops) {
        const sdk::OpEntry* entry = &op;
        model::OpSpec spec;
        spec.type = op.type;
        spec.version = op.domain;
        spec.attrs = op.attrs;
        spec.min_inputs = op.min_inputs;
        spec.max_inputs = op.max_inputs;
        spec.infer = [self, entry](model::InferContext& ctx) {
            check(entry->infer(ctx), *self, entry->type);
        };
        spec.evaluate = [self, entry](const model::Node& node,
                                      std::span<const model::Tensor> inputs) {
            std::vector<model::Tensor> outputs, storage;
            check(entry->evaluate(node, aligned(inputs, storage), outputs), *self, entry->type);
            for (auto& t : outputs)
                t = keep_loaded(t, self);
            return outputs;
        };
        if (op.cpu_kernel)
            spec.cpu_kernel = [self, entry](model::CpuKernelContext& ctx) {
                std::vector<model::Tensor> storage;
                model::CpuKernelContext aligned_ctx{ctx.node, aligned(ctx.inputs, storage),
                                                    ctx.outputs, ctx.parallel_for};
                check(entry->cpu_kernel(aligned_ctx), *self, entry->type);
            };
        spec.cuda_kernel = op.cuda_kernel;
        spec.origin = origin;
        spec.owner = self;
        specs.push_back(std::move(spec));
    }
    return specs;
}

std::vector<model::ConversionSpec> ExtensionLibrary::conversions(const std::string& origin) const {
    Self self = shared_from_this();
    std::vector<model::ConversionSpec> specs;
    for (const auto& c : m_result.conversions) {
        const sdk::ConversionEntry* entry = &c;
        model::ConversionSpec spec;
        spec.framework = c.framework;
        spec.domain = c.domain;
        spec.type = c.type;
        spec.convert = [self, entry](model::ConversionContext& ctx) {
            auto first = ctx.created().size();
            std::vector<model::Output> outputs;
            check(entry->convert(ctx, outputs), *self, entry->type);
            // Constants the library made may carry an owner whose code is in the library.
            for (auto i = first; i < ctx.created().size(); ++i)
                if (auto* node = ctx.created()[i]; !node->value.empty())
                    node->value = keep_loaded(node->value, self);
            return outputs;
        };
        spec.origin = origin;
        spec.owner = self;
        specs.push_back(std::move(spec));
    }
    return specs;
}

bool is_mapped(const std::string& path) {
    std::ifstream maps("/proc/self/maps");
    const std::string deleted = path + " (deleted)";
    std::string line;
    while (std::getline(maps, line)) {
        // address perms offset dev inode [pathname]
        std::size_t pos = 0;
        for (int field = 0; field < 5 && pos != std::string::npos; ++field) {
            pos = line.find_first_not_of(' ', pos);
            if (pos != std::string::npos) pos = line.find(' ', pos);
        }
        if (pos == std::string::npos) continue;
        pos = line.find_first_not_of(' ', pos);
        if (pos == std::string::npos) continue;
        std::string_view name(line.data() + pos, line.size() - pos);
        if (name == path || name == deleted) return true;
    }
    return false;
}

} // namespace loom::extensions
