// RNN cells and sequences (RNN/GRU/LSTM Cell and Sequence) and the DFT family (DFT, IDFT, RDFT,
// IRDFT) — OpenVINO's specs (opsets 1..9).
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/nn_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

using K = AttrKind;

// ---------------------------------------------------------------------------------------------
// Recurrent cells and sequences

void check_rnn_attrs(const InferContext& ctx) {
    for (const auto& a : ctx.attr_or<std::vector<std::string>>("activations", {}))
        LOOM_REQUIRE(a == "relu" || a == "sigmoid" || a == "tanh",
                     "activation '{}' is not relu, sigmoid or tanh", a);
    LOOM_REQUIRE(ctx.attr_or<double>("clip", 0.0) >= 0.0, "attribute 'clip' must be >= 0");
}

// Where a recurrent op's inputs are (-1: absent) and what its weights look like.
struct RnnLayout {
    int x, h, c, seq, w, r, b;
    std::int64_t gates;  // 1 RNN, 3 GRU, 4 LSTM
    bool sequence;       // X [batch, seq, in] and per-direction weights
    std::size_t outputs; // Ho (cells: Ho[, Co]; sequences: Y, Ho[, Co])
};

void infer_rnn(InferContext& ctx, const RnnLayout& l) {
    check_rnn_attrs(ctx);
    auto hidden = positive_int(ctx, "hidden_size", 0);
    std::int64_t dirs = 1;
    if (l.sequence)
        dirs =
            one_of(ctx, "direction", "", {"forward", "reverse", "bidirectional"}) == "bidirectional"
                ? 2
                : 1;
    std::int64_t b_gates = l.gates + (ctx.attr_or<bool>("linear_before_reset", false) ? 1 : 0);
    const auto& x = ctx.input_shape(static_cast<std::size_t>(l.x));
    require_rank(x, l.sequence ? 3 : 2, "X");
    auto batch = dim_or_dynamic(x, 0);
    Dimension seq_len = l.sequence ? dim_or_dynamic(x, 1) : Dimension();
    Dimension input_size = dim_or_dynamic(x, l.sequence ? 2 : 1);
    auto state = [&](int idx, std::string_view what) {
        if (idx < 0) return;
        const auto& s = ctx.input_shape(static_cast<std::size_t>(idx));
        require_rank(s, l.sequence ? 3 : 2, what);
        batch = merge_dim(batch, s, 0, "batch size");
        Dims expected = l.sequence ? Dims{batch, dirs, hidden} : Dims{batch, hidden};
        check_weights(s, expected, what);
    };
    state(l.h, "initial hidden state");
    state(l.c, "initial cell state");
    if (l.seq >= 0) {
        const auto& s = ctx.input_shape(static_cast<std::size_t>(l.seq));
        require_rank(s, 1, "sequence_lengths");
        batch = merge_dim(batch, s, 0, "batch size");
    }
    auto weights = [&](int idx, Dims dims, std::string_view what) {
        if (idx < 0 || static_cast<std::size_t>(idx) >= ctx.input_count()) return;
        if (l.sequence) dims.insert(dims.begin(), Dimension(dirs));
        check_weights(ctx.input_shape(static_cast<std::size_t>(idx)), dims, what);
    };
    weights(l.w, {l.gates * hidden, input_size}, "W");
    weights(l.r, {l.gates * hidden, hidden}, "R");
    weights(l.b, {b_gates * hidden}, "B");
    auto type = ctx.input_type(static_cast<std::size_t>(l.x));
    PartialShape state_shape =
        l.sequence ? PartialShape({batch, dirs, hidden}) : PartialShape({batch, hidden});
    std::size_t o = 0;
    if (l.sequence) ctx.set_output(o++, type, PartialShape({batch, dirs, seq_len, hidden}));
    while (o < l.outputs)
        ctx.set_output(o++, type, state_shape);
}

void infer_rnn_cell(InferContext& ctx) {
    infer_rnn(ctx, {0, 1, -1, -1, 2, 3, 4, 1, false, 1});
}
void infer_gru_cell(InferContext& ctx) {
    infer_rnn(ctx, {0, 1, -1, -1, 2, 3, 4, 3, false, 1});
}
void infer_lstm_cell(InferContext& ctx) {
    infer_rnn(ctx, {0, 1, 2, -1, 3, 4, 5, 4, false, 2});
}
void infer_rnn_sequence(InferContext& ctx) {
    infer_rnn(ctx, {0, 1, -1, 2, 3, 4, 5, 1, true, 2});
}
void infer_gru_sequence(InferContext& ctx) {
    infer_rnn(ctx, {0, 1, -1, 2, 3, 4, 5, 3, true, 2});
}
void infer_lstm_sequence(InferContext& ctx) {
    infer_rnn(ctx, {0, 1, 2, 3, 4, 5, 6, 4, true, 3});
}

// ---------------------------------------------------------------------------------------------
// DFT family: axes (input 1) and optional signal_size (input 2) are 1-D integer inputs.

struct DftArgs {
    std::optional<Ints> axes;   // normalized; nullopt when not constant
    std::optional<Ints> signal; // same length as axes; nullopt when absent or not constant
    bool signal_unknown = false;
};

