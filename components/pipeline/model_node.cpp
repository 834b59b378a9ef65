// ModelNode (nodes.hpp): a model compiled on a device; requests are pooled per version.

#include <optional>

#include <fmt/format.h>

#include "components/pipeline/nodes.hpp"
#include "schemas/error.hpp"

namespace loom::pipeline {

// One compiled version of the model and the idle requests made on it.
struct ModelNode::Version {
    CompiledModel compiled;
    std::mutex mutex; // guards idle
    std::vector<InferRequest> idle;
};

ModelNode::ModelNode(const Core& core, const NodeSpec& spec, const Properties& properties)
    : m_core(core)
    , m_spec(spec)
    , m_properties(properties) {
    m_current = compile(spec.target);
    wire_inputs(spec, m_current->compiled.inputs(), "the model " + spec.target);
    m_outputs = m_current->compiled.outputs();
}

std::shared_ptr<ModelNode::Version> ModelNode::compile(const std::string& path) const {
    auto version = std::make_shared<Version>();
    try {
        version->compiled = m_core.compile_model(path, m_spec.device, m_properties);
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "node '{}': compiling {} on {}: {}", m_spec.name, path, m_spec.device,
                   e.message());
    }
    return version;
}

std::shared_ptr<const void> ModelNode::version() const {
    std::lock_guard lock(m_mutex);
    return m_current;
}

void ModelNode::swap(const std::string& path) {
    auto next = compile(path);
    const auto same = [&](const std::vector<protocol::Port>& a,
                          const std::vector<protocol::Port>& b, const char* what) {
        LOOM_REQUIRE(a.size() == b.size(), "node '{}': {} has {} {}s, the running model {}",
                     m_spec.name, path, b.size(), what, a.size());
        for (std::size_t i = 0; i < a.size(); ++i)
            LOOM_REQUIRE(a[i].name == b[i].name && a[i].type == b[i].type &&
                             a[i].shape.compatible(b[i].shape),
                         "node '{}': {}'s {} {} is '{}' ({} {}), the running model's '{}' ({} {})",
                         m_spec.name, path, what, i, b[i].name, loom::to_string(b[i].type),
                         b[i].shape.to_string(), a[i].name, loom::to_string(a[i].type),
                         a[i].shape.to_string());
    };
    same(m_current->compiled.inputs(), next->compiled.inputs(), "input");
    same(m_current->compiled.outputs(), next->compiled.outputs(), "output");
    std::lock_guard lock(m_mutex);
    m_current = std::move(next);
}

std::vector<model::Tensor> ModelNode::run(std::vector<model::Tensor> inputs, const void* pinned,
                                          const model::OpRegistry&) {
    auto& version = *static_cast<Version*>(const_cast<void*>(pinned));
    std::optional<InferRequest> request;
    {
        std::lock_guard lock(version.mutex);
        if (!version.idle.empty()) {
            request = std::move(version.idle.back());
            version.idle.pop_back();
        }
    }
    std::vector<model::Tensor> out;
    try {
        if (!request) request = version.compiled.create_infer_request();
        for (std::size_t i = 0; i < inputs.size(); ++i)
            request->set_input_tensor(m_wire_to_port[i], Tensor(std::move(inputs[i])));
        request->infer();
        for (std::size_t i = 0; i < m_outputs.size(); ++i)
            out.push_back(request->get_output_tensor(i).impl());
    } catch (const Error& e) { // the request is dropped, not pooled
        LOOM_THROW(e.kind(), "node '{}': {}", m_spec.name, e.message());
    }
    std::lock_guard lock(version.mutex);
    version.idle.push_back(std::move(*request));
    return out;
}

} // namespace loom::pipeline
