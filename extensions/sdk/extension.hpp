#pragma once
// The extension SDK (DESIGN.md §5, §6): what an extension library is made of.
//
// An extension library adds operations a model may contain and Loom does not know: each op has a
// type and a domain (its version, e.g. "loom.template" — never "opsetN"), attributes, a shape and
// type inference, a host `evaluate` (the reference the devices are checked against) and optional
// device kernels (a CPU kernel over dense row-major tensors with the host's parallel_for; a CUDA
// kernel entry). A library may also map a framework op onto existing ops (a conversion, like
// OpenVINO's ConversionExtension) without writing a kernel.
//
// One entry per library, defined by LOOM_EXTENSION(fn) where fn is a named function
// `void fn(loom::extensions::sdk::Extension&)` (a lambda written inside the macro breaks at its
// commas):
//
//   namespace sdk = loom::extensions::sdk;
//   void build(sdk::Extension& ext) {
//       ext.name("my_ops").version("1.0.0");
//       ext.op("Identity", "my.ops").inputs(1, 1)
//           .infer([](sdk::InferContext& c) {
//               c.set_output(0, c.input_type(0), c.input_shape(0)); })
//           .evaluate([](const sdk::Node&, std::span<const sdk::Tensor> in) {
//               return std::vector<sdk::Tensor>{in[0]}; });
//   }
//   LOOM_EXTENSION(build)
//
// Rules (the loader checks what it can): no C++ exception crosses the library boundary — every
// callback is wrapped here, in the library, and errors travel as a kind and a message; extensions
// start no threads and keep no thread_local/pthread_key state with destructors (use the
// parallel_for they are given); build with -fno-gnu-unique (the loader refuses STB_GNU_UNIQUE
// symbols: they make a library impossible to unload). Callbacks may run on any thread, many at
// once: they must not mutate shared state. Input tensors are dense, row-major and aligned at least
// to their element size (the loader copies views that are not, e.g. bus frames).

#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "components/model/op_registry.hpp"
#include "schemas/error.hpp"

// Bumped when anything below changes layout or meaning; checked by the loader at load time.
#define LOOM_EXTENSION_ABI_VERSION 1u

namespace loom::extensions::sdk {

using model::Attributes;
using model::AttrKind;
using model::ConversionContext;
using model::CpuKernelContext;
using model::InferContext;
using model::Node;
using model::Output;
using model::Tensor;

// The outcome of one call into the library.
struct Status {
    bool ok = true;
    ErrorKind kind = ErrorKind::INTERNAL;
    std::string message;
};

// Runs f(args...) inside the library and turns any exception into a Status.
template <class F, class... A>
Status guarded(const F& f, A&&... args) noexcept {
    try {
        f(std::forward<A>(args)...);
        return {};
    } catch (const Error& e) {
        return {false, e.kind(), e.message()};
    } catch (const std::exception& e) {
        return {false, ErrorKind::INTERNAL, e.what()};
    } catch (...) {
        return {false, ErrorKind::INTERNAL, "an unknown exception"};
    }
}

// One op as the library hands it to the host (all callbacks already guarded).
struct OpEntry {
    std::string type;
    std::string domain;
    std::vector<model::AttrSpec> attrs;
    std::size_t min_inputs = 0;
    std::size_t max_inputs = SIZE_MAX;
    std::function<Status(InferContext&)> infer;
    std::function<Status(const Node&, std::span<const Tensor>, std::vector<Tensor>&)> evaluate;
    std::function<Status(CpuKernelContext&)> cpu_kernel; // may be empty
    const void* cuda_kernel = nullptr;                   // the CUDA device's entry; may be null
};

struct ConversionEntry {
    std::string framework; // "onnx" or "ir"
    std::string domain;    // ONNX node domain, or IR layer version
    std::string type;      // ONNX op_type, or IR layer type
    std::function<Status(ConversionContext&, std::vector<Output>&)> convert;
};

// What the entry receives and fills. Strings and vectors are allocated by the library and freed
// by the host (both use the process's one C++ runtime).
struct ExtensionArgs {
    std::uint32_t abi_version = LOOM_EXTENSION_ABI_VERSION;
};

struct ExtensionResult {
    std::string name;    // the extension's name, e.g. "template"
    std::string version; // its version, e.g. "1.0.0" (shown by list; two versions may swap)
    std::vector<OpEntry> ops;
    std::vector<ConversionEntry> conversions;
    ErrorKind error_kind = ErrorKind::INTERNAL;
    std::string error; // non-empty: the entry failed
};

using ExtensionEntry = void (*)(const ExtensionArgs& args, ExtensionResult& result) noexcept;
inline constexpr const char* k_extension_entry_symbol = "loom_create_extensions";

// The author's side: describe ops fluently; every callback is wrapped by guarded().
class OpBuilder {
public:
    explicit OpBuilder(OpEntry& entry)
        : m_entry(entry) {}

