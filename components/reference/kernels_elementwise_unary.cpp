// Reference kernels: elementwise family, unary part — math functions, activations (incl. the
// parametric Elu, Clamp, Selu, HardSigmoid, Swish, PRelu), rounding, floating-point classes,
// LogicalNot and BitwiseNot (see kernel.hpp).
//
// Math functions on integer inputs are computed in double, rounded to nearest and saturated,
// as OpenVINO's reference does for its integral instantiations.

#include <cctype>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>
#include <utility>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

// double → integer T, NaN → 0, saturating.
template <class T>
T saturate(double v) {
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
        return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
        return std::numeric_limits<T>::max();
    return static_cast<T>(v);
}

// out[i] = f(in[i]) for every numeric type into `out` (the inferred output 0: same type and
// shape as the input); f takes and returns T.
template <class F>
void map_numeric_into(KernelContext& ctx, const Tensor& out, F f) {
    const auto& in = ctx.input(0);
    dispatch_type(in.element_type(), ctx.node().type, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "{} does not take boolean inputs", ctx.node().type);
        } else {
            const T* p = in.data<T>();
            T* o = reinterpret_cast<T*>(out.mutable_data());
            parallel_for(in.size(), 1 << 14, [&](std::int64_t i0, std::int64_t i1) {
                for (std::int64_t i = i0; i < i1; ++i)
                    o[i] = static_cast<T>(f(p[i]));
            });
        }
    });
}

template <class F>
std::vector<Tensor> map_numeric(KernelContext& ctx, F f) {
    auto out = ctx.allocate_output(0);
    map_numeric_into(ctx, out, f);
    return {out};
}

// A math function g(x) written for floating x: float/double compute natively, integers in
// double, rounded.
template <class G>
std::vector<Tensor> map_math(KernelContext& ctx, G g) {
    return map_numeric(ctx, [&](auto x) {
        using T = decltype(x);
        if constexpr (std::is_floating_point_v<T>)
            return static_cast<T>(g(x));
        else
            return saturate<T>(std::round(g(static_cast<double>(x))));
    });
}

template <class T>
T sigmoid(T x) {
    return T{1} / (T{1} + std::exp(-x));
}

