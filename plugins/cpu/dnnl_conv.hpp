#pragma once
// Convolution on oneDNN (issue 13, the CPU device's first building block): Convolution-1,
// GroupConvolution-1 and Loom's FusedConvolution (bias and activation become the primitive's
// bias and eltwise post-op) as one oneDNN convolution primitive, created once for static shapes,
// with its weights reordered once — at construction — into the layout the primitive chose
// (format_tag::any: blocked, e.g. OIhw16i16o, for the brgconv/jit implementations). Data here
// is f32 in the plain layout (ncw/nchw/ncdhw); the CPU graph compiler will choose blocked data
// layouts between such primitives.
// Threading: run() may be called from many threads at once (any thread, not only the one that
// made the primitive: the scratchpad is allocated per run), each with its own stream (the
// primitive and the packed weights are only read).

#include <string>
#include <vector>

#include <dnnl.hpp>

#include "components/model/graph.hpp"
#include "plugins/cpu/post_ops.hpp"

namespace loom::plugins::cpu {

// Whether `node` runs here: a Convolution, GroupConvolution or FusedConvolution on f32 with
// static shapes of rank 3 to 5, constant weights (and bias), and an activation oneDNN has.
bool dnnl_conv_applies(const model::Node& node) noexcept;

// Strides, dilations (oneDNN counts them from 0) and paddings of the spatial axes of `node`'s
// convolution of `in` by weights `w` into `out` (auto_pad resolved).
struct ConvGeometry {
    dnnl::memory::dims strides, dilations, pad_l, pad_r;
};
ConvGeometry conv_geometry(const model::Node& node, const model::Shape& in, const model::Shape& w,
                           const model::Shape& out);

// A oneDNN convolution for `node` (dnnl_conv_applies) reading `src` and writing `dst` (either may
// be format_tag::any: oneDNN picks, e.g. nChw16c), with post-ops `ops` (the node's activation is
// the caller's to append first: append_activation), its weights reordered once into the layout
// the primitive chose — scaled and shifted by `affine` first when given (the node must then have
// no activation). unsupported when oneDNN has no implementation for it.
struct ConvSetup {
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::memory weights, bias; // bias: empty without one
};
ConvSetup make_conv(const dnnl::engine& engine, const model::Node& node,
                    const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                    const dnnl::post_ops& ops, const Affine* affine);

class DnnlConv {
public:
    // `node` must satisfy dnnl_conv_applies; its weights (and bias) are read from its Constant
    // inputs. unsupported when oneDNN has no implementation for it.
    DnnlConv(const dnnl::engine& engine, const model::Node& node);

    // dst (the node's output shape, dense) = conv(src (its input 0 shape, dense)).
    void run(dnnl::stream& stream, const float* src, float* dst) const;

    // The implementation oneDNN picked, as execType: e.g. "brgconv:avx512_core".
    const std::string& implementation() const noexcept { return m_impl; }

private:
    dnnl::engine m_engine;
    dnnl::memory::desc m_src, m_dst;
    dnnl::memory m_weights, m_bias; // packed once
    dnnl::convolution_forward m_primitive;
    std::string m_impl;
    dnnl::memory::desc m_scratchpad; // allocated per run (user scratchpad mode)
};

} // namespace loom::plugins::cpu
