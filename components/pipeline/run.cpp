// One request through a compiled pipeline (compiled_pipeline.hpp): the dataflow scheduler.
// A task is one node run once per request (item == k_outer) or once per item of its scope.
// Every bookkeeping field of a Run is guarded by its mutex; a task reads its inputs' tensors
// under it and runs the node without it.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "components/pipeline/compiled_pipeline.hpp"
#include "components/pipeline/items.hpp"
#include "components/runtime/core_access.hpp"
#include "schemas/error.hpp"

namespace loom::pipeline {
namespace {
constexpr std::size_t k_outer = static_cast<std::size_t>(-1);
using Task = std::pair<std::size_t, std::size_t>; // node, item
} // namespace

struct CompiledPipeline::Run {
    struct Items {
        std::int64_t count = 0;
        std::vector<std::vector<std::vector<model::Tensor>>> values; // [item][node] → outputs
        std::vector<std::vector<std::size_t>> waiting;               // [item][node]
    };

    const std::atomic<bool>* cancelled = nullptr;
    Pins pins;
    std::vector<model::Tensor> inputs;
    std::mutex mutex;
    std::condition_variable finished;
    std::vector<std::vector<model::Tensor>> outer; // [node] → outputs (run once per request)
    std::vector<std::size_t> waiting;              // [node] producers not done (outer nodes)
    std::vector<bool> done;                        // [node] (outer nodes)
    std::map<std::size_t, Items> items;            // by demultiply node, once it ran
    std::size_t remaining = 0; // tasks not finished (scope tasks counted once known)
    std::size_t running = 0;   // tasks handed to threads and not finished
    std::exception_ptr error;
};

std::vector<Tensor> CompiledPipeline::infer(const std::vector<Tensor>& inputs,
                                            const std::atomic<bool>& cancelled) {
    // `moved`: a component node's pinned instance was swapped out mid-request — nothing of the
    // request is kept; it runs again, every node on its current version (twice at most).
    for (int attempt = 1;; ++attempt) {
        try {
            return infer_once(inputs, cancelled);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::MOVED || attempt == 3) throw;
            m_reruns.fetch_add(1, std::memory_order_relaxed);
        }
    }
}

std::vector<Tensor> CompiledPipeline::infer_once(const std::vector<Tensor>& inputs,
                                                 const std::atomic<bool>& cancelled) {
    auto run = std::make_shared<Run>();
    run->cancelled = &cancelled;
    run->pins.registry = m_registry->current();
    for (const auto& node : m_nodes)
        run->pins.versions.push_back(node->version());
    for (const auto& t : inputs)
        run->inputs.push_back(t.impl());
    const auto n = m_nodes.size();
    run->outer.resize(n);
    run->waiting.resize(n);
    run->done.assign(n, false);
    std::vector<Task> ready;
    for (std::size_t i = 0; i < n; ++i) {
        if (m_spec.nodes[i].scope) continue;
        ++run->remaining;
        run->waiting[i] = m_wiring[i].outer_producers.size(); // gathers: + items, once known
        if (run->waiting[i] == 0) ready.emplace_back(i, k_outer);
    }
    {
        std::lock_guard lock(run->mutex);
        run->running += ready.size();
    }
    for (const auto& [node, item] : ready)
        m_executor->run([this, run, node = node, item = item] { run_task(run, node, item); });
    std::unique_lock lock(run->mutex);
    run->finished.wait(lock,
                       [&] { return run->running == 0 && (run->error || run->remaining == 0); });
    if (run->error) std::rethrow_exception(run->error);
    // The outputs; those read from inside a demultiply are gathered here.
    std::vector<Tensor> out;
    for (std::size_t o = 0; o < m_spec.outputs.size(); ++o) {
        const auto& w = m_spec.outputs[o].from;
        if (w.from == Wire::From::Input) {
            out.emplace_back(run->inputs[w.index]);
        } else if (w.from == Wire::From::Constant) {
            out.emplace_back(m_constants[w.index]);
        } else if (const auto scope = m_spec.nodes[w.index].scope) {
            const auto& items = run->items[*scope];
            std::vector<model::Tensor> parts;
            for (std::int64_t k = 0; k < items.count; ++k)
                parts.push_back(items.values[k][w.index][m_output_ports[o]]);
            const auto& port = m_nodes[w.index]->outputs()[m_output_ports[o]];
            out.emplace_back(stack_items(parts, port.type, port.shape,
                                         fmt::format("output '{}'", m_spec.outputs[o].name)));
        } else {
            out.emplace_back(run->outer[w.index][m_output_ports[o]]);
        }
    }
    return out;
}