template <class T>
T softplus(T x) { // log(1 + e^x) without overflow
    return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <class T>
T abs_value(T x) {
    if constexpr (std::is_floating_point_v<T>)
        return std::fabs(x);
    else if constexpr (std::is_signed_v<T>)
        return x < 0 ? static_cast<T>(0 - static_cast<std::uint64_t>(x)) : x;
    else
        return x;
}

template <class T>
T negative(T x) {
    if constexpr (std::is_floating_point_v<T>)
        return -x;
    else
        return static_cast<T>(0 - static_cast<std::uint64_t>(x));
}

template <class T>
T sign(T x) {
    if constexpr (std::is_unsigned_v<T>) {
        return static_cast<T>(x != 0);
    } else {
        if constexpr (std::is_floating_point_v<T>)
            if (std::isnan(x)) return x;
        return static_cast<T>((T{0} < x) - (x < T{0}));
    }
}

// Integers pass through the rounding functions unchanged.
template <class T, class R>
T round_with(T x, R r) {
    if constexpr (std::is_floating_point_v<T>)
        return r(x);
    else
        return x;
}

std::vector<Tensor> round(KernelContext& ctx) {
    auto mode = ctx.attr_or<std::string>("mode", "half_to_even");
    if (mode == "half_to_even")
        return map_numeric(
            ctx, [](auto x) { return round_with(x, [](auto v) { return std::nearbyint(v); }); });
    LOOM_REQUIRE(mode == "half_away_from_zero", "Round: mode '{}' is not supported", mode);
    return map_numeric(ctx,
                       [](auto x) { return round_with(x, [](auto v) { return std::round(v); }); });
}

std::vector<Tensor> gelu(KernelContext& ctx) {
    auto mode = ctx.attr_or<std::string>("approximation_mode", "ERF");
    for (auto& c : mode)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (mode == "TANH")
        return map_math(ctx, [](auto x) {
            using T = decltype(x);
            const T k = std::sqrt(T{2} / std::numbers::pi_v<T>);
            return T{0.5} * x * (T{1} + std::tanh(k * (x + T{0.044715} * x * x * x)));
        });
    LOOM_REQUIRE(mode == "ERF", "Gelu: approximation_mode '{}' is not supported", mode);
    return map_math(ctx, [](auto x) {
        using T = decltype(x);
        return T{0.5} * x * (T{1} + std::erf(x / std::numbers::sqrt2_v<T>));
    });
}

// Value of an optional scalar parameter input (the data's type), else `fallback`.
double param(const KernelContext& ctx, std::size_t i, double fallback) {
    return ctx.has_input(i) ? scalar_f64(ctx.input(i)) : fallback;
}

std::vector<Tensor> swish(KernelContext& ctx) {
    const double beta = param(ctx, 1, 1.0);
    return map_math(ctx, [beta](auto x) {
        using T = decltype(x);
        return x * sigmoid(static_cast<T>(beta) * x);
    });
}

std::vector<Tensor> elu(KernelContext& ctx) {
    const double alpha = ctx.attr<double>("alpha");
    return map_math(ctx, [alpha](auto x) {
        using T = decltype(x);
        return x >= 0 ? x : static_cast<T>(alpha) * std::expm1(x);
    });
}

std::vector<Tensor> selu(KernelContext& ctx) {
    const double alpha = param(ctx, 1, 0), lambda = param(ctx, 2, 0);
    return map_math(ctx, [alpha, lambda](auto x) {
        using T = decltype(x);
        return static_cast<T>(lambda) * (x > 0 ? x : static_cast<T>(alpha) * std::expm1(x));
    });
}

std::vector<Tensor> hard_sigmoid(KernelContext& ctx) {
    const double alpha = param(ctx, 1, 0), beta = param(ctx, 2, 0);
    return map_math(ctx, [alpha, beta](auto x) {
        using T = decltype(x);
        return std::max(T{0}, std::min(T{1}, static_cast<T>(alpha) * x + static_cast<T>(beta)));
    });
}

// Clamp: integers clamp to [ceil(min), floor(max)]; NaN stays NaN.
std::vector<Tensor> clamp(KernelContext& ctx) {
    const double lo = ctx.attr<double>("min"), hi = ctx.attr<double>("max");
    return map_numeric(ctx, [lo, hi](auto x) {
        using T = decltype(x);
        if constexpr (std::is_floating_point_v<T>) {
            const auto l = static_cast<T>(lo), h = static_cast<T>(hi);
            return x < l ? l : (x > h ? h : x);
        } else {
            const T l = saturate<T>(std::ceil(lo)), h = saturate<T>(std::floor(hi));
            return x < l ? l : (x > h ? h : x);
        }
    });
}

std::vector<Tensor> prelu(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const auto& x = ctx.input(0);
    const auto& slope = ctx.input(1);
    const auto& shape = x.shape();
    // A 1-D slope of the channel count (dim 1, or dim 0 of 1-D data) is per channel.
    Shape slope_shape = slope.shape();
    const std::size_t channel = shape.size() > 1 ? 1 : 0;
    if (slope_shape.size() == 1 && !shape.empty() && shape[channel] == slope_shape[0]) {
        slope_shape.assign(shape.size() - channel, 1);
        slope_shape[0] = shape[channel];
    }
    const auto x_strides = strides_of(shape);
    const auto s_strides = broadcast_strides(slope_shape, shape);
    dispatch_type(x.element_type(), "PRelu", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "PRelu does not take boolean inputs");
        } else {
            const T* px = x.data<T>();
            const T* ps = slope.data<T>();
            T* po = reinterpret_cast<T*>(out.mutable_data());
            for_each_broadcast(shape, x_strides, s_strides,
                               [&](std::int64_t o, std::int64_t i, std::int64_t s) {
                                   if constexpr (std::is_unsigned_v<T>)
                                       po[o] = px[i];
                                   else
                                       po[o] = px[i] < 0 ? static_cast<T>(px[i] * ps[s]) : px[i];
                               });
        }
    });
    return {out};
}

// IsFinite / IsInf / IsNaN: a floating-point class test to boolean.
template <class P>
std::vector<Tensor> classify(KernelContext& ctx, P pred) {
    auto out = ctx.allocate_output(0);
    const auto& in = ctx.input(0);
    bool* o = reinterpret_cast<bool*>(out.mutable_data());
    dispatch_float(in.element_type(), ctx.node().type, [&](auto tag) {
        using T = decltype(tag);
        const T* p = in.data<T>();
        for (std::int64_t i = 0; i < in.size(); ++i)
            o[i] = pred(p[i]);
    });
    return {out};
}

std::vector<Tensor> is_inf(KernelContext& ctx) {
    const bool neg = ctx.attr_or<bool>("detect_negative", true);
    const bool pos = ctx.attr_or<bool>("detect_positive", true);
    return classify(ctx, [neg, pos](auto v) { return std::isinf(v) && (v > 0 ? pos : neg); });
}

std::vector<Tensor> logical_not(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const auto& in = ctx.input(0);
    LOOM_REQUIRE(in.element_type() == ElementType::BOOLEAN, "LogicalNot takes boolean input");
    const bool* p = in.data<bool>();
    bool* o = reinterpret_cast<bool*>(out.mutable_data());
    for (std::int64_t i = 0; i < in.size(); ++i)
        o[i] = !p[i];
    return {out};
}

std::vector<Tensor> bitwise_not(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const auto& in = ctx.input(0);
    dispatch_type(in.element_type(), "BitwiseNot", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_floating_point_v<T>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "BitwiseNot takes integer or boolean input");
        } else {
            const T* p = in.data<T>();
            T* o = reinterpret_cast<T*>(out.mutable_data());
            for (std::int64_t i = 0; i < in.size(); ++i) {
                if constexpr (std::is_same_v<T, bool>)
                    o[i] = !p[i];
                else
                    o[i] = static_cast<T>(~p[i]);
            }
        }
    });
    return {out};
}

