// Reference kernels: image family, GridSample-9 (see kernel.hpp) — as ONNX GridSample-16
// computes it: denormalized coordinates are clamped (border) or reflected (reflection) only when
// they leave the valid range, and every tap is then read with the padding mode.

#include <cmath>
#include <string>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

enum class Padding { zeros, border, reflection };

struct GridAttrs {
    bool align = false;
    std::string mode;
    Padding padding = Padding::zeros;
};

double reflect(double x, double lo, double hi) {
    const double range = hi - lo;
    if (range <= 0) return lo;
    if (x < lo) {
        const double d = lo - x;
        const auto n = static_cast<std::int64_t>(d / range);
        const double r = d - static_cast<double>(n) * range;
        return n % 2 == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        const double d = x - hi;
        const auto n = static_cast<std::int64_t>(d / range);
        const double r = d - static_cast<double>(n) * range;
        return n % 2 == 0 ? hi - r : lo + r;
    }
    return x;
}

// One axis of length n: the valid range and the coordinate of a normalized value.
struct Axis {
    std::int64_t n;
    double lo, hi;
};

Axis make_axis(std::int64_t n, bool align) {
    return align ? Axis{n, 0.0, static_cast<double>(n - 1)}
                 : Axis{n, -0.5, static_cast<double>(n) - 0.5};
}

double denormalize(double v, const Axis& a, bool align) {
    const auto n = static_cast<double>(a.n);
    return align ? (v + 1) / 2 * (n - 1) : ((v + 1) * n - 1) / 2;
}

double fix_coordinate(double x, const Axis& a, Padding p) {
    if (x >= a.lo && x <= a.hi) return x;
    if (p == Padding::border) return std::clamp(x, 0.0, static_cast<double>(a.n - 1));
    if (p == Padding::reflection) return reflect(x, a.lo, a.hi);
    return x;
}

// Index of tap i on an axis, or -1 when it reads zero padding.
std::int64_t tap_index(std::int64_t i, const Axis& a, Padding p) {
    if (p == Padding::zeros) return i >= 0 && i < a.n ? i : -1;
    if (p == Padding::border) return std::clamp<std::int64_t>(i, 0, a.n - 1);
    auto r = static_cast<std::int64_t>(reflect(static_cast<double>(i), a.lo, a.hi));
    return std::clamp<std::int64_t>(r, 0, a.n - 1);
}

double cubic(double x) {
    constexpr double a = -0.75;
    x = std::abs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

// Taps (index, weight) of one coordinate on one axis.
int axis_taps(const GridAttrs& g, double x, const Axis& a, std::int64_t* idx, double* w) {
    if (g.mode == "nearest") {
        idx[0] = tap_index(static_cast<std::int64_t>(x), a, g.padding);
        w[0] = 1;
        return 1;
    }
    const double f = std::floor(x), t = x - f;
    const auto base = static_cast<std::int64_t>(f);
    if (g.mode == "bilinear") {
        idx[0] = tap_index(base, a, g.padding), w[0] = 1 - t;
        idx[1] = tap_index(base + 1, a, g.padding), w[1] = t;
        return 2;
    }
    for (int i = 0; i < 4; ++i) {
        idx[i] = tap_index(base - 1 + i, a, g.padding);
        w[i] = cubic(static_cast<double>(i - 1) - t);
    }
    return 4;
}

template <class T>
void grid_sample_typed(const GridAttrs& g, const Tensor& data, const Tensor& grid,
                       const Tensor& out) {
    const auto& s = data.shape();
    const auto& gs = grid.shape();
    const auto n = s[0], c = s[1], hout = gs[1], wout = gs[2];
    const Axis ay = make_axis(s[2], g.align), ax = make_axis(s[3], g.align);
    const T* d = data.data<T>();
    const T* gr = grid.data<T>();
    T* o = mutable_values<T>(out).data();
    parallel_for(n * hout, 1, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t r = b; r < e; ++r) {
            const auto bi = r / hout, y = r % hout;
            for (std::int64_t x = 0; x < wout; ++x) {
                const T* p = gr + ((bi * hout + y) * wout + x) * 2;
                double fx = denormalize(static_cast<double>(p[0]), ax, g.align);
                double fy = denormalize(static_cast<double>(p[1]), ay, g.align);
                if (g.mode == "nearest") fx = std::nearbyint(fx), fy = std::nearbyint(fy);
                fx = fix_coordinate(fx, ax, g.padding);
                fy = fix_coordinate(fy, ay, g.padding);
                std::int64_t ix[4], iy[4];
                double wx[4], wy[4];
                const int nx = axis_taps(g, fx, ax, ix, wx), ny = axis_taps(g, fy, ay, iy, wy);
                for (std::int64_t ch = 0; ch < c; ++ch) {
                    const T* plane = d + (bi * c + ch) * s[2] * s[3];
                    double v = 0;
                    for (int i = 0; i < ny; ++i)
                        for (int j = 0; j < nx; ++j)
                            if (iy[i] >= 0 && ix[j] >= 0)
                                v += wy[i] * wx[j] *
                                     static_cast<double>(plane[iy[i] * s[3] + ix[j]]);
                    o[((bi * c + ch) * hout + y) * wout + x] = static_cast<T>(v);
                }
            }
        }
    });
}

std::vector<Tensor> grid_sample(KernelContext& ctx) {
    GridAttrs g;
    g.align = ctx.attr_or<bool>("align_corners", false);
    g.mode = ctx.attr_or<std::string>("mode", "bilinear");
    const auto padding = ctx.attr_or<std::string>("padding_mode", "zeros");
    g.padding = padding == "border"       ? Padding::border
                : padding == "reflection" ? Padding::reflection
                                          : Padding::zeros;
    const auto& data = ctx.input(0);
    auto out = ctx.allocate_output(0);
    if (out.size() == 0) return {out};
    LOOM_REQUIRE(data.shape()[2] > 0 && data.shape()[3] > 0, "GridSample: data has an empty plane");
    const auto grid = convert_tensor(ctx.input(1), data.element_type());
    dispatch_float(data.element_type(), "GridSample",
                   [&](auto tag) { grid_sample_typed<decltype(tag)>(g, data, grid, out); });
    return {out};
}

} // namespace

void add_grid_sample_kernels(KernelTable& table) {
    table.add("GridSample", "opset9", grid_sample);
}

} // namespace loom::reference
