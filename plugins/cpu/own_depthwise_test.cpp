// The CPU device's depthwise convolution (own_kernels.hpp make_depthwise_nhwc) against the
// convolution written out here in double: f32 and bf16 values, every kernel width and stride the
// kernel takes, channel counts with a masked tail, rows whose width is not a multiple of the
// kernel's 8-output blocks, padding on every side, and each epilogue kind.

#include <cmath>
#include <cstring>
#include <ostream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "components/model/tensor.hpp"
#include "plugins/cpu/own_kernels.hpp"

namespace loom::plugins::cpu {
namespace {

struct Case {
    std::string name;
    Depthwise2d shape; // out_h, out_w and bf16 filled in by the test
    std::int64_t pad_bottom, pad_right;
};

std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t pb,
                      std::int64_t pe) {
    return (in + pb + pe - k) / s + 1;
}

Depthwise2d geometry(std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t kh,
                     std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t pt,
                     std::int64_t pl) {
    Depthwise2d d;
    d.batch = 2;
    d.channels = c;
    d.in_h = h;
    d.in_w = w;
    d.kernel_h = kh;
    d.kernel_w = kw;
    d.stride_h = sh;
    d.stride_w = sw;
    d.pad_top = pt;
    d.pad_left = pl;
    return d;
}

double epilogue(const std::vector<DepthwiseEpilogue>& ops, double x, std::int64_t c) {
    using K = DepthwiseEpilogue::Kind;
    for (const auto& op : ops) {
        const double v = op.per_channel.empty() ? 0 : op.per_channel[static_cast<std::size_t>(c)];
        switch (op.kind) {
        case K::linear:
            x = op.alpha * x + op.beta;
            break;
        case K::relu:
            x = x < 0 ? op.alpha * x : x;
            break;
        case K::clip:
            x = std::min<double>(std::max<double>(x, op.alpha), op.beta);
            break;
        case K::hardswish:
            x = x * std::min(std::max(x + 3, 0.0), 6.0) / 6;
            break;
        case K::add:
            x += v;
            break;
        case K::mul:
            x *= v;
            break;
        case K::maximum:
            x = std::max(x, v);
            break;
        case K::minimum:
            x = std::min(x, v);
            break;
        }
    }
    return x;
}

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name;
}

class OwnDepthwise : public ::testing::TestWithParam<std::tuple<Case, bool>> {};

