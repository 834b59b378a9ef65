// The primitive of each op oneDNN has, for the CPU graph (graph_builder.hpp): convolutions and
// deconvolutions (layouts left to oneDNN, chains folded in), elementwise ops and reductions in
// their input's layout, pooling, resampling, concatenation, batch normalisation, views.

#include <algorithm>

#include "plugins/cpu/dnnl_conv.hpp"
#include "plugins/cpu/dnnl_deconv.hpp"
#include "plugins/cpu/dnnl_eltwise.hpp"
#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/graph_builder.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::cpu {

dnnl::primitive_attr GraphBuilder::user_scratchpad(const dnnl::post_ops& ops) {
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user); // see dnnl_conv.cpp
    return attr;
}

bool GraphBuilder::emit_conv(const model::Node& node) {
    if (!dnnl_conv_applies(node)) return false;
    if (emit_depthwise(node)) return true;
    const auto src = value_of(node.inputs[0]);
    if (!dnnl_value(src)) return false;
    const auto& engine = m_parts.engine;
    const auto type = m_bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    const memory::desc any(dims_of(m_parts.values[src].shape), type, memory::format_tag::any);
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
        [&](dnnl::post_ops& ops) { append_activation(node, ops); }, !activation, type);
}

ValueId GraphBuilder::plain_keeping_type(ValueId v) {
    const auto& value = m_parts.values[v];
    if (value.type != model::ElementType::F32) return v;
    return in_layout(v, retyped(plain_desc(value.type, value.shape), value.desc.data_type()));
}

bool GraphBuilder::emit_unary(const model::Node& node) {
    if (!dnnl_unary_applies(node)) return false;
    const auto src = value_of(node.inputs[0]);
    if (!dnnl_value(src)) return false;
    const auto op = *dnnl_unary_op(node);
    const auto desc = m_parts.values[src].desc;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc&, const Affine*) {
        dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, op.algorithm, desc,
                                      op.alpha, op.beta);
        return Made{dnnl::eltwise_forward::primitive_desc(d, user_scratchpad(ops), m_parts.engine),
                    {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, [&](dnnl::post_ops& ops) {
        if (op.clip_01) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
    });
}

bool GraphBuilder::emit_binary(const model::Node& node) {
    if (emit_scalar_arithmetic(node)) return true;
    if (!dnnl_binary_applies(node)) return false;
    auto a = value_of(node.inputs[0]), b = value_of(node.inputs[1]);
    if (!dnnl_value(a) || !dnnl_value(b)) return false;
    const auto out = node.outputs[0].shape.to_shape();
    if (m_parts.values[a].shape != out) std::swap(a, b); // commutative (binary_applies)
    if (m_parts.values[a].shape != out || m_parts.values[b].shape.size() > out.size()) return false;
    if (const auto b_shape = m_parts.values[b].shape; b_shape.size() < out.size()) {
        // numpy broadcasting: leading axes of one
        model::Shape padded(out.size() - b_shape.size(), 1);
        padded.insert(padded.end(), b_shape.begin(), b_shape.end());
        b = view_of(plain(b), padded, dense_desc(b_shape, out.size()));
    }
    const auto desc0 = m_parts.values[a].desc;
    if (m_parts.values[b].shape == out) {
        b = in_layout(b, desc0);
    } else if (const auto tag = tag_of(desc0)) {
        // Broadcast in src0's own layout: oneDNN's jit binary takes a blocked src0 only
        // with a src1 of the same format (else its reference implementation runs).
        b = in_layout(b, memory::desc(dims_of(m_parts.values[b].shape), desc0.data_type(), *tag));
    } else {
        b = plain(b);
    }
    const auto desc1 = m_parts.values[b].desc;
    const auto algorithm = binary_algorithm(node.type);
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst, const Affine*) {
        dnnl::binary::desc d(algorithm, desc0, desc1, dst);
        return Made{dnnl::binary::primitive_desc(d, user_scratchpad(ops), m_parts.engine), {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}}, make, {});
}

