#include "components/reference/kernel.hpp"

#include <cstring>

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
// The op's infer function runs directly, not through model::infer_node: its errors must not name
// the node, run_kernel does that once for every kernel error.
void KernelContext::infer() const {
    if (m_inferred) return;
    const auto* spec = m_run.registry->find(m_node.type, m_node.version);
    if (!spec)
        LOOM_THROW(ErrorKind::NOT_FOUND, "unknown operation {} (version {})", m_node.type,
                   m_node.version);
    Model scratch;
    std::vector<model::Output> ins;
    ins.reserve(m_inputs.size());
    for (const auto& t : m_inputs)
        ins.push_back(scratch.add_constant(t).output(0));
    auto& n = scratch.add(m_node.type, m_node.version, ins, m_node.attrs, m_node.outputs.size(),
                          m_node.name);
    for (const auto& body : m_node.bodies)
        n.bodies.push_back(body);
    model::check_attributes(n, *spec);
    if (spec->infer) {
        model::InferContext ictx(n, *m_run.registry);
        spec->infer(ictx);
    }
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

bool KernelEntry::applies_to(const Node& node) const noexcept {
    if (!applies) return true;
    try {
        return applies(node);
    } catch (...) {
        return false; // see KernelApplies
    }
}

namespace {

void check_entry(const KernelEntry& entry, std::string_view type, std::string_view version) {
    LOOM_REQUIRE((entry.fn != nullptr) != (entry.into != nullptr),
                 "kernel {}:{} '{}' must have exactly one function (returning or into)", type,
                 version, entry.name);
    LOOM_REQUIRE(!entry.name.empty(), "kernel {}:{} has no name", type, version);
}

} // namespace

void KernelTable::add(std::string type, std::string version, Entry entry) {
    check_entry(entry, type, version);
    m_lists[std::make_pair(std::move(type), std::move(version))].push_back(std::move(entry));
}

void KernelTable::add(std::string type, std::string version, KernelFn fn, KernelOptions options) {
    Entry entry;
    entry.fn = fn;
    entry.options = options;
    add(std::move(type), std::move(version), std::move(entry));
}

void KernelTable::add_front(std::string type, std::string version, Entry entry) {
    check_entry(entry, type, version);
    m_lists[std::make_pair(std::move(type), std::move(version))].push_front(std::move(entry));
}

template <class Accept>
const KernelTable::Entry* KernelTable::first(std::string_view type, std::string_view version,
                                             const Node& node, Accept accept) const noexcept {
    auto it = m_lists.find(std::make_pair(std::string(type), std::string(version)));
    if (it == m_lists.end()) return nullptr;
    for (const auto& entry : it->second)
        if (accept(entry) && entry.applies_to(node)) return &entry;
    return nullptr;
}

const KernelTable::Entry* KernelTable::find(std::string_view type, std::string_view version,
                                            const Node& node) const noexcept {
    return first(type, version, node, [](const Entry&) { return true; });
}

const KernelTable::Entry* KernelTable::find_foldable(std::string_view type,
                                                     std::string_view version,
                                                     const Node& node) const noexcept {
    return first(type, version, node, [](const Entry& e) { return e.options.foldable; });
}

const KernelTable::Entry* KernelTable::find(const Node& node,
                                            const model::OpRegistry& registry) const noexcept {
    const auto* spec = registry.find(node.type, node.version);
    return spec ? find(spec->type, spec->version, node) : nullptr;
}

const KernelTable::Entry* KernelTable::find(std::string_view type,
                                            std::string_view version) const noexcept {
    auto it = m_lists.find(std::make_pair(std::string(type), std::string(version)));
    return it == m_lists.end() || it->second.empty() ? nullptr : &it->second.front();
}

std::vector<const KernelTable::Entry*> KernelTable::entries(std::string_view type,
                                                            std::string_view version) const {
    std::vector<const Entry*> out;
    auto it = m_lists.find(std::make_pair(std::string(type), std::string(version)));
    if (it != m_lists.end())
        for (const auto& entry : it->second)
            out.push_back(&entry);
    return out;
}

std::vector<std::pair<std::string, std::string>> KernelTable::keys() const {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(m_lists.size());
    for (const auto& [key, list] : m_lists)
        out.push_back(key);
    return out;
}

namespace {

bool is_half(ElementType t) noexcept {
    return t == ElementType::F16 || t == ElementType::BF16;
}

bool fits(const Tensor& t, ElementType type, const Shape& shape) noexcept {
    return !t.empty() && t.element_type() == type && t.shape() == shape;
}

bool same_buffer(const Tensor& a, const Tensor& b) noexcept {
    return a.bytes().data() == b.bytes().data() && a.byte_size() == b.byte_size();
}

// The kernel's outputs, in the kernel's own types (f32 where half_via_f32 widened the inputs).
// An into entry writes into `planned` where a planned tensor fits the inferred output.
std::vector<Tensor> call_kernel(const KernelTable::Entry& entry, KernelContext& ctx,
                                std::span<Tensor> planned) {
    if (entry.fn) return entry.fn(ctx);
    std::vector<Tensor> outputs(ctx.output_count());
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const auto type = ctx.output_type(i);
        const auto shape = ctx.output_shape(i);
        outputs[i] = i < planned.size() && fits(planned[i], type, shape)
                         ? planned[i]
                         : Tensor::allocate(type, shape);
    }
    entry.into(ctx, outputs);
    return outputs;
}

std::vector<Tensor> run_entry(const KernelTable::Entry& entry, const Node& node,
                              std::span<const Tensor> inputs, const RunState& run,
                              std::span<Tensor> planned) {
    LOOM_REQUIRE(planned.empty() || planned.size() == node.outputs.size(),
                 "{} planned output(s) for a node with {} output(s)", planned.size(),
                 node.outputs.size());
    bool any_half = false;
    for (const auto& t : inputs)
        any_half = any_half || is_half(t.element_type());
    std::vector<Tensor> outputs;
    if (entry.options.half_via_f32 && any_half) {
        std::vector<Tensor> wide(inputs.begin(), inputs.end());
        for (auto& t : wide)
            if (is_half(t.element_type())) t = convert_tensor(t, ElementType::F32);
        KernelContext ctx(node, wide, run);
        // The kernel computes in f32: planned f16/bf16 tensors receive the converted results.
        outputs = call_kernel(entry, ctx, {});
        for (std::size_t i = 0; i < outputs.size() && i < node.outputs.size(); ++i) {
            const auto want = node.outputs[i].type;
            if (is_half(want) && outputs[i].element_type() == ElementType::F32)
                outputs[i] = convert_tensor(outputs[i], want);
        }
    } else {
        KernelContext ctx(node, inputs, run);
        outputs = call_kernel(entry, ctx, planned);
    }
    LOOM_ASSERT(outputs.size() >= node.outputs.size() || node.outputs.empty(),
                "kernel {} returned {} outputs, the node has {}", node.type, outputs.size(),
                node.outputs.size());
    for (std::size_t i = 0; i < planned.size() && i < outputs.size(); ++i) {
        auto& want = planned[i];
        auto& got = outputs[i];
        if (same_buffer(want, got)) continue; // written in place
        if (fits(want, got.element_type(), got.shape())) {
            if (got.byte_size() > 0)
                std::memcpy(want.mutable_data(), got.bytes().data(), got.byte_size());
            got = want;
        } else {
            want = got;
        }
    }
    return outputs;
}

} // namespace

std::vector<Tensor> run_kernel(const KernelTable::Entry& entry, const Node& node,
                               std::span<const Tensor> inputs, const RunState& run,
                               std::span<Tensor> planned_outputs) {
    try {
        return run_entry(entry, node, inputs, run, planned_outputs);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::CANCELLED) throw;
        throw Error(e.kind(), fmt::format("node '{}' ({}:{}): {}", node.name, node.type,
                                          node.version, e.message()));
    }
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
    for (const auto& key : kernels->keys()) {
        const auto& [type, version] = key;
        if (!registry.find(type, version)) continue;
        bool always = false; // some foldable entry applies to every node
        for (const auto* entry : kernels->entries(type, version))
            always = always || (entry->options.foldable && !entry->applies);
        if (!always) continue;
        registry.set_evaluate(
            type, version, [kernels, reg, key](const Node& node, std::span<const Tensor> inputs) {
                const auto* entry = kernels->find_foldable(key.first, key.second, node);
                LOOM_ASSERT(entry, "no foldable kernel for {}:{}", key.first, key.second);
                RunState run;
                run.registry = reg;
                run.kernels = kernels.get();
                return run_kernel(*entry, node, inputs, run);
            });
    }
}

} // namespace loom::reference
