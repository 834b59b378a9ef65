#pragma once
// Op specs and the op registry (DESIGN.md §5). A registry is an explicit table built at start-up
// and passed in — no static self-registration, no singleton. Once built it is shared read-only
// (std::shared_ptr<const OpRegistry>) as an immutable snapshot; extensions publish new snapshots.
//
// Versions: native ops use OpenVINO's opset names ("opset1" … "opset13"). Looking up
// (type, "opsetN") finds the newest spec of that type whose opset is ≤ N, so an op unchanged
// since opset1 is found from any later opset. Other versions (extension domains) match exactly.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "components/model/graph.hpp"

namespace loom::model {

class OpRegistry;

struct AttrSpec {
    std::string name;
    AttrKind kind;
    bool required = true;
};

// What a shape/type inference function sees: its node, the types and shapes of its inputs, the
// values of inputs that are constants, and its attributes. Failures throw invalid_argument;
// the caller adds the node's name and type to the message.
class InferContext {
public:
    InferContext(Node& node, const OpRegistry& registry)
        : m_node(node)
        , m_registry(registry) {}

    Node& node() noexcept { return m_node; }
    const OpRegistry& registry() const noexcept { return m_registry; }
    std::size_t input_count() const noexcept { return m_node.inputs.size(); }
    ElementType input_type(std::size_t i) const;
    const PartialShape& input_shape(std::size_t i) const;
    // The tensor when input i is produced by a Constant; nullptr otherwise.
    const Tensor* input_constant(std::size_t i) const;
    // Input i's values as i64 when it is a constant of an integral type (or f32 holding
    // integers); nullopt otherwise.
    std::optional<std::vector<std::int64_t>> input_values(std::size_t i) const;

    template <class T>
    const T& attr(std::string_view name) const {
        return m_node.attrs.get<T>(name);
    }
    template <class T>
    T attr_or(std::string_view name, T fallback) const {
        return m_node.attrs.get_or<T>(name, std::move(fallback));
    }
    void set_output(std::size_t i, ElementType type, PartialShape shape);
    void set_output_count(std::size_t n);

private:
    Node& m_node;
    const OpRegistry& m_registry;
};

// Native ops use plain functions; an extension's op carries a closure that calls into its library.
using InferFn = std::function<void(InferContext& ctx)>;
// The reference evaluation of a node on host tensors (inputs in port order); filled by the
// reference device so constant folding can use it. May be empty.
using EvaluateFn = std::function<std::vector<Tensor>(const Node& node, std::span<const Tensor>)>;

// The host's parallel loop handed to extension kernels (extensions start no threads, DESIGN §6):
// calls body(begin, end) over disjoint chunks covering [0, n), possibly concurrently, and returns
// when all are done.
using ParallelFor =
    std::function<void(std::size_t n, const std::function<void(std::size_t, std::size_t)>& body)>;

// What an extension's CPU kernel sees: dense row-major inputs, and outputs already allocated
// (types and shapes from the op's shape inference) that it fills in place.
struct CpuKernelContext {
    const Node& node;
    std::span<const Tensor> inputs;
    std::span<Tensor> outputs;
    const ParallelFor& parallel_for;
};
using CpuKernelFn = std::function<void(CpuKernelContext& ctx)>;

struct OpSpec {
    std::string type;
    std::string version; // "opset1", or an extension's domain
    std::vector<AttrSpec> attrs;
    std::size_t min_inputs = 0;
    std::size_t max_inputs = SIZE_MAX;
    InferFn infer = nullptr;
    EvaluateFn evaluate;
    // Extension ops only: an optional CPU kernel, an optional CUDA kernel entry (the CUDA
    // device's launch signature; opaque here), the extension that provides the op ("" for
    // native ops) and the handle that keeps its library loaded while this spec lives.
    CpuKernelFn cpu_kernel;
    const void* cuda_kernel = nullptr;
    std::string origin;
    std::shared_ptr<const void> owner;
    // Attributes a reader must type but a spec does not list are kept as strings.
    const AttrSpec* find_attr(std::string_view name) const noexcept;
};

// What a conversion sees (like OpenVINO's ConversionExtension): a framework node's inputs and
// attributes; it builds existing ops with add() and returns the values that replace the node's
// outputs, in order. Failures throw; the reader adds the node's name.
class ConversionContext {
public:
    ConversionContext(Model& model, std::vector<Output> inputs, Attributes attrs, std::string name)
        : m_model(model)
        , m_inputs(std::move(inputs))
        , m_attrs(std::move(attrs))
        , m_name(std::move(name)) {}