    OpBuilder& attr(std::string name, AttrKind kind, bool required = true) {
        m_entry.attrs.push_back({std::move(name), kind, required});
        return *this;
    }
    OpBuilder& inputs(std::size_t min, std::size_t max) {
        m_entry.min_inputs = min;
        m_entry.max_inputs = max;
        return *this;
    }
    // void(InferContext&): set every output's type and shape; throw loom::Error to refuse.
    template <class F>
    OpBuilder& infer(F f) {
        m_entry.infer = [f = std::move(f)](InferContext& c) { return guarded(f, c); };
        return *this;
    }
    // std::vector<Tensor>(const Node&, std::span<const Tensor>): the host evaluation.
    template <class F>
    OpBuilder& evaluate(F f) {
        m_entry.evaluate = [f = std::move(f)](const Node& n, std::span<const Tensor> in,
                                              std::vector<Tensor>& out) {
            return guarded([&] { out = f(n, in); });
        };
        return *this;
    }
    // void(CpuKernelContext&): fill ctx.outputs (allocated by the host) from ctx.inputs.
    template <class F>
    OpBuilder& cpu_kernel(F f) {
        m_entry.cpu_kernel = [f = std::move(f)](CpuKernelContext& c) { return guarded(f, c); };
        return *this;
    }
    OpBuilder& cuda_kernel(const void* entry) {
        m_entry.cuda_kernel = entry;
        return *this;
    }

private:
    OpEntry& m_entry;
};

class Extension {
public:
    explicit Extension(ExtensionResult& result)
        : m_result(result) {}

    Extension& name(std::string n) {
        m_result.name = std::move(n);
        return *this;
    }
    Extension& version(std::string v) {
        m_result.version = std::move(v);
        return *this;
    }
    // Adds an op; the reference stays valid until the next op() call.
    OpBuilder op(std::string type, std::string domain) {
        auto& e = m_result.ops.emplace_back();
        e.type = std::move(type);
        e.domain = std::move(domain);
        return OpBuilder(e);
    }
    // std::vector<Output>(ConversionContext&): build existing ops, return the node's outputs.
    template <class F>
    Extension& conversion(std::string framework, std::string domain, std::string type, F f) {
        ConversionEntry c{std::move(framework), std::move(domain), std::move(type), {}};
        c.convert = [f = std::move(f)](ConversionContext& ctx, std::vector<Output>& out) {
            return guarded([&] { out = f(ctx); });
        };
        m_result.conversions.push_back(std::move(c));
        return *this;
    }

private:
    ExtensionResult& m_result;
};

} // namespace loom::extensions::sdk

// Defines the library's entry. `fn` is callable as void fn(loom::extensions::sdk::Extension&).
#define LOOM_EXTENSION(fn)                                                                         \
    extern "C" __attribute__((visibility("default"))) void loom_create_extensions(                 \
        const ::loom::extensions::sdk::ExtensionArgs& args,                                        \
        ::loom::extensions::sdk::ExtensionResult& result) noexcept {                               \
        if (args.abi_version != LOOM_EXTENSION_ABI_VERSION) {                                      \
            result.error_kind = ::loom::ErrorKind::UNSUPPORTED;                                    \
            result.error = "extension ABI version " + std::to_string(args.abi_version) +           \
                           " requested, this library implements " +                                \
                           std::to_string(LOOM_EXTENSION_ABI_VERSION);                             \
            return;                                                                                \
        }                                                                                          \
        ::loom::extensions::sdk::Extension ext(result);                                            \
        auto status = ::loom::extensions::sdk::guarded(fn, ext);                                   \
        if (!status.ok) {                                                                          \
            result.ops.clear();                                                                    \
            result.conversions.clear();                                                            \
            result.error_kind = status.kind;                                                       \
            result.error =                                                                         \
                status.message.empty() ? "the extension's entry failed" : status.message;          \
        }                                                                                          \
    }
