// loom::Pipeline (<loom/pipeline.hpp>): a compiled pipeline adopted by the Core as a
// CompiledModel.

#include <loom/pipeline.hpp>

#include "components/pipeline/compiled_pipeline.hpp"
#include "schemas/error.hpp"

namespace loom {

const std::vector<double>& latency_buckets() {
    static const std::vector<double> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
    return bounds;
}

Pipeline Pipeline::compile(Core& core, const std::filesystem::path& file,
                           const Properties& properties) {
    return make(core, pipeline::read_pipeline_file(file), properties);
}

Pipeline Pipeline::compile_text(Core& core, std::string_view toml,
                                const std::filesystem::path& base_dir,
                                const Properties& properties) {
    return make(core, pipeline::read_pipeline_text(toml, base_dir), properties);
}

Pipeline Pipeline::make(Core& core, pipeline::PipelineSpec spec, const Properties& properties) {
    Pipeline p;
    p.m_impl = std::make_shared<pipeline::CompiledPipeline>(core, std::move(spec), properties);
    p.m_compiled = core.adopt(p.m_impl);
    return p;
}

const std::string& Pipeline::name() const {
    LOOM_REQUIRE(m_impl != nullptr, "the pipeline is empty");
    return m_impl->spec().name;
}

void Pipeline::swap_model(const std::string& node, const std::string& path) {
    LOOM_REQUIRE(m_impl != nullptr, "the pipeline is empty");
    m_impl->swap_model(node, path);
}

std::vector<std::string> Pipeline::nodes() const {
    std::vector<std::string> out;
    if (m_impl)
        for (const auto& n : m_impl->spec().nodes)
            out.push_back(n.name);
    return out;
}

std::vector<std::string> Pipeline::devices() const {
    std::vector<std::string> out;
    if (m_impl)
        for (const auto& n : m_impl->spec().nodes)
            if (n.kind == pipeline::NodeKind::Model) out.push_back(n.device);
    return out;
}

std::vector<std::string> Pipeline::components() const {
    std::vector<std::string> out;
    if (m_impl)
        for (const auto& n : m_impl->spec().nodes)
            if (n.kind == pipeline::NodeKind::Component) out.push_back(n.target);
    return out;
}

std::vector<PipelineNodeInfo> Pipeline::describe() const {
    return m_impl ? m_impl->describe() : std::vector<PipelineNodeInfo>{};
}

std::vector<PipelineNodeStats> Pipeline::node_stats() const {
    return m_impl ? m_impl->node_stats() : std::vector<PipelineNodeStats>{};
}

} // namespace loom
