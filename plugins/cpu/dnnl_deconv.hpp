#pragma once
// Transposed convolution on oneDNN (issue 13): ConvolutionBackpropData-1 and
// GroupConvolutionBackpropData-1 (weights [C_in, C_out, k…] and [G, C_in/G, C_out/G, k…], as
// OpenVINO lays them out) as one oneDNN deconvolution primitive for static shapes, its weights
// reordered once into the layout the primitive chose. The output size comes from shape inference
// (output_padding, output_shape or auto_pad); the begin paddings are the reference kernel's, the
// end paddings follow. f32, plain (channels-first) data.
// Threading: run() may be called from many threads at once (the scratchpad is allocated per
// run), each with its own stream.

#include <string>

#include <dnnl.hpp>

#include "components/model/graph.hpp"
#include "plugins/cpu/post_ops.hpp"

namespace loom::plugins::cpu {

// Whether `node` runs here: f32, static shapes of rank 3 to 5, constant weights.
bool dnnl_deconv_applies(const model::Node& node) noexcept;

// A oneDNN deconvolution for `node` (dnnl_deconv_applies) reading `src`, writing `dst` (either
// may be format_tag::any), with post-ops `ops`, its weights reordered once into the primitive's
// layout. unsupported when oneDNN has no implementation for it.
// With `affine`, the output scaled and shifted per channel (folded into weights and a bias).
struct DeconvSetup {
    dnnl::deconvolution_forward::primitive_desc pd;
    dnnl::memory weights, bias; // bias: only with an affine
};
DeconvSetup make_deconv(const dnnl::engine& engine, const model::Node& node,
                        const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                        const dnnl::post_ops& ops, const Affine* affine);

class DnnlDeconv {
public:
    // `node` must satisfy dnnl_deconv_applies. unsupported when oneDNN has no implementation
    // (e.g. an output larger than the transposed convolution gives).
    DnnlDeconv(const dnnl::engine& engine, const model::Node& node);

    void run(dnnl::stream& stream, const float* src, float* dst) const;
    const std::string& implementation() const noexcept { return m_impl; }

private:
    dnnl::engine m_engine;
    dnnl::memory::desc m_src, m_dst, m_scratchpad;
    dnnl::memory m_weights;
    dnnl::deconvolution_forward m_primitive;
    std::string m_impl;
};

} // namespace loom::plugins::cpu
