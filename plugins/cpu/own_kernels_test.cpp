// The CPU device's own kernels (own_kernels.hpp) against loops written out here: every output
// element computed the obvious way.

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "components/model/tensor.hpp"
#include "plugins/cpu/own_kernels.hpp"

namespace loom::plugins::cpu {
namespace {

std::vector<std::byte*> pointers(std::vector<std::vector<std::byte>>& buffers) {
    std::vector<std::byte*> out;
    for (auto& b : buffers)
        out.push_back(b.data());
    return out;
}

TEST(OwnKernels, ConcatenatesChannelsLastValuesPixelByPixel) {
    const std::int64_t pixels = 2 * 5 * 7;
    const std::vector<std::int64_t> channels{3, 16, 1};
    std::vector<std::vector<std::byte>> buffers;
    std::mt19937 rng(5);
    for (auto c : channels) {
        buffers.emplace_back(static_cast<std::size_t>(pixels * c) * sizeof(float));
        for (auto& b : buffers.back())
            b = static_cast<std::byte>(rng());
    }
    buffers.emplace_back(static_cast<std::size_t>(pixels * 20) * sizeof(float));
    const auto args = pointers(buffers);
    make_concat_channels_last(pixels, channels, sizeof(float))->run(args);
    const auto* out = reinterpret_cast<const float*>(buffers.back().data());
    for (std::int64_t p = 0; p < pixels; ++p) {
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < channels.size(); ++i) {
            const auto* in = reinterpret_cast<const float*>(buffers[i].data());
            for (std::int64_t c = 0; c < channels[i]; ++c)
                ASSERT_EQ(std::memcmp(&out[p * 20 + offset + c], &in[p * channels[i] + c], 4), 0)
                    << "pixel " << p << " input " << i << " channel " << c;
            offset += channels[i];
        }
    }
}

// Two images of 9×8 pixels, 45 channels (a masked tail at 16 and at 32 per instruction), 3×3
// windows at stride 2 with one pixel of padding; ceil rounding: the last column's windows are
// clipped on the right.
Pool2d pool_3x3_stride_2() {
    Pool2d p;
    p.batch = 2;
    p.channels = 45;
    p.in_h = 9;
    p.in_w = 8;
    p.kernel_h = p.kernel_w = 3;
    p.stride_h = p.stride_w = 2;
    p.pad_top = p.pad_left = 1;
    p.out_h = 5; // (9 + 1 + 1 - 3) / 2 + 1
    p.out_w = 5; // ceil((8 + 1 - 3) / 2) + 1
    return p;
}

// bf16 values of both signs, zeros of both signs and infinities; channels not a multiple of 32
// (a masked tail); windows clipped by padding and by ceil rounding.
TEST(OwnKernels, MaxPoolsBf16ChannelsLastValuesAsFloatsCompare) {
    const auto p = pool_3x3_stride_2();
    std::mt19937 rng(9);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<std::uint16_t> in(static_cast<std::size_t>(p.batch * p.in_h * p.in_w * p.channels));
    for (std::size_t i = 0; i < in.size(); ++i) {
        float v = normal(rng);
        if (i % 97 == 0) v = -std::numeric_limits<float>::infinity();
        if (i % 89 == 0) v = -0.0f;
        in[i] = model::f32_to_bf16(v);
    }
    std::vector<std::uint16_t> out(
        static_cast<std::size_t>(p.batch * p.out_h * p.out_w * p.channels));
    std::byte* args[] = {reinterpret_cast<std::byte*>(in.data()),
                         reinterpret_cast<std::byte*>(out.data())};
    make_max_pool_nhwc(p)->run(args);
    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t oh = 0; oh < p.out_h; ++oh)
            for (std::int64_t ow = 0; ow < p.out_w; ++ow)
                for (std::int64_t c = 0; c < p.channels; ++c) {
                    float want = -std::numeric_limits<float>::infinity();
                    for (std::int64_t kh = 0; kh < 3; ++kh)
                        for (std::int64_t kw = 0; kw < 3; ++kw) {
                            const auto ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                            if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                            want = std::max(
                                want, model::bf16_to_f32(in[static_cast<std::size_t>(
                                          ((n * p.in_h + ih) * p.in_w + iw) * p.channels + c)]));
                        }
                    const auto got = model::bf16_to_f32(out[static_cast<std::size_t>(
                        ((n * p.out_h + oh) * p.out_w + ow) * p.channels + c)]);
                    ASSERT_EQ(got, want) << n << "," << oh << "," << ow << "," << c;
                }
}

