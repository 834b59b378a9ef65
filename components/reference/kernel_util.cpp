#include "components/reference/kernel_util.hpp"

#include <cmath>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace loom::reference {

std::vector<std::int64_t> read_indices(const Tensor& tensor) {
    if (tensor.element_type() == ElementType::F32 || tensor.element_type() == ElementType::F64 ||
        tensor.element_type() == ElementType::F16 || tensor.element_type() == ElementType::BF16) {
        std::vector<std::int64_t> out;
        for (double v : tensor.to_f64())
            out.push_back(static_cast<std::int64_t>(v));
        return out;
    }
    return tensor.to_i64();
}

double scalar_f64(const Tensor& tensor) {
    LOOM_REQUIRE(tensor.size() == 1, "expected a scalar, got shape {}",
                 model::to_string(tensor.shape()));
    return tensor.to_f64().at(0);
}

std::int64_t scalar_i64(const Tensor& tensor) {
    LOOM_REQUIRE(tensor.size() == 1, "expected a scalar, got shape {}",
                 model::to_string(tensor.shape()));
    return read_indices(tensor).at(0);
}

std::vector<std::int64_t> strides_of(const Shape& shape) {
    std::vector<std::int64_t> s(shape.size(), 1);
    for (std::size_t i = shape.size(); i-- > 1;)
        s[i - 1] = s[i] * shape[i];
    return s;
}

std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
    LOOM_REQUIRE(in.size() <= out.size(), "shape {} does not broadcast to {}", model::to_string(in),
                 model::to_string(out));
    const auto own = strides_of(in);
    std::vector<std::int64_t> s(out.size(), 0);
    const auto off = out.size() - in.size();
    for (std::size_t i = 0; i < in.size(); ++i) {
        LOOM_REQUIRE(in[i] == out[off + i] || in[i] == 1, "shape {} does not broadcast to {}",
                     model::to_string(in), model::to_string(out));
        s[off + i] = in[i] == 1 ? 0 : own[i];
    }
    return s;
}

namespace {
thread_local ParallelBackend t_backend = nullptr;
} // namespace

void set_thread_parallel_backend(ParallelBackend backend) noexcept {
    t_backend = backend;
}

void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& f) {
    if (n <= 0) return;
    grain = std::max<std::int64_t>(grain, 1);
    if (n <= grain) {
        f(0, n);
        return;
    }
    if (t_backend) return t_backend(n, grain, f);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, grain),
                      [&](const tbb::blocked_range<std::int64_t>& r) { f(r.begin(), r.end()); });
}

namespace {

template <class To>
To saturate(double v) {
    if constexpr (std::is_same_v<To, bool>) {
        return v != 0.0;
    } else if constexpr (std::is_floating_point_v<To>) {
        return static_cast<To>(v);
    } else {
        if (std::isnan(v)) return To{0};
        v = std::trunc(v);
        if (v <= static_cast<double>(std::numeric_limits<To>::lowest()))
            return std::numeric_limits<To>::lowest();
        if (v >= static_cast<double>(std::numeric_limits<To>::max()))
            return std::numeric_limits<To>::max();
        return static_cast<To>(v);
    }
}

// Reads element i of any type as double (integers beyond 2^53 lose precision; integer →
// integer conversions use the exact path below).
double read_as_f64(const Tensor& t, std::int64_t i) {
    switch (t.element_type()) {
    case ElementType::F16:
        return model::f16_to_f32(t.data<std::uint16_t>()[i]);
    case ElementType::BF16:
        return model::bf16_to_f32(t.data<std::uint16_t>()[i]);
    default:
        return dispatch_type(t.element_type(), "read", [&](auto tag) -> double {
            using T = decltype(tag);
            return static_cast<double>(t.data<T>()[i]);
        });
    }
}

// f16 ↔ f32 of n values: 8 at a time with F16C where the CPU has it (every x86-64 CPU since
// 2013), else one by one.
#if defined(__x86_64__)
__attribute__((target("f16c,avx"))) void f16_to_f32_f16c(const std::uint16_t* src, float* dst,
                                                         std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(
            dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    for (; i < n; ++i)
        dst[i] = model::f16_to_f32(src[i]);
}

// Rounds to nearest even, as f32_to_f16 does.
__attribute__((target("f16c,avx"))) void f32_to_f16_f16c(const float* src, std::uint16_t* dst,
                                                         std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i)
        dst[i] = model::f32_to_f16(src[i]);
}

// AVX2 stands for F16C: every CPU with AVX2 has it (Intel since Haswell, AMD since Piledriver),
// and clang 14's __builtin_cpu_supports does not know "f16c" (the fuzz build is clang's).
bool has_f16c() {
    static const bool f16c = __builtin_cpu_supports("avx2");
    return f16c;
}
#endif

void f16_to_f32_n(const std::uint16_t* src, float* dst, std::int64_t n) {
#if defined(__x86_64__)
    if (has_f16c()) return f16_to_f32_f16c(src, dst, n);
#endif
    for (std::int64_t i = 0; i < n; ++i)
        dst[i] = model::f16_to_f32(src[i]);
}

void f32_to_f16_n(const float* src, std::uint16_t* dst, std::int64_t n) {
#if defined(__x86_64__)
    if (has_f16c()) return f32_to_f16_f16c(src, dst, n);
#endif
    for (std::int64_t i = 0; i < n; ++i)
        dst[i] = model::f32_to_f16(src[i]);
}

bool is_int(ElementType t) {
    return model::is_integral(t) && t != ElementType::BOOLEAN;
}

} // namespace

