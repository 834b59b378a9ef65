#include "plugins/cpu/graph.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

std::shared_ptr<std::byte> aligned_bytes(std::size_t n) {
    const std::size_t rounded = (std::max<std::size_t>(n, 64) + 63) / 64 * 64;
    auto* p = static_cast<std::byte*>(std::aligned_alloc(64, rounded));
    if (!p)
        LOOM_THROW(ErrorKind::OVERLOADED,
                   "the compiled model's working memory ({} bytes) could not be allocated", n);
    return {p, [](std::byte* b) { std::free(b); }};
}

} // namespace

// What one run uses, made once per concurrent run and reused: the arena of the memory plan,
// the scratchpad all primitives share (they run one after another), a stream, and a oneDNN
// memory object per value a primitive touches, so a run creates none.
struct CpuGraph::Workspace {
    std::shared_ptr<std::byte> arena, scratchpad;
    dnnl::stream stream;
    std::vector<dnnl::memory> memories; // per value; empty for plain-only values
    std::vector<std::unordered_map<int, dnnl::memory>> args; // per step
    std::span<const model::Tensor> parameters;               // of the current run
};

CpuGraph::CpuGraph(Parts parts)
    : m_parts(std::move(parts)) {}

CpuGraph::~CpuGraph() = default;

std::unique_ptr<CpuGraph::Workspace> CpuGraph::acquire() const {
    {
        std::lock_guard lock(m_mutex);
        if (!m_pool.empty()) {
            auto ws = std::move(m_pool.back());
            m_pool.pop_back();
            return ws;
        }
    }
    auto ws = std::make_unique<Workspace>();
    const auto& engine = m_parts.engine;
    ws->arena = aligned_bytes(m_parts.arena_bytes);
    ws->scratchpad = aligned_bytes(m_parts.scratchpad_bytes);
    ws->stream = dnnl::stream(engine);
    ws->memories.resize(m_parts.values.size());
    for (std::size_t i = 0; i < m_parts.values.size(); ++i) {
        const auto& v = m_parts.values[i];
        if (v.desc.is_zero()) continue;
        void* handle = nullptr;
        if (v.home == Value::Home::Arena) handle = ws->arena.get() + v.index;
        if (v.home == Value::Home::Constant)
            handle = m_parts.constants[v.index].mutable_data(); // read only: inputs of primitives
        ws->memories[i] = dnnl::memory(v.desc, engine, handle);
    }
    const dnnl::memory::desc pad({static_cast<dnnl::memory::dim>(m_parts.scratchpad_bytes)},
                                 dnnl::memory::data_type::u8, dnnl::memory::format_tag::x);
    const dnnl::memory scratchpad(pad, engine, ws->scratchpad.get());
    ws->args.resize(m_parts.steps.size());
    for (std::size_t s = 0; s < m_parts.steps.size(); ++s) {
        const auto& step = m_parts.steps[s];
        if (!step.primitive) continue;
        auto& args = ws->args[s];
        for (const auto& a : step.args)
            args.emplace(a.id, ws->memories[a.value]);
        for (const auto& [id, memory] : step.fixed)
            args.emplace(id, memory);
        if (step.scratchpad) args.emplace(DNNL_ARG_SCRATCHPAD, scratchpad);
    }
    return ws;
}

void CpuGraph::release(std::unique_ptr<Workspace> ws) const {
    ws->parameters = {};
    std::lock_guard lock(m_mutex);
    m_pool.push_back(std::move(ws));
}

std::vector<model::Tensor> CpuGraph::run(std::span<const model::Tensor> parameters,
                                         const loom::reference::RunState& run,
                                         loom::reference::Profile* profile) const {
    const auto& values = m_parts.values;
    LOOM_REQUIRE(parameters.size() == m_parts.parameters.size(),
                 "the model has {} parameter(s), {} tensor(s) were given",
                 m_parts.parameters.size(), parameters.size());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        const auto& v = values[m_parts.parameters[i]];
        LOOM_REQUIRE(parameters[i].element_type() == v.type && parameters[i].shape() == v.shape,
                     "input {} is {} {}, the compiled model expects {} {}", i,
                     loom::to_string(parameters[i].element_type()),
                     model::to_string(parameters[i].shape()), loom::to_string(v.type),
                     model::to_string(v.shape));
    }
    struct Release {
        const CpuGraph* graph;
        std::unique_ptr<Workspace> ws;
        ~Release() { graph->release(std::move(ws)); }
    } guard{this, acquire()};
    auto& ws = *guard.ws;
    ws.parameters = parameters;
    for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i].home == Value::Home::Parameter && ws.memories[i])
            ws.memories[i].set_data_handle(parameters[values[i].index].mutable_data());
    if (profile) profile->clear();
    for (const auto& step : m_parts.steps) {
        if (run.cancel && run.cancel->load(std::memory_order_relaxed))
            LOOM_THROW(ErrorKind::CANCELLED, "the inference was cancelled");
        const auto start = std::chrono::steady_clock::now();
        run_step(step, ws, run);
        if (!profile) continue;
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        profile->push_back({step.name, step.type, step.exec_type, true, us});
        for (const auto* n : step.fused)
            profile->push_back({n->name, n->type, "", false, 0});
    }
    std::vector<model::Tensor> out;
    for (auto id : m_parts.results)
        out.push_back(output(id, ws));
    return out;
}

