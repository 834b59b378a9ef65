// Reference kernels: normalisations — MVN-2/6 (mean-variance over the reduction axes),
// NormalizeL2-1, LRN-1 (local response, across any axes), GroupNormalization-12.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

using I64 = std::int64_t;

// The group of each flat element when `reduced` axes are reduced: its index over the kept axes.
std::pair<std::vector<I64>, I64> reduction_groups(const Shape& shape,
                                                  const std::vector<bool>& reduced) {
    I64 n = 1;
    for (auto d : shape)
        n *= d;
    std::vector<I64> group(at(n));
    std::vector<I64> idx(shape.size(), 0);
    for (I64 i = 0; i < n; ++i) {
        I64 gid = 0;
        for (std::size_t d = 0; d < shape.size(); ++d)
            if (!reduced[d]) gid = gid * shape[d] + idx[d];
        group[at(i)] = gid;
        for (auto d = shape.size(); d-- > 0;) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
    }
    I64 groups = 1;
    for (std::size_t d = 0; d < shape.size(); ++d)
        if (!reduced[d]) groups *= shape[d];
    return {std::move(group), groups};
}

std::vector<bool> reduced_axes(const std::vector<I64>& axes, std::size_t rank, const char* op) {
    std::vector<bool> reduced(rank, false);
    const auto r = static_cast<I64>(rank);
    for (auto a : axes) {
        const I64 ax = a < 0 ? a + r : a;
        LOOM_REQUIRE(ax >= 0 && ax < r, "{}: axis {} out of range for rank {}", op, a, r);
        reduced[at(ax)] = true;
    }
    return reduced;
}

