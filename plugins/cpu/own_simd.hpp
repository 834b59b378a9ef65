#pragma once
// The AVX-512 pieces the device's own kernels share (internal to plugins/cpu): 32 channels of a
// channels-last pixel, f32 or bf16, as two vectors of 16 f32 and back. bf16 values are widened
// as even and odd channels (a shift and a mask of one 32-bit lane hold two channels, no
// shuffle), so per-channel constants meant for them must be laid out in that order (see
// own_depthwise.cpp `arranged`); the store rounds to nearest even and interleaves them back.
// Only for x86-64 builds; callers check the CPU (own_kernels.hpp *_available) before running.

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

namespace loom::plugins::cpu::simd {

#define LOOM_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))
#define LOOM_AVX512_INLINE LOOM_AVX512 __attribute__((always_inline)) inline

struct Pair {
    __m512 h[2];
};

// The step's 32 channels of one pixel as two f32 vectors: all of them, or with a Tail those in
// `mask` (the last step's). `odd`: 0xFFFF0000 in each lane.
template <bool Bf16, bool Tail>
LOOM_AVX512_INLINE Pair load(const void* p, __mmask32 mask, __m512i odd) {
    if constexpr (Bf16) {
        const __m512i x = Tail ? _mm512_maskz_loadu_epi16(mask, p) : _mm512_loadu_si512(p);
        constexpr __mmask16 all = 0xFFFF; // the masked form: gcc 12 warns of the other's undefined
                                          // fill (-Wmaybe-uninitialized)
        return {_mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, x, 16)),
                _mm512_castsi512_ps(_mm512_and_si512(x, odd))};
    } else {
        const auto* f = static_cast<const float*>(p);
        if constexpr (!Tail) return {_mm512_loadu_ps(f), _mm512_loadu_ps(f + 16)};
        return {_mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), f),
                _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask >> 16), f + 16)};
    }
}

template <bool Bf16, bool Tail>
LOOM_AVX512_INLINE void store(void* p, const Pair& v, __mmask32 mask) {
    if constexpr (Bf16) {
        // Rounded to nearest even; words 0–15 the even channels, 16–31 the odd: interleaved.
        const __m512i packed = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(v.h[1], v.h[0]));
        const __m512i index =
            _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                             22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        const __m512i y = _mm512_permutexvar_epi16(index, packed);
        if constexpr (Tail)
            _mm512_mask_storeu_epi16(p, mask, y);
        else
            _mm512_storeu_si512(p, y);
    } else {
        auto* f = static_cast<float*>(p);
        if constexpr (Tail) {
            _mm512_mask_storeu_ps(f, static_cast<__mmask16>(mask), v.h[0]);
            _mm512_mask_storeu_ps(f + 16, static_cast<__mmask16>(mask >> 16), v.h[1]);
        } else {
            _mm512_storeu_ps(f, v.h[0]);
            _mm512_storeu_ps(f + 16, v.h[1]);
        }
    }
}

// At most 16 channels (`mask`) of one pixel as one f32 vector in their own order — a last step
// of 16 channels or fewer, where the even/odd halves would both be half empty.
template <bool Bf16>
LOOM_AVX512_INLINE __m512 load_half(const void* p, __mmask16 mask) {
    if constexpr (Bf16) {
        const __m512i x = _mm512_maskz_cvtepu16_epi32(0xFFFF, _mm256_maskz_loadu_epi16(mask, p));
        return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, x, 16));
    } else {
        return _mm512_maskz_loadu_ps(mask, p);
    }
}

template <bool Bf16>
LOOM_AVX512_INLINE void store_half(void* p, __m512 v, __mmask16 mask) {
    if constexpr (Bf16)
        _mm256_mask_storeu_epi16(p, mask, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
    else
        _mm512_mask_storeu_ps(static_cast<float*>(p), mask, v);
}

// Lanes of `mask`: the first `left` of 32 (all when left ≥ 32).
LOOM_AVX512_INLINE __mmask32 first(std::int64_t left) {
    return left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
}

} // namespace loom::plugins::cpu::simd
#endif
