#pragma once
// The pass manager and named pipelines (DESIGN.md §6). A Pass rewrites a Model in place; a
// PassManager runs an ordered list of passes and re-runs shape inference after every pass that
// changed the graph; a PipelineRegistry maps pipeline names to PassManager factories. Registries
// are explicit tables (no static registration): make_default_pipelines() gives "common", device
// plugins add theirs with add().
//
// Threading: a Pass, PassManager and PassContext are used by one thread at a time; a
// PipelineRegistry is built once and then shared read-only.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"

namespace loom::passes {

// What a pass sees besides the model: the op registry (borrowed; outlives the run), rewrite
// counters and an optional log sink.
struct PassContext {
    explicit PassContext(const model::OpRegistry& reg)
        : registry(reg) {}

    const model::OpRegistry& registry;
    // Rewrites per pass name, accumulated over a run (a pass may run several times).
    std::map<std::string, std::size_t, std::less<>> rewrites;
    // Called with (pass name, message) for each rewrite when set.
    std::function<void(std::string_view, std::string_view)> log;
    // The pass being run; set by PassManager (count() and note() charge it).
    std::string current_pass;

    void count(std::size_t n = 1) { rewrites[current_pass] += n; }
    void note(std::string_view message) const {
        if (log) log(current_pass, message);
    }
};

class Pass {
public:
    virtual ~Pass() = default;
    virtual std::string_view name() const = 0;
    // Rewrites `model` in place; returns whether the graph changed. A pass leaves the model valid
    // for infer_and_validate (new nodes may be untyped until the manager re-infers). Errors are
    // loom::Error; the model may then be partly rewritten.
    virtual bool run(model::Model& model, PassContext& ctx) = 0;
};

struct PassRecord {
    std::string name;
    bool changed = false;
    std::size_t rewrites = 0;
    std::size_t nodes_before = 0; // nodes in the model, bodies included
    std::size_t nodes_after = 0;
    std::int64_t time_us = 0; // the pass plus the shape inference it triggered
};

struct PassReport {
    std::vector<PassRecord> passes;
    std::int64_t total_us = 0;
    // One line per pass: "name changed rewrites before→after µs".
    std::string to_string() const;
};

class PassManager {
public:
    PassManager() = default;
    PassManager(PassManager&&) noexcept = default;
    PassManager& operator=(PassManager&&) noexcept = default;

    PassManager& add(std::unique_ptr<Pass> pass);
    std::size_t size() const noexcept { return m_passes.size(); }
    std::vector<std::string> pass_names() const;

    // Runs the passes in order; after a pass that changed the graph, runs infer_and_validate.
    // Errors from a pass or from inference propagate, prefixed with the pass name.
    PassReport run(model::Model& model, PassContext& ctx) const;
    PassReport run(model::Model& model, const model::OpRegistry& registry) const;

private:
    std::vector<std::unique_ptr<Pass>> m_passes;
};

// Node count of a model including its bodies (recursively).
std::size_t count_nodes(const model::Model& model);

class PipelineRegistry {
public:
    using Factory = std::function<PassManager()>;
    // invalid_argument when `name` is already present or empty.
    void add(std::string name, Factory factory);
    bool contains(std::string_view name) const noexcept;
    // not_found listing the known pipelines when `name` is unknown.
    PassManager make(std::string_view name) const;
    std::vector<std::string> names() const;

private:
    std::map<std::string, Factory, std::less<>> m_factories;
};

// "common": validate → constant folding → DCE → CSE → identity elimination → fusions → DCE →
// validate (see passes.hpp for each pass).
PassManager make_common_pipeline();
PipelineRegistry make_default_pipelines();

} // namespace loom::passes
