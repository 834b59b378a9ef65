// Reference kernels: the DFT family — DFT-7, IDFT-7, RDFT-9, IRDFT-9 (see kernel.hpp).
// Complex tensors carry (re, im) in a trailing dimension of 2. signal_size trims or zero-pads
// an axis at its end before the transform (−1 keeps it). A plain O(n²) transform per line,
// with the twiddle factors of each length computed once; inverses divide by n per axis.

#include <complex>
#include <numbers>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

using Complex = std::complex<double>;

struct Signal {
    Shape shape;
    std::vector<Complex> data;
};

// Trims or zero-pads `axis` to `len` at its end.
void resize_axis(Signal& s, std::size_t axis, std::int64_t len) {
    if (s.shape[axis] == len) return;
    Shape shape = s.shape;
    shape[axis] = len;
    std::int64_t outer = 1, inner = 1;
    for (std::size_t k = 0; k < axis; ++k)
        outer *= shape[k];
    for (std::size_t k = axis + 1; k < shape.size(); ++k)
        inner *= shape[k];
    std::vector<Complex> out(static_cast<std::size_t>(outer * len * inner));
    const auto old = s.shape[axis], keep = std::min(old, len);
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < keep; ++i)
            std::copy_n(s.data.begin() + (o * old + i) * inner, inner,
                        out.begin() + (o * len + i) * inner);
    s.shape = std::move(shape);
    s.data = std::move(out);
}

void transform_axis(Signal& s, std::size_t axis, bool inverse) {
    const auto n = s.shape[axis];
    if (n <= 1) return;
    std::int64_t outer = 1, inner = 1;
    for (std::size_t k = 0; k < axis; ++k)
        outer *= s.shape[k];
    for (std::size_t k = axis + 1; k < s.shape.size(); ++k)
        inner *= s.shape[k];
    std::vector<Complex> tw(static_cast<std::size_t>(n));
    const double sign = inverse ? 1.0 : -1.0;
    for (std::int64_t k = 0; k < n; ++k)
        tw[static_cast<std::size_t>(k)] = std::polar(
            1.0, sign * 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n));
    const double norm = inverse ? 1.0 / static_cast<double>(n) : 1.0;
    parallel_for(outer * inner, 16, [&](std::int64_t b, std::int64_t e) {
        std::vector<Complex> line(static_cast<std::size_t>(n));
        for (std::int64_t r = b; r < e; ++r) {
            const auto base = (r / inner) * n * inner + r % inner;
            for (std::int64_t k = 0; k < n; ++k) {
                Complex acc = 0;
                for (std::int64_t j = 0; j < n; ++j)
                    acc += s.data[static_cast<std::size_t>(base + j * inner)] *
                           tw[static_cast<std::size_t>((j * k) % n)];
                line[static_cast<std::size_t>(k)] = acc * norm;
            }
            for (std::int64_t k = 0; k < n; ++k)
                s.data[static_cast<std::size_t>(base + k * inner)] =
                    line[static_cast<std::size_t>(k)];
        }
    });
}

// Reads the data (complex: trailing 2 dropped from the shape).
Signal load(const Tensor& t, bool complex) {
    Signal s;
    auto v = t.to_f64();
    s.shape = t.shape();
    if (complex) {
        s.shape.pop_back();
        for (std::size_t i = 0; i + 1 < v.size(); i += 2)
            s.data.emplace_back(v[i], v[i + 1]);
    } else {
        for (double x : v)
            s.data.emplace_back(x, 0.0);
    }
    return s;
}

Tensor store(const Signal& s, ElementType type, bool complex) {
    std::vector<double> v;
    Shape shape = s.shape;
    for (const auto& c : s.data) {
        v.push_back(c.real());
        if (complex) v.push_back(c.imag());
    }
    if (complex) shape.push_back(2);
    return make_tensor(type, shape, v);
}

struct DftAxes {
    std::vector<std::size_t> axes;
    std::vector<std::int64_t> signal; // −1: keep
};

DftAxes dft_axes(KernelContext& ctx, std::size_t rank) {
    DftAxes a;
    for (auto ax : read_indices(ctx.input(1))) {
        if (ax < 0) ax += static_cast<std::int64_t>(rank);
        LOOM_REQUIRE(ax >= 0 && ax < static_cast<std::int64_t>(rank), "axis {} is out of range",
                     ax);
        a.axes.push_back(static_cast<std::size_t>(ax));
    }
    if (ctx.has_input(2)) a.signal = read_indices(ctx.input(2));
    a.signal.resize(a.axes.size(), -1);
    for (auto v : a.signal)
        LOOM_REQUIRE(v == -1 || v > 0, "signal_size value {} is not positive or -1", v);
    return a;
}

std::vector<Tensor> dft_common(KernelContext& ctx, bool inverse) {
    const auto& in = ctx.input(0);
    auto s = load(in, true);
    auto a = dft_axes(ctx, s.shape.size());
    for (std::size_t i = 0; i < a.axes.size(); ++i) {
        if (a.signal[i] != -1) resize_axis(s, a.axes[i], a.signal[i]);
        transform_axis(s, a.axes[i], inverse);
    }
    return {store(s, in.element_type(), true)};
}

std::vector<Tensor> dft(KernelContext& ctx) {
    return dft_common(ctx, false);
}
std::vector<Tensor> idft(KernelContext& ctx) {
    return dft_common(ctx, true);
}

std::vector<Tensor> rdft(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto s = load(in, false);
    auto a = dft_axes(ctx, s.shape.size());
    for (std::size_t i = 0; i < a.axes.size(); ++i) {
        if (a.signal[i] != -1) resize_axis(s, a.axes[i], a.signal[i]);
        transform_axis(s, a.axes[i], false);
    }
    const auto last = a.axes.back();
    resize_axis(s, last, s.shape[last] / 2 + 1);
    return {store(s, in.element_type(), true)};
}

// IRDFT: inverse along the other axes, then the last axis is extended to its full length by
// Hermitian symmetry, inverted, and the real part kept.
std::vector<Tensor> irdft(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto s = load(in, true);
    auto a = dft_axes(ctx, s.shape.size());
    const auto last = a.axes.back();
    for (std::size_t i = 0; i + 1 < a.axes.size(); ++i) {
        if (a.signal[i] != -1) resize_axis(s, a.axes[i], a.signal[i]);
        transform_axis(s, a.axes[i], true);
    }
    const auto n = a.signal.back() != -1 ? a.signal.back() : 2 * (s.shape[last] - 1);
    LOOM_REQUIRE(n > 0, "IRDFT: the output length along axis {} is {}", last, n);
    const auto half = n / 2 + 1;
    resize_axis(s, last, half);
    resize_axis(s, last, n);
    std::int64_t outer = 1, inner = 1;
    for (std::size_t k = 0; k < last; ++k)
        outer *= s.shape[k];
    for (std::size_t k = last + 1; k < s.shape.size(); ++k)
        inner *= s.shape[k];
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t j = 0; j < inner; ++j)
            for (std::int64_t k = half; k < n; ++k)
                s.data[static_cast<std::size_t>((o * n + k) * inner + j)] =
                    std::conj(s.data[static_cast<std::size_t>((o * n + (n - k)) * inner + j)]);
    transform_axis(s, last, true);
    return {store(s, in.element_type(), false)};
}

} // namespace

void add_dft_kernels(KernelTable& table) {
    table.add("DFT", "opset7", dft);
    table.add("IDFT", "opset7", idft);
    table.add("RDFT", "opset9", rdft);
    table.add("IRDFT", "opset9", irdft);
}

} // namespace loom::reference