void CpuGraph::run_step(const Step& step, Workspace& ws,
                        const loom::reference::RunState& run) const {
    if (step.own) {
        std::byte* bytes[16]; // k_max_own_args (graph_builder.hpp)
        LOOM_ASSERT(step.args.size() <= std::size(bytes), "step '{}' has {} arguments", step.name,
                    step.args.size());
        for (std::size_t i = 0; i < step.args.size(); ++i)
            bytes[i] = static_cast<std::byte*>(ws.memories[step.args[i].value].get_data_handle());
        return step.own->run({bytes, step.args.size()});
    }
    if (!step.primitive) return run_node(step, ws, run);
    const auto index = static_cast<std::size_t>(&step - m_parts.steps.data());
    try {
        step.primitive.execute(ws.stream, ws.args[index]);
        ws.stream.wait();
    } catch (const dnnl::error& e) {
        LOOM_THROW(ErrorKind::INTERNAL, "node '{}' ({}): oneDNN failed: {}", step.name, step.type,
                   e.what());
    }
}

void CpuGraph::run_node(const Step& step, Workspace& ws,
                        const loom::reference::RunState& run) const {
    const auto& values = m_parts.values;
    const auto tensor = [&](ValueId id) {
        const auto& v = values[id];
        if (v.home != Value::Home::Arena) return fixed_tensor(v, ws);
        return model::Tensor::view(v.type, v.shape, {ws.arena.get() + v.index, v.bytes}, ws.arena);
    };
    std::vector<model::Tensor> inputs, planned;
    for (auto id : step.inputs)
        inputs.push_back(tensor(id));
    for (auto id : step.outputs)
        planned.push_back(tensor(id));
    const auto& node = *step.node;
    std::vector<model::Tensor> outs;
    if (step.prepared) {
        try {
            outs = step.prepared->run(inputs, run);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::CANCELLED) throw;
            throw Error(e.kind(), fmt::format("node '{}' ({}:{}): {}", node.name, node.type,
                                              node.version, e.message()));
        }
    } else {
        outs = loom::reference::run_kernel(*step.kernel, node, inputs, run, planned);
    }
    LOOM_ASSERT(outs.size() >= planned.size(), "node '{}' returned {} output(s), {} expected",
                node.name, outs.size(), planned.size());
    for (std::size_t o = 0; o < planned.size(); ++o) {
        if (outs[o].bytes().data() == planned[o].bytes().data()) continue;
        LOOM_ASSERT(outs[o].byte_size() == planned[o].byte_size(),
                    "node '{}' output {} has {} bytes, its plan {}", node.name, o,
                    outs[o].byte_size(), planned[o].byte_size());
        std::memcpy(planned[o].mutable_data(), outs[o].bytes().data(), outs[o].byte_size());
    }
}

// A parameter or constant, or a view of one (Reshape/Squeeze/Unsqueeze done in place).
model::Tensor CpuGraph::fixed_tensor(const Value& v, const Workspace& ws) const {
    const auto& t =
        v.home == Value::Home::Parameter ? ws.parameters[v.index] : m_parts.constants[v.index];
    return t.shape() == v.shape ? t : t.reshaped(v.shape);
}

// A result leaves the arena as a tensor of its own: copied into memory that is not zeroed
// first (Tensor::copy_of zero-fills, a second pass over rec's 1 MB of logits).
model::Tensor CpuGraph::output(ValueId id, Workspace& ws) const {
    const auto& v = m_parts.values[id];
    if (v.home != Value::Home::Arena) return fixed_tensor(v, ws);
    auto bytes = aligned_bytes(v.bytes);
    std::memcpy(bytes.get(), ws.arena.get() + v.index, v.bytes);
    return model::Tensor::view(v.type, v.shape, {bytes.get(), v.bytes}, bytes);
}

std::string CpuGraph::exec_type(const model::Node& node) const {
    auto it = m_parts.exec_types.find(&node);
    return it != m_parts.exec_types.end() ? it->second : node.type;
}

} // namespace loom::plugins::cpu
