#pragma once
// Plan — a model prepared for the reference interpreter: nodes in topological order, each with
// its kernel (the first entry of its op's ordered list that applies to it, chosen once here), and
// for every value the number of consumers so intermediates are released as soon as the last one has
// run. A Plan borrows the model, registry and kernel table (they outlive it) and is immutable after
// construction: many threads may run one Plan at once, each with its own RunState (variables,
// cancel flag).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "components/reference/kernel.hpp"

namespace loom::reference {

// Per-node counters of one run (DESIGN.md §6 profiling): filled when a Profile is passed.
struct NodeProfile {
    std::string name;
    std::string type;
    std::string exec_type; // the kernel entry's name ("ref"), "extension", or empty
    bool executed = false; // false: Parameter/Constant/Result (no kernel ran)
    std::int64_t real_time_us = 0;
};
using Profile = std::vector<NodeProfile>;

// The spec of `node` when it is an extension's op with a host evaluation; nullptr otherwise.
const model::OpSpec* extension_op(const Node& node, const model::OpRegistry& registry) noexcept;

// A node a device prepared when the plan was made — e.g. a oneDNN primitive with its weights
// packed — which the Plan runs in place of the node's kernel entry. Immutable once made: run()
// may be called from many threads at once.
class PreparedNode {
public:
    virtual ~PreparedNode() = default;
    // The profiling / runtime-model execType (e.g. "brgconv:avx512_core").
    virtual const std::string& exec_type() const = 0;
    // The node's outputs (port order) from its inputs (port order).
    virtual std::vector<Tensor> run(std::span<const Tensor> inputs, const RunState& run) const = 0;
};

// Offered every top-level node (not those in bodies) while a Plan is made, with the registry the
// Plan is made for: a PreparedNode to run it, or null to run it with its kernel entry (or its
// extension's evaluate). Errors propagate out of the Plan's constructor.
using NodePreparer =
    std::function<std::shared_ptr<const PreparedNode>(const Node&, const model::OpRegistry&)>;

// What a device runs a compiled model with: a Plan, or a device's own compiled graph (the CPU
// device's, plugins/cpu/graph.hpp). Immutable once made; run() may be called from many threads.
class Executable {
public:
    virtual ~Executable() = default;
    // One tensor per parameter (in parameters() order; types and shapes are the caller's
    // responsibility) in, one tensor per result out. Errors name the node.
    virtual std::vector<Tensor> run(std::span<const Tensor> parameters, const RunState& run,
                                    Profile* profile) const = 0;
    // The execType `node` (of the model it was made from) runs with.
    virtual std::string exec_type(const Node& node) const = 0;
};

// The registry given to a Plan must outlive it (extension steps point into it).
class Plan final : public Executable {
public:
    // unsupported naming every node (and its type/version) without a kernel, bodies included.
    Plan(const Model& model, const model::OpRegistry& registry, const KernelTable& kernels,
         const NodePreparer& prepare = {});

    // Runs the model on one tensor per parameter (in parameters() order; types and shapes are
    // the caller's responsibility) and returns one tensor per result. Errors name the node.
    std::vector<Tensor> run(std::span<const Tensor> parameters, const RunState& run,
                            Profile* profile) const override;

    const Model& model() const noexcept { return m_model; }
    // The execType each node of model() runs with: its PreparedNode's, its kernel entry's name,
    // "extension", or its type (Parameter/Constant/Result).
    std::string exec_type(const Node& node) const override;
    // Nodes without a kernel in `kernels` (bodies included), as "name (Type:version)".
    static std::vector<std::string> missing_kernels(const Model& model,
                                                    const model::OpRegistry& registry,
                                                    const KernelTable& kernels);

private:
    struct Step {
        const Node* node = nullptr;
        const KernelTable::Entry* kernel = nullptr;   // the first entry that applies; null for
                                                      // Parameter/Constant/Result and extensions
        const model::OpSpec* extension = nullptr;     // an extension op: its host evaluation
        std::shared_ptr<const PreparedNode> prepared; // runs instead of `kernel` when set
        std::vector<std::uint32_t> input_slots;       // value slots read
        std::uint32_t first_output = 0;               // slot of output 0
        std::vector<std::uint32_t> release;           // slots whose last reader is this step
    };

    const Model& m_model;
    std::vector<Step> m_steps;
    std::size_t m_slot_count = 0;
    std::vector<std::uint32_t> m_parameter_slots;
    std::vector<std::uint32_t> m_result_slots;
};

} // namespace loom::reference
