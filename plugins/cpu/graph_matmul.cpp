// MatMul and FusedMatMul in the CPU graph (graph_builder.hpp): one oneDNN matmul whose constant
// B is packed once (bf16 in a bf16 graph: AMX's brgemm), its bias and activation and the chain
// after it (residual adds, scalar arithmetic) as post-ops, its output in the arena like every
// other step's. The prepared-node matmul (dnnl_matmul) remains for graphs the compiler does not
// make.

#include <cstring>

#include "plugins/cpu/dnnl_matmul.hpp"
#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/graph_builder.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

bool GraphBuilder::emit_matmul(const model::Node& node) {
    if (!dnnl_matmul_applies(node)) return false;
    const auto a = value_of(node.inputs[0]);
    const auto* b_const = constant_input(node, 1);
    const auto b = b_const ? k_no_value : value_of(node.inputs[1]);
    if (!dnnl_value(a) || (b != k_no_value && !dnnl_value(b))) return false;
    const auto out = node.outputs[0].shape.to_shape();
    const std::size_t rank = out.size();
    const auto a_shape = m_parts.values[a].shape;
    const auto b_shape = input_info(node, 1).shape.to_shape();
    if (a_shape.size() > rank || b_shape.size() > rank) return false;
    const auto type = m_bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    const bool transpose_a = node.attrs.get_or<bool>("transpose_a", false);
    const bool transpose_b = node.attrs.get_or<bool>("transpose_b", false);
    // A constant 2-D B applied to every row of a batched A with nothing fused after it: one 2-D
    // matmul of all the rows (oneDNN 2.6 splits a batch of one poorly: rec's 40×120 · 120×6625
    // took 118 µs as [1, 40, 120], 66 as [40, 120] in bf16).
    const bool rows = b_const && b_shape.size() == 2 && rank > 2 && !transpose_a &&
                      a_shape.size() == rank && fusible_chain(m_model, node).empty();
    model::Shape a_seen = a_shape, out_seen = out;
    if (rows) {
        std::int64_t m = 1;
        for (std::size_t i = 0; i + 1 < rank; ++i)
            m *= out[i];
        a_seen = {m, a_shape.back()};
        out_seen = {m, out.back()};
    }
    const std::size_t mm_rank = out_seen.size();
    // A (and a runtime B) as the bytes of their plain values seen at the matmul's rank, the last
    // two axes swapped when transposed; the matmul reads them in `type` (a reorder if bf16).
    const auto operand = [&](ValueId v, const model::Shape& shape, bool transposed) {
        return view_of(plain(v), shape, dense_desc(shape, mm_rank, transposed));
    };
    std::vector<Arg> args{{DNNL_ARG_SRC, operand(a, a_seen, transpose_a)}};
    if (b != k_no_value) args.push_back({DNNL_ARG_WEIGHTS, operand(b, b_shape, transpose_b)});
    const auto src_md = retyped(m_parts.values[args[0].value].desc, type);
    const auto b_user = dense_desc(b_shape, mm_rank, transpose_b);
    const auto b_md = b_const ? memory::desc(b_user.dims(), type, memory::format_tag::any)
                              : retyped(m_parts.values[args[1].value].desc, type);
    const auto* bias_node = node.type == "FusedMatMul" ? constant_input(node, 2) : nullptr;
    const auto bias_md = bias_node ? dense_desc({out.back()}, mm_rank) : memory::desc();
    const auto& engine = m_parts.engine;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst, const Affine*) {
        const auto d = bias_node ? dnnl::matmul::desc(src_md, b_md, bias_md, dst)
                                 : dnnl::matmul::desc(src_md, b_md, dst);
        dnnl::matmul::primitive_desc pd(d, user_scratchpad(ops), engine);
        Made made{pd, {}};
        if (b_const) { // packed once, in the primitive's layout and precision
            dnnl::stream stream(engine);
            const auto b_values = without_denormals(b_const->value);
            memory user(b_user, engine, const_cast<std::byte*>(b_values.data<std::byte>()));
            memory packed(pd.weights_desc(), engine);
            dnnl::reorder(user, packed).execute(stream, user, packed);
            stream.wait();
            made.fixed.emplace_back(DNNL_ARG_WEIGHTS, packed);
        }
        if (bias_node) {
            memory bias(bias_md, engine);
            const auto bias_values = without_denormals(bias_node->value);
            std::memcpy(bias.get_data_handle(), bias_values.data<std::byte>(),
                        bias_values.byte_size());
            made.fixed.emplace_back(DNNL_ARG_BIAS, bias);
        }
        return made;
    };
    const auto activation = [&](dnnl::post_ops& ops) { append_activation(node, ops); };
    if (!rows) return emit_fused(node, std::move(args), make, activation, false, type);
    return emit_matmul_rows(node, std::move(args), make, activation, out_seen, type);
}

