#include "components/reference/interpreter.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "schemas/error.hpp"

namespace loom::reference {

namespace {

bool is_interface(const Node& node) {
    return node.type == "Parameter" || node.type == "Constant" || node.type == "Result";
}

void collect_missing(const Model& model, const model::OpRegistry& registry,
                     const KernelTable& kernels, std::vector<std::string>& out) {
    for (const auto* node : model.nodes()) {
        if (!is_interface(*node) && !kernels.find(*node, registry) &&
            !extension_op(*node, registry))
            out.push_back(fmt::format("'{}' ({}:{})", node->name, node->type, node->version));
        for (const auto& body : node->bodies)
            if (body.model) collect_missing(*body.model, registry, kernels, out);
    }
}

// Runs an extension op's host evaluation and checks what it returned against the node's inferred
// outputs: an extension's mistake must not reach the next kernel as a wrong-sized buffer.
std::vector<Tensor> run_extension(const model::OpSpec& spec, const Node& node,
                                  std::span<const Tensor> inputs) {
    auto outs = spec.evaluate(node, inputs);
    LOOM_REQUIRE(outs.size() >= node.outputs.size(),
                 "extension '{}' returned {} output(s), the op has {}", spec.origin, outs.size(),
                 node.outputs.size());
    for (std::size_t o = 0; o < node.outputs.size(); ++o) {
        const auto& want = node.outputs[o];
        const auto& got = outs[o];
        const bool type_ok = want.type == ElementType::UNDEFINED || got.element_type() == want.type;
        const bool shape_ok = !want.shape.is_static() || got.shape() == want.shape.to_shape();
        if (!type_ok || !shape_ok)
            LOOM_THROW(ErrorKind::INTERNAL,
                       "extension '{}' returned output {} as {} {}, its shape inference said {} "
                       "{}",
                       spec.origin, o, loom::to_string(got.element_type()),
                       PartialShape(got.shape()).to_string(), loom::to_string(want.type),
                       want.shape.to_string());
    }
    return outs;
}

} // namespace

const model::OpSpec* extension_op(const Node& node, const model::OpRegistry& registry) noexcept {
    const auto* spec = registry.find(node.type, node.version);
    return spec && !spec->origin.empty() && spec->evaluate ? spec : nullptr;
}

std::vector<std::string> Plan::missing_kernels(const Model& model,
                                               const model::OpRegistry& registry,
                                               const KernelTable& kernels) {
    std::vector<std::string> out;
    collect_missing(model, registry, kernels, out);
    return out;
}

Plan::Plan(const Model& model, const model::OpRegistry& registry, const KernelTable& kernels,
           const NodePreparer& prepare)
    : m_model(model) {
    auto order = model.topological_order();
    // Assign nodes nobody reads run last, so every ReadValue of a run sees the value the
    // previous run left (OpenVINO's state semantics), whatever order the sort picked.
    std::unordered_set<const Node*> read;
    for (const auto* node : order)
        for (const auto& in : node->inputs)
            read.insert(in.node);
    std::stable_partition(order.begin(), order.end(), [&](const Node* n) {
        return !(n->type == "Assign" && !read.contains(n));
    });
    std::unordered_map<const Node*, std::uint32_t> first_slot;
    std::vector<std::string> missing;
    m_steps.reserve(order.size());
    for (const auto* node : order) {
        Step step;
        step.node = node;
        if (!is_interface(*node)) {
            if (prepare) step.prepared = prepare(*node, registry);
            step.kernel = kernels.find(*node, registry);
            if (!step.kernel) step.extension = extension_op(*node, registry);
            if (!step.kernel && !step.extension && !step.prepared)
                missing.push_back(
                    fmt::format("'{}' ({}:{})", node->name, node->type, node->version));
        }
        for (const auto& body : node->bodies)
            if (body.model) collect_missing(*body.model, registry, kernels, missing);
        for (const auto& in : node->inputs) {
            auto it = first_slot.find(in.node);
            LOOM_ASSERT(it != first_slot.end(), "input of '{}' is not in topological order",
                        node->name);
            step.input_slots.push_back(it->second + in.index);
        }
        step.first_output = static_cast<std::uint32_t>(m_slot_count);
        first_slot[node] = step.first_output;
        m_slot_count += std::max<std::size_t>(node->outputs.size(), 1);
        m_steps.push_back(std::move(step));
    }
    if (!missing.empty()) {
        std::string list;
        for (std::size_t i = 0; i < missing.size() && i < 20; ++i)
            list += (i ? ", " : "") + missing[i];
        LOOM_THROW(ErrorKind::UNSUPPORTED, "the reference device has no kernel for {} node(s): {}",
                   missing.size(), list);
    }
    for (const auto* p : model.parameters())
        m_parameter_slots.push_back(first_slot.at(p));
    for (const auto* r : model.results())
        m_result_slots.push_back(first_slot.at(r));
    // Release each slot after its last reader (results keep theirs until the end).
    std::vector<std::int64_t> last_reader(m_slot_count, -1);
    for (std::size_t s = 0; s < m_steps.size(); ++s)
        for (auto slot : m_steps[s].input_slots)
            last_reader[slot] = static_cast<std::int64_t>(s);
    for (auto slot : m_result_slots)
        last_reader[slot] = -1;
    for (std::size_t slot = 0; slot < m_slot_count; ++slot)
        if (last_reader[slot] >= 0)
            m_steps[static_cast<std::size_t>(last_reader[slot])].release.push_back(
                static_cast<std::uint32_t>(slot));
}

std::string Plan::exec_type(const Node& node) const {
    for (const auto& step : m_steps)
        if (step.node == &node)
            return step.prepared    ? step.prepared->exec_type()
                   : step.kernel    ? step.kernel->name
                   : step.extension ? "extension"
                                    : node.type;
    return node.type;
}

std::vector<Tensor> Plan::run(std::span<const Tensor> parameters, const RunState& run,
                              Profile* profile) const {
    LOOM_REQUIRE(parameters.size() == m_parameter_slots.size(),
                 "the model has {} parameter(s), {} tensor(s) were given", m_parameter_slots.size(),
                 parameters.size());
    std::vector<Tensor> slots(m_slot_count);
    for (std::size_t i = 0; i < parameters.size(); ++i)
        slots[m_parameter_slots[i]] = parameters[i];
    if (profile) profile->assign(m_steps.size(), {});
    std::vector<Tensor> inputs;
    for (std::size_t s = 0; s < m_steps.size(); ++s) {
        const auto& step = m_steps[s];
        const Node& node = *step.node;
        if (run.cancel && run.cancel->load(std::memory_order_relaxed))
            LOOM_THROW(ErrorKind::CANCELLED, "the inference was cancelled");
        const auto start = std::chrono::steady_clock::now();
        if (node.type == "Constant") {
            slots[step.first_output] = node.value;
        } else if (node.type == "Result") {
            slots[step.first_output] = slots[step.input_slots.at(0)];
        } else if (step.prepared || step.kernel || step.extension) {
            inputs.clear();
            for (auto slot : step.input_slots)
                inputs.push_back(slots[slot]);
            // run_kernel names the node in its errors; the other paths do it here.
            std::vector<Tensor> outs;
            if (step.kernel && !step.prepared) {
                outs = run_kernel(*step.kernel, node, inputs, run);
            } else {
                try {
                    outs = step.prepared ? step.prepared->run(inputs, run)
                                         : run_extension(*step.extension, node, inputs);
                } catch (const Error& e) {
                    if (e.kind() == ErrorKind::CANCELLED) throw;
                    throw Error(e.kind(), fmt::format("node '{}' ({}:{}): {}", node.name, node.type,
                                                      node.version, e.message()));
                }
            }
            for (std::size_t o = 0; o < outs.size() && o < node.outputs.size(); ++o)
                slots[step.first_output + o] = std::move(outs[o]);
        }
        for (auto slot : step.release)
            slots[slot] = Tensor{};
        if (profile) {
            auto& p = (*profile)[s];
            p.name = node.name;
            p.type = node.type;
            p.exec_type = step.prepared    ? step.prepared->exec_type()
                          : step.kernel    ? step.kernel->name
                          : step.extension ? "extension"
                                           : "";
            p.executed = step.prepared || step.kernel || step.extension;
            p.real_time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
        }
    }
    std::vector<Tensor> results;
    results.reserve(m_result_slots.size());
    for (auto slot : m_result_slots)
        results.push_back(slots[slot]);
    return results;
}

} // namespace loom::reference
