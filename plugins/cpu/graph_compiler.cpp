#include "plugins/cpu/graph_compiler.hpp"

#include <algorithm>
#include <limits>
#include <string_view>

#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/graph_builder.hpp"
#include "plugins/cpu/memory_plan.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

bool optimised(std::string_view impl) {
    return impl.starts_with("jit") || impl.starts_with("brg") || impl.starts_with("brdgmm") ||
           impl.find("gemm") != std::string_view::npos;
}

namespace {

// Whether `chain` adds or multiplies a full-shape value computed at run time.
bool residual(const std::vector<PostOp>& chain, const std::vector<ValueId>& operands) {
    for (std::size_t k = 0; k < chain.size(); ++k)
        if (operands[k] != k_no_value && !chain[k].per_channel && chain[k].constant.empty())
            return true;
    return false;
}

} // namespace

memory::desc plain_desc(model::ElementType type, const model::Shape& shape) {

    if (type != model::ElementType::F32 || shape.empty() || shape.size() > 6) return {};
    for (auto d : shape)
        if (d <= 0) return {};
    return dense_desc(shape, shape.size());
}

CpuGraph::Parts GraphBuilder::build() {
    for (const auto* p : m_model.parameters()) {
        const auto& o = p->outputs[0];
        const auto shape = o.shape.to_shape();
        const auto id = add({o.type, shape, plain_desc(o.type, shape), Home::Parameter,
                             m_parts.parameters.size(), bytes_of(o.type, shape)});
        m_parts.parameters.push_back(id);
        m_of[{p, 0}] = id;
    }
    for (const auto* node : m_model.topological_order()) {
        if (m_done.contains(node) || node->type == "Parameter" || node->type == "Result") continue;
        if (node->type == "Constant") {
            m_of[{node, 0}] = add_constant(node->value);
            continue;
        }
        if (!(emit_conv(*node) || emit_deconv(*node) || emit_unary(*node) || emit_binary(*node) ||
              emit_reduce(*node) || emit_interpolate(*node) || emit_concat(*node) ||
              emit_batch_norm(*node) || emit_softmax(*node) || emit_transpose(*node) ||
              emit_pool(*node) || emit_mvn(*node) || emit_matmul(*node) || emit_slice(*node) ||
              emit_view(*node)))
            emit_node(*node);
    }
    for (const auto* r : m_model.results()) {
        auto v = value_of(r->inputs.at(0));
        if (!m_parts.values[v].desc.is_zero()) v = plain(v);
        m_parts.results.push_back(v);
    }
    finish();
    return std::move(m_parts);
}

std::size_t GraphBuilder::bytes_of(model::ElementType type, const model::Shape& shape) {
    std::size_t n = element_size(type);
    for (auto d : shape)
        n *= static_cast<std::size_t>(d);
    return n;
}

ValueId GraphBuilder::add(Value v) {
    m_parts.values.push_back(std::move(v));
    m_root.push_back(static_cast<ValueId>(m_parts.values.size() - 1));
    m_delta.push_back(0);
    return m_root.back();
}

ValueId GraphBuilder::add_arena(model::ElementType type, const model::Shape& shape,
                                memory::desc desc) {
    // A blocked layout pads its channels to the block (4 channels in aBcd8b take 8).
    const auto bytes = std::max(bytes_of(type, shape), desc.is_zero() ? 0 : desc.get_size());
    return add({type, shape, std::move(desc), Home::Arena, 0, bytes});
}

ValueId GraphBuilder::add_constant(const model::Tensor& t) {
    m_parts.constants.push_back(t);
    return add({t.element_type(), t.shape(), plain_desc(t.element_type(), t.shape()),
                Home::Constant, m_parts.constants.size() - 1, t.byte_size()});
}

ValueId GraphBuilder::value_of(const model::Output& o) const {
    auto it = m_of.find({o.node, o.index});
    LOOM_ASSERT(it != m_of.end(), "value '{}':{} is used before it is made",
                o.node ? o.node->name : "?", o.index);
    return it->second;
}