// The 2-D matmul of all rows, its output seen with the node's shape.
bool GraphBuilder::emit_matmul_rows(const model::Node& node, std::vector<Arg> args,
                                    const Maker& make,
                                    const std::function<void(dnnl::post_ops&)>& own_ops,
                                    const model::Shape& rows, memory::data_type type) {
    Made made;
    try {
        dnnl::post_ops ops;
        own_ops(ops);
        made = make(ops, memory::desc(dims_of(rows), type, memory::format_tag::any), nullptr);
    } catch (const dnnl::error&) {
        return false;
    }
    if (made.pd.dst_desc() != memory::desc(dims_of(rows), type, memory::format_tag::ab))
        return false; // not rows one after another: no view of the node's shape
    for (auto& a : args)
        a.value = in_layout(a.value, made.pd.query_md(dnnl::query::exec_arg_md, a.id));
    const auto y = add_arena(model::ElementType::F32, rows, made.pd.dst_desc());
    args.push_back({DNNL_ARG_DST, y});
    emit(node, made, std::move(args), {});
    const auto out = node.outputs[0].shape.to_shape();
    const auto seen = view_of(y, out, retyped(plain_desc(model::ElementType::F32, out), type));
    m_of[{&node, 0}] = seen;
    m_names[seen] = node.name;
    return true;
}

// Slice (opset8) with constant starts, unit steps and constant axes: a reorder from the part of
// its input the output covers (a sub-memory view) into a plain value — rec's split of the
// attention's query, key and value.
bool GraphBuilder::emit_slice(const model::Node& node) {
    if (node.type != "Slice" || node.version != "opset8" || node.inputs.size() < 4 ||
        node.outputs.size() != 1)
        return false;
    for (std::size_t i = 1; i < node.inputs.size(); ++i)
        if (!constant_input(node, i)) return false;
    auto src = f32_source(node);
    if (src == k_no_value) return false;
    const auto& y = node.outputs[0];
    const auto in = m_parts.values[src].shape;
    const auto out = y.shape.to_shape();
    if (out.size() != in.size()) return false;
    const auto starts = constant_input(node, 1)->value.to_i64();
    const auto steps = constant_input(node, 3)->value.to_i64();
    std::vector<std::int64_t> axes;
    if (node.inputs.size() > 4) {
        axes = constant_input(node, 4)->value.to_i64();
    } else {
        for (std::size_t i = 0; i < starts.size(); ++i)
            axes.push_back(static_cast<std::int64_t>(i));
    }
    if (axes.size() != starts.size() || steps.size() != starts.size()) return false;
    const auto rank = static_cast<std::int64_t>(in.size());
    memory::dims offsets(in.size(), 0);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        auto axis = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (axis < 0 || axis >= rank || steps[i] != 1) return false;
        const auto dim = in[static_cast<std::size_t>(axis)];
        auto start = starts[i] < 0 ? starts[i] + dim : starts[i];
        offsets[static_cast<std::size_t>(axis)] = std::clamp<std::int64_t>(start, 0, dim);
    }
    for (std::size_t i = 0; i < in.size(); ++i)
        if (out[i] < 0 || offsets[i] + out[i] > in[i] || (offsets[i] != 0 && out[i] == 0))
            return false;
    for (auto d : out)
        if (d == 0) return false;
    src = plain(src);
    const auto part = m_parts.values[src].desc.submemory_desc(dims_of(out), offsets);
    const auto view = view_of(src, out, part);
    const auto dst =
        add_arena(model::ElementType::F32, out, plain_desc(model::ElementType::F32, out));
    m_parts.exec_types[&node] = emit_reorder(node.name, node.type, view, dst);
    m_of[{&node, 0}] = dst;
    m_names[dst] = node.name;
    return true;
}

} // namespace loom::plugins::cpu
