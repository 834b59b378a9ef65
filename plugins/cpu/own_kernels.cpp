#include "plugins/cpu/own_kernels.hpp"
#include "plugins/cpu/own_simd.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace loom::plugins::cpu {

namespace {

class ConcatChannelsLast final : public OwnKernel {
public:
    ConcatChannelsLast(std::int64_t pixels, std::vector<std::int64_t> channels, std::size_t elem)
        : m_pixels(pixels) {
        std::size_t offset = 0;
        for (auto c : channels) {
            m_bytes.push_back(static_cast<std::size_t>(c) * elem);
            m_offset.push_back(offset);
            offset += m_bytes.back();
        }
        m_row = offset;
    }

    void run(std::span<std::byte* const> args) const override {
        const auto inputs = m_bytes.size();
        auto* out = args[inputs];
#pragma omp parallel for schedule(static)
        for (std::int64_t p = 0; p < m_pixels; ++p) {
            const auto pixel = static_cast<std::size_t>(p);
            auto* row = out + pixel * m_row;
            for (std::size_t i = 0; i < inputs; ++i)
                std::memcpy(row + m_offset[i], args[i] + pixel * m_bytes[i], m_bytes[i]);
        }
    }

private:
    std::int64_t m_pixels;
    std::size_t m_row = 0;
    std::vector<std::size_t> m_bytes, m_offset;
};

// bf16 bits as int16 ordered as the values are: negative values' magnitude bits flipped (an
// involution: the same map decodes). NaNs with the sign clear order above +inf, so they win a
// maximum, as oneDNN's f32 pooling lets them.
[[gnu::always_inline]] inline std::int16_t ordered(std::uint16_t bits) {
    const auto v = static_cast<std::int16_t>(bits);
    return static_cast<std::int16_t>(v ^ ((v >> 15) & 0x7FFF));
}

// One output pixel's C channels: the maximum over its window's pixels (`window` pointers).
[[gnu::always_inline]] inline void max_of_generic(const std::uint16_t* const* window,
                                                  std::size_t count, std::int64_t channels,
                                                  std::uint16_t* out) {
    constexpr std::int64_t block = 64;
    for (std::int64_t c0 = 0; c0 < channels; c0 += block) {
        const auto n = std::min(block, channels - c0);
        std::int16_t acc[block];
        for (std::int64_t c = 0; c < n; ++c)
            acc[c] = ordered(window[0][c0 + c]);
        for (std::size_t w = 1; w < count; ++w) {
            const auto* in = window[w] + c0;
            for (std::int64_t c = 0; c < n; ++c)
                acc[c] = std::max(acc[c], ordered(in[c]));
        }
        for (std::int64_t c = 0; c < n; ++c)
            out[c0 + c] = static_cast<std::uint16_t>(ordered(static_cast<std::uint16_t>(acc[c])));
    }
}

using MaxOf = void (*)(const std::uint16_t* const*, std::size_t, std::int64_t, std::uint16_t*);

// The same for f32 values (`window` points at floats; NaN wins, as in the bf16 one).
void max_of_f32_generic(const std::uint16_t* const* window, std::size_t count,
                        std::int64_t channels, std::uint16_t* out) {
    auto* y = reinterpret_cast<float*>(out);
    for (std::int64_t c = 0; c < channels; ++c) {
        float acc = reinterpret_cast<const float*>(window[0])[c];
        for (std::size_t w = 1; w < count; ++w) {
            const float x = reinterpret_cast<const float*>(window[w])[c];
            if (acc < x || x != x) acc = x;
        }
        y[c] = acc;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw"))) inline __m512i ordered32(__m512i v) {
    return _mm512_xor_si512(v,
                            _mm512_and_si512(_mm512_srai_epi16(v, 15), _mm512_set1_epi16(0x7FFF)));
}

// The same with AVX-512BW: 32 channels at a time (the tail masked). Every CPU with bf16 has it.
__attribute__((target("avx512f,avx512bw"))) void max_of_avx512(const std::uint16_t* const* window,
                                                               std::size_t count,
                                                               std::int64_t channels,
                                                               std::uint16_t* out) {
    for (std::int64_t c = 0; c < channels; c += 32) {
        const auto left = channels - c;
        const __mmask32 mask = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
        __m512i acc = ordered32(_mm512_maskz_loadu_epi16(mask, window[0] + c));
        for (std::size_t w = 1; w < count; ++w)
            acc = _mm512_max_epi16(acc, ordered32(_mm512_maskz_loadu_epi16(mask, window[w] + c)));
        _mm512_mask_storeu_epi16(out + c, mask, ordered32(acc));
    }
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx512f"))) void max_of_f32_avx512(const std::uint16_t* const* window,
                                                          std::size_t count, std::int64_t channels,
                                                          std::uint16_t* out) {
    auto* y = reinterpret_cast<float*>(out);
    for (std::int64_t c = 0; c < channels; c += 16) {
        const auto left = channels - c;
        const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
        const auto* w0 = reinterpret_cast<const float*>(window[0]);
        __m512 acc = _mm512_maskz_loadu_ps(mask, w0 + c);
        for (std::size_t w = 1; w < count; ++w) {
            const __m512 x =
                _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(window[w]) + c);
            // x where acc < x or x is NaN: a NaN, once taken, stays
            const __mmask16 take =
                _mm512_cmp_ps_mask(acc, x, _CMP_LT_OQ) | _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
            acc = _mm512_mask_blend_ps(take, acc, x);
        }
        _mm512_mask_storeu_ps(y + c, mask, acc);
    }
}
#endif

MaxOf pick_max_of(bool f32) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw")) return f32 ? max_of_f32_avx512 : max_of_avx512;
#endif
    return f32 ? max_of_f32_generic : max_of_generic;
}