template <bool V6>
std::vector<Tensor> mvn(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<I64>(shape.size());
    std::vector<I64> axes;
    if constexpr (V6) {
        axes = read_indices(ctx.input(1));
    } else {
        axes = ctx.attr_or<std::vector<I64>>("reduction_axes", {});
        if (axes.empty())
            for (I64 a = ctx.attr_or<bool>("across_channels", false) ? 1 : 2; a < rank; ++a)
                axes.push_back(a);
    }
    const auto reduced = reduced_axes(axes, shape.size(), "MVN");
    const bool norm_var = ctx.attr_or<bool>("normalize_variance", true);
    const double eps = ctx.attr<double>("eps");
    const bool outside =
        V6 && ctx.attr_or<std::string>("eps_mode", "inside_sqrt") == "outside_sqrt";
    // Group of each flat element: its index over the kept dims only.
    const I64 n = in.size();
    // Named, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const auto grouping = reduction_groups(shape, reduced);
    const auto& group = grouping.first;
    const I64 groups = grouping.second;
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

// y = x / sqrt(max(Σx², eps)) (eps_mode "max") or x / sqrt(Σx² + eps) ("add"), the sum over
// the axes; no axes: each element is its own group.
std::vector<Tensor> normalize_l2(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto reduced = reduced_axes(read_indices(ctx.input(1)), in.shape().size(), "NormalizeL2");
    const auto grouping = reduction_groups(in.shape(), reduced);
    const auto& group = grouping.first;
    const I64 groups = grouping.second;
    const double eps = ctx.attr<double>("eps");
    const std::string mode = ctx.attr<std::string>("eps_mode");
    LOOM_REQUIRE(mode == "add" || mode == "max", "NormalizeL2: eps_mode '{}' is not add or max",
                 mode);
    auto out = ctx.allocate_output(0);
    dispatch_float(in.element_type(), "NormalizeL2", [&](auto tag) {
        using T = decltype(tag);
        auto x = values<T>(in);
        auto y = mutable_values<T>(out);
        std::vector<double> sum(at(groups), 0.0);
        for (std::size_t i = 0; i < x.size(); ++i)
            sum[at(group[i])] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
        for (auto& v : sum)
            v = std::sqrt(mode == "max" ? std::max(v, eps) : v + eps);
        for (std::size_t i = 0; i < x.size(); ++i)
            y[i] = static_cast<T>(static_cast<double>(x[i]) / sum[at(group[i])]);
    });
    return {out};
}

// LRN: y = x / (bias + alpha / size^k · Σ x²)^beta, the sum over a window of `size` around each
// element along each of the k axes (size-1)/2 before, size/2 after (ONNX's floor/ceil split).
std::vector<Tensor> lrn(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto axes = read_indices(ctx.input(1));
    const auto reduced = reduced_axes(axes, shape.size(), "LRN");
    const double alpha = ctx.attr<double>("alpha"), beta = ctx.attr<double>("beta"),
                 bias = ctx.attr<double>("bias");
    const I64 size = ctx.attr<I64>("size");
    LOOM_REQUIRE(size > 0, "LRN: size {} must be positive", size);
    I64 windowed = 0;
    for (bool r : reduced)
        windowed += r ? 1 : 0;
    const double scale = alpha / std::pow(static_cast<double>(size), static_cast<double>(windowed));
    const I64 before = (size - 1) / 2, after = size / 2;
    std::vector<I64> strides(shape.size(), 1);
    for (auto d = shape.size(); d-- > 1;)
        strides[d - 1] = strides[d] * shape[d];
    auto out = ctx.allocate_output(0);
    dispatch_float(in.element_type(), "LRN", [&](auto tag) {
        using T = decltype(tag);
        auto x = values<T>(in);
        auto y = mutable_values<T>(out);
        parallel_for(in.size(), 256, [&](I64 begin, I64 end) {
            std::vector<I64> idx(shape.size()), lo(shape.size()), hi(shape.size()), cur;
            for (I64 i = begin; i < end; ++i) {
                I64 rest = i;
                for (std::size_t d = 0; d < shape.size(); ++d) {
                    idx[d] = rest / strides[d];
                    rest %= strides[d];
                    lo[d] = reduced[d] ? std::max<I64>(0, idx[d] - before) : idx[d];
                    hi[d] = reduced[d] ? std::min(shape[d] - 1, idx[d] + after) : idx[d];
                }
                double sum = 0;
                cur = lo;
                for (;;) { // odometer over the window
                    I64 flat = 0;
                    for (std::size_t d = 0; d < shape.size(); ++d)
                        flat += cur[d] * strides[d];
                    const double v = static_cast<double>(x[at(flat)]);
                    sum += v * v;
                    auto d = shape.size();
                    while (d-- > 0) {
                        if (++cur[d] <= hi[d]) break;
                        cur[d] = lo[d];
                    }
                    if (d == static_cast<std::size_t>(-1)) break;
                }
                y[at(i)] = static_cast<T>(static_cast<double>(x[at(i)]) /
                                          std::pow(bias + scale * sum, beta));
            }
        });
    });
    return {out};
}

// GroupNormalization-12: data [N, C, ...] normalised per (n, group of C/num_groups channels),
// then y = norm · scale[c] + bias[c].
std::vector<Tensor> group_normalization(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    LOOM_REQUIRE(shape.size() >= 2, "GroupNormalization: data needs rank >= 2, has {}",
                 shape.size());
    const I64 groups = ctx.attr<I64>("num_groups");
    const I64 n = shape[0], c = shape[1];
    LOOM_REQUIRE(groups > 0 && c % groups == 0,
                 "GroupNormalization: {} channels do not split into {} groups", c, groups);
    LOOM_REQUIRE(ctx.input(1).size() == c && ctx.input(2).size() == c,
                 "GroupNormalization: scale and bias need {} values", c);
    const double eps = ctx.attr<double>("epsilon");
    const I64 spatial = c == 0 || n == 0 ? 0 : in.size() / (n * c);
    const I64 per_group = c / groups * spatial;
    auto out = ctx.allocate_output(0);
    dispatch_float(in.element_type(), "GroupNormalization", [&](auto tag) {
        using T = decltype(tag);
        auto x = values<T>(in);
        auto sc = values<T>(ctx.input(1));
        auto bi = values<T>(ctx.input(2));
        auto y = mutable_values<T>(out);
        parallel_for(n * groups, 1, [&](I64 begin, I64 end) {
            for (I64 g = begin; g < end; ++g) {
                const I64 base = g * per_group;
                double mean = 0, var = 0;
                for (I64 i = 0; i < per_group; ++i)
                    mean += static_cast<double>(x[at(base + i)]);
                mean /= static_cast<double>(std::max<I64>(per_group, 1));
                for (I64 i = 0; i < per_group; ++i) {
                    const double d = static_cast<double>(x[at(base + i)]) - mean;
                    var += d * d;
                }
                var /= static_cast<double>(std::max<I64>(per_group, 1));
                const double inv = 1.0 / std::sqrt(var + eps);
                for (I64 i = 0; i < per_group; ++i) {
                    const I64 ch = (g % groups) * (c / groups) + i / std::max<I64>(spatial, 1);
                    const double v = (static_cast<double>(x[at(base + i)]) - mean) * inv;
                    y[at(base + i)] = static_cast<T>(v * static_cast<double>(sc[at(ch)]) +
                                                     static_cast<double>(bi[at(ch)]));
                }
            }
        });
    });
    return {out};
}

} // namespace

void add_nn_norm_kernels(KernelTable& table) {
    table.add("MVN", "opset2", mvn<false>);
    table.add("MVN", "opset6", mvn<true>);
    table.add("NormalizeL2", "opset1", normalize_l2);
    table.add("LRN", "opset1", lrn);
    table.add("GroupNormalization", "opset12", group_normalization);
}

} // namespace loom::reference
