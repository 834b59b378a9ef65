#pragma once
// The reference kernels (DESIGN.md §5, §6): one plain, portable kernel per native op version —
// the oracle every device is checked against, and the evaluator constant folding uses.
//
// A kernel is a function of a KernelContext: it reads the node's attributes and its input
// tensors (in port order) and returns its output tensors (in port order). Output element types
// and shapes come from the op's own shape inference run on the actual inputs
// (KernelContext::output_shape), so kernels never re-derive them — except data-dependent ones
// (NonZero, Unique, NonMaxSuppression …), which build their outputs themselves.
//
// Kernels are registered in an explicit, ordered KernelTable (no static registration). A table
// entry marked `half_via_f32` receives f16/bf16 inputs converted to f32 and has its f16/bf16
// outputs converted back, so math kernels are written for f32/f64/integers only.
//
// Errors: loom::Error — invalid_argument for bad values (the interpreter adds the node's name,
// type and version), unsupported for element types or attribute values a kernel does not handle.
// Threading: a kernel may run on any thread and may use parallel_for (kernel_util.hpp); a
// KernelTable is immutable once built and shared read-only.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"

namespace loom::reference {

using model::ElementType;
using model::Model;
using model::Node;
using model::PartialShape;
using model::Shape;
using model::Tensor;

class KernelTable;

// Values of ReadValue/Assign variables of one infer request, by variable_id. Used by one thread
// at a time (the request's).
struct VariableStore {
    std::map<std::string, Tensor, std::less<>> values;
};

// What one run of a graph carries besides its inputs: the variables, a cancel flag checked
// between nodes, and the tables. Borrowed by every KernelContext of the run.
struct RunState {
    const model::OpRegistry* registry = nullptr;
    const KernelTable* kernels = nullptr;
    VariableStore* variables = nullptr;        // null: ReadValue gives its initial value
    const std::atomic<bool>* cancel = nullptr; // set → the run stops with `cancelled`
};

class KernelContext {
public:
    KernelContext(const Node& node, std::span<const Tensor> inputs, const RunState& run)
        : m_node(node)
        , m_inputs(inputs)
        , m_run(run) {}

    const Node& node() const noexcept { return m_node; }
    std::size_t input_count() const noexcept { return m_inputs.size(); }
    std::span<const Tensor> inputs() const noexcept { return m_inputs; }
    // invalid_argument naming the port when absent.
    const Tensor& input(std::size_t i) const;
    bool has_input(std::size_t i) const noexcept { return i < m_inputs.size(); }

    template <class T>
    const T& attr(std::string_view name) const {
        return m_node.attrs.get<T>(name);
    }
    template <class T>
    T attr_or(std::string_view name, T fallback) const {
        return m_node.attrs.get_or<T>(name, std::move(fallback));
    }

    // The op's shape inference on the actual input shapes and values (computed once).
    std::size_t output_count() const;
    ElementType output_type(std::size_t i) const;
    // invalid_argument when inference left output i dynamic (a data-dependent kernel must
    // compute its shape itself).
    Shape output_shape(std::size_t i) const;
    // Tensor::allocate(output_type(i), output_shape(i)) — zero-filled, 64-byte aligned.
    Tensor allocate_output(std::size_t i) const;

    // Runs a body (If/Loop/TensorIterator) on `inputs` (one per body parameter, in order);
    // returns its results in order. Variables and cancellation carry over.
    std::vector<Tensor> run_body(const Model& body, std::span<const Tensor> inputs) const;

    const RunState& run() const noexcept { return m_run; }
    const model::OpRegistry& registry() const noexcept { return *m_run.registry; }

private:
    void infer() const;

    const Node& m_node;
    std::span<const Tensor> m_inputs;
    const RunState& m_run;
    mutable std::optional<std::vector<std::pair<ElementType, PartialShape>>> m_inferred;
};

using KernelFn = std::vector<Tensor> (*)(KernelContext& ctx);

struct KernelOptions {
    bool half_via_f32 = true; // see the header comment
    bool foldable = true;     // constant folding may use it (false: random, stateful ops)
};

class KernelTable {
public:
    // invalid_argument when (type, version) already has a kernel.
    void add(std::string type, std::string version, KernelFn fn, KernelOptions options = {});
    // Exact (type, spec version) — callers resolve a node's version through the registry.
    struct Entry {
        KernelFn fn = nullptr;
        KernelOptions options;
    };
    const Entry* find(std::string_view type, std::string_view version) const noexcept;
    // The kernel for `node`: its spec found in `registry`, then that spec's kernel; nullptr
    // when there is none.
    const Entry* find(const Node& node, const model::OpRegistry& registry) const noexcept;
    std::vector<std::pair<std::string, std::string>> keys() const;
    std::size_t size() const noexcept { return m_entries.size(); }

private:
    std::map<std::pair<std::string, std::string>, Entry, std::less<>> m_entries;
};

// Runs `entry` on `node` (applies half_via_f32) and checks the outputs against the count the
// node declares. The interpreter and constant folding both go through here.
std::vector<Tensor> run_kernel(const KernelTable::Entry& entry, const Node& node,
                               std::span<const Tensor> inputs, const RunState& run);

// The families (kernels_*.cpp); make_reference_kernels() adds them all.
void add_core_kernels(KernelTable& table);        // Convert, ShapeOf, ReadValue/Assign, control
void add_elementwise_kernels(KernelTable& table); // unary, binary, comparison, logical, Select
void add_reduction_kernels(KernelTable& table);   // Reduce*
void add_nn_kernels(KernelTable& table);          // conv, pool, MatMul, fused, normalization
void add_shape_kernels(KernelTable& table);       // reshape-like, concat/split, pad, tile …
void add_index_kernels(KernelTable& table);       // gather/scatter, slice, TopK, CumSum …
void add_image_kernels(KernelTable& table);       // interpolate, ROI, grid sample, d2s …
void add_rnn_kernels(KernelTable& table);         // cells, sequences, DFT
void add_sequence_kernels(KernelTable& table);    // NonZero, Unique, NMS, random, embedding
void add_text_kernels(KernelTable& table);        // TfIdfVectorizer (loom1)
std::shared_ptr<const KernelTable> make_reference_kernels();

// Fills the `evaluate` slot of every spec in `registry` that has a foldable kernel, so constant
// folding runs the reference kernels. `kernels` is kept alive by the installed functions.
void install_evaluators(model::OpRegistry& registry, std::shared_ptr<const KernelTable> kernels);

} // namespace loom::reference