// x·c, x + c, c + x, x − c, c − x and x / c for a constant c of one element: oneDNN's linear
// eltwise α·x + β (rec's attention scales its query by a scalar) — the same α, β as the
// post-op the op becomes after an anchor (post_ops.hpp).
bool GraphBuilder::emit_scalar_arithmetic(const model::Node& node) {
    if (node.inputs.size() != 2 || node.outputs.size() != 1) return false;
    const std::uint32_t port = constant_input(node, 1) ? 0 : 1; // the variable's
    const auto* c = constant_input(node, 1 - port);
    if (!c || c->value.element_type() != model::ElementType::F32) return false;
    const auto linear = scalar_linear(node, port);
    if (!linear) return false;
    const auto x = value_of(node.inputs[port]);
    const auto& y = node.outputs[0];
    if (!dnnl_value(x) || !y.shape.is_static() || y.shape.to_shape() != m_parts.values[x].shape)
        return false;
    const auto desc = m_parts.values[x].desc;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc&, const Affine*) {
        dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, linear->algorithm, desc,
                                      linear->alpha, linear->beta);
        return Made{dnnl::eltwise_forward::primitive_desc(d, user_scratchpad(ops), m_parts.engine),
                    {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, x}}, make, {});
}

bool GraphBuilder::emit_reduce(const model::Node& node) {
    using Alg = dnnl::algorithm;
    const std::pair<const char*, Alg> table[] = {{"ReduceMean", Alg::reduction_mean},
                                                 {"ReduceMax", Alg::reduction_max},
                                                 {"ReduceMin", Alg::reduction_min},
                                                 {"ReduceSum", Alg::reduction_sum},
                                                 {"ReduceProd", Alg::reduction_mul}};
    Alg algorithm = Alg::undef;
    for (const auto& [type, a] : table)
        if (node.type == type) algorithm = a;
    if (algorithm == Alg::undef || node.inputs.size() != 2 || !constant_input(node, 1) ||
        !node.attrs.get_or<bool>("keep_dims", false) || node.outputs.size() != 1)
        return false;
    auto src = f32_source(node);
    if (src == k_no_value) return false;
    const auto& y = node.outputs[0];
    const auto in = m_parts.values[src].shape;
    const auto out = y.shape.to_shape();
    if (out.size() != in.size()) return false;
    const bool spatial_only =
        in.size() >= 3 && out[0] == in[0] && out[1] == in[1] &&
        std::all_of(out.begin() + 2, out.end(), [](auto d) { return d == 1; });
    if (spatial_only && (algorithm == Alg::reduction_mean || algorithm == Alg::reduction_max))
        return emit_global_pool(node, src, algorithm == Alg::reduction_mean);
    src = plain(src);
    const auto desc = m_parts.values[src].desc;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst, const Affine*) {
        dnnl::reduction::desc d(algorithm, desc, dst, 0.0f, 0.0f);
        return Made{dnnl::reduction::primitive_desc(d, user_scratchpad(ops), m_parts.engine), {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {});
}

bool GraphBuilder::emit_global_pool(const model::Node& node, ValueId src, bool mean) {
    const auto in = m_parts.values[src].shape;
    const auto desc = m_parts.values[src].desc;
    const memory::dims kernel(in.begin() + 2, in.end());
    const memory::dims ones(kernel.size(), 1), zeros(kernel.size(), 0);
    const auto algorithm =
        mean ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_max;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst, const Affine*) {
        dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, algorithm, desc, dst,
                                      ones, kernel, zeros, zeros);
        return Made{dnnl::pooling_forward::primitive_desc(d, user_scratchpad(ops), m_parts.engine),
                    {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {});
}

dnnl::algorithm GraphBuilder::binary_algorithm(const std::string& type) {
    using Alg = dnnl::algorithm;
    if (type == "Add") return Alg::binary_add;
    if (type == "Subtract") return Alg::binary_sub;
    if (type == "Multiply") return Alg::binary_mul;
    if (type == "Divide") return Alg::binary_div;
    if (type == "Maximum") return Alg::binary_max;
    return Alg::binary_min;
}

bool GraphBuilder::emit_view(const model::Node& node) {
    if (node.type != "Reshape" && node.type != "Squeeze" && node.type != "Unsqueeze") return false;
    if (node.inputs.empty() || node.outputs.size() != 1) return false;
    auto v = value_of(node.inputs[0]);
    if (dnnl_value(v)) v = plain(v);
    const auto& y = node.outputs[0];
    const auto shape = y.shape.to_shape();
    if (y.type != m_parts.values[v].type || bytes_of(y.type, shape) != m_parts.values[v].bytes)
        return false;
    const auto id = view_of(v, shape, plain_desc(y.type, shape));
    m_of[{&node, 0}] = id;
    m_names[id] = node.name;
    m_parts.exec_types[&node] = "view";
    return true;
}

bool GraphBuilder::emit_deconv(const model::Node& node) {
    if (!dnnl_deconv_applies(node)) return false;
    if (emit_deconv_as_conv(node)) return true;
    const auto src = value_of(node.inputs[0]);
    if (!dnnl_value(src)) return false;
    const auto& engine = m_parts.engine;
    // Plain layouts: with blocked ones oneDNN 2.6 picks its jit deconvolution (backward-data
    // convolution), 25× slower here than the gemm one it takes on plain data (measured on
    // PP-OCRv4 det's two 2×2 stride-2 deconvolutions: 258 ms against 10, AVX2).
    const auto src_plain = plain_desc(model::ElementType::F32, m_parts.values[src].shape);
    const auto out = node.outputs[0].shape.to_shape();
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst,
                           const Affine* affine) {
        auto setup = make_deconv(engine, node, src_plain,
                                 dst.data.format_kind == dnnl_format_kind_any
                                     ? plain_desc(model::ElementType::F32, out)
                                     : dst,
                                 ops, affine);
        // oneDNN 2.6's gemm deconvolution applies post-ops element by element, slower than
        // the deconvolution itself (det: a per-channel add took 166 ms against 11, linear +
        // logistic 15 against 5). Leading per-channel arithmetic is folded into the weights
        // instead; what follows runs as primitives of its own.
        if (ops.len() > 0) LOOM_THROW(ErrorKind::UNSUPPORTED, "no post-ops on a deconvolution");
        Made made{setup.pd, {{DNNL_ARG_WEIGHTS, setup.weights}}};
        if (setup.bias) made.fixed.emplace_back(DNNL_ARG_BIAS, setup.bias);
        return made;
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {}, true);
}

