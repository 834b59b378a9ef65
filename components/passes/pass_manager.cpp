#include "components/passes/pass_manager.hpp"

#include <chrono>

#include <fmt/ranges.h>

#include "components/passes/passes.hpp"
#include "schemas/error.hpp"

namespace loom::passes {

std::string PassReport::to_string() const {
    std::string out;
    for (const auto& p : passes)
        out += fmt::format("{:<24} {:<9} rewrites={:<5} nodes {}→{}  {} µs\n", p.name,
                           p.changed ? "changed" : "unchanged", p.rewrites, p.nodes_before,
                           p.nodes_after, p.time_us);
    out += fmt::format("total {} µs\n", total_us);
    return out;
}

std::size_t count_nodes(const model::Model& model) {
    std::size_t n = 0;
    for (const model::Node* node : model.nodes()) {
        ++n;
        for (const auto& body : node->bodies)
            if (body.model) n += count_nodes(*body.model);
    }
    return n;
}

PassManager& PassManager::add(std::unique_ptr<Pass> pass) {
    LOOM_REQUIRE(pass != nullptr, "PassManager::add: null pass");
    m_passes.push_back(std::move(pass));
    return *this;
}

std::vector<std::string> PassManager::pass_names() const {
    std::vector<std::string> out;
    for (const auto& p : m_passes)
        out.emplace_back(p->name());
    return out;
}

namespace {
std::int64_t micros_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
}
} // namespace

PassReport PassManager::run(model::Model& model, PassContext& ctx) const {
    PassReport report;
    auto total_start = std::chrono::steady_clock::now();
    for (const auto& pass : m_passes) {
        PassRecord rec;
        rec.name = std::string(pass->name());
        rec.nodes_before = count_nodes(model);
        ctx.current_pass = rec.name;
        std::size_t rewrites_before = ctx.rewrites[rec.name];
        auto start = std::chrono::steady_clock::now();
        try {
            rec.changed = pass->run(model, ctx);
            if (rec.changed) model::infer_and_validate(model, ctx.registry);
        } catch (const Error& e) {
            LOOM_THROW(e.kind(), "pass '{}': {}", rec.name, e.message());
        }
        rec.time_us = micros_since(start);
        rec.rewrites = ctx.rewrites[rec.name] - rewrites_before;
        rec.nodes_after = count_nodes(model);
        report.passes.push_back(std::move(rec));
    }
    ctx.current_pass.clear();
    report.total_us = micros_since(total_start);
    return report;
}

PassReport PassManager::run(model::Model& model, const model::OpRegistry& registry) const {
    PassContext ctx(registry);
    return run(model, ctx);
}

void PipelineRegistry::add(std::string name, Factory factory) {
    LOOM_REQUIRE(!name.empty(), "a pipeline needs a name");
    LOOM_REQUIRE(factory != nullptr, "pipeline '{}' has no factory", name);
    LOOM_REQUIRE(!m_factories.contains(name), "pipeline '{}' is registered twice", name);
    m_factories.emplace(std::move(name), std::move(factory));
}

bool PipelineRegistry::contains(std::string_view name) const noexcept {
    return m_factories.find(name) != m_factories.end();
}

std::vector<std::string> PipelineRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& [name, factory] : m_factories)
        out.push_back(name);
    return out;
}

PassManager PipelineRegistry::make(std::string_view name) const {
    auto it = m_factories.find(name);
    if (it == m_factories.end())
        LOOM_THROW(ErrorKind::NOT_FOUND, "unknown pipeline '{}'; known pipelines: {}", name,
                   fmt::join(names(), ", "));
    return it->second();
}

PassManager make_common_pipeline() {
    PassManager pm;
    pm.add(make_validate_pass());
    pm.add(make_constant_folding_pass());
    pm.add(make_dce_pass());
    pm.add(make_cse_pass());
    pm.add(make_identity_elimination_pass());
    pm.add(make_conv_batchnorm_fusion_pass());
    pm.add(make_layer_norm_fusion_pass());
    pm.add(make_gelu_fusion_pass());
    pm.add(make_hswish_fusion_pass());
    pm.add(make_swish_fusion_pass());
    pm.add(make_bias_activation_fusion_pass());
    pm.add(make_dce_pass());
    pm.add(make_validate_pass());
    return pm;
}

PipelineRegistry make_default_pipelines() {
    PipelineRegistry r;
    r.add("common", make_common_pipeline);
    return r;
}

} // namespace loom::passes
