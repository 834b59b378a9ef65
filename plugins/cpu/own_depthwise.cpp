// The CPU device's depthwise convolution (own_kernels.hpp make_depthwise_nhwc): channels last,
// 32 channels per step, f32 arithmetic on f32 or bf16 values.
//
// oneDNN 2.6's depthwise kernel for channels-last values (brdgmm) reloads and, in bf16,
// reconverts each input pixel for every tap that reads it: PP-OCRv4 rec's 5×5 over 240 channels
// at 12×80 took 128 µs in bf16 and 79 µs in f32 on this 2-core AVX-512 machine. Here a row of
// 8 outputs is computed at once: each input pixel of a kernel row is loaded and converted once
// and multiplied into every output that reads it, with the kernel row's weights and the 8
// outputs' accumulators in registers. bf16 values are widened as even and odd channels (a shift
// and a mask of one 32-bit lane hold two channels), so the weights, bias and per-channel
// constants are stored in that order; the result is rounded to bf16 and interleaved back.

#include <algorithm>
#include <cstdint>

#include "plugins/cpu/own_kernels.hpp"
#include "plugins/cpu/own_simd.hpp"

namespace loom::plugins::cpu {

namespace {

constexpr std::int64_t k_block = 32; // channels per step: two vectors of 16 f32

// Whether step `s` of `channels` is a half step: the last, of 16 channels or fewer, computed as
// one vector in the channels' own order (even in bf16).
constexpr bool half_step(std::int64_t s, std::int64_t channels) {
    return channels - s * k_block <= 16;
}

// Lane l of half h of step `s` holds channel `lane_channel(…)` of the step's 32: in bf16 the even
// channels in half 0 and the odd in half 1 (own_simd.hpp), else (f32, half steps) in order.
constexpr std::int64_t lane_channel(bool bf16, bool half, int h, int lane) {
    return bf16 && !half ? 2 * lane + h : 16 * h + lane;
}

// `values` (one per channel) in the kernel's order: per step of 32 channels, two halves of 16
// lanes; channels past the end are `fill`.
std::vector<float> arranged(const std::vector<float>& values, std::int64_t channels, bool bf16,
                            std::int64_t per_channel = 1, float fill = 0.0f) {
    const auto steps = (channels + k_block - 1) / k_block;
    std::vector<float> out(static_cast<std::size_t>(steps * k_block * per_channel), fill);
    for (std::int64_t s = 0; s < steps; ++s)
        for (std::int64_t k = 0; k < per_channel; ++k)
            for (int h = 0; h < 2; ++h)
                for (int l = 0; l < 16; ++l) {
                    const auto c = s * k_block + lane_channel(bf16, half_step(s, channels), h, l);
                    if (c >= channels) continue;
                    out[static_cast<std::size_t>(((s * per_channel + k) * 2 + h) * 16 + l)] =
                        values[static_cast<std::size_t>(c * per_channel + k)];
                }
    return out;
}

struct Packed;
using RowBlock = void (*)(const Packed&, const std::byte*, std::byte*, std::int64_t, std::int64_t,
                          std::int64_t, std::int64_t, std::int64_t);

struct Packed {
    Depthwise2d shape;
    std::int64_t steps = 0;                  // channel steps of 32
    std::vector<float> weights;              // [step][kh][kw][half][16]
    std::vector<float> bias;                 // [step][half][16]
    std::vector<DepthwiseEpilogue> epilogue; // per-channel vectors arranged like bias
};

#if defined(__x86_64__)
using simd::first;
using simd::load;
using simd::Pair;
using simd::store;

LOOM_AVX512_INLINE __m512 max(__m512 a, __m512 b) {
    return _mm512_maskz_max_ps(0xFFFF, a, b);
}
LOOM_AVX512_INLINE __m512 min(__m512 a, __m512 b) {
    return _mm512_maskz_min_ps(0xFFFF, a, b);
}

LOOM_AVX512_INLINE __m512 apply(const DepthwiseEpilogue& op, __m512 x, const float* channel) {
    using K = DepthwiseEpilogue::Kind;
    switch (op.kind) {
    case K::linear:
        return _mm512_fmadd_ps(x, _mm512_set1_ps(op.alpha), _mm512_set1_ps(op.beta));
    case K::relu: {
        const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(x, negative, x, _mm512_set1_ps(op.alpha));
    }
    case K::clip:
        return min(max(x, _mm512_set1_ps(op.alpha)), _mm512_set1_ps(op.beta));
    case K::hardswish: {
        const __m512 r = min(max(_mm512_add_ps(x, _mm512_set1_ps(3.0f)), _mm512_setzero_ps()),
                             _mm512_set1_ps(6.0f));
        return _mm512_mul_ps(_mm512_mul_ps(x, r), _mm512_set1_ps(1.0f / 6.0f));
    }
    case K::add:
        return _mm512_add_ps(x, _mm512_loadu_ps(channel));
    case K::mul:
        return _mm512_mul_ps(x, _mm512_loadu_ps(channel));
    case K::maximum:
        return max(x, _mm512_loadu_ps(channel));
    case K::minimum:
        return min(x, _mm512_loadu_ps(channel));
    }
    return x;
}

// Outputs ow0 … ow0 + W − 1 of row `oh` of image `n`, channel step `s` (`valid` of them exist):
// kernel width KW, horizontal stride SW. Each input pixel of a kernel row is read once.
template <bool Bf16, bool Tail, bool Half, int KW, int SW, int W>
LOOM_AVX512 void row_block(const Packed& k, const std::byte* in, std::byte* out, std::int64_t n,
                           std::int64_t oh, std::int64_t s, std::int64_t ow0, std::int64_t valid) {
    using T = std::conditional_t<Bf16, std::uint16_t, float>;
    const auto& p = k.shape;
    const auto c0 = s * k_block;
    const auto left = p.channels - c0;
    const __mmask32 mask = first(left);
    const __m512i odd = _mm512_set1_epi32(-65536);
    constexpr int span = (W - 1) * SW + KW;
    Pair acc[W];
    const float* bias = k.bias.data() + s * 32;
#pragma GCC unroll 16
    for (int j = 0; j < W; ++j)
        acc[j] = {{_mm512_loadu_ps(bias), _mm512_loadu_ps(bias + 16)}};
    const auto* src = reinterpret_cast<const T*>(in);
    for (std::int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const auto ih = oh * p.stride_h - p.pad_top + kh;
        if (ih < 0 || ih >= p.in_h) continue;
        const auto* row = src + ((n * p.in_h + ih) * p.in_w) * p.channels + c0;
        const float* w = k.weights.data() + (s * p.kernel_h + kh) * KW * 32;
        Pair wk[KW];
#pragma GCC unroll 16
        for (int kw = 0; kw < KW; ++kw)
            wk[kw] = {{_mm512_loadu_ps(w + kw * 32), _mm512_loadu_ps(w + kw * 32 + 16)}};
        const auto iw0 = ow0 * SW - p.pad_left;
#pragma GCC unroll 32
        for (int i = 0; i < span; ++i) {
            const auto iw = iw0 + i;
            if (iw < 0 || iw >= p.in_w) continue;
            Pair x;
            if constexpr (Half)
                x.h[0] = simd::load_half<Bf16>(row + iw * p.channels, static_cast<__mmask16>(mask));
            else
                x = load<Bf16, Tail>(row + iw * p.channels, mask, odd);
#pragma GCC unroll 16
            for (int kw = 0; kw < KW; ++kw) {
                const int d = i - kw;
                if (d < 0 || d % SW != 0 || d / SW >= W) continue;
                auto& a = acc[d / SW];
                a.h[0] = _mm512_fmadd_ps(x.h[0], wk[kw].h[0], a.h[0]);
                if constexpr (!Half) a.h[1] = _mm512_fmadd_ps(x.h[1], wk[kw].h[1], a.h[1]);
            }
        }
    }
    auto* dst = reinterpret_cast<T*>(out) + ((n * p.out_h + oh) * p.out_w + ow0) * p.channels + c0;
#pragma GCC unroll 16
    for (int j = 0; j < W; ++j) {
        if (j >= valid) break;
        for (const auto& op : k.epilogue) {
            const float* v = op.per_channel.empty() ? nullptr : op.per_channel.data() + s * 32;
            acc[j].h[0] = apply(op, acc[j].h[0], v);
            if constexpr (!Half) acc[j].h[1] = apply(op, acc[j].h[1], v ? v + 16 : nullptr);
        }
        if constexpr (Half)
            simd::store_half<Bf16>(dst + j * p.channels, acc[j].h[0], static_cast<__mmask16>(mask));
        else
            store<Bf16, Tail>(dst + j * p.channels, acc[j], mask);
    }
}

// 8 outputs at a time (6 for 7-wide kernels: their weights take more registers).
template <bool Bf16, bool Tail, bool Half = false>
RowBlock pick(int kw, int sw) {
    if (kw == 3)
        return sw == 1 ? row_block<Bf16, Tail, Half, 3, 1, 8>
                       : row_block<Bf16, Tail, Half, 3, 2, 8>;
    if (kw == 5)
        return sw == 1 ? row_block<Bf16, Tail, Half, 5, 1, 8>
                       : row_block<Bf16, Tail, Half, 5, 2, 8>;
    if (kw == 7)
        return sw == 1 ? row_block<Bf16, Tail, Half, 7, 1, 6>
                       : row_block<Bf16, Tail, Half, 7, 2, 6>;
    return nullptr;
}
#endif

class DepthwiseNhwc final : public OwnKernel {
public:
    explicit DepthwiseNhwc(Packed packed)
        : m_k(std::move(packed)) {
#if defined(__x86_64__)
        const auto& p = m_k.shape;
        const auto kw = static_cast<int>(p.kernel_w), sw = static_cast<int>(p.stride_w);
        m_full = p.bf16 ? pick<true, false>(kw, sw) : pick<false, false>(kw, sw);
        m_tail = half_step(m_k.steps - 1, p.channels)
                     ? (p.bf16 ? pick<true, true, true>(kw, sw) : pick<false, true, true>(kw, sw))
                     : (p.bf16 ? pick<true, true>(kw, sw) : pick<false, true>(kw, sw));
        m_width = p.kernel_w >= 7 ? 6 : 8;
#endif
    }

