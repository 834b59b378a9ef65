// Reference kernels: Loom's FusedConvolution / FusedMatMul (loom1): Convolution-1 / MatMul-1,
// then bias (axis 1 for convolution, last axis for matmul), then the activation attribute.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

std::vector<Tensor> nn_convolution(KernelContext& ctx);
std::vector<Tensor> nn_matmul(KernelContext& ctx);

namespace {

double activate(const std::string& act, double x, double alpha, double beta) {
    if (act == "none") return x;
    if (act == "relu") return std::max(x, 0.0);
    if (act == "sigmoid") return 1.0 / (1.0 + std::exp(-x));
    if (act == "tanh") return std::tanh(x);
    if (act == "hswish") return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    if (act == "gelu_erf") return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2));
    if (act == "gelu_tanh") {
        const double c = std::sqrt(2.0 / std::numbers::pi);
        return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
    }
    if (act == "clamp") return std::min(std::max(x, alpha), beta);
    if (act == "swish") return x / (1.0 + std::exp(-alpha * x));
    if (act == "elu") return x > 0 ? x : alpha * (std::exp(x) - 1.0);
    LOOM_THROW(ErrorKind::UNSUPPORTED, "activation '{}' is not supported", act);
}

// out[outer, C, inner] += bias[C], then the activation, in place.
void bias_and_activation(KernelContext& ctx, const Tensor& out, std::int64_t channels,
                         std::int64_t inner) {
    const auto& bias = ctx.input(2);
    LOOM_REQUIRE(bias.size() == channels, "bias must have {} elements, has {}", channels,
                 bias.size());
    const auto act = ctx.attr_or<std::string>("activation", "none");
    const double alpha = ctx.attr_or<double>("activation_alpha", act == "swish" ? 1.0 : 0.0);
    const double beta = ctx.attr_or<double>("activation_beta", 0.0);
    dispatch_float(out.element_type(), "Fused op", [&](auto tag) {
        using T = decltype(tag);
        auto b = values<T>(bias);
        auto y = mutable_values<T>(out);
        const auto rows = static_cast<std::int64_t>(y.size()) / std::max<std::int64_t>(inner, 1);
        parallel_for(rows, 16, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t r = begin; r < end; ++r) {
                const T bv = b[r % channels];
                T* p = y.data() + r * inner;
                if (act == "none") {
                    for (std::int64_t i = 0; i < inner; ++i)
                        p[i] += bv;
                } else if (act == "relu") {
                    for (std::int64_t i = 0; i < inner; ++i)
                        p[i] = std::max(p[i] + bv, T{0});
                } else {
                    for (std::int64_t i = 0; i < inner; ++i)
                        p[i] = static_cast<T>(
                            activate(act, static_cast<double>(p[i] + bv), alpha, beta));
                }
            }
        });
    });
}

std::vector<Tensor> fused_convolution(KernelContext& ctx) {
    auto out = nn_convolution(ctx);
    const auto& shape = out[0].shape();
    std::int64_t inner = 1;
    for (std::size_t d = 2; d < shape.size(); ++d)
        inner *= shape[d];
    bias_and_activation(ctx, out[0], shape[1], inner);
    return out;
}

std::vector<Tensor> fused_matmul(KernelContext& ctx) {
    auto out = nn_matmul(ctx);
    const auto& shape = out[0].shape();
    LOOM_REQUIRE(!shape.empty(), "FusedMatMul of two vectors has no axis for the bias");
    // Each element is its own row of length 1 with channel = index along the last axis.
    bias_and_activation(ctx, out[0], shape.back(), 1);
    return out;
}

} // namespace

void add_nn_fused_kernels(KernelTable& table) {
    table.add("FusedConvolution", "loom1", fused_convolution);
    table.add("FusedMatMul", "loom1", fused_matmul);
}

} // namespace loom::reference
