// Reference kernels: rnn family (see kernel.hpp) — RNNCell, GRUCell, LSTMCell (with peepholes
// in opset1) and the RNN/GRU/LSTM sequences. The DFT family is in kernels_rnn_dft.cpp.
//
// Gate orders as OpenVINO's specs: LSTM f, i, c, o (peepholes P: i, o, f); GRU z, r, h (with
// linear_before_reset, B holds [z, r, Wb_h, Rb_h]). `clip` bounds every gate's
// pre-activation. Sequences: X [batch, seq, input], states [batch, dirs, hidden]; a reverse
// direction walks each sequence backwards from its own length; outputs past a sequence's
// length stay zero and the final states are those of its last valid step.

#include <cmath>
#include <string>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

enum class Cell { rnn, gru, lstm };

using Activation = double (*)(double);

double sigmoid(double x) {
    return 1.0 / (1.0 + std::exp(-x));
}
double tanh_fn(double x) {
    return std::tanh(x);
}
double relu(double x) {
    return x > 0 ? x : 0.0;
}

Activation activation(const std::string& name) {
    if (name == "sigmoid") return sigmoid;
    if (name == "tanh") return tanh_fn;
    if (name == "relu") return relu;
    LOOM_THROW(ErrorKind::UNSUPPORTED, "activation '{}' is not supported", name);
}

struct RnnArgs {
    Cell cell = Cell::rnn;
    std::int64_t hidden = 0, input = 0, gates = 1;
    bool linear_before_reset = false;
    double clip = 0;
    Activation f = tanh_fn, g = tanh_fn, h = tanh_fn;

    double clipped(double x) const { return clip > 0 ? std::clamp(x, -clip, clip) : x; }
};

RnnArgs rnn_args(KernelContext& ctx, Cell cell, std::int64_t input) {
    RnnArgs a;
    a.cell = cell;
    a.hidden = ctx.attr<std::int64_t>("hidden_size");
    a.input = input;
    a.gates = cell == Cell::rnn ? 1 : cell == Cell::gru ? 3 : 4;
    a.linear_before_reset = ctx.attr_or<bool>("linear_before_reset", false);
    a.clip = ctx.attr_or<double>("clip", 0.0);
    std::vector<std::string> defaults = cell == Cell::rnn ? std::vector<std::string>{"tanh"}
                                        : cell == Cell::gru
                                            ? std::vector<std::string>{"sigmoid", "tanh"}
                                            : std::vector<std::string>{"sigmoid", "tanh", "tanh"};
    auto names = ctx.attr_or<std::vector<std::string>>("activations", {});
    if (names.empty()) names = defaults;
    LOOM_REQUIRE(names.size() >= defaults.size(), "{} activations given, {} needed", names.size(),
                 defaults.size());
    a.f = activation(names[0]);
    if (names.size() > 1) a.g = activation(names[1]);
    if (names.size() > 2) a.h = activation(names[2]);
    return a;
}

// Weights of one direction (pointers into W, R, B, P; P may be null).
template <class T>
struct Weights {
    const T *w, *r, *b, *p;
};