bool GraphBuilder::dnnl_value(ValueId v) const {
    const auto& value = m_parts.values[v];
    return value.type == model::ElementType::F32 && !value.desc.is_zero();
}

ValueId GraphBuilder::f32_source(const model::Node& node) const {
    if (node.inputs.empty() || node.outputs.empty()) return k_no_value;
    const auto src = value_of(node.inputs[0]);
    const auto& y = node.outputs[0];
    if (!dnnl_value(src) || y.type != model::ElementType::F32 || !y.shape.is_static())
        return k_no_value;
    return src;
}

ValueId GraphBuilder::in_layout(ValueId v, const memory::desc& desc) {
    if (m_parts.values[v].desc == desc) return v;
    for (const auto& [d, copy] : m_layouts[v])
        if (d == desc) return copy;
    const auto source = m_parts.values[v]; // copied: add() grows the vector
    const auto copy = add_arena(source.type, source.shape, desc);
    const auto name = m_names.count(v) ? m_names[v] + "/reorder" : "reorder";
    if (!emit_own_reorder(name, v, copy)) emit_reorder(name, "Reorder", v, copy);
    m_layouts[v].emplace_back(desc, copy);
    return copy;
}

ValueId GraphBuilder::plain(ValueId v) {
    const auto& value = m_parts.values[v];
    if (value.type != model::ElementType::F32) return v; // only f32 values are ever blocked
    return in_layout(v, plain_desc(value.type, value.shape));
}

ValueId GraphBuilder::view_of(ValueId v, const model::Shape& shape, const memory::desc& desc) {
    auto view = m_parts.values[v]; // copied: add() grows the vector
    view.shape = shape;
    view.desc = desc;
    const auto id = add(view);
    m_root[id] = m_root[v];
    m_delta[id] = m_delta[v];
    return id;
}

const std::string& GraphBuilder::emit_reorder(std::string name, std::string type, ValueId from,
                                              ValueId to) {
    const auto& engine = m_parts.engine;
    dnnl::reorder::primitive_desc pd(engine, m_parts.values[from].desc, engine,
                                     m_parts.values[to].desc);
    Step step;
    step.primitive = dnnl::reorder(pd);
    step.args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    step.name = std::move(name);
    step.type = std::move(type);
    step.exec_type = exec_type_name(pd.impl_info_str(), m_parts.values[to].desc.data_type());
    m_parts.steps.push_back(std::move(step));
    return m_parts.steps.back().exec_type;
}

bool GraphBuilder::emit_fused(const model::Node& anchor, std::vector<Arg> inputs, const Maker& make,
                              const std::function<void(dnnl::post_ops&)>& own_ops, bool fold,
                              memory::data_type type) {
    auto chain = fusible_chain(m_model, anchor);
    for (std::size_t i = 0; i < chain.size(); ++i)
        if (chain[i].operand.node &&
            !m_of.contains({chain[i].operand.node, chain[i].operand.index})) {
            chain.resize(i); // its operand is made later: fuse up to it
            break;
        }
    for (;;) {
        try {
            emit_chain(anchor, inputs, chain, make, own_ops, fold, type);
            return true;
        } catch (const dnnl::error&) {
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::UNSUPPORTED) throw;
        }
        if (chain.empty()) return false;
        chain.pop_back();
    }
}

// The binary post-ops' second operands, per chain entry (k_no_value for eltwise entries):
// constants, or runtime values of the output's rank (per-channel ones plain).
std::vector<ValueId> GraphBuilder::chain_operands(const std::vector<PostOp>& chain,
                                                  std::size_t rank) {
    std::vector<ValueId> operands(chain.size(), k_no_value);
    for (std::size_t k = 0; k < chain.size(); ++k) {
        const auto& p = chain[k];
        if (p.binary == dnnl::algorithm::undef) continue;
        if (!p.constant.empty()) {
            operands[k] = add_constant(p.constant);
            continue;
        }
        auto v = value_of(p.operand);
        if (!dnnl_value(v) || m_parts.values[v].shape.size() != rank)
            LOOM_THROW(ErrorKind::UNSUPPORTED, "operand of another rank");
        operands[k] = p.per_channel ? plain(v) : v;
    }
    return operands;
}

