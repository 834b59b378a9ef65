#include "components/reference/kernel.hpp"

#include "components/reference/interpreter.hpp"
#include "components/reference/kernel_util.hpp"
#include "schemas/error.hpp"

namespace loom::reference {

const Tensor& KernelContext::input(std::size_t i) const {
    LOOM_REQUIRE(i < m_inputs.size(), "input {} is missing ({} given)", i, m_inputs.size());
    return m_inputs[i];
}

// Shape inference on the actual inputs: a scratch model whose inputs are Constants viewing the
// input tensors (no copy), so value-dependent inference (Reshape, Range …) sees the values.
void KernelContext::infer() const {
    if (m_inferred) return;
    Model scratch;
    std::vector<model::Output> ins;
    ins.reserve(m_inputs.size());
    for (const auto& t : m_inputs)
        ins.push_back(scratch.add_constant(t).output(0));
    auto& n = scratch.add(m_node.type, m_node.version, ins, m_node.attrs, m_node.outputs.size(),
                          m_node.name);
    for (const auto& body : m_node.bodies)
        n.bodies.push_back(body);
    model::infer_node(n, *m_run.registry);
    std::vector<std::pair<ElementType, PartialShape>> out;
    out.reserve(n.outputs.size());
    for (auto& o : n.outputs)
        out.emplace_back(o.type, std::move(o.shape));
    m_inferred = std::move(out);
}

std::size_t KernelContext::output_count() const {
    infer();
    return m_inferred->size();
}

ElementType KernelContext::output_type(std::size_t i) const {
    infer();
    LOOM_REQUIRE(i < m_inferred->size(), "output {} does not exist", i);
    return (*m_inferred)[i].first;
}

Shape KernelContext::output_shape(std::size_t i) const {
    infer();
    LOOM_REQUIRE(i < m_inferred->size(), "output {} does not exist", i);
    const auto& ps = (*m_inferred)[i].second;
    LOOM_REQUIRE(ps.is_static(), "output {} has shape {} after inference on the actual inputs", i,
                 ps.to_string());
    return ps.to_shape();
}

Tensor KernelContext::allocate_output(std::size_t i) const {
    return Tensor::allocate(output_type(i), output_shape(i));
}

std::vector<Tensor> KernelContext::run_body(const Model& body,
                                            std::span<const Tensor> inputs) const {
    Plan plan(body, *m_run.registry, *m_run.kernels);
    return plan.run(inputs, m_run, nullptr);
}

void KernelTable::add(std::string type, std::string version, KernelFn fn, KernelOptions options) {
    LOOM_REQUIRE(fn != nullptr, "kernel {}:{} has no function", type, version);
    auto key = std::make_pair(std::move(type), std::move(version));
    LOOM_REQUIRE(!m_entries.contains(key), "kernel {}:{} is registered twice", key.first,
                 key.second);
    m_entries.emplace(std::move(key), Entry{fn, options});
}

const KernelTable::Entry* KernelTable::find(std::string_view type,
                                            std::string_view version) const noexcept {
    auto it = m_entries.find(std::make_pair(std::string(type), std::string(version)));
    return it == m_entries.end() ? nullptr : &it->second;
}

const KernelTable::Entry* KernelTable::find(const Node& node,
                                            const model::OpRegistry& registry) const noexcept {
    const auto* spec = registry.find(node.type, node.version);
    return spec ? find(spec->type, spec->version) : nullptr;
}

std::vector<std::pair<std::string, std::string>> KernelTable::keys() const {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(m_entries.size());
    for (const auto& [key, entry] : m_entries)
        out.push_back(key);
    return out;
}

namespace {

bool is_half(ElementType t) noexcept {
    return t == ElementType::F16 || t == ElementType::BF16;
}

} // namespace

std::vector<Tensor> run_kernel(const KernelTable::Entry& entry, const Node& node,
                               std::span<const Tensor> inputs, const RunState& run) {
    bool any_half = false;
    for (const auto& t : inputs)
        any_half = any_half || is_half(t.element_type());
    std::vector<Tensor> outputs;
    if (entry.options.half_via_f32 && any_half) {
        std::vector<Tensor> wide(inputs.begin(), inputs.end());
        for (auto& t : wide)
            if (is_half(t.element_type())) t = convert_tensor(t, ElementType::F32);
        KernelContext ctx(node, wide, run);
        outputs = entry.fn(ctx);
        for (std::size_t i = 0; i < outputs.size() && i < node.outputs.size(); ++i) {
            const auto want = node.outputs[i].type;
            if (is_half(want) && outputs[i].element_type() == ElementType::F32)
                outputs[i] = convert_tensor(outputs[i], want);
        }
    } else {
        KernelContext ctx(node, inputs, run);
        outputs = entry.fn(ctx);
    }
    LOOM_ASSERT(outputs.size() >= node.outputs.size() || node.outputs.empty(),
                "kernel {} returned {} outputs, the node has {}", node.type, outputs.size(),
                node.outputs.size());
    return outputs;
}

std::shared_ptr<const KernelTable> make_reference_kernels() {
    auto table = std::make_shared<KernelTable>();
    add_core_kernels(*table);
    add_elementwise_kernels(*table);
    add_reduction_kernels(*table);
    add_nn_kernels(*table);
    add_shape_kernels(*table);
    add_index_kernels(*table);
    add_image_kernels(*table);
    add_rnn_kernels(*table);
    add_sequence_kernels(*table);
    add_text_kernels(*table);
    return table;
}

void install_evaluators(model::OpRegistry& registry, std::shared_ptr<const KernelTable> kernels) {
    const model::OpRegistry* reg = &registry; // the functions live inside `registry`
    for (const auto& [type, version] : kernels->keys()) {
        const auto* entry = kernels->find(type, version);
        if (!entry->options.foldable || !registry.find(type, version)) continue;
        registry.set_evaluate(
            type, version, [kernels, entry, reg](const Node& node, std::span<const Tensor> inputs) {
                RunState run;
                run.registry = reg;
                run.kernels = kernels.get();
                return run_kernel(*entry, node, inputs, run);
            });
    }
}

} // namespace loom::reference