Tensor convert_tensor(const Tensor& in, ElementType to) {
    if (in.element_type() == to) return in;
    auto out = Tensor::allocate(to, in.shape());
    convert_into(in, out);
    return out;
}

void convert_into(const Tensor& in, Tensor& out) {
    const auto to = out.element_type();
    LOOM_REQUIRE(out.shape() == in.shape(), "Convert into shape {} from shape {}",
                 model::to_string(out.shape()), model::to_string(in.shape()));
    const auto n = in.size();
    if (in.element_type() == to) {
        if (n > 0 && out.bytes().data() != in.bytes().data())
            std::memcpy(out.mutable_data(), in.bytes().data(), in.byte_size());
        return;
    }
    // f16 ↔ f32 (an f16 model's inputs and outputs): 8 at a time, in parallel (SqueezeNet's two
    // Converts took 22 % of its time on CPU in bf16).
    if (in.element_type() == ElementType::F16 && to == ElementType::F32) {
        const auto* src = in.data<std::uint16_t>();
        auto* dst = reinterpret_cast<float*>(out.mutable_data());
        parallel_for(n, 16384, [&](std::int64_t b, std::int64_t e) {
            f16_to_f32_n(src + b, dst + b, e - b);
        });
        return;
    }
    if (in.element_type() == ElementType::F32 && to == ElementType::F16) {
        const auto* src = in.data<float>();
        auto* dst = reinterpret_cast<std::uint16_t*>(out.mutable_data());
        parallel_for(n, 16384, [&](std::int64_t b, std::int64_t e) {
            f32_to_f16_n(src + b, dst + b, e - b);
        });
        return;
    }
    if (is_int(in.element_type()) && is_int(to)) { // exact, wrapping like a C++ cast
        auto src = in.to_i64();
        dispatch_type(to, "Convert", [&](auto tag) {
            using T = decltype(tag);
            auto* dst = reinterpret_cast<T*>(out.mutable_data());
            for (std::int64_t i = 0; i < n; ++i)
                dst[i] = static_cast<T>(src[static_cast<std::size_t>(i)]);
        });
        return;
    }
    if (to == ElementType::F16 || to == ElementType::BF16) {
        auto* dst = reinterpret_cast<std::uint16_t*>(out.mutable_data());
        for (std::int64_t i = 0; i < n; ++i) {
            const auto v = static_cast<float>(read_as_f64(in, i));
            dst[i] = to == ElementType::F16 ? model::f32_to_f16(v) : model::f32_to_bf16(v);
        }
        return;
    }
    dispatch_type(to, "Convert", [&](auto tag) {
        using T = decltype(tag);
        auto* dst = reinterpret_cast<T*>(out.mutable_data());
        for (std::int64_t i = 0; i < n; ++i)
            dst[i] = saturate<T>(read_as_f64(in, i));
    });
}

Tensor make_tensor(ElementType type, const Shape& shape, std::span<const double> data) {
    auto f64 = Tensor::allocate(ElementType::F64, shape);
    LOOM_REQUIRE(static_cast<std::size_t>(f64.size()) == data.size(), "{} values for shape {}",
                 data.size(), model::to_string(shape));
    if (!data.empty()) // an empty span may hold a null pointer, which memcpy must not get
        std::memcpy(f64.mutable_data(), data.data(), data.size() * sizeof(double));
    return convert_tensor(f64, type);
}

Tensor make_i64_tensor(const Shape& shape, std::span<const std::int64_t> data) {
    auto t = Tensor::allocate(ElementType::I64, shape);
    LOOM_REQUIRE(static_cast<std::size_t>(t.size()) == data.size(), "{} values for shape {}",
                 data.size(), model::to_string(shape));
    if (!data.empty()) // an empty span may hold a null pointer, which memcpy must not get
        std::memcpy(t.mutable_data(), data.data(), data.size() * sizeof(std::int64_t));
    return t;
}

Tensor transpose_tensor(const Tensor& in, std::span<const std::int64_t> order) {
    const auto& shape = in.shape();
    LOOM_REQUIRE(order.size() == shape.size(), "transpose order has {} axes, the tensor {}",
                 order.size(), shape.size());
    Shape out_shape(shape.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        out_shape[i] = shape.at(static_cast<std::size_t>(order[i]));
    auto out = Tensor::allocate(in.element_type(), out_shape);
    const auto es = static_cast<std::int64_t>(element_size(in.element_type()));
    const auto in_strides = strides_of(shape);
    std::vector<std::int64_t> src_strides(order.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        src_strides[i] = in_strides[static_cast<std::size_t>(order[i])];
    const auto* src = in.bytes().data();
    auto* dst = out.mutable_data();
    const auto total = out.size();
    const auto rank = out_shape.size();
    parallel_for(total, 4096, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t o = b; o < e; ++o) {
            std::int64_t rem = o, off = 0;
            for (std::size_t k = rank; k-- > 0;) {
                off += (rem % out_shape[k]) * src_strides[k];
                rem /= out_shape[k];
            }
            std::memcpy(dst + o * es, src + off * es, static_cast<std::size_t>(es));
        }
    });
    return out;
}

} // namespace loom::reference