bool GraphBuilder::emit_interpolate(const model::Node& node) {
    if (node.type != "Interpolate" || node.outputs.size() != 1) return false;
    const auto& a = node.attrs;
    const auto mode = a.get_or<std::string>("mode", "nearest");
    const auto coordinates = a.get_or<std::string>("coordinate_transformation_mode", "half_pixel");
    const auto nearest = a.get_or<std::string>("nearest_mode", "round_prefer_floor");
    // With an integer factor f, oneDNN's nearest reads floor((o + 0.5) / f): the same pixel as
    // asymmetric/tf_half_pixel_for_nn with floor, and as half_pixel rounding either way (no
    // ties: (o + 0.5) / f - 0.5 is never a half for integer f).
    const bool same_pixels =
        ((coordinates == "asymmetric" || coordinates == "tf_half_pixel_for_nn") &&
         nearest == "floor") ||
        ((coordinates == "half_pixel" || coordinates == "pytorch_half_pixel") &&
         (nearest == "round_prefer_floor" || nearest == "round_prefer_ceil"));
    if (mode != "nearest" || !same_pixels || a.get_or<bool>("antialias", false)) return false;
    for (const char* pads : {"pads_begin", "pads_end"})
        for (auto p : a.get_or<std::vector<std::int64_t>>(pads, {}))
            if (p != 0) return false;
    const auto src = f32_source(node);
    if (src == k_no_value) return false;
    const auto& y = node.outputs[0];
    const auto in = m_parts.values[src].shape;
    const auto out = y.shape.to_shape();
    if (in.size() < 3 || in.size() > 5 || out.size() != in.size() || out[0] != in[0] ||
        out[1] != in[1])
        return false;
    for (std::size_t i = 2; i < in.size(); ++i)
        if (out[i] < in[i] || out[i] % in[i] != 0) return false;
    if (emit_upsample_add(node, src)) return true;
    const auto desc = m_parts.values[src].desc;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst, const Affine*) {
        dnnl::resampling_forward::desc d(dnnl::prop_kind::forward_inference,
                                         dnnl::algorithm::resampling_nearest, desc, dst);
        return Made{
            dnnl::resampling_forward::primitive_desc(d, user_scratchpad(ops), m_parts.engine), {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {});
}

bool GraphBuilder::emit_concat(const model::Node& node) {
    if (node.type != "Concat" || node.inputs.size() < 2 || node.outputs.size() != 1) return false;
    const auto& y = node.outputs[0];
    if (y.type != model::ElementType::F32 || !y.shape.is_static()) return false;
    const auto rank = static_cast<std::int64_t>(y.shape.rank());
    auto axis = node.attrs.get_or<std::int64_t>("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return false;
    std::vector<Arg> args;
    std::vector<memory::desc> descs;
    bool bf16 = false; // all inputs of one type: bf16 if any is
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const auto v = value_of(node.inputs[i]);
        if (!dnnl_value(v)) return false;
        bf16 = bf16 || m_parts.values[v].desc.data_type() == memory::data_type::bf16;
        args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), v});
    }
    for (auto& a : args) {
        if (bf16)
            a.value =
                in_layout(a.value, retyped(m_parts.values[a.value].desc, memory::data_type::bf16));
        descs.push_back(m_parts.values[a.value].desc);
    }
    if (emit_concat_channels_last(node, args, axis)) return true;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc&, const Affine*) {
        if (ops.len() > 0) LOOM_THROW(ErrorKind::UNSUPPORTED, "concat takes no post-ops");
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        return Made{
            dnnl::concat::primitive_desc(static_cast<int>(axis), descs, m_parts.engine, attr), {}};
    };
    if (!emit_fused(node, std::move(args), make, {})) return false;
    const auto s = m_parts.steps.size() - 1;
    m_concats.push_back(s);
    m_concat_axis[s] = axis;
    m_concat_node[s] = &node;
    return true;
}