    std::size_t input_count() const noexcept { return m_inputs.size(); }
    Output input(std::size_t i) const;
    const Attributes& attrs() const noexcept { return m_attrs; }
    const std::string& node_name() const noexcept { return m_name; }
    // Adds a node (named after the framework node) with `output_count` outputs.
    Node& add(std::string type, std::string version, std::vector<Output> inputs,
              Attributes attrs = {}, std::size_t output_count = 1);
    Output constant(Tensor value);
    // The nodes add()/constant() created, in order (the reader types them).
    const std::vector<Node*>& created() const noexcept { return m_created; }

private:
    Model& m_model;
    std::vector<Output> m_inputs;
    Attributes m_attrs;
    std::string m_name;
    std::vector<Node*> m_created;
};

struct ConversionSpec {
    std::string
        framework; // "onnx" (domain = the node's domain) or "ir" (domain = the layer's version)
    std::string domain;
    std::string type;
    std::function<std::vector<Output>(ConversionContext& ctx)> convert;
    std::string origin;
    std::shared_ptr<const void> owner;
};

class OpRegistry {
public:
    // invalid_argument when (type, version) is already present.
    void add(OpSpec spec);
    // See the header comment for the version rule; nullptr when unknown.
    const OpSpec* find(std::string_view type, std::string_view version) const noexcept;
    // Every version of `type`, oldest first.
    std::vector<const OpSpec*> versions(std::string_view type) const;
    std::vector<const OpSpec*> all() const;
    std::size_t size() const noexcept;
    // Fills the evaluate slot of an existing spec (the reference device does this).
    void set_evaluate(std::string_view type, std::string_view version, EvaluateFn fn);

    // invalid_argument when (framework, domain, type) is already present.
    void add_conversion(ConversionSpec spec);
    const ConversionSpec* find_conversion(std::string_view framework, std::string_view domain,
                                          std::string_view type) const noexcept;
    std::vector<const ConversionSpec*> conversions() const;
    // Removes every op and conversion whose origin is `origin`; returns how many.
    std::size_t remove_origin(std::string_view origin);

    // The snapshot's number, set by the RegistryHost that published it (0: never published).
    std::uint64_t generation() const noexcept { return m_generation; }
    void set_generation(std::uint64_t g) noexcept { m_generation = g; }

private:
    std::map<std::string, std::vector<OpSpec>, std::less<>> m_specs; // by type
    std::vector<ConversionSpec> m_conversions;
    std::uint64_t m_generation = 0;
};

// Parses "opsetN" → N; nullopt for other version names.
std::optional<int> opset_number(std::string_view version) noexcept;

// The native op set: OpenVINO's opsets (every op Loom's readers produce), built from the
// explicit tables in ops/.
std::shared_ptr<OpRegistry> make_native_registry();

// Runs shape/type inference over the whole model (bodies included) in topological order,
// checking every node against its spec: known op, input count, attribute kinds. Errors name
// the node, its type and version. Nodes whose spec has no infer function keep their outputs.
void infer_and_validate(Model& model, const OpRegistry& registry);

// Checks and infers one node (its inputs must already be typed); errors carry the node's name.
void infer_node(Node& node, const OpRegistry& registry);

// Checks attributes of `node` against `spec`: required ones present, kinds right.
void check_attributes(const Node& node, const OpSpec& spec);

} // namespace loom::model
