#pragma once
// The CPU device's own kernels: steps of the compiled graph (graph.hpp) that oneDNN 2.6 does
// slowly on the channels-last layouts its brgemm convolutions write on AVX-512 —
//  - concatenation along channels: each pixel's channels of every input copied as one run
//    (oneDNN's "simple" concat: 58 µs for SqueezeNet's first fire module in bf16, this ~3×
//    less);
//  - max pooling of bf16: 16-bit integer maxima of an order-preserving encoding, 32 channels at
//    a time (oneDNN 2.6's bf16 pooling is slower than its f32 one here: 110 against 95 µs for
//    SqueezeNet's first pooling); of f32, 16 channels at a time with AVX-512 (SqueezeNet's three:
//    167 → 130 µs).
//  - depthwise 2-D convolution of channels-last values (own_depthwise.cpp): oneDNN 2.6's reloads
//    and reconverts each input pixel per tap (PP-OCRv4 rec: 42 % of its bf16 time).
//  - nearest upsampling by integer factors added to another value (feature pyramids).
//  - an RGB image (f32, planar NCHW) into bf16 channels last, where a bf16 graph's first
//    convolution reads it (oneDNN's reorder: 271 µs for PP-OCRv4 det's 640×640 input).
// Each runs on the calling thread's OpenMP team, as the primitives do.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace loom::plugins::cpu {

class OwnKernel {
public:
    virtual ~OwnKernel() = default;
    // `args`: the step's values' bytes, in the order of its Step::args.
    virtual void run(std::span<std::byte* const> args) const = 0;
};

// Channels-last values of `pixels` pixels (N × spatial) and `elem`-byte elements: inputs with
// channels[i] channels each, into an output of their sum. Args: the inputs, then the output.
std::shared_ptr<const OwnKernel> make_concat_channels_last(std::int64_t pixels,
                                                           std::vector<std::int64_t> channels,
                                                           std::size_t elem);

struct Pool2d {
    std::int64_t batch = 1, channels = 1, in_h = 1, in_w = 1, out_h = 1, out_w = 1;
    std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
};
// Max pooling of a bf16 (or, with `f32`, an f32) NHWC value into one of the same type (windows
// clipped to the input: the padding never wins; a NaN does). Args: input, output.
std::shared_ptr<const OwnKernel> make_max_pool_nhwc(const Pool2d& pool, bool f32 = false);
// Whether the graph should use it: bf16 always (oneDNN 2.6's is slower on every CPU measured);
// f32 where AVX-512 runs it 16 channels at a time (elsewhere oneDNN's jit pooling is the better).
bool max_pool_nhwc_available(bool f32);

// Whether this CPU runs make_rgb_to_bf16_nhwc's kernel (AVX-512 with bf16 conversions).
bool rgb_to_bf16_nhwc_available();
// f32 NCHW of 3 channels into bf16 NHWC: `images` × `pixels` (H·W) pixels. Args: input, output.
std::shared_ptr<const OwnKernel> make_rgb_to_bf16_nhwc(std::int64_t images, std::int64_t pixels);

// a + nearest-upsample(b) of channels-last values of one type (f32, or bf16 added in f32): a and
// the output [N, H, W, C], b [N, H / factor_h, W / factor_w, C] — a feature pyramid's top-down
// path (PP-OCRv4 det: Interpolate then Add, two passes over the large value fused into one).
struct UpsampleAdd {
    std::int64_t batch = 1, channels = 1, height = 1, width = 1, factor_h = 1, factor_w = 1;
    bool bf16 = false;
};
bool upsample_add_available(bool bf16);
// Args: a, b, output.
std::shared_ptr<const OwnKernel> make_upsample_add_nhwc(const UpsampleAdd& shape);

// A depthwise 2-D convolution (one input channel per output channel) of a channels-last value
// of f32 or bf16, computed in f32, with an epilogue applied to each output in order.
struct Depthwise2d {
    std::int64_t batch = 1, channels = 1, in_h = 1, in_w = 1, out_h = 1, out_w = 1;
    std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
    bool bf16 = false; // the input's and the output's type; else f32
};
struct DepthwiseEpilogue {
    // linear: α·x + β; relu: x < 0 ? α·x : x; clip: min(max(x, α), β); hardswish:
    // x·min(max(x + 3, 0), 6)/6; add, mul, maximum, minimum: with per_channel[c].
    enum class Kind { linear, relu, clip, hardswish, add, mul, maximum, minimum } kind;
    float alpha = 0, beta = 0;
    std::vector<float> per_channel;
};
// Whether this CPU has make_depthwise_nhwc's kernel for `shape` (AVX-512BW/DQ/VL, and BF16 for
// bf16 values; kernel widths 3, 5, 7 and heights up to 7; horizontal strides 1 and 2).
bool depthwise_nhwc_available(const Depthwise2d& shape);
// `weights`: [channels][kernel_h][kernel_w]; `bias`: [channels]. Args: input, output (NHWC).
std::shared_ptr<const OwnKernel> make_depthwise_nhwc(const Depthwise2d& shape,
                                                     const std::vector<float>& weights,
                                                     const std::vector<float>& bias,
                                                     std::vector<DepthwiseEpilogue> epilogue);

} // namespace loom::plugins::cpu