    void run(std::span<std::byte* const> args) const override {
        const auto& p = m_k.shape;
        const auto* in = args[0];
        auto* out = args[1];
        const auto rows = p.batch * p.out_h;
        const auto steps = m_k.steps;
        const auto width = m_width;
#pragma omp parallel for schedule(static)
        for (std::int64_t t = 0; t < rows * steps; ++t) {
            // Channel steps inner: each thread's rows are one band of the image, every pixel's
            // channels written by one thread (measured: 64 against 79 µs with rows inner).
            const auto r = t / steps, s = t % steps;
            const auto block = (s + 1) * k_block <= p.channels ? m_full : m_tail;
            for (std::int64_t ow = 0; ow < p.out_w; ow += width)
                block(m_k, in, out, r / p.out_h, r % p.out_h, s, ow, p.out_w - ow);
        }
    }

private:
    Packed m_k;
    RowBlock m_full = nullptr; // steps of 32 channels
    RowBlock m_tail = nullptr; // the last step, of fewer
    std::int64_t m_width = 8;
};

} // namespace

bool depthwise_nhwc_available(const Depthwise2d& shape) {
#if defined(__x86_64__)
    const bool kernel = shape.kernel_w == 3 || shape.kernel_w == 5 || shape.kernel_w == 7;
    return kernel && (shape.stride_w == 1 || shape.stride_w == 2) && shape.kernel_h >= 1 &&
           shape.kernel_h <= 7 && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           (!shape.bf16 || __builtin_cpu_supports("avx512bf16"));
#else
    (void)shape;
    return false;
#endif
}

std::shared_ptr<const OwnKernel> make_depthwise_nhwc(const Depthwise2d& shape,
                                                     const std::vector<float>& weights,
                                                     const std::vector<float>& bias,
                                                     std::vector<DepthwiseEpilogue> epilogue) {
    Packed k;
    k.shape = shape;
    k.steps = (shape.channels + k_block - 1) / k_block;
    k.weights = arranged(weights, shape.channels, shape.bf16, shape.kernel_h * shape.kernel_w);
    k.bias = arranged(bias, shape.channels, shape.bf16);
    for (auto& op : epilogue)
        if (!op.per_channel.empty())
            op.per_channel = arranged(op.per_channel, shape.channels, shape.bf16);
    k.epilogue = std::move(epilogue);
    return std::make_shared<DepthwiseNhwc>(std::move(k));
}

} // namespace loom::plugins::cpu
