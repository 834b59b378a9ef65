// Reference kernels: elementwise family, binary part — arithmetic, comparisons, logical and
// bitwise ops with auto_broadcast (see kernel.hpp). Unary ops and activations are in
// kernels_elementwise_unary.cpp, Select and FakeQuantize in kernels_elementwise_select.cpp.
//
// Integer arithmetic wraps (computed on uint64); integer division or modulo by zero is
// invalid_argument.

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

// Strides of an input of shape `in` broadcast onto `out` under the node's auto_broadcast
// (numpy, none — equal shapes — or pdpd with its `axis`). Shared with the other elementwise
// files.
std::vector<std::int64_t> elementwise_strides(const KernelContext& ctx, const Shape& in,
                                              const Shape& out) {
    const auto mode = ctx.attr_or<std::string>("auto_broadcast", "numpy");
    if (mode != "pdpd" || in == out) return broadcast_strides(in, out);
    // pdpd: `in` (trailing 1s dropped) lines up with `out` from `axis` (-1: aligned right).
    Shape trimmed = in;
    while (!trimmed.empty() && trimmed.back() == 1)
        trimmed.pop_back();
    const auto rank = static_cast<std::int64_t>(out.size());
    auto axis = ctx.attr_or<std::int64_t>("axis", -1);
    if (axis == -1) axis = rank - static_cast<std::int64_t>(trimmed.size());
    LOOM_REQUIRE(axis >= 0 && axis + static_cast<std::int64_t>(trimmed.size()) <= rank,
                 "shape {} does not broadcast onto {} from axis {}", model::to_string(in),
                 model::to_string(out), axis);
    Shape padded(out.size(), 1);
    for (std::size_t i = 0; i < trimmed.size(); ++i)
        padded[static_cast<std::size_t>(axis) + i] = trimmed[i];
    return broadcast_strides(padded, out);
}

namespace {

template <class T>
constexpr bool k_int = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T>
std::uint64_t u64(T v) {
    return static_cast<std::uint64_t>(v);
}

// out[i] = f(a[i'], b[i'']) over the broadcast of a and b onto out's shape.
template <class T, class R, class F>
void binary_apply(const KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor& out,
                  F f) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    R* po = reinterpret_cast<R*>(out.mutable_data());
    const auto& shape = out.shape();
    const std::int64_t n = out.size();
    constexpr std::int64_t grain = 1 << 15;
    if (a.shape() == shape && b.shape() == shape) {
        parallel_for(n, grain, [&](std::int64_t i0, std::int64_t i1) {
            for (std::int64_t i = i0; i < i1; ++i)
                po[i] = f(pa[i], pb[i]);
        });
    } else if (a.shape() == shape && b.size() == 1) {
        const T y = pb[0];
        parallel_for(n, grain, [&](std::int64_t i0, std::int64_t i1) {
            for (std::int64_t i = i0; i < i1; ++i)
                po[i] = f(pa[i], y);
        });
    } else if (b.shape() == shape && a.size() == 1) {
        const T x = pa[0];
        parallel_for(n, grain, [&](std::int64_t i0, std::int64_t i1) {
            for (std::int64_t i = i0; i < i1; ++i)
                po[i] = f(x, pb[i]);
        });
    } else {
        for_each_broadcast(
            shape, elementwise_strides(ctx, a.shape(), shape),
            elementwise_strides(ctx, b.shape(), shape),
            [&](std::int64_t o, std::int64_t i, std::int64_t j) { po[o] = f(pa[i], pb[j]); });
    }
}

// Arithmetic: one numeric type in and out. f is called with two T and returns T.
template <class F>
std::vector<Tensor> arith(KernelContext& ctx, F f) {
    auto out = ctx.allocate_output(0);
    const auto& a = ctx.input(0);
    const auto& b = ctx.input(1);
    dispatch_type(a.element_type(), ctx.node().type, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "{} does not take boolean inputs", ctx.node().type);
        } else {
            binary_apply<T, T>(ctx, a, b, out, [&](T x, T y) { return static_cast<T>(f(x, y)); });
        }
    });
    return {out};
}

