// Reference kernels: nn family (see kernel.hpp). So far: MatMul-1, Softmax-1/8, LogSoftmax-5.

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

// An operand as a row-major stack of [rows, cols] matrices (transposed copy when asked).
template <class T>
struct Matrices {
    std::vector<T> data;
    std::vector<std::int64_t> batch;
    std::int64_t rows = 0;
    std::int64_t cols = 0;
};

template <class T>
Matrices<T> as_matrices(const Tensor& t, bool transpose, bool is_b) {
    Matrices<T> m;
    const auto& shape = t.shape();
    auto v = values<T>(t);
    if (shape.size() == 1) {
        // 1-D: a row vector for A, a column vector for B; transpose is ignored.
        m.rows = is_b ? shape[0] : 1;
        m.cols = is_b ? 1 : shape[0];
        m.data.assign(v.begin(), v.end());
        return m;
    }
    m.batch.assign(shape.begin(), shape.end() - 2);
    const std::int64_t r = shape[shape.size() - 2];
    const std::int64_t c = shape[shape.size() - 1];
    std::int64_t count = 1;
    for (auto d : m.batch)
        count *= d;
    m.rows = transpose ? c : r;
    m.cols = transpose ? r : c;
    m.data.resize(v.size());
    for (std::int64_t b = 0; b < count; ++b) {
        const T* src = v.data() + b * r * c;
        T* dst = m.data.data() + b * r * c;
        if (!transpose) {
            std::copy(src, src + r * c, dst);
            continue;
        }
        for (std::int64_t i = 0; i < r; ++i)
            for (std::int64_t j = 0; j < c; ++j)
                dst[j * r + i] = src[i * c + j];
    }
    return m;
}

// Offset (in matrices) of operand batch index for output batch index `ob` (broadcast).
std::int64_t batch_offset(const std::vector<std::int64_t>& in, const std::vector<std::int64_t>& out,
                          std::int64_t ob) {
    std::int64_t offset = 0;
    std::int64_t stride = 1;
    for (std::size_t k = 0; k < out.size(); ++k) {
        const std::size_t od = out.size() - 1 - k;
        const std::int64_t idx = ob % out[od];
        ob /= out[od];
        if (k < in.size()) {
            const std::int64_t d = in[in.size() - 1 - k];
            if (d != 1) offset += idx * stride;
            stride *= d;
        }
    }
    return offset;
}

template <class T>
void matmul_typed(KernelContext& ctx, const Tensor& out) {
    const auto a = as_matrices<T>(ctx.input(0), ctx.attr_or<bool>("transpose_a", false), false);
    const auto b = as_matrices<T>(ctx.input(1), ctx.attr_or<bool>("transpose_b", false), true);
    LOOM_REQUIRE(a.cols == b.rows, "MatMul: inner dimensions {} and {} differ", a.cols, b.rows);
    const std::int64_t m = a.rows;
    const std::int64_t n = b.cols;
    const std::int64_t k = a.cols;
    std::vector<std::int64_t> obatch(std::max(a.batch.size(), b.batch.size()), 1);
    for (std::size_t i = 0; i < obatch.size(); ++i) {
        const std::size_t o = obatch.size() - 1 - i;
        const std::int64_t da = i < a.batch.size() ? a.batch[a.batch.size() - 1 - i] : 1;
        const std::int64_t db = i < b.batch.size() ? b.batch[b.batch.size() - 1 - i] : 1;
        LOOM_REQUIRE(da == db || da == 1 || db == 1, "MatMul: batch dimensions do not broadcast");
        obatch[o] = std::max(da, db);
    }
    std::int64_t nb = 1;
    for (auto d : obatch)
        nb *= d;
    auto dst = mutable_values<T>(out);
    LOOM_REQUIRE(static_cast<std::int64_t>(dst.size()) == nb * m * n, "MatMul: output size");
    parallel_for(nb * m, 16, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t row = begin; row < end; ++row) {
            const std::int64_t ob = row / m;
            const std::int64_t i = row % m;
            const T* pa = a.data.data() + batch_offset(a.batch, obatch, ob) * m * k + i * k;
            const T* pb = b.data.data() + batch_offset(b.batch, obatch, ob) * k * n;
            T* pc = dst.data() + row * n;
            std::fill(pc, pc + n, T{});
            for (std::int64_t p = 0; p < k; ++p) {
                const T av = pa[p];
                const T* brow = pb + p * n;
                for (std::int64_t j = 0; j < n; ++j)
                    pc[j] += av * brow[j];
            }
        }
    });
}

std::vector<Tensor> matmul(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    dispatch_type(out.element_type(), "MatMul", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "MatMul: boolean is not supported");
        } else {
            matmul_typed<T>(ctx, out);
        }
    });
    return {out};
}

