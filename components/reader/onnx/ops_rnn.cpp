// ONNX → native converters for the recurrent ONNX ops RNN, GRU and LSTM
// (default domain, opsets 1..17). Each converter produces OpenVINO-opset nodes with OpenVINO's
// attribute names and kinds, the way OpenVINO's ONNX frontend maps the op.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "components/reader/onnx/convert_util.hpp"
#include "components/reader/onnx/converters.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {
namespace {

// The parts every ONNX RNN shares, in OpenVINO's layout: X [batch, seq, input], initial states
// [batch, dirs, hidden], sequence lengths [batch].
struct RnnInputs {
    Output x, lengths;
    std::int64_t hidden = 0, dirs = 1;
    std::string direction;
    bool batch_major = false; // ONNX layout=1
};

RnnInputs rnn_inputs(ConvertContext& ctx) {
    // X is [seq, batch, input] ([batch, seq, input] batch-major); another rank was indexed past
    // its end (found by fuzz_onnx: a batch-major LSTM of a 1-D X).
    if (const PartialShape& x = ctx.input_shape(0); x.rank_is_static() && x.rank() != 3)
        ctx.fail(fmt::format("input X must be 3-D (sequence, batch, input); it has shape {}",
                             x.to_string()));
    RnnInputs rnn;
    rnn.batch_major = ctx.opset() >= 14 && ctx.attr_int("layout", 0) == 1;
    std::string dir = ctx.attr_string("direction", "forward");
    if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
        ctx.fail(fmt::format("direction '{}' is not forward, reverse or bidirectional", dir));
    rnn.direction = dir;
    rnn.dirs = dir == "bidirectional" ? 2 : 1;
    const PartialShape& rs = ctx.input_shape(2);
    if (auto h = ctx.attr_int("hidden_size"))
        rnn.hidden = *h;
    else if (rs.rank_is_static() && rs.rank() == 3 && rs[2].is_static())
        rnn.hidden = rs[2].length();
    else
        ctx.fail("attribute 'hidden_size' is missing and R's shape does not give it");
    rnn.x = rnn.batch_major ? ctx.input(0) : transpose(ctx, ctx.input(0), {1, 0, 2});
    if (ctx.has_input(4)) {
        rnn.lengths = ctx.input(4);
    } else { // every sequence runs the full length
        const PartialShape& xs = shape_of_value(rnn.x);
        if (xs.rank_is_static() && xs.rank() == 3 && xs[0].is_static() && xs[1].is_static()) {
            Tensor t = Tensor::allocate(ElementType::I32, {xs[0].length()});
            auto* p = reinterpret_cast<std::int32_t*>(t.mutable_data());
            std::fill(p, p + xs[0].length(), static_cast<std::int32_t>(xs[1].length()));
            rnn.lengths = ctx.constant(t);
        } else {
            Output shape = shape_of(ctx, rnn.x);
            Output len = convert(ctx, gather(ctx, shape, ctx.scalar_i64(1)), ElementType::I32);
            rnn.lengths = broadcast(ctx, len, dims_of(ctx, rnn.x, {0}));
        }
    }
    return rnn;
}

// ONNX initial state input `i` ([dirs, batch, hidden] unless batch-major) or zeros.
Output rnn_state(ConvertContext& ctx, const RnnInputs& rnn, std::size_t i) {
    if (ctx.has_input(i))
        return rnn.batch_major ? ctx.input(i) : transpose(ctx, ctx.input(i), {1, 0, 2});
    Output batch = dims_of(ctx, rnn.x, {0});
    Output shape = concat(ctx, {batch, ctx.constant_i64({rnn.dirs, rnn.hidden})}, 0);
    return broadcast(ctx, ctx.scalar_like(0.0, ctx.input_type(0)), shape);
}

// Activation names for OpenVINO (lower case); both directions must use the same ones.
std::vector<std::string> rnn_activations(ConvertContext& ctx, std::vector<std::string> defaults,
                                         std::int64_t dirs) {
    auto acts = ctx.attr_strings("activations");
    if (acts.empty()) return defaults;
    std::size_t n = defaults.size();
    if (acts.size() != n * static_cast<std::size_t>(dirs) && acts.size() != n)
        ctx.fail(fmt::format("expected {} activations per direction, got {}", n, acts.size()));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < acts.size(); ++i) {
        std::string a = acts[i];
        std::transform(a.begin(), a.end(), a.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (a != "sigmoid" && a != "tanh" && a != "relu")
            ctx.unsupported(fmt::format("activation '{}' is not supported", acts[i]));
        if (i < n)
            out.push_back(a);
        else if (out[i - n] != a)
            ctx.unsupported("different activations per direction are not supported");
    }
    return out;
}

// `clip` only when ONNX sets it: absent means no clipping in both.
Attributes rnn_attrs(ConvertContext& ctx, const RnnInputs& rnn, std::vector<std::string> acts) {
    Attributes a = attrs({{"hidden_size", i64(rnn.hidden)},
                          {"activations", std::move(acts)},
                          {"activations_alpha", ctx.attr_floats("activations_alpha")},
                          {"activations_beta", ctx.attr_floats("activations_beta")}});
    if (ctx.has_attr("clip")) a.set("clip", ctx.attr_float("clip", 0.0));
    a.set("direction", rnn.direction);
    return a;
}

// Sequence output [batch, dirs, seq, hidden] and states [batch, dirs, hidden] → ONNX layout.
Outs rnn_outputs(ConvertContext& ctx, const RnnInputs& rnn, model::Node& node) {
    Outs out{transpose(ctx, node.output(0), rnn.batch_major ? I64s{0, 2, 1, 3} : I64s{2, 1, 0, 3})};
    for (std::uint32_t i = 1; i < node.outputs.size(); ++i)
        out.push_back(rnn.batch_major ? node.output(i) : transpose(ctx, node.output(i), {1, 0, 2}));
    return out;
}

Outs convert_gru(ConvertContext& ctx) {
    RnnInputs rnn = rnn_inputs(ctx);
    bool linear = ctx.attr_int("linear_before_reset", 0) != 0;
    ElementType t = ctx.input_type(0);
    Output b;
    if (ctx.has_input(
            3)) { // [Wb z r h, Rb z r h] → OpenVINO's summed biases (Rb_h apart if linear)
        Outs p = split(ctx, ctx.input(3), 1, 6);
        Output zr = binary(ctx, "Add", concat(ctx, {p[0], p[1]}, 1), concat(ctx, {p[3], p[4]}, 1));
        b = linear ? concat(ctx, {zr, p[2], p[5]}, 1)
                   : concat(ctx, {zr, binary(ctx, "Add", p[2], p[5])}, 1);
    } else {
        b = zeros(ctx, t, {rnn.dirs, (linear ? 4 : 3) * rnn.hidden});
    }
    Attributes a = rnn_attrs(ctx, rnn, rnn_activations(ctx, {"sigmoid", "tanh"}, rnn.dirs));
    a.set("linear_before_reset", linear);
    // ONNX and OpenVINO both order the gates z, r, h.
    auto& node =
        ctx.add("GRUSequence", "opset5",
                {rnn.x, rnn_state(ctx, rnn, 5), rnn.lengths, ctx.input(1), ctx.input(2), b},
                std::move(a), 2);
    return rnn_outputs(ctx, rnn, node);
}

// ONNX gate blocks i, o, f, c along axis 1 → OpenVINO's f, i, c, o.
Output iofc_to_fico(ConvertContext& ctx, Output v) {
    Outs p = split(ctx, v, 1, 4);
    return concat(ctx, {p[2], p[0], p[3], p[1]}, 1);
}

Outs convert_lstm(ConvertContext& ctx) {
    if (ctx.attr_int("input_forget", 0) != 0) ctx.unsupported("input_forget=1 is not supported");
    // Peepholes (ONNX P [dirs, 3·hidden], order i, o, f as OpenVINO's LSTMSequence-1) need
    // opset1; all-zero constant peepholes are dropped.
    bool peepholes = false;
    if (ctx.has_input(7)) {
        const Tensor* peep = ctx.input_constant(7);
        peepholes = true;
        if (peep) {
            auto v = peep->to_f64();
            peepholes = !std::all_of(v.begin(), v.end(), [](double d) { return d == 0.0; });
        }
    }
    RnnInputs rnn = rnn_inputs(ctx);
    Output b;
    if (ctx.has_input(3)) {
        Outs halves = split(ctx, ctx.input(3), 1, 2); // Wb, Rb
        b = iofc_to_fico(ctx, binary(ctx, "Add", halves[0], halves[1]));
    } else {
        b = zeros(ctx, ctx.input_type(0), {rnn.dirs, 4 * rnn.hidden});
    }
    std::vector<Output> in{rnn.x,
                           rnn_state(ctx, rnn, 5),
                           rnn_state(ctx, rnn, 6),
                           rnn.lengths,
                           iofc_to_fico(ctx, ctx.input(1)),
                           iofc_to_fico(ctx, ctx.input(2)),
                           b};
    if (peepholes) in.push_back(ctx.input(7));
    auto& node = ctx.add(
        "LSTMSequence", peepholes ? "opset1" : "opset5", std::move(in),
        rnn_attrs(ctx, rnn, rnn_activations(ctx, {"sigmoid", "tanh", "tanh"}, rnn.dirs)), 3);
    return rnn_outputs(ctx, rnn, node);
}

std::string rnn_activation(ConvertContext& ctx, std::string name) {
    for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "tanh" && name != "relu" && name != "sigmoid")
        ctx.unsupported(fmt::format("RNN activation '{}' is not supported", name));
    return name;
}

