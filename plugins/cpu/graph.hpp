#pragma once
// CpuGraph — a static-shape model compiled for the CPU device (issue 13): not an interpreter of
// nodes but a list of steps made once —
//  - oneDNN primitives (convolutions with their fused post-ops, eltwise, binary, reductions,
//    reorders) on values in the layouts oneDNN chose (blocked nChw16c/nChw8c between
//    primitives, reorders only where a consumer needs another layout);
//  - the device's own kernels where oneDNN 2.6 is slow (own_kernels.hpp);
//  - nodes run on plain tensors (reference kernel entries, or a device's prepared node) for
//    everything else;
// and one memory plan: every intermediate value has an offset in an arena, values whose
// lifetimes do not overlap share bytes. A run takes a workspace (arena, scratchpad, stream,
// oneDNN memory objects) from the graph's pool, so steady-state inference allocates only its
// outputs. Built by compile_graph (graph_compiler.hpp).
// Threading: run() may be called from many threads at once (one workspace each).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "components/reference/interpreter.hpp"
#include "plugins/cpu/own_kernels.hpp"

namespace loom::plugins::cpu {

class CpuGraph final : public loom::reference::Executable {
public:
    using ValueId = std::uint32_t;

    struct Value {
        model::ElementType type = model::ElementType::UNDEFINED;
        model::Shape shape;
        dnnl::memory::desc desc; // its layout (f32 values primitives touch); empty: plain only
        enum class Home { Parameter, Constant, Arena } home = Home::Arena;
        std::size_t index = 0; // Parameter: its index; Constant: in constants; Arena: offset
        std::size_t bytes = 0;
    };

    struct Arg {
        int id; // DNNL_ARG_*
        ValueId value;
    };

    struct Step {
        // A oneDNN primitive on values …
        dnnl::primitive primitive;
        std::vector<Arg> args;
        std::vector<std::pair<int, dnnl::memory>> fixed; // packed weights, bias
        bool scratchpad = false;
        // … or one of the device's own kernels on the bytes of `args`' values (own_kernels.hpp) …
        std::shared_ptr<const OwnKernel> own;
        // … or a node run on plain tensors: its kernel entry, or a device's prepared node.
        const model::Node* node = nullptr;
        const loom::reference::KernelTable::Entry* kernel = nullptr;
        std::shared_ptr<const loom::reference::PreparedNode> prepared;
        std::vector<ValueId> inputs, outputs;
        // Profiling: the node it is reported as, and the nodes fused into it.
        std::string name, type, exec_type;
        std::vector<const model::Node*> fused;
    };

    struct Parts {
        dnnl::engine engine;
        std::vector<Value> values;
        std::vector<model::Tensor> constants;
        std::vector<Step> steps;
        std::vector<ValueId> parameters, results;
        std::size_t arena_bytes = 0, scratchpad_bytes = 0;
        std::map<const model::Node*, std::string> exec_types;
    };

    explicit CpuGraph(Parts parts);
    ~CpuGraph() override;

    std::vector<model::Tensor> run(std::span<const model::Tensor> parameters,
                                   const loom::reference::RunState& run,
                                   loom::reference::Profile* profile) const override;
    std::string exec_type(const model::Node& node) const override;

    std::size_t arena_bytes() const noexcept { return m_parts.arena_bytes; }
    std::size_t step_count() const noexcept { return m_parts.steps.size(); }

private:
    struct Workspace;
    std::unique_ptr<Workspace> acquire() const;
    void release(std::unique_ptr<Workspace> ws) const;
    void run_step(const Step& step, Workspace& ws, const loom::reference::RunState& run) const;
    void run_node(const Step& step, Workspace& ws, const loom::reference::RunState& run) const;
    model::Tensor output(ValueId id, Workspace& ws) const;
    model::Tensor fixed_tensor(const Value& v, const Workspace& ws) const;

    Parts m_parts;
    mutable std::mutex m_mutex; // guards m_pool
    mutable std::vector<std::unique_ptr<Workspace>> m_pool;
};

} // namespace loom::plugins::cpu