// BatchNormInference (opset5: data, gamma, beta, mean, variance; opset1: gamma, beta, data, …)
// with constant statistics.
bool GraphBuilder::emit_batch_norm(const model::Node& node) {
    if (node.type != "BatchNormInference" || node.inputs.size() != 5) return false;
    const bool v5 = node.version != "opset1";
    const std::size_t data = v5 ? 0 : 2, gamma = v5 ? 1 : 0, beta = v5 ? 2 : 1;
    for (std::size_t i = 0; i < 5; ++i)
        if (i != data && !constant_input(node, i)) return false;
    const auto src = value_of(node.inputs[data]);
    if (!dnnl_value(src) || m_parts.values[src].shape.size() < 2) return false;
    std::vector<Arg> args{{DNNL_ARG_SRC, src}};
    const std::pair<int, std::size_t> stats[] = {{DNNL_ARG_SCALE, gamma},
                                                 {DNNL_ARG_SHIFT, beta},
                                                 {DNNL_ARG_MEAN, 3},
                                                 {DNNL_ARG_VARIANCE, 4}};
    for (const auto& [arg, input] : stats) {
        const auto v = value_of(node.inputs[input]);
        if (!dnnl_value(v) || m_parts.values[v].shape.size() != 1) return false;
        args.push_back({arg, v});
    }
    const auto desc = m_parts.values[src].desc;
    const auto epsilon = static_cast<float>(node.attrs.get_or<double>("epsilon", 1e-5));
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc&, const Affine*) {
        using F = dnnl::normalization_flags;
        dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, desc, epsilon,
                                                  F::use_global_stats | F::use_scale |
                                                      F::use_shift);
        return Made{dnnl::batch_normalization_forward::primitive_desc(d, user_scratchpad(ops),
                                                                      m_parts.engine),
                    {}};
    };
    return emit_fused(node, std::move(args), make, {});
}