// Softmax (log = false) or LogSoftmax over `axis` (negative counts from the end).
template <bool Log>
std::vector<Tensor> softmax(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<std::int64_t>(shape.size());
    std::int64_t axis = ctx.attr_or<std::int64_t>("axis", 1);
    if (axis < 0) axis += rank;
    LOOM_REQUIRE(axis >= 0 && axis < std::max<std::int64_t>(rank, 1), "Softmax: axis out of range");
    auto out = ctx.allocate_output(0);
    if (rank == 0) return {out};
    std::int64_t outer = 1;
    std::int64_t inner = 1;
    for (std::int64_t d = 0; d < axis; ++d)
        outer *= shape[d];
    for (std::int64_t d = axis + 1; d < rank; ++d)
        inner *= shape[d];
    const std::int64_t len = shape[axis];
    dispatch_float(in.element_type(), "Softmax", [&](auto tag) {
        using T = decltype(tag);
        auto src = values<T>(in);
        auto dst = mutable_values<T>(out);
        parallel_for(outer * inner, 64, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t idx = begin; idx < end; ++idx) {
                const std::int64_t base = (idx / inner) * len * inner + idx % inner;
                T mx = src[base];
                for (std::int64_t a = 1; a < len; ++a)
                    mx = std::max(mx, src[base + a * inner]);
                T sum = 0;
                for (std::int64_t a = 0; a < len; ++a)
                    sum += std::exp(src[base + a * inner] - mx);
                for (std::int64_t a = 0; a < len; ++a) {
                    const T x = src[base + a * inner] - mx;
                    dst[base + a * inner] = Log ? x - std::log(sum) : std::exp(x) / sum;
                }
            }
        });
    });
    return {out};
}

// BatchNormInference: opset1 inputs (gamma, beta, data, mean, variance), opset5 (data, gamma,
// beta, mean, variance); channel axis 1.
template <bool V5>
std::vector<Tensor> batch_norm(KernelContext& ctx) {
    const auto& data = ctx.input(V5 ? 0 : 2);
    const auto& gamma = ctx.input(V5 ? 1 : 0);
    const auto& beta = ctx.input(V5 ? 2 : 1);
    const auto& mean = ctx.input(3);
    const auto& var = ctx.input(4);
    const auto& shape = data.shape();
    LOOM_REQUIRE(shape.size() >= 2, "BatchNormInference: data rank must be at least 2");
    const std::int64_t c = shape[1];
    LOOM_REQUIRE(gamma.size() == c && beta.size() == c && mean.size() == c && var.size() == c,
                 "BatchNormInference: per-channel inputs must have {} elements", c);
    std::int64_t inner = 1;
    for (std::size_t d = 2; d < shape.size(); ++d)
        inner *= shape[d];
    const double eps = ctx.attr<double>("epsilon");
    auto out = ctx.allocate_output(0);
    dispatch_float(data.element_type(), "BatchNormInference", [&](auto tag) {
        using T = decltype(tag);
        auto x = values<T>(data);
        auto g = values<T>(gamma);
        auto b = values<T>(beta);
        auto m = values<T>(mean);
        auto v = values<T>(var);
        auto y = mutable_values<T>(out);
        parallel_for(shape[0] * c, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t idx = begin; idx < end; ++idx) {
                const std::int64_t ch = idx % c;
                const T scale = g[ch] / static_cast<T>(std::sqrt(static_cast<double>(v[ch]) + eps));
                const T shift = b[ch] - m[ch] * scale;
                for (std::int64_t i = idx * inner; i < (idx + 1) * inner; ++i)
                    y[i] = x[i] * scale + shift;
            }
        });
    });
    return {out};
}

} // namespace

std::vector<Tensor> nn_matmul(KernelContext& ctx) {
    return matmul(ctx);
}

void add_nn_conv_kernels(KernelTable& table);
void add_nn_pool_kernels(KernelTable& table);
void add_nn_adaptive_kernels(KernelTable& table);
void add_nn_deform_kernels(KernelTable& table);
void add_nn_fused_kernels(KernelTable& table);
void add_nn_norm_kernels(KernelTable& table);

void add_nn_kernels(KernelTable& table) {
    add_nn_conv_kernels(table);
    add_nn_pool_kernels(table);
    add_nn_adaptive_kernels(table);
    add_nn_deform_kernels(table);
    add_nn_fused_kernels(table);
    add_nn_norm_kernels(table);
    table.add("MatMul", "opset1", matmul);
    table.add("Softmax", "opset1", softmax<false>);
    table.add("Softmax", "opset8", softmax<false>);
    table.add("LogSoftmax", "opset5", softmax<true>);
    table.add("BatchNormInference", "opset1", batch_norm<false>);
    table.add("BatchNormInference", "opset5", batch_norm<true>);
}

} // namespace loom::reference
