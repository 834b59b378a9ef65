#include "plugins/cpu/graph_compiler.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <string_view>
#include <unordered_set>

#include "plugins/cpu/dnnl_conv.hpp"
#include "plugins/cpu/dnnl_eltwise.hpp"
#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/memory_plan.hpp"
#include "plugins/cpu/post_ops.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

namespace {

using dnnl::memory;
using ValueId = CpuGraph::ValueId;
using Value = CpuGraph::Value;
using Home = Value::Home;
using Arg = CpuGraph::Arg;
using Step = CpuGraph::Step;

constexpr std::size_t k_none = static_cast<std::size_t>(-1);
constexpr ValueId k_no_value = static_cast<ValueId>(-1);

// The dense (plain) layout of an f32 value oneDNN can describe; empty otherwise.
memory::desc plain_desc(model::ElementType type, const model::Shape& shape) {
    if (type != model::ElementType::F32 || shape.empty() || shape.size() > 6) return {};
    for (auto d : shape)
        if (d <= 0) return {};
    return dense_desc(shape, shape.size());
}

// What a primitive maker returns: the primitive's descriptor and the memories it owns (packed
// weights, bias).
struct Made {
    dnnl::primitive_desc pd;
    std::vector<std::pair<int, memory>> fixed;
};
// Makes the primitive with post-ops `ops` writing `dst` (format_tag::any: its choice), with
// `affine` folded into its weights (convolutions; null for the others).
using Maker = std::function<Made(const dnnl::post_ops& ops, const memory::desc& dst,
                                 const Affine* affine)>;

class Builder {
public:
    Builder(const model::Model& model, const model::OpRegistry& registry,
            const loom::reference::KernelTable& kernels,
            const loom::reference::NodePreparer& prepare, const dnnl::engine& engine)
        : m_model(model)
        , m_registry(registry)
        , m_kernels(kernels)
        , m_prepare(prepare) {
        m_parts.engine = engine;
    }