// Softmax/LogSoftmax over one axis, on a plain value (oneDNN's jit softmax wants the axis dense)
// of its own precision, into f32 (softmax v2 converts: no reorder of a bf16 input first).
bool GraphBuilder::emit_softmax(const model::Node& node) {
    const bool log = node.type == "LogSoftmax";
    if ((node.type != "Softmax" && !log) || node.inputs.size() != 1 || node.outputs.size() != 1)
        return false;
    auto src = value_of(node.inputs[0]);
    if (!dnnl_value(src)) return false;
    const auto shape = m_parts.values[src].shape;
    const auto rank = static_cast<std::int64_t>(shape.size());
    auto axis = node.attrs.get_or<std::int64_t>("axis", node.version == "opset1" ? 1 : -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return false;
    src = in_layout(src, retyped(plain_desc(model::ElementType::F32, shape),
                                 m_parts.values[src].desc.data_type()));
    const auto desc = m_parts.values[src].desc;
    const auto algorithm = log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst, const Affine*) {
        dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, algorithm, desc, dst,
                                         static_cast<int>(axis));
        return Made{
            dnnl::softmax_v2_forward::primitive_desc(d, user_scratchpad(ops), m_parts.engine), {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {}, false, memory::data_type::f32);
}

// Transpose by a constant order: a reorder from the input's bytes seen with permuted axes.
bool GraphBuilder::emit_transpose(const model::Node& node) {
    if (node.type != "Transpose" || node.inputs.size() != 2 || node.outputs.size() != 1)
        return false;
    const auto* order_node = constant_input(node, 1);
    auto src = value_of(node.inputs[0]);
    if (!order_node || !dnnl_value(src)) return false;
    const auto in = m_parts.values[src].shape;
    auto order = order_node->value.to_i64();
    if (order.empty()) { // reverse
        for (std::size_t i = in.size(); i-- > 0;)
            order.push_back(static_cast<std::int64_t>(i));
    }
    if (order.size() != in.size()) return false;
    std::vector<int> moved(in.size(), -1); // input axis order[j] goes to position j
    for (std::size_t j = 0; j < order.size(); ++j) {
        const auto axis = order[j];
        if (axis < 0 || axis >= static_cast<std::int64_t>(in.size()) || moved[axis] != -1)
            return false;
        moved[static_cast<std::size_t>(axis)] = static_cast<int>(j);
    }
    src = plain_keeping_type(src); // bf16 stays bf16
    const auto out = node.outputs[0].shape.to_shape();
    const auto seen = m_parts.values[src].desc.permute_axes(moved);
    const auto view = view_of(src, out, seen);
    const auto y = add_arena(model::ElementType::F32, out,
                             retyped(plain_desc(model::ElementType::F32, out), seen.data_type()));
    m_parts.exec_types[&node] = emit_reorder(node.name, node.type, view, y);
    m_of[{&node, 0}] = y;
    m_names[y] = node.name;
    return true;
}

// MaxPool (its indices output unused) and AvgPool, 1-D to 3-D, without dilation.
bool GraphBuilder::emit_pool(const model::Node& node) {
    const bool max = node.type == "MaxPool";
    if (!max && node.type != "AvgPool") return false;
    if (node.inputs.size() != 1 || node.outputs.empty()) return false;
    if (node.outputs.size() > 1 &&
        !m_model.consumers(const_cast<model::Node&>(node).output(1)).empty())
        return false;
    const auto src = f32_source(node);
    if (src == k_no_value) return false;
    const auto& y = node.outputs[0];
    const auto in = m_parts.values[src].shape;
    const auto out = y.shape.to_shape();
    if (in.size() < 3 || in.size() > 5 || out.size() != in.size()) return false;
    const std::size_t sp = in.size() - 2;
    const auto kernel = spatial(node, "kernel", sp, 1);
    const auto strides = spatial(node, "strides", sp, 1);
    const auto dilations = spatial(node, "dilations", sp, 1);
    const auto pads_begin = spatial(node, "pads_begin", sp, 0);
    const auto pads_end = spatial(node, "pads_end", sp, 0);
    const auto auto_pad = node.attrs.get_or<std::string>("auto_pad", "explicit");
    const bool exclude = max || node.attrs.get_or<bool>("exclude-pad", false);
    memory::dims k, s, pl, pr;
    for (std::size_t i = 0; i < sp; ++i) {
        if (dilations[i] != 1) return false;
        std::int64_t begin = pads_begin[i], end = pads_end[i];
        if (auto_pad == "valid") begin = end = 0;
        if (auto_pad == "same_upper" || auto_pad == "same_lower") {
            const auto total =
                std::max<std::int64_t>(0, (out[2 + i] - 1) * strides[i] + kernel[i] - in[2 + i]);
            begin = auto_pad == "same_upper" ? total / 2 : (total + 1) / 2;
            end = total - begin;
        }
        // oneDNN's right padding reaches the last window (ceil rounding adds some).
        const auto right = (out[2 + i] - 1) * strides[i] + kernel[i] - in[2 + i] - begin;
        if (right < 0 || begin < 0 || begin >= kernel[i] || right >= kernel[i]) return false;
        if (!exclude && right != end) return false; // include-pad divides by the declared pads
        k.push_back(kernel[i]);
        s.push_back(strides[i]);
        pl.push_back(begin);
        pr.push_back(right);
    }
    const auto algorithm = max       ? dnnl::algorithm::pooling_max
                           : exclude ? dnnl::algorithm::pooling_avg_exclude_padding
                                     : dnnl::algorithm::pooling_avg_include_padding;
    if (max && sp == 2) {
        const Pool2d pool{in[0], in[1], in[2], in[3], out[2], out[3],
                          k[0],  k[1],  s[0],  s[1],  pl[0],  pl[1]};
        if (emit_max_pool_nhwc(node, src, pool)) return true;
    }
    const auto desc = m_parts.values[src].desc;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc& dst, const Affine*) {
        dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, algorithm, desc, dst, s,
                                      k, pl, pr);
        return Made{dnnl::pooling_forward::primitive_desc(d, user_scratchpad(ops), m_parts.engine),
                    {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {});
}

// MVN-6 over the last axis with the variance normalised and eps inside the square root (the
// layer normalisation of transformers, rec's): oneDNN's layer normalisation on a plain value.
bool GraphBuilder::emit_mvn(const model::Node& node) {
    if (node.type != "MVN" || node.version != "opset6" || node.inputs.size() != 2 ||
        node.outputs.size() != 1)
        return false;
    const auto* axes_node = constant_input(node, 1);
    auto src = value_of(node.inputs[0]);
    if (!axes_node || !dnnl_value(src)) return false;
    const auto rank = static_cast<std::int64_t>(m_parts.values[src].shape.size());
    auto axes = axes_node->value.to_i64();
    if (axes.size() != 1 || (axes[0] != rank - 1 && axes[0] != -1) || rank < 2) return false;
    if (!node.attrs.get_or<bool>("normalize_variance", true) ||
        node.attrs.get_or<std::string>("eps_mode", "inside_sqrt") != "inside_sqrt")
        return false;
    const auto eps = static_cast<float>(node.attrs.get_or<double>("eps", 1e-9));
    // f32: oneDNN 2.6's bf16 layer normalisation is its slow reference (rec: 20 → 333 µs)
    src = plain(src);
    const auto desc = m_parts.values[src].desc;
    const Maker make = [&](const dnnl::post_ops& ops, const memory::desc&, const Affine*) {
        if (ops.len() > 0) LOOM_THROW(ErrorKind::UNSUPPORTED, "no post-ops on a normalisation");
        dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_inference, desc, eps,
                                                  dnnl::normalization_flags::none);
        return Made{dnnl::layer_normalization_forward::primitive_desc(d, user_scratchpad(ops),
                                                                      m_parts.engine),
                    {}};
    };
    return emit_fused(node, {{DNNL_ARG_SRC, src}}, make, {});
}

} // namespace loom::plugins::cpu
