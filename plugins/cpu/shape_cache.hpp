#pragma once
// ShapeCache — a model with dynamic input shapes (PP-OCR's batch/height/width) run by compiling
// it for each concrete set of input shapes on first use (issue 13): the model is reshaped to
// them, its now-constant shape arithmetic folded, and compiled (a CpuGraph, or a Plan when the
// graph does not apply). The compiled forms are kept in a bounded cache, least recently used
// evicted; a request keeps the one it runs alive. The first inference of a new shape pays the
// compile (`loom bench` reports it as the first-inference time).
// Threading: run() may be called from many threads at once; compiles are serialised.

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>

#include "components/reference/interpreter.hpp"

namespace loom::plugins::cpu {

class ShapeCache final : public loom::reference::Executable {
public:
    // Compiles a reshaped copy of the model; it outlives what it returns.
    using Compile =
        std::function<std::shared_ptr<const loom::reference::Executable>(const model::Model&)>;

    static constexpr std::size_t k_default_capacity = 8;

    // `model` and `registry` outlive the cache. The shape arithmetic of a reshaped copy is
    // folded with `kernels` as the ops' evaluators (a device's registry has none: ShapeOf →
    // Slice → Concat → Reshape would stay dynamic, and the copy could not be compiled).
    ShapeCache(const model::Model& model, const model::OpRegistry& registry,
               std::shared_ptr<const loom::reference::KernelTable> kernels, Compile compile,
               std::size_t capacity = k_default_capacity);

    std::vector<model::Tensor> run(std::span<const model::Tensor> parameters,
                                   const loom::reference::RunState& run,
                                   loom::reference::Profile* profile) const override;
    // The execType of the node of that name in the most recently used shape's compiled model
    // ("dynamic" before the first inference).
    std::string exec_type(const model::Node& node) const override;

    std::size_t size() const;

private:
    struct Entry {
        std::vector<model::Shape> shapes;
        std::shared_ptr<model::Model> model; // the reshaped copy `exec` runs
        std::shared_ptr<const loom::reference::Executable> exec;
    };
    std::shared_ptr<const Entry> find(const std::vector<model::Shape>& shapes) const;
    std::shared_ptr<const Entry> make(const std::vector<model::Shape>& shapes) const;

    const model::Model& m_model;
    const model::OpRegistry& m_registry;
    model::OpRegistry m_folding; // m_registry with the kernels as evaluators
    Compile m_compile;
    std::size_t m_capacity;
    mutable std::mutex m_compile_mutex;                        // one compile at a time
    mutable std::mutex m_mutex;                                // guards m_entries
    mutable std::list<std::shared_ptr<const Entry>> m_entries; // most recently used first
};

} // namespace loom::plugins::cpu