    CpuGraph::Parts build() {
        for (const auto* p : m_model.parameters()) {
            const auto& o = p->outputs[0];
            const auto shape = o.shape.to_shape();
            const auto id = add({o.type, shape, plain_desc(o.type, shape), Home::Parameter,
                                 m_parts.parameters.size(), bytes_of(o.type, shape)});
            m_parts.parameters.push_back(id);
            m_of[{p, 0}] = id;
        }
        for (const auto* node : m_model.topological_order()) {
            if (m_done.contains(node) || node->type == "Parameter" || node->type == "Result")
                continue;
            if (node->type == "Constant") {
                m_of[{node, 0}] = add_constant(node->value);
                continue;
            }
            if (!(emit_conv(*node) || emit_unary(*node) || emit_binary(*node) ||
                  emit_reduce(*node) || emit_view(*node)))
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

private:
    static std::size_t bytes_of(model::ElementType type, const model::Shape& shape) {
        std::size_t n = element_size(type);
        for (auto d : shape)
            n *= static_cast<std::size_t>(d);
        return n;
    }

    ValueId add(Value v) {
        m_parts.values.push_back(std::move(v));
        m_root.push_back(static_cast<ValueId>(m_parts.values.size() - 1));
        return m_root.back();
    }
    ValueId add_arena(model::ElementType type, const model::Shape& shape, memory::desc desc) {
        // A blocked layout pads its channels to the block (4 channels in aBcd8b take 8).
        const auto bytes = std::max(bytes_of(type, shape), desc.is_zero() ? 0 : desc.get_size());
        return add({type, shape, std::move(desc), Home::Arena, 0, bytes});
    }
    ValueId add_constant(const model::Tensor& t) {
        m_parts.constants.push_back(t);
        return add({t.element_type(), t.shape(), plain_desc(t.element_type(), t.shape()),
                    Home::Constant, m_parts.constants.size() - 1, t.byte_size()});
    }
    ValueId value_of(const model::Output& o) const {
        auto it = m_of.find({o.node, o.index});
        LOOM_ASSERT(it != m_of.end(), "value '{}':{} is used before it is made",
                    o.node ? o.node->name : "?", o.index);
        return it->second;
    }
    bool dnnl_value(ValueId v) const {
        const auto& value = m_parts.values[v];
        return value.type == model::ElementType::F32 && !value.desc.is_zero();
    }

    // `v` in layout `desc`: itself, or a reordered copy (made once per layout).
    ValueId in_layout(ValueId v, const memory::desc& desc) {
        if (m_parts.values[v].desc == desc) return v;
        auto& known = m_layouts[v];
        for (const auto& [d, copy] : known)
            if (d == desc) return copy;
        const auto source = m_parts.values[v]; // copied: add() grows the vector
        const auto copy = add_arena(source.type, source.shape, desc);
        dnnl::reorder::primitive_desc pd(m_parts.engine, source.desc, m_parts.engine, desc);
        Step step;
        step.primitive = dnnl::reorder(pd);
        step.args = {{DNNL_ARG_FROM, v}, {DNNL_ARG_TO, copy}};
        step.name = m_names.count(v) ? m_names[v] + "/reorder" : "reorder";
        step.type = "Reorder";
        step.exec_type = exec_type_name(pd.impl_info_str());
        m_parts.steps.push_back(std::move(step));
        known.emplace_back(desc, copy);
        return copy;
    }
    ValueId plain(ValueId v) {
        const auto& value = m_parts.values[v];
        return in_layout(v, plain_desc(value.type, value.shape));
    }

    // The anchor's primitive with the fusible chain after it folded in (as much of it as oneDNN
    // takes: on refusal the chain is shortened, down to none).
    bool emit_fused(const model::Node& anchor, std::vector<Arg> inputs, const Maker& make,
                    const std::function<void(dnnl::post_ops&)>& own_ops, bool fold = false) {
        auto chain = fusible_chain(m_model, anchor);
        for (std::size_t i = 0; i < chain.size(); ++i)
            if (chain[i].operand.node && !m_of.contains({chain[i].operand.node,
                                                         chain[i].operand.index})) {
                chain.resize(i); // its operand is made later: fuse up to it
                break;
            }
        for (;;) {
            try {
                emit_chain(anchor, inputs, chain, make, own_ops, fold);
                return true;
            } catch (const dnnl::error&) {
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::UNSUPPORTED) throw;
            }
            if (chain.empty()) return false;
            chain.pop_back();
        }
    }

    void emit_chain(const model::Node& anchor, std::vector<Arg> args,
                    const std::vector<PostOp>& whole, const Maker& make,
                    const std::function<void(dnnl::post_ops&)>& own_ops, bool fold) {
        const auto& last = whole.empty() ? anchor : *whole.back().node;
        const auto out = last.outputs[0].shape.to_shape();
        // Leading constant arithmetic goes into the weights; the rest becomes post-ops.
        Affine affine;
        const std::size_t folded = fold ? leading_affine(whole, out[1], affine) : 0;
        const std::vector<PostOp> chain(whole.begin() + static_cast<std::ptrdiff_t>(folded),
                                        whole.end());
        std::vector<ValueId> operands(chain.size(), k_no_value);
        for (std::size_t k = 0; k < chain.size(); ++k) {
            const auto& p = chain[k];
            if (p.binary == dnnl::algorithm::undef) continue;
            if (!p.constant.empty()) {
                operands[k] = add_constant(p.constant);
                continue;
            }
            auto v = value_of(p.operand);
            if (!dnnl_value(v) || m_parts.values[v].shape.size() != out.size())
                LOOM_THROW(ErrorKind::UNSUPPORTED, "operand of another rank");
            operands[k] = p.per_channel ? plain(v) : v;
        }
        memory::desc dst(dims_of(out), memory::data_type::f32, memory::format_tag::any);
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
                        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(built.index[k]) | DNNL_ARG_SRC_1,
                         operands[k]});
            made = make(ops, dst, folded > 0 ? &affine : nullptr);
            // oneDNN 2.6's reference eltwise with post-ops writes nothing (its dst keeps what it
            // had): post-ops only on the optimised implementations.
            if (ops.len() > 0 && std::string_view(made.pd.impl_info_str()).starts_with("ref"))
                LOOM_THROW(ErrorKind::UNSUPPORTED, "post-ops on a reference implementation");
            // A full-shape runtime operand must be in the layout oneDNN chose for dst.
            bool moved = false;
            for (std::size_t k = 0; k < chain.size(); ++k)
                if (operands[k] != k_no_value && !chain[k].per_channel &&
                    chain[k].constant.empty() &&
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

    void emit(const model::Node& node, const Made& made, std::vector<Arg> args,
              std::vector<const model::Node*> fused) {
        Step step;
        step.primitive = dnnl::primitive(made.pd);
        step.args = std::move(args);
        step.fixed = made.fixed;
        const auto scratch = made.pd.scratchpad_desc().get_size();
        step.scratchpad = scratch > 0;
        m_parts.scratchpad_bytes = std::max(m_parts.scratchpad_bytes, scratch);
        step.name = node.name;
        step.type = node.type;
        step.exec_type = exec_type_name(made.pd.impl_info_str());
        m_parts.exec_types[&node] = step.exec_type;
        for (const auto* n : fused)
            m_parts.exec_types[n] = step.exec_type;
        step.fused = std::move(fused);
        m_parts.steps.push_back(std::move(step));
    }

    static dnnl::primitive_attr user_scratchpad(const dnnl::post_ops& ops) {
        dnnl::primitive_attr attr;
        attr.set_post_ops(ops);
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user); // see dnnl_conv.cpp
        return attr;
    }