TEST_P(OwnDepthwise, MatchesTheConvolutionWrittenOut) {
    auto [c, bf16] = GetParam();
    auto p = c.shape;
    p.bf16 = bf16;
    p.out_h = out_size(p.in_h, p.kernel_h, p.stride_h, p.pad_top, c.pad_bottom);
    p.out_w = out_size(p.in_w, p.kernel_w, p.stride_w, p.pad_left, c.pad_right);
    if (!depthwise_nhwc_available(p)) GTEST_SKIP() << "this CPU has no AVX-512 (bf16) kernel";
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const auto C = static_cast<std::size_t>(p.channels);
    std::vector<float> in(static_cast<std::size_t>(p.batch * p.in_h * p.in_w) * C);
    for (auto& v : in)
        v = bf16 ? model::bf16_to_f32(model::f32_to_bf16(normal(rng))) : normal(rng);
    std::vector<float> weights(C * static_cast<std::size_t>(p.kernel_h * p.kernel_w)), bias(C);
    for (auto& v : weights)
        v = normal(rng);
    for (auto& v : bias)
        v = normal(rng);
    std::vector<float> scale(C), floor_(C);
    for (std::size_t i = 0; i < C; ++i) {
        scale[i] = 0.5f + static_cast<float>(i % 7) / 4;
        floor_[i] = -0.25f * static_cast<float>(i % 3);
    }
    using K = DepthwiseEpilogue::Kind;
    const std::vector<DepthwiseEpilogue> ops{
        {K::linear, 1.5f, -0.25f, {}}, {K::hardswish, 0, 0, {}},  {K::mul, 0, 0, scale},
        {K::add, 0, 0, bias},          {K::relu, 0.1f, 0, {}},    {K::maximum, 0, 0, floor_},
        {K::minimum, 0, 0, scale},     {K::clip, -0.2f, 3.0f, {}}};

    // The values as the kernel reads them, 64 elements of guard after the output.
    const auto elem = bf16 ? 2u : 4u;
    std::vector<std::byte> src(in.size() * elem);
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (bf16) {
            const auto b = model::f32_to_bf16(in[i]);
            std::memcpy(&src[i * 2], &b, 2);
        } else {
            std::memcpy(&src[i * 4], &in[i], 4);
        }
    }
    const auto outputs = static_cast<std::size_t>(p.batch * p.out_h * p.out_w) * C;
    std::vector<std::byte> dst((outputs + 64) * elem, std::byte{0x5A});
    std::byte* args[] = {src.data(), dst.data()};
    make_depthwise_nhwc(p, weights, bias, ops)->run(args);

    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t oh = 0; oh < p.out_h; ++oh)
            for (std::int64_t ow = 0; ow < p.out_w; ++ow)
                for (std::int64_t ch = 0; ch < p.channels; ++ch) {
                    double acc = bias[static_cast<std::size_t>(ch)];
                    for (std::int64_t kh = 0; kh < p.kernel_h; ++kh)
                        for (std::int64_t kw = 0; kw < p.kernel_w; ++kw) {
                            const auto ih = oh * p.stride_h - p.pad_top + kh;
                            const auto iw = ow * p.stride_w - p.pad_left + kw;
                            if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                            acc += static_cast<double>(in[static_cast<std::size_t>(
                                       ((n * p.in_h + ih) * p.in_w + iw) * p.channels + ch)]) *
                                   weights[static_cast<std::size_t>(
                                       (ch * p.kernel_h + kh) * p.kernel_w + kw)];
                        }
                    const double want = epilogue(ops, acc, ch);
                    const auto at = static_cast<std::size_t>(
                        ((n * p.out_h + oh) * p.out_w + ow) * p.channels + ch);
                    float got;
                    if (bf16) {
                        std::uint16_t b;
                        std::memcpy(&b, &dst[at * 2], 2);
                        got = model::bf16_to_f32(b);
                    } else {
                        std::memcpy(&got, &dst[at * 4], 4);
                    }
                    // f32 sums in another order; bf16 rounds the result (half an ulp: 2^-9).
                    const double tol = bf16 ? 1e-4 + std::abs(want) / 256 : 1e-4;
                    ASSERT_NEAR(got, want, tol) << n << "," << oh << "," << ow << "," << ch;
                }
    for (std::size_t i = outputs * elem; i < dst.size(); ++i)
        ASSERT_EQ(dst[i], std::byte{0x5A}) << "written past the output at byte " << i;
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, OwnDepthwise,
    ::testing::Combine(
        ::testing::Values(
            // 3×3, stride 1, "same" padding; 45 channels: one whole step and a tail of 13
            Case{"k3s1", geometry(45, 9, 13, 3, 3, 1, 1, 1, 1), 1, 1},
            // 5×5, stride 2 vertically (rec's down-sampling), 240 channels: 7 steps and 16
            Case{"k5s21", geometry(240, 12, 21, 5, 5, 2, 1, 2, 2), 2, 2},
            // 3×3, stride 2 horizontally, no right padding; 16 channels: one half step
            Case{"k3s12", geometry(16, 6, 19, 3, 3, 1, 2, 1, 1), 0, 0},
            // 7×7 (6-output blocks), stride 2 both ways, asymmetric padding
            Case{"k7s2", geometry(33, 15, 17, 7, 7, 2, 2, 3, 2), 3, 4},
            // 3×5 with no padding at all: every window inside
            Case{"k35valid", geometry(64, 7, 11, 3, 5, 1, 1, 0, 0), 0, 0}),
        ::testing::Bool()),
    [](const auto& test) {
        return std::get<0>(test.param).name + (std::get<1>(test.param) ? "_bf16" : "_f32");
    });

} // namespace
} // namespace loom::plugins::cpu
