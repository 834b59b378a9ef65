#include "plugins/cpu/shape_cache.hpp"

#include "components/passes/pass_manager.hpp"
#include "components/passes/passes.hpp"
#include "components/reference/kernel.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

ShapeCache::ShapeCache(const model::Model& model, const model::OpRegistry& registry,
                       std::shared_ptr<const loom::reference::KernelTable> kernels, Compile compile,
                       std::size_t capacity)
    : m_model(model)
    , m_registry(registry)
    , m_folding(registry)
    , m_compile(std::move(compile))
    , m_capacity(std::max<std::size_t>(capacity, 1)) {
    if (kernels) loom::reference::install_evaluators(m_folding, std::move(kernels));
}

std::shared_ptr<const ShapeCache::Entry>
ShapeCache::find(const std::vector<model::Shape>& shapes) const {
    std::lock_guard lock(m_mutex);
    for (auto it = m_entries.begin(); it != m_entries.end(); ++it)
        if ((*it)->shapes == shapes) {
            m_entries.splice(m_entries.begin(), m_entries, it);
            return m_entries.front();
        }
    return nullptr;
}

std::shared_ptr<const ShapeCache::Entry>
ShapeCache::make(const std::vector<model::Shape>& shapes) const {
    auto entry = std::make_shared<Entry>();
    entry->shapes = shapes;
    entry->model = m_model.clone();
    const auto& params = entry->model->parameters();
    LOOM_REQUIRE(params.size() == shapes.size(), "the model has {} parameter(s), {} given",
                 params.size(), shapes.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        const model::PartialShape shape(shapes[i]);
        LOOM_REQUIRE(params[i]->outputs[0].shape.compatible(shape),
                     "input {} ('{}') has shape {}, the model takes {}", i, params[i]->name,
                     shape.to_string(), params[i]->outputs[0].shape.to_string());
        params[i]->attrs.set("shape", shape);
        params[i]->outputs[0].shape = shape;
    }
    try {
        model::infer_and_validate(*entry->model, m_registry);
        passes::PassManager pm; // the shape arithmetic is constant now
        pm.add(passes::make_constant_folding_pass());
        pm.add(passes::make_dce_pass());
        pm.run(*entry->model, m_folding);
    } catch (const Error& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "the model does not take inputs of these shapes: {}", e.message());
    }
    entry->exec = m_compile(*entry->model);
    return entry;
}

std::vector<model::Tensor> ShapeCache::run(std::span<const model::Tensor> parameters,
                                           const loom::reference::RunState& run,
                                           loom::reference::Profile* profile) const {
    std::vector<model::Shape> shapes;
    for (const auto& p : parameters)
        shapes.push_back(p.shape());
    auto entry = find(shapes);
    if (!entry) {
        std::lock_guard compiling(m_compile_mutex);
        entry = find(shapes); // another run may have made it meanwhile
        if (!entry) {
            entry = make(shapes);
            std::lock_guard lock(m_mutex);
            m_entries.push_front(entry);
            if (m_entries.size() > m_capacity) m_entries.pop_back();
        }
    }
    return entry->exec->run(parameters, run, profile);
}

std::string ShapeCache::exec_type(const model::Node& node) const {
    std::shared_ptr<const Entry> recent;
    {
        std::lock_guard lock(m_mutex);
        if (!m_entries.empty()) recent = m_entries.front();
    }
    if (!recent) return "dynamic";
    for (const auto* n : recent->model->nodes())
        if (n->name == node.name && n->type == node.type) return recent->exec->exec_type(*n);
    return "folded"; // constant once the shapes are known
}

std::size_t ShapeCache::size() const {
    std::lock_guard lock(m_mutex);
    return m_entries.size();
}

} // namespace loom::plugins::cpu