// Max pooling of channels-last bf16 or f32 values (`elem` bytes each); the pointer types below
// are bf16's, the f32 max_of reads floats through them.
class MaxPoolNhwc final : public OwnKernel {
public:
    MaxPoolNhwc(const Pool2d& pool, bool f32)
        : m_p(pool)
        , m_max_of(pick_max_of(f32))
        , m_f32(f32) {}

    void run(std::span<std::byte* const> args) const override {
        const auto& p = m_p;
        const auto* in = reinterpret_cast<const std::uint16_t*>(args[0]);
        auto* out = reinterpret_cast<std::uint16_t*>(args[1]);
        const auto rows = p.batch * p.out_h;
#pragma omp parallel
        {
            // One window of pointers per thread and run, not per row.
            std::vector<const std::uint16_t*> window(
                static_cast<std::size_t>(p.kernel_h * p.kernel_w));
#pragma omp for schedule(static)
            for (std::int64_t r = 0; r < rows; ++r)
                pool_row(in, out, r, window.data());
        }
    }

private:
    // Output row r (image r / out_h, row r % out_h): each pixel the maximum over its window
    // clipped to the input.
    void pool_row(const std::uint16_t* in, std::uint16_t* out, std::int64_t r,
                  const std::uint16_t** window) const {
        const auto& p = m_p;
        const auto n = r / p.out_h, oh = r % p.out_h;
        const std::int64_t row = p.channels * (m_f32 ? 2 : 1); // a pixel, in 16-bit units
        for (std::int64_t ow = 0; ow < p.out_w; ++ow) {
            std::size_t count = 0;
            for (std::int64_t kh = 0; kh < p.kernel_h; ++kh) {
                const auto ih = oh * p.stride_h - p.pad_top + kh;
                if (ih < 0 || ih >= p.in_h) continue;
                for (std::int64_t kw = 0; kw < p.kernel_w; ++kw) {
                    const auto iw = ow * p.stride_w - p.pad_left + kw;
                    if (iw < 0 || iw >= p.in_w) continue;
                    window[count++] = in + ((n * p.in_h + ih) * p.in_w + iw) * row;
                }
            }
            auto* y = out + ((n * p.out_h + oh) * p.out_w + ow) * row;
            if (count == 0) { // a window wholly in the padding: -inf, as oneDNN writes
                if (m_f32)
                    std::fill_n(reinterpret_cast<float*>(y), p.channels,
                                -std::numeric_limits<float>::infinity());
                else
                    std::fill(y, y + p.channels, std::uint16_t{0xFF80});
                continue;
            }
            m_max_of(window, count, p.channels, y);
        }
    }

    Pool2d m_p;
    MaxOf m_max_of;
    bool m_f32;
};

#if defined(__x86_64__)
// 16 pixels: their three planes' f32 values as 48 interleaved bf16 (r g b r g b …). A holds
// r (0–15) and g (16–31), B holds b (0–15): output element j is pixel j / 3's channel j % 3.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void
rgb16(const float* r, const float* g, const float* b, std::uint16_t* out, __mmask16 m) {
    alignas(64) static const std::uint16_t index[48] = {
        0,  16, 32, 1,  17, 33, 2,  18, 34, 3,  19, 35, 4,  20, 36, 5,
        21, 37, 6,  22, 38, 7,  23, 39, 8,  24, 40, 9,  25, 41, 10, 26,
        42, 11, 27, 43, 12, 28, 44, 13, 29, 45, 14, 30, 46, 15, 31, 47};
    const __m512i a = reinterpret_cast<__m512i>(
        _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m, g), _mm512_maskz_loadu_ps(m, r)));
    const __m512i bb = reinterpret_cast<__m512i>(
        _mm512_cvtne2ps_pbh(_mm512_setzero_ps(), _mm512_maskz_loadu_ps(m, b)));
    const __m512i lo = _mm512_permutex2var_epi16(a, _mm512_load_si512(index), bb);
    const __m512i hi = _mm512_permutex2var_epi16(
        a, _mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(index + 32))),
        bb);
    const auto n = static_cast<unsigned>(__builtin_popcount(m)) * 3; // elements to write
    const __mmask32 first = n >= 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1;
    _mm512_mask_storeu_epi16(out, first, lo);
    if (n > 32) _mm512_mask_storeu_epi16(out + 32, (__mmask32{1} << (n - 32)) - 1, hi);
}
#endif