std::vector<std::pair<std::size_t, std::size_t>>
CompiledPipeline::finish(Run& run, std::size_t node, std::size_t item,
                         std::vector<model::Tensor> outputs) {
    std::vector<Task> ready;
    --run.remaining;
    const auto& spec = m_spec.nodes[node];
    const auto& wiring = m_wiring[node];
    if (item != k_outer) {
        auto& items = run.items[*spec.scope];
        items.values[item][node] = std::move(outputs);
        for (auto c : wiring.consumers) {
            if (m_spec.nodes[c].scope == spec.scope) {
                if (--items.waiting[item][c] == 0) ready.emplace_back(c, item);
            } else if (--run.waiting[c] == 0) { // a node gathering the items
                ready.emplace_back(c, k_outer);
            }
        }
        return ready;
    }
    run.outer[node] = std::move(outputs);
    run.done[node] = true;
    if (spec.demultiply) start_items(run, node, ready); // before its gatherers count down
    for (auto c : wiring.consumers) {
        const auto& scope = m_spec.nodes[c].scope;
        if (!scope) {
            if (--run.waiting[c] == 0) ready.emplace_back(c, k_outer);
            continue;
        }
        if (*scope == node) continue; // its items were made knowing this node is done
        auto it = run.items.find(*scope);
        if (it == run.items.end()) continue; // they will be
        for (std::int64_t k = 0; k < it->second.count; ++k)
            if (--it->second.waiting[k][c] == 0) ready.emplace_back(c, k);
    }
    return ready;
}

void CompiledPipeline::start_items(Run& run, std::size_t node,
                                   std::vector<std::pair<std::size_t, std::size_t>>& ready) {
    const auto& name = m_spec.nodes[node].name;
    std::int64_t count = -1;
    for (std::size_t i = 0; i < run.outer[node].size(); ++i) {
        const auto& shape = run.outer[node][i].shape();
        LOOM_REQUIRE(!shape.empty(),
                     "node '{}': output {} is a scalar: demultiply splits the first dimension",
                     name, m_nodes[node]->outputs()[i].name);
        LOOM_REQUIRE(count < 0 || shape[0] == count,
                     "node '{}': its outputs disagree on the number of items ({} and {})", name,
                     count, shape[0]);
        count = shape[0];
    }
    LOOM_REQUIRE(count >= 0, "node '{}' has no output to demultiply", name);
    const auto n = m_nodes.size();
    auto& items = run.items[node];
    items.count = count;
    items.values.assign(static_cast<std::size_t>(count),
                        std::vector<std::vector<model::Tensor>>(n));
    items.waiting.assign(static_cast<std::size_t>(count), std::vector<std::size_t>(n, 0));
    const auto& scope_nodes = m_wiring[node].scope_nodes;
    for (std::int64_t k = 0; k < count; ++k)
        for (auto c : scope_nodes) {
            auto waiting = m_wiring[c].item_producers.size();
            for (auto p : m_wiring[c].outer_producers)
                waiting += run.done[p] ? 0 : 1;
            items.waiting[k][c] = waiting;
            if (waiting == 0) ready.emplace_back(c, k);
        }
    run.remaining += static_cast<std::size_t>(count) * scope_nodes.size();
    for (auto g : m_wiring[node].gatherers)
        run.waiting[g] += static_cast<std::size_t>(count) * m_wiring[g].item_producers.size();
}