    bool emit_conv(const model::Node& node) {
        if (!dnnl_conv_applies(node)) return false;
        const auto src = value_of(node.inputs[0]);
        if (!dnnl_value(src)) return false;
        const auto& engine = m_parts.engine;
        const memory::desc any(dims_of(m_parts.values[src].shape), memory::data_type::f32,
                               memory::format_tag::any);
        const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst,
                               const Affine* affine) {
            auto setup = make_conv(engine, node, any, dst, ops, affine);
            Made made{setup.pd, {{DNNL_ARG_WEIGHTS, setup.weights}}};
            if (setup.bias) made.fixed.emplace_back(DNNL_ARG_BIAS, setup.bias);
            return made;
        };
        const bool activation = node.attrs.get_or<std::string>("activation", "none") != "none";
        return emit_fused(
            node, {{DNNL_ARG_SRC, src}}, make,
            [&](dnnl::post_ops& ops) { append_activation(node, ops); }, !activation);
    }

    bool emit_unary(const model::Node& node) {
        if (!dnnl_unary_applies(node)) return false;
        const auto src = value_of(node.inputs[0]);
        if (!dnnl_value(src)) return false;
        const auto op = *dnnl_unary_op(node);
        const auto desc = m_parts.values[src].desc;
        const Maker make = [&](const dnnl::post_ops& ops, const memory::desc&, const Affine*) {
            dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, op.algorithm, desc,
                                          op.alpha, op.beta);
            return Made{dnnl::eltwise_forward::primitive_desc(d, user_scratchpad(ops),
                                                              m_parts.engine),
                        {}};
        };
        return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, [&](dnnl::post_ops& ops) {
            if (op.clip_01) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
        });
    }

    bool emit_binary(const model::Node& node) {
        if (!dnnl_binary_applies(node)) return false;
        auto a = value_of(node.inputs[0]), b = value_of(node.inputs[1]);
        if (!dnnl_value(a) || !dnnl_value(b)) return false;
        const auto out = node.outputs[0].shape.to_shape();
        if (m_parts.values[a].shape != out) std::swap(a, b); // commutative (binary_applies)
        if (m_parts.values[a].shape != out || m_parts.values[b].shape.size() != out.size())
            return false;
        const auto desc0 = m_parts.values[a].desc;
        if (m_parts.values[b].shape == out) {
            b = in_layout(b, desc0);
        } else if (const auto tag = tag_of(desc0)) {
            // Broadcast in src0's own layout: oneDNN's jit binary takes a blocked src0 only
            // with a src1 of the same format (else its reference implementation runs).
            b = in_layout(b, memory::desc(dims_of(m_parts.values[b].shape),
                                          memory::data_type::f32, *tag));
        } else {
            b = plain(b);
        }
        const auto desc1 = m_parts.values[b].desc;
        const auto algorithm = binary_algorithm(node.type);
        const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst,
                               const Affine*) {
            dnnl::binary::desc d(algorithm, desc0, desc1, dst);
            return Made{dnnl::binary::primitive_desc(d, user_scratchpad(ops), m_parts.engine),
                        {}};
        };
        return emit_fused(node, {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}}, make, {});
    }

    // ReduceMean/Max/Min/Sum/Prod with constant axes and keep_dims (SE blocks' global pooling):
    // over all spatial axes, Mean and Max are a global pooling (jit in any layout); otherwise a
    // oneDNN reduction of a plain value.
    bool emit_reduce(const model::Node& node) {
        using Alg = dnnl::algorithm;
        const std::pair<const char*, Alg> table[] = {
            {"ReduceMean", Alg::reduction_mean}, {"ReduceMax", Alg::reduction_max},
            {"ReduceMin", Alg::reduction_min},   {"ReduceSum", Alg::reduction_sum},
            {"ReduceProd", Alg::reduction_mul}};
        Alg algorithm = Alg::undef;
        for (const auto& [type, a] : table)
            if (node.type == type) algorithm = a;
        if (algorithm == Alg::undef || node.inputs.size() != 2 || !constant_input(node, 1) ||
            !node.attrs.get_or<bool>("keep_dims", false) || node.outputs.size() != 1)
            return false;
        auto src = value_of(node.inputs[0]);
        const auto& y = node.outputs[0];
        if (!dnnl_value(src) || y.type != model::ElementType::F32 || !y.shape.is_static())
            return false;
        const auto in = m_parts.values[src].shape;
        const auto out = y.shape.to_shape();
        if (out.size() != in.size()) return false;
        const bool spatial_only = in.size() >= 3 && out[0] == in[0] && out[1] == in[1] &&
                                  std::all_of(out.begin() + 2, out.end(),
                                              [](auto d) { return d == 1; });
        if (spatial_only && (algorithm == Alg::reduction_mean || algorithm == Alg::reduction_max))
            return emit_global_pool(node, src, algorithm == Alg::reduction_mean);
        src = plain(src);
        const auto desc = m_parts.values[src].desc;
        const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst,
                               const Affine*) {
            dnnl::reduction::desc d(algorithm, desc, dst, 0.0f, 0.0f);
            return Made{dnnl::reduction::primitive_desc(d, user_scratchpad(ops), m_parts.engine),
                        {}};
        };
        return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {});
    }

    bool emit_global_pool(const model::Node& node, ValueId src, bool mean) {
        const auto in = m_parts.values[src].shape;
        const auto desc = m_parts.values[src].desc;
        const memory::dims kernel(in.begin() + 2, in.end());
        const memory::dims ones(kernel.size(), 1), zeros(kernel.size(), 0);
        const auto algorithm =
            mean ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_max;
        const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst,
                               const Affine*) {
            dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, algorithm, desc, dst,
                                          ones, kernel, zeros, zeros);
            return Made{dnnl::pooling_forward::primitive_desc(d, user_scratchpad(ops),
                                                              m_parts.engine),
                        {}};
        };
        return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {});
    }

    static dnnl::algorithm binary_algorithm(const std::string& type) {
        using Alg = dnnl::algorithm;
        if (type == "Add") return Alg::binary_add;
        if (type == "Subtract") return Alg::binary_sub;
        if (type == "Multiply") return Alg::binary_mul;
        if (type == "Divide") return Alg::binary_div;
        if (type == "Maximum") return Alg::binary_max;
        return Alg::binary_min;
    }

    // Reshape/Squeeze/Unsqueeze of a plain value: the same bytes seen with another shape.
    bool emit_view(const model::Node& node) {
        if (node.type != "Reshape" && node.type != "Squeeze" && node.type != "Unsqueeze")
            return false;
        if (node.inputs.empty() || node.outputs.size() != 1) return false;
        auto v = value_of(node.inputs[0]);
        if (dnnl_value(v)) v = plain(v);
        auto view = m_parts.values[v]; // copied: add() grows the vector
        const auto& y = node.outputs[0];
        const auto shape = y.shape.to_shape();
        if (y.type != view.type || bytes_of(y.type, shape) != view.bytes) return false;
        view.shape = shape;
        view.desc = plain_desc(view.type, shape);
        const auto id = add(view);
        m_root[id] = m_root[v];
        m_of[{&node, 0}] = id;
        m_names[id] = node.name;
        m_parts.exec_types[&node] = "view";
        return true;
    }

    void emit_node(const model::Node& node) {
        Step step;
        step.node = &node;
        step.prepared = m_prepare ? m_prepare(node) : nullptr;
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

    // Lifetimes by step, then offsets: a value lives from the step that writes it to the last
    // that reads it (results: to the end); views live as long as their root.
    void finish() {
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
            if (values[v].home == Home::Arena) values[v].index = plan.offsets[m_root[v]];
    }

    const model::Model& m_model;
    const model::OpRegistry& m_registry;
    const loom::reference::KernelTable& m_kernels;
    const loom::reference::NodePreparer& m_prepare;
    CpuGraph::Parts m_parts;
    std::vector<ValueId> m_root; // per value: the value whose bytes it uses
    std::map<std::pair<const model::Node*, std::uint32_t>, ValueId> m_of;
    std::map<ValueId, std::vector<std::pair<memory::desc, ValueId>>> m_layouts;
    std::map<ValueId, std::string> m_names;
    std::unordered_set<const model::Node*> m_done; // fused into an earlier step
};

} // namespace

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
                                              const dnnl::engine& engine) {
    if (!graph_applies(model, registry)) return nullptr;
    try {
        return std::make_shared<const CpuGraph>(
            Builder(model, registry, kernels, prepare, engine).build());
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::UNSUPPORTED) return nullptr; // the Plan names what is missing
        throw;
    }
}

} // namespace loom::plugins::cpu