Output zeros_like_state(ConvertContext& ctx, Output x_batch_major, std::int64_t dirs,
                        std::int64_t hidden) {
    auto batch = gather(ctx, shape_of(ctx, x_batch_major), ctx.constant_i64({0}));
    auto target = concat(ctx, {batch, ctx.constant_i64({dirs, hidden})});
    return op(ctx, "Broadcast", "opset3", {ctx.scalar_like(0.0, type_of(x_batch_major)), target},
              attrs({{"mode", str("numpy")}}));
}

// RNN → RNNSequence-5 (batch-major): X, initial_h and the outputs are transposed for layout 0,
// the two bias halves are summed, missing inputs become zeros / full sequence lengths.
Outs convert_rnn(ConvertContext& ctx) {
    bool batch_major = ctx.attr_int("layout", 0) != 0;
    auto direction = ctx.attr_string("direction", "forward");
    if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
        ctx.fail(
            fmt::format("direction '{}' is not one of forward, reverse, bidirectional", direction));
    std::int64_t dirs = direction == "bidirectional" ? 2 : 1;
    auto hidden = ctx.attr_int("hidden_size");
    if (!hidden) {
        const auto& rs = ctx.input_shape(2);
        if (rs.rank_is_dynamic() || rs.rank() != 3 || rs[1].is_dynamic())
            ctx.unsupported("hidden_size is missing and R's shape does not give it");
        hidden = rs[1].length();
    }
    auto names = ctx.attr_strings("activations");
    if (names.empty()) names = {"Tanh"};
    if (names.size() > 1 && names[0] != names[1])
        ctx.unsupported("different activations per direction are not supported");
    Output x = batch_major ? ctx.input(0) : transpose(ctx, ctx.input(0), {1, 0, 2});
    Output h0 = !ctx.has_input(5) ? zeros_like_state(ctx, x, dirs, *hidden)
                : batch_major     ? ctx.input(5)
                                  : transpose(ctx, ctx.input(5), {1, 0, 2});
    Output lens;
    if (ctx.has_input(4)) {
        lens = ctx.input(4);
    } else {
        auto shape = shape_of(ctx, x);
        lens =
            op(ctx, "Broadcast", "opset3",
               {gather(ctx, shape, ctx.scalar_i64(1)), gather(ctx, shape, ctx.constant_i64({0}))},
               attrs({{"mode", str("numpy")}}));
    }
    Output bias;
    if (ctx.has_input(3)) {
        Output b = ctx.input(3);
        bias = binary(ctx, "Add", slice(ctx, b, 0, *hidden, 1, 1),
                      slice(ctx, b, *hidden, 2 * *hidden, 1, 1));
    } else {
        bias = ctx.constant(Tensor::allocate(type_of(x), {dirs, *hidden}));
    }
    Attributes a;
    a.set("direction", direction);
    a.set("hidden_size", *hidden);
    a.set("activations", std::vector<std::string>{rnn_activation(ctx, names[0])});
    a.set("activations_alpha", ctx.attr_floats("activation_alpha"));
    a.set("activations_beta", ctx.attr_floats("activation_beta"));
    a.set("clip", ctx.attr_float("clip", 0.0));
    auto& node = ctx.add("RNNSequence", "opset5", {x, h0, lens, ctx.input(1), ctx.input(2), bias},
                         std::move(a), 2);
    Outs outs{Output{}, Output{}};
    if (ctx.has_output(0))
        outs[0] = transpose(ctx, node.output(0), batch_major ? I64s{0, 2, 1, 3} : I64s{2, 1, 0, 3});
    if (ctx.has_output(1))
        outs[1] = batch_major ? node.output(1) : transpose(ctx, node.output(1), {1, 0, 2});
    return outs;
}

} // namespace

void add_converters_rnn(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"GRU", 1, convert_gru},
        {"LSTM", 1, convert_lstm},
        {"RNN", 1, convert_rnn},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