void GraphBuilder::emit_chain(const model::Node& anchor, std::vector<Arg> args,
                              const std::vector<PostOp>& whole, const Maker& make,
                              const std::function<void(dnnl::post_ops&)>& own_ops, bool fold,
                              memory::data_type type) {
    const auto& last = whole.empty() ? anchor : *whole.back().node;
    const auto out = last.outputs[0].shape.to_shape();
    // Leading constant arithmetic goes into the weights; the rest becomes post-ops.
    Affine affine;
    const std::size_t folded = fold ? leading_affine(whole, out[1], affine) : 0;
    const std::vector<PostOp> chain(whole.begin() + static_cast<std::ptrdiff_t>(folded),
                                    whole.end());
    auto operands = chain_operands(chain, out.size());
    // The output keeps the source's precision unless told (bf16 after a bf16 convolution).
    if (type == memory::data_type::undef)
        type =
            args.empty() ? memory::data_type::f32 : m_parts.values[args[0].value].desc.data_type();
    memory::desc dst(dims_of(out), type, memory::format_tag::any);
    Made made;
    std::vector<Arg> post_args;
    for (int attempt = 0; attempt < 2; ++attempt) {
        dnnl::post_ops own;
        if (own_ops) own_ops(own);
        std::vector<memory::desc> descs;
        for (auto v : operands)
            descs.push_back(v != k_no_value ? m_parts.values[v].desc : memory::desc());
        const auto built = build_post_ops(own, chain, descs);
        const auto& ops = built.ops;
        post_args.clear();
        for (std::size_t k = 0; k < chain.size(); ++k)
            if (built.index[k] >= 0)
                post_args.push_back(
                    {DNNL_ARG_ATTR_MULTIPLE_POST_OP(built.index[k]) | DNNL_ARG_SRC_1, operands[k]});
        made = make(ops, dst, folded > 0 ? &affine : nullptr);
        // Post-ops only on the jit (and gemm) implementations: oneDNN 2.6's reference
        // eltwise with post-ops writes nothing, and its "simple" resampling adds a binary
        // operand in a blocked layout at the wrong offsets (measured: PP-OCRv4 det's FPN).
        if (ops.len() > 0 && !optimised(made.pd.impl_info_str()))
            LOOM_THROW(ErrorKind::UNSUPPORTED, "post-ops on a reference implementation");
        // A residual (full-shape runtime operand) that makes oneDNN pick another kernel for
        // the convolution than it would without one runs as a primitive of its own instead: on
        // AVX-512 oneDNN 2.6's brgemm kernels refuse it, leaving the plain-layout gemm (PP-OCR
        // cls f32: 64 % of its time in seven such 1×1 convolutions) or, in bf16, the jit_1x1
        // AMX kernel (8× the brgemm one's time there).
        if (residual(chain, operands) && anchor.type.find("Convolution") != std::string::npos &&
            anchor.type.find("Backprop") == std::string::npos) {
            const auto alone = make(own, dst, folded > 0 ? &affine : nullptr);
            if (std::string_view(alone.pd.impl_info_str()) != made.pd.impl_info_str())
                LOOM_THROW(ErrorKind::UNSUPPORTED, "a residual post-op changes the kernel");
        }
        // A full-shape runtime operand must be in the layout oneDNN chose for dst.
        bool moved = false;
        for (std::size_t k = 0; k < chain.size(); ++k)
            if (operands[k] != k_no_value && !chain[k].per_channel && chain[k].constant.empty() &&
                m_parts.values[operands[k]].desc != made.pd.dst_desc()) {
                operands[k] = in_layout(operands[k], made.pd.dst_desc());
                moved = true;
            }
        if (!moved) break;
        dst = made.pd.dst_desc();
        LOOM_REQUIRE(attempt == 0, "the fused operands' layouts do not settle");
    }
    for (auto& a : args)
        a.value = in_layout(a.value, made.pd.query_md(dnnl::query::exec_arg_md, a.id));
    const auto y = add_arena(model::ElementType::F32, out, made.pd.dst_desc());
    args.push_back({DNNL_ARG_DST, y});
    args.insert(args.end(), post_args.begin(), post_args.end());
    std::vector<const model::Node*> fused;
    for (const auto& p : whole)
        fused.push_back(p.node);
    emit(anchor, made, std::move(args), fused);
    m_of[{&last, 0}] = y;
    m_names[y] = last.name;
    for (const auto* n : fused)
        m_done.insert(n);
}