// The same in f32: 16 channels per instruction (45: two whole and a masked tail), NaNs in some
// windows (a NaN wins, as in the bf16 kernel), windows clipped by the padding.
TEST(OwnKernels, MaxPoolsF32ChannelsLastValuesWithNaNsWinning) {
    if (!max_pool_nhwc_available(true)) GTEST_SKIP() << "this CPU has no AVX-512 f32 max pooling";
    const auto p = pool_3x3_stride_2();
    std::mt19937 rng(13);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> in(static_cast<std::size_t>(p.batch * p.in_h * p.in_w * p.channels));
    for (std::size_t i = 0; i < in.size(); ++i) {
        in[i] = normal(rng);
        if (i % 101 == 0) in[i] = std::numeric_limits<float>::quiet_NaN();
        if (i % 97 == 0) in[i] = -std::numeric_limits<float>::infinity();
    }
    std::vector<float> out(static_cast<std::size_t>(p.batch * p.out_h * p.out_w * p.channels) + 16,
                           1234.5f);
    std::byte* args[] = {reinterpret_cast<std::byte*>(in.data()),
                         reinterpret_cast<std::byte*>(out.data())};
    make_max_pool_nhwc(p, true)->run(args);
    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t oh = 0; oh < p.out_h; ++oh)
            for (std::int64_t ow = 0; ow < p.out_w; ++ow)
                for (std::int64_t c = 0; c < p.channels; ++c) {
                    float want = -std::numeric_limits<float>::infinity();
                    bool nan = false;
                    for (std::int64_t kh = 0; kh < 3; ++kh)
                        for (std::int64_t kw = 0; kw < 3; ++kw) {
                            const auto ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                            if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                            const float v = in[static_cast<std::size_t>(
                                ((n * p.in_h + ih) * p.in_w + iw) * p.channels + c)];
                            nan = nan || std::isnan(v);
                            want = std::max(want, v);
                        }
                    const float got = out[static_cast<std::size_t>(
                        ((n * p.out_h + oh) * p.out_w + ow) * p.channels + c)];
                    if (nan)
                        ASSERT_TRUE(std::isnan(got)) << n << "," << oh << "," << ow << "," << c;
                    else
                        ASSERT_EQ(got, want) << n << "," << oh << "," << ow << "," << c;
                }
    for (std::size_t i = out.size() - 16; i < out.size(); ++i)
        EXPECT_EQ(out[i], 1234.5f) << "written past the end at " << i;
}

// Two planar RGB images of 5×7 pixels (35: two blocks of 16 and a masked tail of 3) into bf16
// channels last, each value rounded to nearest even as f32_to_bf16 does.
TEST(OwnKernels, InterleavesRgbPlanesIntoBf16ChannelsLast) {
    if (!rgb_to_bf16_nhwc_available()) GTEST_SKIP() << "this CPU has no AVX-512 bf16 conversions";
    const std::int64_t images = 2, pixels = 35;
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 100.0f);
    std::vector<float> in(static_cast<std::size_t>(images * 3 * pixels));
    for (auto& v : in)
        v = normal(rng);
    std::vector<std::uint16_t> out(in.size() + 8, 0xABCD); // 8 past the end: untouched
    std::byte* args[] = {reinterpret_cast<std::byte*>(in.data()),
                         reinterpret_cast<std::byte*>(out.data())};
    make_rgb_to_bf16_nhwc(images, pixels)->run(args);
    for (std::int64_t n = 0; n < images; ++n)
        for (std::int64_t p = 0; p < pixels; ++p)
            for (std::int64_t c = 0; c < 3; ++c)
                ASSERT_EQ(
                    out[static_cast<std::size_t>((n * pixels + p) * 3 + c)],
                    model::f32_to_bf16(in[static_cast<std::size_t>((n * 3 + c) * pixels + p)]))
                    << n << "," << p << "," << c;
    for (std::size_t i = in.size(); i < out.size(); ++i)
        EXPECT_EQ(out[i], 0xABCD) << "written past the end at " << i;
}

