#pragma once
// The reference kernels (DESIGN.md §5, §6): one plain, portable kernel per native op version —
// the oracle every device is checked against, and the evaluator constant folding uses.
//
// A kernel is a function of a KernelContext: it reads the node's attributes and its input
// tensors (in port order) and produces its output tensors (in port order), in one of two forms:
//  - returning (KernelFn): returns the outputs it allocated (every reference kernel but a few);
//  - into (KernelIntoFn): writes into outputs someone else allocated — the caller's memory plan
//    (run_kernel's planned_outputs) or, without one, run_kernel itself.
// Output element types and shapes come from the op's own shape inference run on the actual
// inputs (KernelContext::output_shape), so kernels never re-derive them — except data-dependent
// ones (NonZero, Unique, NonMaxSuppression …), which build their outputs themselves and are
// therefore always of the returning form.
//
// Kernel tables (DESIGN.md §5, like oneDNN's cpu_convolution_list.cpp): an explicit KernelTable
// built at start-up (no static registration) holds, per (type, version), an ORDERED list of
// entries — fastest first, reference last. Each entry has a name (the profiling / runtime-model
// execType, "ref" for the reference kernels), options, and an optional applicability check; the
// first entry that applies to a node runs it. A table entry marked `half_via_f32` receives
// f16/bf16 inputs converted to f32 and has its f16/bf16 outputs converted back, so math kernels
// are written for f32/f64/integers only.
//
// Errors: loom::Error — invalid_argument for bad values, unsupported for element types or
// attribute values a kernel does not handle. run_kernel names the node (once) in every error.
// Threading: a kernel may run on any thread and may use parallel_for (kernel_util.hpp); a
// KernelTable is immutable once built and shared read-only (shared_ptr<const KernelTable>):
// add()/add_front() are for the code building it, before anyone else sees it.

#include <atomic>
#include <deque>
#include <functional>
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

// Where the kernels' parallel_for runs: oneTBB by default; a device that runs kernels on threads
// of its own (the CPU device's streams, OpenMP) sets its backend on those threads, and the
// kernels' chunks then run there too. Thread-local; null restores oneTBB.
using ParallelBackend = void (*)(std::int64_t n, std::int64_t grain,
                                 const std::function<void(std::int64_t, std::int64_t)>& f);
void set_thread_parallel_backend(ParallelBackend backend) noexcept;

// Calls f(begin, end) over [0, n) in parallel chunks (sequential below `grain`), on the calling
// thread's backend.
void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& f);

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

// The returning form: the outputs, in port order (at least node.outputs.size() of them).
using KernelFn = std::vector<Tensor> (*)(KernelContext& ctx);
// The into form: outputs[i] (one per output the op's shape inference gives) is already
// allocated, dense row-major, with the inferred element type and shape; its contents are
// unspecified (a planned buffer may be reused), so the kernel writes every element. The kernel
// must not replace, resize or keep the tensors.
using KernelIntoFn = void (*)(KernelContext& ctx, std::span<Tensor> outputs);
// Whether an entry applies to `node`, decided at plan/compile time from what the node declares:
// its attributes, its input element types and partial shapes
// (node.inputs[i].node->outputs[node.inputs[i].index]) and its outputs (node.outputs). An ISA
// check (AVX2, AMX …) is the entry's own business inside the predicate. Called from any thread;
// must be cheap and must not throw (a throw counts as "does not apply").
using KernelApplies = bool (*)(const Node& node);

struct KernelOptions {
    bool half_via_f32 = true; // see the header comment
    bool foldable = true;     // constant folding may use it (false: random, stateful ops)
};

// One entry of an ordered kernel list. Exactly one of `fn` and `into` is set.
struct KernelEntry {
    std::string name = "ref"; // execType in profiles and the runtime model
    KernelFn fn = nullptr;
    KernelIntoFn into = nullptr;
    KernelApplies applies = nullptr; // null: every node of the op
    KernelOptions options;

    bool applies_to(const Node& node) const noexcept;
};

class KernelTable {
public:
    using Entry = KernelEntry;

    // Appends `entry` to the end of (type, version)'s list: within one list, registration order
    // is dispatch order, so a device adds its fastest entries first and the reference last. A
    // key may hold any number of entries. invalid_argument when the entry has neither or both of
    // fn/into, or no name.
    void add(std::string type, std::string version, Entry entry);
    // add() of a reference entry: name "ref", no applicability check.
    void add(std::string type, std::string version, KernelFn fn, KernelOptions options = {});
    // Puts `entry` first in (type, version)'s list — for a device that builds its table on top of
    // a list already holding the reference entries. Checked as add().
    void add_front(std::string type, std::string version, Entry entry);

    // The entry that runs `node`: its spec found in `registry` (a node's version may name the
    // spec indirectly), then the first entry of that spec's list that applies to the node;
    // nullptr when there is none (no list, or nothing applies).
    const Entry* find(const Node& node, const model::OpRegistry& registry) const noexcept;
    // As above, for the exact (type, spec version) key.
    const Entry* find(std::string_view type, std::string_view version,
                      const Node& node) const noexcept;
    // As above, among the foldable entries only (constant folding).
    const Entry* find_foldable(std::string_view type, std::string_view version,
                               const Node& node) const noexcept;
    // Coverage, not dispatch: the first entry of the exact (type, spec version) list whatever
    // its applicability — non-null when the table has any kernel for the op. To run a node use
    // find(node, registry).
    const Entry* find(std::string_view type, std::string_view version) const noexcept;
    // The whole list of (type, version), in dispatch order; empty when none.
    std::vector<const Entry*> entries(std::string_view type, std::string_view version) const;
    std::vector<std::pair<std::string, std::string>> keys() const;
    // The number of (type, version) keys (not of entries).
    std::size_t size() const noexcept { return m_lists.size(); }

private:
    template <class Accept>
    const Entry* first(std::string_view type, std::string_view version, const Node& node,
                       Accept accept) const noexcept;

    // A deque keeps entries in place when either end grows: pointers handed out by find() stay
    // valid for the table's lifetime.
    std::map<std::pair<std::string, std::string>, std::deque<Entry>, std::less<>> m_lists;
};

// Runs `entry` on `node` (applies half_via_f32) and checks the outputs against the count the
// node declares; returns the outputs. The interpreter and constant folding both go through here,
// and so does a device's fallback to the reference. Errors name the node: "node 'NAME'
// (Type:version): …" (cancelled passes through unchanged).
//
// `planned_outputs` is empty (the kernel's outputs are whatever it returns, or what run_kernel
// allocates for an into entry) or holds one tensor per node output, allocated by the caller's
// memory plan with the inferred type and shape (an empty Tensor: not planned). For each planned
// output:
//  - an into entry writes into it, when its type and shape are those shape inference gives on
//    the actual inputs (else run_kernel allocates one and the planned tensor is replaced);
//  - a returning entry's result is copied into it when type and shape match, else the returned
//    tensor replaces it.
// Either way planned_outputs[i] and the returned outputs[i] are the same tensor afterwards.
std::vector<Tensor> run_kernel(const KernelTable::Entry& entry, const Node& node,
                               std::span<const Tensor> inputs, const RunState& run,
                               std::span<Tensor> planned_outputs = {});

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

// Fills the `evaluate` slot of every spec in `registry` whose list holds a foldable entry that
// applies to every node (so some entry always does), so constant folding runs the kernels: each
// evaluation runs the first foldable entry that applies to the node. `kernels` is kept alive by
// the installed functions.
void install_evaluators(model::OpRegistry& registry, std::shared_ptr<const KernelTable> kernels);

} // namespace loom::reference