#define LOOM_MATH(name, expr)                                                                      \
    std::vector<Tensor> name(KernelContext& ctx) {                                                 \
        return map_math(ctx, [](auto x) {                                                          \
            using T = decltype(x);                                                                 \
            (void)T{};                                                                             \
            return expr;                                                                           \
        });                                                                                        \
    }

LOOM_MATH(acos_k, std::acos(x))
LOOM_MATH(acosh_k, std::acosh(x))
LOOM_MATH(asin_k, std::asin(x))
LOOM_MATH(asinh_k, std::asinh(x))
LOOM_MATH(atan_k, std::atan(x))
LOOM_MATH(atanh_k, std::atanh(x))
LOOM_MATH(cos_k, std::cos(x))
LOOM_MATH(cosh_k, std::cosh(x))
LOOM_MATH(erf_k, std::erf(x))
LOOM_MATH(exp_k, std::exp(x))
LOOM_MATH(log_k, std::log(x))
LOOM_MATH(sin_k, std::sin(x))
LOOM_MATH(sinh_k, std::sinh(x))
LOOM_MATH(sqrt_k, std::sqrt(x))
LOOM_MATH(tan_k, std::tan(x))
LOOM_MATH(tanh_k, std::tanh(x))
LOOM_MATH(sigmoid_k, sigmoid(x))
LOOM_MATH(softplus_k, softplus(x))
LOOM_MATH(mish_k, x* std::tanh(softplus(x)))
LOOM_MATH(hsigmoid_k, std::min(std::max(x + T{3}, T{0}), T{6}) / T{6})
LOOM_MATH(hswish_k, x* std::min(std::max(x + T{3}, T{0}), T{6}) / T{6})
LOOM_MATH(softsign_k, x / (T{1} + std::fabs(x)))
#undef LOOM_MATH

// Abs and Relu are of the into form (kernel.hpp): they write into a planned output.
void abs_into(KernelContext& ctx, std::span<Tensor> outputs) {
    map_numeric_into(ctx, outputs[0], [](auto x) { return abs_value(x); });
}
std::vector<Tensor> negative_k(KernelContext& ctx) {
    return map_numeric(ctx, [](auto x) { return negative(x); });
}
std::vector<Tensor> sign_k(KernelContext& ctx) {
    return map_numeric(ctx, [](auto x) { return sign(x); });
}
std::vector<Tensor> ceil_k(KernelContext& ctx) {
    return map_numeric(ctx,
                       [](auto x) { return round_with(x, [](auto v) { return std::ceil(v); }); });
}
std::vector<Tensor> floor_k(KernelContext& ctx) {
    return map_numeric(ctx,
                       [](auto x) { return round_with(x, [](auto v) { return std::floor(v); }); });
}
void relu_into(KernelContext& ctx, std::span<Tensor> outputs) {
    map_numeric_into(ctx, outputs[0], [](auto x) {
        if constexpr (std::is_unsigned_v<decltype(x)>)
            return x;
        else
            return x < 0 ? decltype(x){0} : x;
    });
}

} // namespace

void add_unary_kernels(KernelTable& table) {
    const std::pair<const char*, KernelFn> opset1[] = {
        {"Acos", acos_k},         {"Asin", asin_k},
        {"Atan", atan_k},         {"Ceiling", ceil_k},
        {"Clamp", clamp},         {"Cos", cos_k},
        {"Cosh", cosh_k},         {"Elu", elu},
        {"Erf", erf_k},           {"Exp", exp_k},
        {"Floor", floor_k},       {"HardSigmoid", hard_sigmoid},
        {"Log", log_k},           {"LogicalNot", logical_not},
        {"Negative", negative_k}, {"PRelu", prelu},
        {"Selu", selu},           {"Sigmoid", sigmoid_k},
        {"Sign", sign_k},         {"Sin", sin_k},
        {"Sinh", sinh_k},         {"Sqrt", sqrt_k},
        {"Tan", tan_k},           {"Tanh", tanh_k}};
    for (const auto& [type, fn] : opset1)
        table.add(type, "opset1", fn);
    table.add("Abs", "opset1", {.into = abs_into});
    table.add("Relu", "opset1", {.into = relu_into});
    table.add("Acosh", "opset3", acosh_k);
    table.add("Asinh", "opset3", asinh_k);
    table.add("Atanh", "opset3", atanh_k);
    table.add("SoftPlus", "opset4", softplus_k);
    table.add("HSwish", "opset4", hswish_k);
    table.add("Mish", "opset4", mish_k);
    table.add("Swish", "opset4", swish);
    table.add("HSigmoid", "opset5", hsigmoid_k);
    table.add("Round", "opset5", round);
    table.add("SoftSign", "opset9", softsign_k);
    table.add("Gelu", "opset2", gelu);
    table.add("Gelu", "opset7", gelu);
    table.add("IsFinite", "opset10", [](KernelContext& c) {
        return classify(c, [](auto v) { return std::isfinite(v); });
    });
    table.add("IsNaN", "opset10",
              [](KernelContext& c) { return classify(c, [](auto v) { return std::isnan(v); }); });
    table.add("IsInf", "opset10", is_inf);
    table.add("BitwiseNot", "opset13", bitwise_not);
}

} // namespace loom::reference