// a + nearest-upsample(b), channels last: factors of 2 and 3 (and 1 across), 45 channels (a
// whole step of 32 and a masked tail), two images; bf16 values added in f32 and rounded once.
TEST(OwnKernels, AddsANearestUpsampledValue) {
    for (const bool bf16 : {false, true}) {
        if (!upsample_add_available(bf16)) continue;
        UpsampleAdd p;
        p.batch = 2;
        p.channels = 45;
        p.height = 6;
        p.width = 9;
        p.factor_h = 2;
        p.factor_w = 3;
        p.bf16 = bf16;
        const auto C = static_cast<std::size_t>(p.channels);
        const auto full = static_cast<std::size_t>(p.batch * p.height * p.width) * C;
        const auto small = full / static_cast<std::size_t>(p.factor_h * p.factor_w);
        std::mt19937 rng(11);
        std::normal_distribution<float> normal(0.0f, 4.0f);
        std::vector<float> a(full), b(small);
        for (auto& v : a)
            v = model::bf16_to_f32(model::f32_to_bf16(normal(rng)));
        for (auto& v : b)
            v = model::bf16_to_f32(model::f32_to_bf16(normal(rng)));
        const std::size_t elem = bf16 ? 2 : 4;
        const auto bytes_of = [&](const std::vector<float>& v) {
            std::vector<std::byte> out(v.size() * elem);
            for (std::size_t i = 0; i < v.size(); ++i) {
                const auto h = model::f32_to_bf16(v[i]);
                std::memcpy(&out[i * elem], bf16 ? static_cast<const void*>(&h) : &v[i], elem);
            }
            return out;
        };
        auto a_bytes = bytes_of(a), b_bytes = bytes_of(b);
        std::vector<std::byte> out((full + 32) * elem, std::byte{0x77});
        std::byte* args[] = {a_bytes.data(), b_bytes.data(), out.data()};
        make_upsample_add_nhwc(p)->run(args);
        const auto small_w = p.width / p.factor_w, small_h = p.height / p.factor_h;
        for (std::int64_t n = 0; n < p.batch; ++n)
            for (std::int64_t y = 0; y < p.height; ++y)
                for (std::int64_t x = 0; x < p.width; ++x)
                    for (std::int64_t c = 0; c < p.channels; ++c) {
                        const auto i = static_cast<std::size_t>(
                            ((n * p.height + y) * p.width + x) * p.channels + c);
                        const auto j = static_cast<std::size_t>(
                            ((n * small_h + y / p.factor_h) * small_w + x / p.factor_w) *
                                p.channels +
                            c);
                        const float sum = a[i] + b[j];
                        float got;
                        if (bf16) {
                            std::uint16_t h;
                            std::memcpy(&h, &out[i * 2], 2);
                            got = model::bf16_to_f32(h);
                            ASSERT_EQ(h, model::f32_to_bf16(sum)) << "bf16 " << i;
                        } else {
                            std::memcpy(&got, &out[i * 4], 4);
                            ASSERT_EQ(got, sum) << "f32 " << i;
                        }
                    }
        for (std::size_t k = full * elem; k < out.size(); ++k)
            ASSERT_EQ(out[k], std::byte{0x77}) << "written past the output at byte " << k;
    }
}

} // namespace
} // namespace loom::plugins::cpu