// Comparisons: any type in, boolean out.
template <class F>
std::vector<Tensor> compare(KernelContext& ctx, F f) {
    auto out = ctx.allocate_output(0);
    const auto& a = ctx.input(0);
    dispatch_type(a.element_type(), ctx.node().type, [&](auto tag) {
        using T = decltype(tag);
        binary_apply<T, bool>(ctx, a, ctx.input(1), out, [&](T x, T y) { return f(x, y); });
    });
    return {out};
}

// Bitwise: integral types and boolean.
template <class F>
std::vector<Tensor> bitwise(KernelContext& ctx, F f) {
    auto out = ctx.allocate_output(0);
    const auto& a = ctx.input(0);
    dispatch_type(a.element_type(), ctx.node().type, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_floating_point_v<T>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "{} takes integer or boolean inputs",
                       ctx.node().type);
        } else {
            binary_apply<T, T>(ctx, a, ctx.input(1), out,
                               [&](T x, T y) { return static_cast<T>(f(x, y)); });
        }
    });
    return {out};
}

template <class F>
std::vector<Tensor> logical(KernelContext& ctx, F f) {
    auto out = ctx.allocate_output(0);
    LOOM_REQUIRE(ctx.input(0).element_type() == ElementType::BOOLEAN &&
                     ctx.input(1).element_type() == ElementType::BOOLEAN,
                 "{} takes boolean inputs", ctx.node().type);
    binary_apply<bool, bool>(ctx, ctx.input(0), ctx.input(1), out, f);
    return {out};
}

// invalid_argument when an integer divisor holds a zero.
template <class T>
void require_nonzero(const KernelContext& ctx, const Tensor& divisor) {
    if constexpr (k_int<T>) {
        for (T v : values<T>(divisor))
            LOOM_REQUIRE(v != 0, "{}: integer division by zero", ctx.node().type);
    }
}

template <class T>
T int_pow(T x, T y) {
    if constexpr (std::is_signed_v<T>) {
        if (y < 0) { // the truncated real result
            if (x == 1) return 1;
            if (x == -1) return (y % 2 == 0) ? T{1} : T{-1};
            return 0;
        }
    }
    std::uint64_t r = 1, base = u64(x), e = u64(y);
    while (e != 0) {
        if (e & 1U) r *= base;
        base *= base;
        e >>= 1U;
    }
    return static_cast<T>(r);
}

// Integer quotient truncated toward zero or floored; wraps for lowest / -1.
template <class T>
T int_div(T x, T y, bool floor) {
    if constexpr (std::is_signed_v<T>) {
        if (y == -1) return static_cast<T>(0 - u64(x));
        T q = static_cast<T>(x / y);
        if (floor && (x % y != 0) && ((x < 0) != (y < 0))) --q;
        return q;
    } else {
        (void)floor;
        return static_cast<T>(x / y);
    }
}