void GraphBuilder::emit(const model::Node& node, const Made& made, std::vector<Arg> args,
                        std::vector<const model::Node*> fused) {
    Step step;
    step.primitive = dnnl::primitive(made.pd.get());
    step.args = std::move(args);
    step.fixed = made.fixed;
    const auto scratch = made.pd.scratchpad_desc().get_size();
    step.scratchpad = scratch > 0;
    m_parts.scratchpad_bytes = std::max(m_parts.scratchpad_bytes, scratch);
    step.name = node.name;
    step.type = node.type;
    step.exec_type = exec_type_name(made.pd.impl_info_str(), made.pd.src_desc().data_type());
    m_parts.exec_types[&node] = step.exec_type;
    for (const auto* n : fused)
        m_parts.exec_types[n] = step.exec_type;
    step.fused = std::move(fused);
    m_parts.steps.push_back(std::move(step));
}

void GraphBuilder::emit_node(const model::Node& node) {
    Step step;
    step.node = &node;
    step.prepared = m_prepare ? m_prepare(node, m_registry) : nullptr;
    if (!step.prepared) step.kernel = m_kernels.find(node, m_registry);
    if (!step.prepared && !step.kernel)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "no kernel for '{}' ({}:{})", node.name, node.type,
                   node.version);
    for (const auto& in : node.inputs) {
        auto v = value_of(in);
        if (dnnl_value(v)) v = plain(v);
        step.inputs.push_back(v);
    }
    for (std::uint32_t o = 0; o < node.outputs.size(); ++o) {
        const auto& info = node.outputs[o];
        const auto shape = info.shape.to_shape();
        const auto id = add_arena(info.type, shape, plain_desc(info.type, shape));
        step.outputs.push_back(id);
        m_of[{&node, o}] = id;
        m_names[id] = node.name;
    }
    step.name = node.name;
    step.type = node.type;
    step.exec_type = step.prepared ? step.prepared->exec_type() : step.kernel->name;
    m_parts.exec_types[&node] = step.exec_type;
    m_parts.steps.push_back(std::move(step));
}