std::vector<model::Tensor>
CompiledPipeline::collect(Run& run, std::size_t node, std::size_t item,
                          std::vector<std::vector<model::Tensor>>& to_gather) {
    const auto& spec = m_spec.nodes[node];
    const auto& wiring = m_wiring[node];
    std::vector<model::Tensor> inputs;
    std::lock_guard lock(run.mutex);
    for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
        const auto& w = spec.inputs[i];
        const auto o = wiring.output_of_wire[i];
        if (w.from == Wire::From::Input) {
            inputs.push_back(run.inputs[w.index]);
        } else if (w.from == Wire::From::Constant) {
            inputs.push_back(m_constants[w.index]);
        } else if (m_spec.nodes[w.index].demultiply && item != k_outer) {
            inputs.push_back(slice_item(run.outer[w.index][o], static_cast<std::int64_t>(item)));
        } else if (!m_spec.nodes[w.index].scope) {
            inputs.push_back(run.outer[w.index][o]);
        } else if (item != k_outer) {
            inputs.push_back(run.items[*spec.scope].values[item][w.index][o]);
        } else { // a gather node reading items: stacked by the caller, outside the lock
            const auto& items = run.items[*spec.gather_from];
            std::vector<model::Tensor> parts;
            for (std::int64_t k = 0; k < items.count; ++k)
                parts.push_back(items.values[k][w.index][o]);
            to_gather.resize(spec.inputs.size());
            to_gather[i] = std::move(parts);
            inputs.emplace_back();
        }
    }
    return inputs;
}

void CompiledPipeline::run_task(const std::shared_ptr<Run>& run, std::size_t node,
                                std::size_t item) {
    for (;;) {
        const auto& spec = m_spec.nodes[node];
        const auto& wiring = m_wiring[node];
        std::vector<std::vector<model::Tensor>> to_gather; // per wire (gather nodes)
        auto inputs = collect(*run, node, item, to_gather);
        const auto start = std::chrono::steady_clock::now();
        std::vector<model::Tensor> outputs;
        std::exception_ptr error;
        try {
            if (run->cancelled->load())
                LOOM_THROW(ErrorKind::CANCELLED, "pipeline '{}': cancelled before node '{}'",
                           m_spec.name, spec.name);
            for (std::size_t i = 0; i < to_gather.size(); ++i)
                if (inputs[i].empty()) {
                    const auto& p =
                        m_nodes[spec.inputs[i].index]->outputs()[wiring.output_of_wire[i]];
                    inputs[i] = stack_items(
                        to_gather[i], p.type, p.shape,
                        fmt::format("node '{}' input '{}'", spec.name, spec.inputs[i].text));
                }
            outputs = m_nodes[node]->run(std::move(inputs), run->pins.versions[node].get(),
                                         *run->pins.registry);
        } catch (...) {
            error = std::current_exception();
        }
        m_stats[node].add(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            error != nullptr);
        std::vector<Task> ready;
        {
            std::lock_guard lock(run->mutex);
            if (error && !run->error) run->error = error;
            if (!run->error) {
                try {
                    ready = finish(*run, node, item, std::move(outputs));
                } catch (...) {
                    run->error = std::current_exception();
                }
            }
            if (run->error) ready.clear();
            run->running += ready.size();
            --run->running;
            if (run->running == 0 && (run->error || run->remaining == 0))
                run->finished.notify_all();
        }
        if (ready.empty()) return;
        for (std::size_t i = 1; i < ready.size(); ++i)
            m_executor->run([this, run, t = ready[i]] { run_task(run, t.first, t.second); });
        node = ready.front().first; // the first runs on this thread: no hand-off
        item = ready.front().second;
    }
}

} // namespace loom::pipeline