// One time step of one batch row: reads x, h, c; writes h_out, c_out (c only for LSTM).
template <class T>
void step(const RnnArgs& a, const Weights<T>& wt, const T* x, const T* h, const T* c, T* h_out,
          T* c_out, std::vector<double>& gates) {
    const auto hs = a.hidden, in = a.input;
    gates.assign(static_cast<std::size_t>(a.gates * hs), 0.0);
    for (std::int64_t r = 0; r < a.gates * hs; ++r) {
        double s = wt.b ? static_cast<double>(wt.b[r]) : 0.0;
        const T* wr = wt.w + r * in;
        for (std::int64_t k = 0; k < in; ++k)
            s += static_cast<double>(wr[k]) * static_cast<double>(x[k]);
        const bool gru_h = a.cell == Cell::gru && r >= 2 * hs;
        if (!gru_h) {
            const T* rr = wt.r + r * hs;
            for (std::int64_t k = 0; k < hs; ++k)
                s += static_cast<double>(rr[k]) * static_cast<double>(h[k]);
        }
        gates[static_cast<std::size_t>(r)] = s;
    }
    auto g = [&](std::int64_t gate, std::int64_t j) {
        return gates[static_cast<std::size_t>(gate * hs + j)];
    };
    for (std::int64_t j = 0; j < hs; ++j) {
        if (a.cell == Cell::rnn) {
            h_out[j] = static_cast<T>(a.f(a.clipped(g(0, j))));
        } else if (a.cell == Cell::lstm) {
            const auto cp = static_cast<double>(c[j]);
            auto peep = [&](int k) { return wt.p ? static_cast<double>(wt.p[k * hs + j]) : 0.0; };
            const double i = a.f(a.clipped(g(1, j) + peep(0) * cp));
            const double fg = a.f(a.clipped(g(0, j) + peep(2) * cp));
            const double cc = a.g(a.clipped(g(2, j)));
            const double cn = fg * cp + i * cc;
            const double o = a.f(a.clipped(g(3, j) + peep(1) * cn));
            c_out[j] = static_cast<T>(cn);
            h_out[j] = static_cast<T>(o * a.h(cn));
        }
    }
    if (a.cell != Cell::gru) return;
    std::vector<double> z(static_cast<std::size_t>(hs)), rg(static_cast<std::size_t>(hs));
    for (std::int64_t j = 0; j < hs; ++j) {
        z[static_cast<std::size_t>(j)] = a.f(a.clipped(g(0, j)));
        rg[static_cast<std::size_t>(j)] = a.f(a.clipped(g(1, j)));
    }
    for (std::int64_t j = 0; j < hs; ++j) {
        const T* rr = wt.r + (2 * hs + j) * hs;
        double rec = 0;
        for (std::int64_t k = 0; k < hs; ++k)
            rec += static_cast<double>(rr[k]) * static_cast<double>(h[k]) *
                   (a.linear_before_reset ? 1.0 : rg[static_cast<std::size_t>(k)]);
        if (a.linear_before_reset)
            rec = rg[static_cast<std::size_t>(j)] *
                  (rec + (wt.b ? static_cast<double>(wt.b[3 * hs + j]) : 0.0));
        const double hh = a.g(a.clipped(g(2, j) + rec));
        const double zj = z[static_cast<std::size_t>(j)];
        h_out[j] = static_cast<T>((1 - zj) * hh + zj * static_cast<double>(h[j]));
    }
}

// Input ports of a recurrent op (-1: absent).
struct Ports {
    int x, h, c, seq, w, r, b, p;
};

