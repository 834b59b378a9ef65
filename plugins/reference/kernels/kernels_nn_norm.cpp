// Reference kernels: MVN-2 / MVN-6 (mean-variance normalisation over the reduction axes).

#include <cmath>
#include <string>
#include <vector>

#include "plugins/reference/kernels/kernel_util.hpp"

namespace loom::reference {

namespace {

using I64 = std::int64_t;

template <bool V6>
std::vector<Tensor> mvn(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<I64>(shape.size());
    std::vector<bool> reduced(shape.size(), false);
    std::vector<I64> axes;
    if constexpr (V6) {
        axes = read_indices(ctx.input(1));
    } else {
        axes = ctx.attr_or<std::vector<I64>>("reduction_axes", {});
        if (axes.empty())
            for (I64 a = ctx.attr_or<bool>("across_channels", false) ? 1 : 2; a < rank; ++a)
                axes.push_back(a);
    }
    for (auto a : axes) {
        const I64 ax = a < 0 ? a + rank : a;
        LOOM_REQUIRE(ax >= 0 && ax < rank, "MVN: axis {} out of range for rank {}", a, rank);
        reduced[static_cast<std::size_t>(ax)] = true;
    }
    const bool norm_var = ctx.attr_or<bool>("normalize_variance", true);
    const double eps = ctx.attr<double>("eps");
    const bool outside =
        V6 && ctx.attr_or<std::string>("eps_mode", "inside_sqrt") == "outside_sqrt";
    // Group of each flat element: its index over the kept dims only.
    const I64 n = in.size();
    std::vector<I64> group(static_cast<std::size_t>(n));
    I64 groups = 1;
    {
        std::vector<I64> idx(shape.size(), 0);
        for (I64 i = 0; i < n; ++i) {
            I64 gid = 0;
            for (std::size_t d = 0; d < shape.size(); ++d)
                if (!reduced[d]) gid = gid * shape[d] + idx[d];
            group[static_cast<std::size_t>(i)] = gid;
            for (I64 d = rank - 1; d >= 0; --d) {
                if (++idx[static_cast<std::size_t>(d)] < shape[static_cast<std::size_t>(d)]) break;
                idx[static_cast<std::size_t>(d)] = 0;
            }
        }
        for (std::size_t d = 0; d < shape.size(); ++d)
            if (!reduced[d]) groups *= shape[d];
    }
    auto out = ctx.allocate_output(0);
    dispatch_float(in.element_type(), "MVN", [&](auto tag) {
        using T = decltype(tag);
        auto x = values<T>(in);
        auto y = mutable_values<T>(out);
        std::vector<double> mean(static_cast<std::size_t>(groups), 0.0);
        std::vector<double> var(static_cast<std::size_t>(groups), 0.0);
        std::vector<double> count(static_cast<std::size_t>(groups), 0.0);
        for (I64 i = 0; i < n; ++i) {
            const auto g = static_cast<std::size_t>(group[static_cast<std::size_t>(i)]);
            mean[g] += static_cast<double>(x[static_cast<std::size_t>(i)]);
            count[g] += 1.0;
        }
        for (std::size_t g = 0; g < mean.size(); ++g)
            mean[g] /= std::max(count[g], 1.0);
        for (I64 i = 0; i < n; ++i) {
            const auto g = static_cast<std::size_t>(group[static_cast<std::size_t>(i)]);
            const double d = static_cast<double>(x[static_cast<std::size_t>(i)]) - mean[g];
            var[g] += d * d;
        }
        for (I64 i = 0; i < n; ++i) {
            const auto g = static_cast<std::size_t>(group[static_cast<std::size_t>(i)]);
            double v = static_cast<double>(x[static_cast<std::size_t>(i)]) - mean[g];
            if (norm_var) {
                const double variance = var[g] / std::max(count[g], 1.0);
                v /= outside ? std::sqrt(variance) + eps : std::sqrt(variance + eps);
            }
            y[static_cast<std::size_t>(i)] = static_cast<T>(v);
        }
    });
    return {out};
}

} // namespace

void add_nn_norm_kernels(KernelTable& table) {
    table.add("MVN", "opset2", mvn<false>);
    table.add("MVN", "opset6", mvn<true>);
}

} // namespace loom::reference
