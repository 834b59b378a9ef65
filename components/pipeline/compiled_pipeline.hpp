#pragma once
// The pipeline engine (DESIGN.md §6): a compiled pipeline runs each request as a dataflow over
// its nodes — a node runs as soon as its inputs are ready, on the pipeline's threads (elastic:
// a node waiting for a remote device does not hold back the others); many requests run at once
// and their nodes overlap. A demultiply node's outputs fan out along their first dimension into
// N items that run the nodes of its scope concurrently, gathered back in item order (stacked
// along a new first dimension) by gather_from nodes and by outputs taken from inside the scope;
// N = 0 gives outputs with a first dimension of 0. A failing node fails its own request with
// its typed error (naming the node); other requests are untouched.
// Threading: every method may be called from many threads.

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <loom/core.hpp>
#include <loom/pipeline.hpp>

#include "components/model/registry_host.hpp"
#include "components/pipeline/nodes.hpp"
#include "components/pipeline/spec.hpp"
#include "components/protocol/executor.hpp"

namespace loom::pipeline {

class CompiledPipeline final : public CompiledModelImpl {
public:
    // Loads the spec's extensions into `core`, reads its constants, compiles its model nodes
    // with `properties` and asks its components for their interfaces; errors name the node.
    CompiledPipeline(Core& core, PipelineSpec spec, const Properties& properties);
    ~CompiledPipeline() override;

    const std::vector<Port>& inputs() const override { return m_inputs; }
    const std::vector<Port>& outputs() const override { return m_outputs; }
    std::vector<Tensor> infer(const std::vector<Tensor>& inputs,
                              const std::atomic<bool>& cancelled) override;
    std::string get_property(const std::string& name) const override;
    const std::string& device() const override { return m_device; }

    const PipelineSpec& spec() const noexcept { return m_spec; }
    void swap_model(const std::string& node, const std::string& path);
    std::vector<PipelineNodeStats> node_stats() const;
    std::vector<PipelineNodeInfo> describe() const;

private:
    struct Run;
    // Where a node's wires come from and who waits for it (fixed at compile time).
    struct Wiring {
        std::vector<std::size_t> output_of_wire; // per wire from a node: that node's output index
        std::set<std::size_t> outer_producers;   // nodes run once per request it waits for
        std::set<std::size_t> item_producers; // nodes of its scope (or gathered scope) it waits for
        std::set<std::size_t> consumers;      // nodes that wait for it
        std::vector<std::size_t> scope_nodes; // a demultiply node: the nodes run per item
        std::vector<std::size_t> gatherers;   // a demultiply node: nodes that gather its items
    };

    struct Stats {
        std::atomic<std::uint64_t> runs{0}, failures{0}, micros{0};
        std::vector<std::atomic<std::uint64_t>> buckets;
        Stats()
            : buckets(latency_buckets().size() + 1) {}
        void add(double seconds, bool failed) {
            runs.fetch_add(1, std::memory_order_relaxed);
            if (failed) failures.fetch_add(1, std::memory_order_relaxed);
            micros.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
            const auto& b = latency_buckets();
            const auto i =
                static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
            buckets[i].fetch_add(1, std::memory_order_relaxed);
        }
    };

    // The values types flow through at compile time (ports of inputs, constants, node outputs).
    Port wire_type(const Wire& wire, std::optional<std::size_t> reader_scope) const;
    void build_nodes(Core& core, const Properties& properties);
    std::vector<Tensor> infer_once(const std::vector<Tensor>& inputs,
                                   const std::atomic<bool>& cancelled);
    void run_task(const std::shared_ptr<Run>& run, std::size_t node, std::size_t item);
    // Under the run's mutex: the tensors a task reads (its producers are done); a gather
    // node's item lists go to `to_gather` (an empty tensor marks their place).
    std::vector<model::Tensor> collect(Run& run, std::size_t node, std::size_t item,
                                       std::vector<std::vector<model::Tensor>>& to_gather);
    // Under the run's mutex: stores a finished task's outputs and returns the tasks now ready.
    std::vector<std::pair<std::size_t, std::size_t>>
    finish(Run& run, std::size_t node, std::size_t item, std::vector<model::Tensor> outputs);
    // Under the run's mutex: a demultiply node finished — make its items' tasks.
    void start_items(Run& run, std::size_t node,
                     std::vector<std::pair<std::size_t, std::size_t>>& ready);

    PipelineSpec m_spec;
    std::string m_device;
    std::vector<Port> m_inputs, m_outputs;
    std::vector<model::Tensor> m_constants;
    std::vector<Port> m_constant_ports;
    std::vector<std::unique_ptr<Node>> m_nodes;
    std::vector<Wiring> m_wiring;
    std::vector<std::size_t> m_output_ports; // per pipeline output: its node output index
    std::unique_ptr<Stats[]> m_stats;        // per node
    // This process's op registry: a request pins its current snapshot (held, not the Core: a
    // compiled pipeline may outlive the Core that made it, as any CompiledModel may).
    std::shared_ptr<model::RegistryHost> m_registry;
    std::atomic<std::uint64_t> m_reruns{0}; // requests run again after a component swap
    std::shared_ptr<protocol::ThreadPoolExecutor> m_executor;
};

} // namespace loom::pipeline