// Remainder with the sign of the dividend (Mod) or of the divisor (FloorMod).
template <class T>
T remainder(T x, T y, bool floor) {
    if constexpr (std::is_floating_point_v<T>) {
        T r = std::fmod(x, y);
        if (floor && r != 0 && ((r < 0) != (y < 0))) r += y;
        return r;
    } else if constexpr (std::is_signed_v<T>) {
        if (y == -1) return 0;
        T r = static_cast<T>(x % y);
        if (floor && r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
        return r;
    } else {
        (void)floor;
        return static_cast<T>(x % y);
    }
}

template <class T>
bool is_nan(T v) {
    if constexpr (std::is_floating_point_v<T>)
        return v != v;
    else
        return false;
}

std::vector<Tensor> add(KernelContext& ctx) {
    return arith(ctx, [](auto x, auto y) {
        if constexpr (k_int<decltype(x)>)
            return u64(x) + u64(y);
        else
            return x + y;
    });
}

std::vector<Tensor> subtract(KernelContext& ctx) {
    return arith(ctx, [](auto x, auto y) {
        if constexpr (k_int<decltype(x)>)
            return u64(x) - u64(y);
        else
            return x - y;
    });
}

std::vector<Tensor> multiply(KernelContext& ctx) {
    return arith(ctx, [](auto x, auto y) {
        if constexpr (k_int<decltype(x)>)
            return u64(x) * u64(y);
        else
            return x * y;
    });
}

std::vector<Tensor> squared_difference(KernelContext& ctx) {
    return arith(ctx, [](auto x, auto y) {
        if constexpr (k_int<decltype(x)>) {
            auto d = u64(x) - u64(y);
            return d * d;
        } else {
            return (x - y) * (x - y);
        }
    });
}

std::vector<Tensor> power(KernelContext& ctx) {
    return arith(ctx, [](auto x, auto y) {
        if constexpr (k_int<decltype(x)>)
            return int_pow(x, y);
        else
            return std::pow(x, y);
    });
}

std::vector<Tensor> maximum(KernelContext& ctx) {
    return arith(ctx, [](auto x, auto y) { return is_nan(x) || x > y ? x : y; });
}

std::vector<Tensor> minimum(KernelContext& ctx) {
    return arith(ctx, [](auto x, auto y) { return is_nan(x) || x < y ? x : y; });
}

std::vector<Tensor> divide(KernelContext& ctx) {
    const bool floor = ctx.attr_or<bool>("m_pythondiv", true);
    dispatch_type(ctx.input(1).element_type(), "Divide",
                  [&](auto tag) { require_nonzero<decltype(tag)>(ctx, ctx.input(1)); });
    return arith(ctx, [floor](auto x, auto y) {
        if constexpr (k_int<decltype(x)>)
            return int_div(x, y, floor);
        else
            return x / y;
    });
}

template <bool Floor>
std::vector<Tensor> modulo(KernelContext& ctx) {
    dispatch_type(ctx.input(1).element_type(), ctx.node().type,
                  [&](auto tag) { require_nonzero<decltype(tag)>(ctx, ctx.input(1)); });
    return arith(ctx, [](auto x, auto y) { return remainder(x, y, Floor); });
}

} // namespace

void add_unary_kernels(KernelTable& table);  // kernels_elementwise_unary.cpp
void add_select_kernels(KernelTable& table); // kernels_elementwise_select.cpp

void add_elementwise_kernels(KernelTable& table) {
    table.add("Add", "opset1", add);
    table.add("Subtract", "opset1", subtract);
    table.add("Multiply", "opset1", multiply);
    table.add("Divide", "opset1", divide);
    table.add("Power", "opset1", power);
    table.add("Maximum", "opset1", maximum);
    table.add("Minimum", "opset1", minimum);
    table.add("Mod", "opset1", modulo<false>);
    table.add("FloorMod", "opset1", modulo<true>);
    table.add("SquaredDifference", "opset1", squared_difference);
    table.add("Equal", "opset1", [](KernelContext& c) { return compare(c, std::equal_to<>{}); });
    table.add("NotEqual", "opset1",
              [](KernelContext& c) { return compare(c, std::not_equal_to<>{}); });
    table.add("Less", "opset1", [](KernelContext& c) { return compare(c, std::less<>{}); });
    table.add("LessEqual", "opset1",
              [](KernelContext& c) { return compare(c, std::less_equal<>{}); });
    table.add("Greater", "opset1", [](KernelContext& c) { return compare(c, std::greater<>{}); });
    table.add("GreaterEqual", "opset1",
              [](KernelContext& c) { return compare(c, std::greater_equal<>{}); });
    table.add("LogicalAnd", "opset1",
              [](KernelContext& c) { return logical(c, [](bool x, bool y) { return x && y; }); });
    table.add("LogicalOr", "opset1",
              [](KernelContext& c) { return logical(c, [](bool x, bool y) { return x || y; }); });
    table.add("LogicalXor", "opset1",
              [](KernelContext& c) { return logical(c, [](bool x, bool y) { return x != y; }); });
    table.add("BitwiseAnd", "opset13",
              [](KernelContext& c) { return bitwise(c, [](auto x, auto y) { return x & y; }); });
    table.add("BitwiseOr", "opset13",
              [](KernelContext& c) { return bitwise(c, [](auto x, auto y) { return x | y; }); });
    table.add("BitwiseXor", "opset13",
              [](KernelContext& c) { return bitwise(c, [](auto x, auto y) { return x ^ y; }); });
    add_unary_kernels(table);
    add_select_kernels(table);
}

} // namespace loom::reference