class RgbToBf16Nhwc final : public OwnKernel {
public:
    RgbToBf16Nhwc(std::int64_t images, std::int64_t pixels)
        : m_images(images)
        , m_pixels(pixels) {}

    void run(std::span<std::byte* const> args) const override {
#if defined(__x86_64__)
        const auto* in = reinterpret_cast<const float*>(args[0]);
        auto* out = reinterpret_cast<std::uint16_t*>(args[1]);
        const auto blocks = (m_pixels + 15) / 16;
#pragma omp parallel for schedule(static)
        for (std::int64_t t = 0; t < m_images * blocks; ++t) {
            const auto n = t / blocks, p = t % blocks * 16;
            const auto left = m_pixels - p;
            const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
            const auto* plane = in + n * 3 * m_pixels + p;
            rgb16(plane, plane + m_pixels, plane + 2 * m_pixels, out + (n * m_pixels + p) * 3, m);
        }
#else
        (void)args;
#endif
    }

private:
    std::int64_t m_images, m_pixels;
};

#if defined(__x86_64__)
// Row `r` (image r / height, row r % height) of a + upsample(b).
template <bool Bf16>
LOOM_AVX512 void upsample_add_row(const UpsampleAdd& p, const std::byte* a, const std::byte* b,
                                  std::byte* out, std::int64_t r) {
    using T = std::conditional_t<Bf16, std::uint16_t, float>;
    const auto n = r / p.height, y = r % p.height;
    const auto small_w = p.width / p.factor_w;
    const auto* a_row = reinterpret_cast<const T*>(a) + r * p.width * p.channels;
    const auto* b_row = reinterpret_cast<const T*>(b) +
                        (n * (p.height / p.factor_h) + y / p.factor_h) * small_w * p.channels;
    auto* o_row = reinterpret_cast<T*>(out) + r * p.width * p.channels;
    const __m512i odd = _mm512_set1_epi32(-65536);
    for (std::int64_t x = 0; x < p.width; ++x) {
        const auto* bx = b_row + x / p.factor_w * p.channels;
        const auto at = x * p.channels;
        std::int64_t c = 0;
        for (; c + 32 <= p.channels; c += 32) {
            const auto u = simd::load<Bf16, false>(a_row + at + c, 0, odd);
            const auto v = simd::load<Bf16, false>(bx + c, 0, odd);
            simd::store<Bf16, false>(
                o_row + at + c, {{_mm512_add_ps(u.h[0], v.h[0]), _mm512_add_ps(u.h[1], v.h[1])}},
                0);
        }
        if (c < p.channels) {
            const auto mask = simd::first(p.channels - c);
            const auto u = simd::load<Bf16, true>(a_row + at + c, mask, odd);
            const auto v = simd::load<Bf16, true>(bx + c, mask, odd);
            simd::store<Bf16, true>(
                o_row + at + c, {{_mm512_add_ps(u.h[0], v.h[0]), _mm512_add_ps(u.h[1], v.h[1])}},
                mask);
        }
    }
}
#endif

class UpsampleAddNhwc final : public OwnKernel {
public:
    explicit UpsampleAddNhwc(const UpsampleAdd& shape)
        : m_p(shape) {}

    void run(std::span<std::byte* const> args) const override {
#if defined(__x86_64__)
        const auto rows = m_p.batch * m_p.height;
#pragma omp parallel for schedule(static)
        for (std::int64_t r = 0; r < rows; ++r) {
            if (m_p.bf16)
                upsample_add_row<true>(m_p, args[0], args[1], args[2], r);
            else
                upsample_add_row<false>(m_p, args[0], args[1], args[2], r);
        }
#else
        (void)args;
#endif
    }

private:
    UpsampleAdd m_p;
};

} // namespace

bool upsample_add_available(bool bf16) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && (!bf16 || __builtin_cpu_supports("avx512bf16"));
#else
    (void)bf16;
    return false;
#endif
}

std::shared_ptr<const OwnKernel> make_upsample_add_nhwc(const UpsampleAdd& shape) {
    return std::make_shared<UpsampleAddNhwc>(shape);
}

bool rgb_to_bf16_nhwc_available() {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
#else
    return false;
#endif
}

std::shared_ptr<const OwnKernel> make_rgb_to_bf16_nhwc(std::int64_t images, std::int64_t pixels) {
    return std::make_shared<RgbToBf16Nhwc>(images, pixels);
}

std::shared_ptr<const OwnKernel> make_concat_channels_last(std::int64_t pixels,
                                                           std::vector<std::int64_t> channels,
                                                           std::size_t elem) {
    return std::make_shared<ConcatChannelsLast>(pixels, std::move(channels), elem);
}

bool max_pool_nhwc_available(bool f32) {
#if defined(__x86_64__)
    return !f32 || __builtin_cpu_supports("avx512bw");
#else
    return !f32;
#endif
}

std::shared_ptr<const OwnKernel> make_max_pool_nhwc(const Pool2d& pool, bool f32) {
    return std::make_shared<MaxPoolNhwc>(pool, f32);
}

} // namespace loom::plugins::cpu
