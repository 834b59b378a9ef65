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

namespace loom::plugins::cpu {

// Whether `node` runs here: f32, static shapes of rank 3 to 5, constant weights.
bool dnnl_deconv_applies(const model::Node& node) noexcept;

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