template <class T>
std::vector<Tensor> run_rnn(KernelContext& ctx, Cell cell, const Ports& pt, bool sequence) {
    const auto& xs = ctx.input(static_cast<std::size_t>(pt.x)).shape();
    const std::int64_t batch = xs[0], steps = sequence ? xs[1] : 1, in = xs.back();
    const auto a = rnn_args(ctx, cell, in);
    const std::int64_t dirs =
        sequence && ctx.attr<std::string>("direction") == "bidirectional" ? 2 : 1;
    const bool reverse = sequence && ctx.attr<std::string>("direction") == "reverse";
    auto port = [&](int i) -> const T* {
        if (i < 0 || !ctx.has_input(static_cast<std::size_t>(i))) return nullptr;
        return ctx.input(static_cast<std::size_t>(i)).template data<T>();
    };
    const T *x = port(pt.x), *h0 = port(pt.h), *c0 = port(pt.c);
    std::vector<std::int64_t> lengths(static_cast<std::size_t>(batch), steps);
    if (pt.seq >= 0) lengths = read_indices(ctx.input(static_cast<std::size_t>(pt.seq)));
    for (auto l : lengths)
        LOOM_REQUIRE(l >= 0 && l <= steps, "sequence length {} is outside [0, {}]", l, steps);
    const auto hs = a.hidden;
    const std::int64_t b_size = (a.gates + (a.linear_before_reset ? 1 : 0)) * hs;
    std::vector<Tensor> outs;
    for (std::size_t i = 0; i < ctx.output_count(); ++i)
        outs.push_back(ctx.allocate_output(i));
    T* y = sequence ? mutable_values<T>(outs[0]).data() : nullptr;
    T* ho = mutable_values<T>(outs[sequence ? 1 : 0]).data();
    T* co = cell == Cell::lstm ? mutable_values<T>(outs[sequence ? 2 : 1]).data() : nullptr;
    parallel_for(batch * dirs, 1, [&](std::int64_t begin, std::int64_t end) {
        std::vector<double> gates;
        std::vector<T> h(static_cast<std::size_t>(hs)), c(static_cast<std::size_t>(hs)), hn(h),
            cn(c);
        for (std::int64_t bd = begin; bd < end; ++bd) {
            const auto b = bd / dirs, d = bd % dirs;
            const Weights<T> wt{port(pt.w) + d * a.gates * hs * in,
                                port(pt.r) + d * a.gates * hs * hs,
                                port(pt.b) ? port(pt.b) + d * b_size : nullptr,
                                port(pt.p) ? port(pt.p) + d * 3 * hs : nullptr};
            const auto state = (b * dirs + d) * hs;
            std::copy(h0 + state, h0 + state + hs, h.begin());
            if (c0) std::copy(c0 + state, c0 + state + hs, c.begin());
            const auto len = lengths[static_cast<std::size_t>(b)];
            for (std::int64_t s = 0; s < len; ++s) {
                const auto t = (reverse || d == 1) ? len - 1 - s : s;
                step<T>(a, wt, x + (b * steps + t) * in, h.data(), c.data(), hn.data(), cn.data(),
                        gates);
                std::swap(h, hn);
                std::swap(c, cn);
                if (y) std::copy(h.begin(), h.end(), y + ((b * dirs + d) * steps + t) * hs);
            }
            std::copy(h.begin(), h.end(), ho + state);
            if (co) std::copy(c.begin(), c.end(), co + state);
        }
    });
    return outs;
}

template <Cell C, int X, int H, int Cs, int Seq, int W, int R, int B, int P, bool S>
std::vector<Tensor> rnn_kernel(KernelContext& ctx) {
    return dispatch_float(ctx.input(0).element_type(), "recurrent op", [&](auto tag) {
        return run_rnn<decltype(tag)>(ctx, C, Ports{X, H, Cs, Seq, W, R, B, P}, S);
    });
}

} // namespace

void add_dft_kernels(KernelTable& table); // kernels_rnn_dft.cpp

void add_rnn_kernels(KernelTable& table) {
    table.add("RNNCell", "opset1", rnn_kernel<Cell::rnn, 0, 1, -1, -1, 2, 3, 4, -1, false>);
    table.add("GRUCell", "opset3", rnn_kernel<Cell::gru, 0, 1, -1, -1, 2, 3, 4, -1, false>);
    table.add("LSTMCell", "opset1", rnn_kernel<Cell::lstm, 0, 1, 2, -1, 3, 4, 5, 6, false>);
    table.add("LSTMCell", "opset4", rnn_kernel<Cell::lstm, 0, 1, 2, -1, 3, 4, 5, -1, false>);
    table.add("RNNSequence", "opset5", rnn_kernel<Cell::rnn, 0, 1, -1, 2, 3, 4, 5, -1, true>);
    table.add("GRUSequence", "opset5", rnn_kernel<Cell::gru, 0, 1, -1, 2, 3, 4, 5, -1, true>);
    table.add("LSTMSequence", "opset1", rnn_kernel<Cell::lstm, 0, 1, 2, 3, 4, 5, 6, 7, true>);
    table.add("LSTMSequence", "opset5", rnn_kernel<Cell::lstm, 0, 1, 2, 3, 4, 5, 6, -1, true>);
    add_dft_kernels(table);
}

} // namespace loom::reference