// A concat whose inputs are each read by it alone, and lie in its output as they are (the same
// layout, at an offset: outer dims of one, channel counts whole blocks), is no step at all: its
// inputs are written into the output's bytes by their producers (DESIGN: in-place concat).
void GraphBuilder::concat_in_place() {
    std::vector<std::size_t> reads(m_parts.values.size(), 0);
    for (const auto& step : m_parts.steps) {
        for (const auto& a : step.args)
            reads[a.value] += a.id == DNNL_ARG_DST ? 0 : 1;
        for (auto v : step.inputs)
            ++reads[v];
    }
    for (auto v : m_parts.results)
        reads[v] += 2;
    std::vector<std::size_t> dropped;
    for (const auto s : m_concats) {
        const auto& step = m_parts.steps[s];
        const auto out = std::find_if(step.args.begin(), step.args.end(), [](const Arg& a) {
                             return a.id == DNNL_ARG_DST;
                         })->value;
        const auto& out_desc = m_parts.values[out].desc;
        std::vector<std::pair<ValueId, std::size_t>> placed;
        memory::dims offsets(out_desc.dims().size(), 0);
        for (const auto& a : step.args) {
            if (a.id == DNNL_ARG_DST) continue;
            const auto& v = m_parts.values[a.value];
            auto sub = out_desc.submemory_desc(v.desc.dims(), offsets, true);
            offsets[static_cast<std::size_t>(m_concat_axis.at(s))] +=
                v.desc.dims()[static_cast<std::size_t>(m_concat_axis.at(s))];
            if (sub.is_zero() || reads[a.value] != 1 || m_root[a.value] != a.value ||
                v.home != Home::Arena)
                break;
            const auto offset = static_cast<std::size_t>(sub.data.offset0) *
                                memory::data_type_size(out_desc.data_type());
            sub.data.offset0 = 0;
            if (!(sub == v.desc)) break;
            placed.emplace_back(a.value, offset);
        }
        if (placed.size() + 1 != step.args.size()) continue;
        for (const auto& [v, offset] : placed)
            for (std::size_t w = 0; w < m_root.size(); ++w)
                if (m_root[w] == v) {
                    m_root[w] = out;
                    m_delta[w] += offset;
                }
        m_parts.exec_types[m_concat_node.at(s)] = "in place";
        dropped.push_back(s);
    }
    for (auto it = dropped.rbegin(); it != dropped.rend(); ++it)
        m_parts.steps.erase(m_parts.steps.begin() + static_cast<std::ptrdiff_t>(*it));
}

void GraphBuilder::finish() {
    concat_in_place();
    auto& values = m_parts.values;
    std::vector<Lifetime> life(values.size(), {0, k_none, 0});
    const auto touch = [&](ValueId v, std::size_t s) {
        auto& l = life[m_root[v]];
        l.first = l.first == k_none ? s : std::min(l.first, s);
        l.last = std::max(l.last, s);
    };
    for (std::size_t s = 0; s < m_parts.steps.size(); ++s) {
        const auto& step = m_parts.steps[s];
        for (const auto& a : step.args)
            touch(a.value, s);
        for (auto v : step.inputs)
            touch(v, s);
        for (auto v : step.outputs)
            touch(v, s);
    }
    for (auto v : m_parts.results)
        touch(v, m_parts.steps.size());
    for (std::size_t v = 0; v < values.size(); ++v) {
        auto& l = life[v];
        if (m_root[v] == v && values[v].home == Home::Arena && l.first != k_none)
            l.bytes = values[v].bytes;
        else
            l = {0, 0, 0};
    }
    const auto plan = plan_memory(life);
    m_parts.arena_bytes = plan.total;
    for (std::size_t v = 0; v < values.size(); ++v)
        if (values[v].home == Home::Arena) values[v].index = plan.offsets[m_root[v]] + m_delta[v];
}

bool graph_applies(const model::Model& model, const model::OpRegistry& registry,
                   bool static_shapes) {
    for (const auto* n : model.nodes()) {
        if (!n->bodies.empty() || n->type == "ReadValue" || n->type == "Assign") return false;
        if (const auto* spec = registry.find(n->type, n->version); spec && !spec->origin.empty())
            return false;
        for (const auto& o : n->outputs)
            if ((static_shapes && !o.shape.is_static()) || element_size(o.type) == 0) return false;
    }
    return !model.sinks().size();
}

std::shared_ptr<const CpuGraph> compile_graph(const model::Model& model,
                                              const model::OpRegistry& registry,
                                              const loom::reference::KernelTable& kernels,
                                              const loom::reference::NodePreparer& prepare,
                                              const dnnl::engine& engine, bool bf16) {
    if (!graph_applies(model, registry)) return nullptr;
    try {
        return std::make_shared<const CpuGraph>(
            GraphBuilder(model, registry, kernels, prepare, engine, bf16).build());
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::UNSUPPORTED) return nullptr; // the Plan names what is missing
        throw;
    } catch (const dnnl::error&) {
        return nullptr; // a primitive oneDNN would not make after all: the Plan runs the model
    }
}

} // namespace loom::plugins::cpu