// `axes_rank` is the rank axes refer to (complex inputs exclude their trailing 2).
DftArgs read_dft_args(const InferContext& ctx, std::int64_t axes_rank) {
    DftArgs a;
    const auto& axes_shape = ctx.input_shape(1);
    require_rank(axes_shape, 1, "axes");
    if (auto v = ctx.input_values(1)) {
        a.axes = normalize_axes(*v, axes_rank, "axes");
        auto sorted = *a.axes;
        std::sort(sorted.begin(), sorted.end());
        LOOM_REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
                     "axes contain duplicates");
    }
    if (ctx.input_count() > 2) {
        require_rank(ctx.input_shape(2), 1, "signal_size");
        a.signal = ctx.input_values(2);
        a.signal_unknown = !a.signal;
        if (a.signal && a.axes)
            LOOM_REQUIRE(a.signal->size() == a.axes->size(),
                         "signal_size has {} values but there are {} axes", a.signal->size(),
                         a.axes->size());
    }
    return a;
}

// Applies signal_size to `dims` at the axes (−1 keeps the dimension).
void apply_signal(Dims& dims, const DftArgs& a) {
    for (std::size_t i = 0; i < a.axes->size(); ++i) {
        auto& d = dims[static_cast<std::size_t>((*a.axes)[i])];
        if (a.signal_unknown)
            d = Dimension();
        else if (a.signal && (*a.signal)[i] != -1)
            d = Dimension((*a.signal)[i]);
    }
}

void require_complex(const PartialShape& data) {
    if (data.rank_is_dynamic()) return;
    LOOM_REQUIRE(data.rank() >= 2 && data.dims().back().compatible(Dimension(2)),
                 "complex input must have rank 2 or more and last dimension 2, got {}",
                 data.to_string());
}

void infer_dft(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    require_complex(data);
    if (data.rank_is_dynamic()) return ctx.set_output(0, ctx.input_type(0), data);
    auto a = read_dft_args(ctx, data.rank() - 1);
    Dims out = data.dims();
    out.back() = 2;
    if (!a.axes)
        for (std::size_t i = 0; i + 1 < out.size(); ++i)
            out[i] = Dimension();
    else
        apply_signal(out, a);
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

// RDFT-9: real input; the last listed axis becomes n/2+1 and a trailing 2 is appended.
void infer_rdft(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    if (data.rank_is_dynamic()) return ctx.set_output(0, ctx.input_type(0), data);
    LOOM_REQUIRE(data.rank() >= 1, "data must not be a scalar");
    auto a = read_dft_args(ctx, data.rank());
    Dims out = data.dims();
    if (!a.axes) {
        out.assign(out.size(), Dimension());
    } else {
        apply_signal(out, a);
        auto& last = out[static_cast<std::size_t>(a.axes->back())];
        last = last.is_static() ? Dimension(last.length() / 2 + 1) : Dimension();
    }
    out.push_back(2);
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

// IRDFT-9: complex input; the last listed axis becomes signal_size or 2·(n−1); drops the 2.
void infer_irdft(InferContext& ctx) {
    const auto& data = ctx.input_shape(0);
    require_complex(data);
    if (data.rank_is_dynamic()) return ctx.set_output(0, ctx.input_type(0), data);
    auto a = read_dft_args(ctx, data.rank() - 1);
    Dims out(data.dims().begin(), data.dims().end() - 1);
    if (!a.axes) {
        out.assign(out.size(), Dimension());
    } else {
        auto last_axis = static_cast<std::size_t>(a.axes->back());
        bool last_given = a.signal && a.signal->back() != -1;
        auto& last = out[last_axis];
        if (!last_given) last = last.is_static() ? Dimension(2 * (last.length() - 1)) : Dimension();
        apply_signal(out, a);
    }
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

std::vector<AttrSpec> rnn_attrs(bool sequence, bool gru) {
    std::vector<AttrSpec> a{{"hidden_size", K::Int},
                            {"activations", K::Strings, false},
                            {"activations_alpha", K::Floats, false},
                            {"activations_beta", K::Floats, false},
                            {"clip", K::Float, false}};
    if (sequence) a.push_back({"direction", K::String});
    if (gru) a.push_back({"linear_before_reset", K::Bool, false});
    return a;
}

void add_rnn(OpRegistry& r) {
    add_spec(r, "RNNCell", "opset1", rnn_attrs(false, false), 5, 5, infer_rnn_cell);
    add_spec(r, "GRUCell", "opset3", rnn_attrs(false, true), 4, 5, infer_gru_cell);
    add_spec(r, "LSTMCell", "opset1", rnn_attrs(false, false), 6, 7, infer_lstm_cell);
    add_spec(r, "LSTMCell", "opset4", rnn_attrs(false, false), 6, 6, infer_lstm_cell);
    add_spec(r, "RNNSequence", "opset5", rnn_attrs(true, false), 6, 6, infer_rnn_sequence);
    add_spec(r, "GRUSequence", "opset5", rnn_attrs(true, true), 6, 6, infer_gru_sequence);
    add_spec(r, "LSTMSequence", "opset1", rnn_attrs(true, false), 7, 8, infer_lstm_sequence);
    add_spec(r, "LSTMSequence", "opset5", rnn_attrs(true, false), 7, 7, infer_lstm_sequence);
}

} // namespace

void add_rnn_ops(OpRegistry& r) {
    add_rnn(r);
    add_spec(r, "DFT", "opset7", {}, 2, 3, infer_dft);
    add_spec(r, "IDFT", "opset7", {}, 2, 3, infer_dft);
    add_spec(r, "RDFT", "opset9", {}, 2, 3, infer_rdft);
    add_spec(r, "IRDFT", "opset9", {}, 2, 3, infer_irdft);
}

} // namespace loom::model::ops
