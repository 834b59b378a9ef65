#pragma once
// Pipelines (DESIGN.md §6, README "Pipelines"): a declared graph of models on devices, ops from
// extensions and components of the deployment, compiled by a Core into something used exactly
// like a CompiledModel.
//
//   loom::Core core;
//   auto ocr = loom::Pipeline::compile(core, "examples/ocr/ocr.toml");
//   auto request = ocr.compiled_model().create_infer_request();
//   request.set_tensor("image", png_bytes);
//   request.infer();
//   loom::Tensor text = request.get_tensor("text");   // a string tensor, one line per box
//
// Threading and lifetimes: as CompiledModel (it may outlive the Core that compiled it); only
// swap_model needs that Core alive (it compiles through it).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <loom/core.hpp>

namespace loom {

namespace pipeline {
class CompiledPipeline;
struct PipelineSpec;
} // namespace pipeline

// Upper bounds (seconds) of the latency histogram buckets kept per node (Prometheus style).
const std::vector<double>& latency_buckets();

struct PipelineNodeStats {
    std::string name;
    std::string kind;                   // "model", "op", "component"
    std::uint64_t runs = 0;             // finished runs (per item inside a demultiply)
    std::uint64_t failures = 0;         // runs that threw
    double seconds = 0;                 // their total time
    std::vector<std::uint64_t> buckets; // runs per latency_buckets() bound (not cumulative);
                                        // one more for those above the last bound
};

// One node as declared (for `loom info --pipeline`).
struct PipelineNodeInfo {
    std::string name;
    std::string kind;   // "model", "op", "component"
    std::string target; // the model file, "Type@domain", or the component's name/endpoint
    std::string device; // a model's device
    bool demultiply = false;
    std::string items_of; // the demultiply node whose items it runs once per ("": per request)
    std::string gathers;  // the demultiply node whose items it gathers ("": none)
    std::vector<Port> inputs, outputs;
};

class Pipeline {
public:
    Pipeline() = default;
    // Reads the pipeline file, loads its extensions into `core` (those not loaded yet), reads
    // its constants, compiles its model nodes (each with `properties`) and connects its
    // components. Errors: invalid_argument naming the file, node and key; not_found for a
    // missing file, op or component; a device's or component's own error naming the node.
    static Pipeline compile(Core& core, const std::filesystem::path& file,
                            const Properties& properties = {});
    // The same from TOML text (relative paths taken from `base_dir`).
    static Pipeline compile_text(Core& core, std::string_view toml,
                                 const std::filesystem::path& base_dir,
                                 const Properties& properties = {});

    const std::string& name() const;
    // Its requests run the whole pipeline; its inputs and outputs are the pipeline's.
    const CompiledModel& compiled_model() const { return m_compiled; }
    // Replaces model node `node`'s model with the one at `path` (its new version), by the
    // kernel's swap rule: compiled beside the running one, switched to once ready; a request
    // keeps the versions it started with, so none fails and none mixes versions.
    // invalid_argument (the old version stays) when the inputs or outputs differ.
    void swap_model(const std::string& node, const std::string& path);
    std::vector<std::string> nodes() const;
    std::vector<PipelineNodeInfo> describe() const;
    // The devices its model nodes run on and the components its component nodes call (what
    // must be up for it to serve).
    std::vector<std::string> devices() const;
    std::vector<std::string> components() const;
    std::vector<PipelineNodeStats> node_stats() const;

private:
    static Pipeline make(Core& core, pipeline::PipelineSpec spec, const Properties& properties);
    std::shared_ptr<pipeline::CompiledPipeline> m_impl;
    CompiledModel m_compiled;
};

} // namespace loom
