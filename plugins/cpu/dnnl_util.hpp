#pragma once
// What the oneDNN building blocks (dnnl_conv, dnnl_matmul) share: the eltwise post-op of Loom's
// fused ops' `activation` attribute, and reading a node's inputs and constants.

#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "components/model/graph.hpp"

namespace loom::plugins::cpu {

// oneDNN's implementation name as Loom's execType: "brgconv:avx512_core" →
// "brgconv_avx512_core:f32" (":bf16" for a primitive computing in bf16).
std::string exec_type_name(std::string impl,
                           dnnl::memory::data_type type = dnnl::memory::data_type::f32);

// `desc` with its elements of `type` (the same layout, strides in elements).
dnnl::memory::desc retyped(dnnl::memory::desc desc, dnnl::memory::data_type type);

// The output info of input `i` of `node`.
const model::OutputInfo& input_info(const model::Node& node, std::size_t i);

// The Constant producing input `i` of `node`, or null.
const model::Node* constant_input(const model::Node& node, std::size_t i);

// Dense dims of a static shape, and the plain (channels-first) tag of a data tensor of `rank`.
dnnl::memory::dims dims_of(const model::Shape& shape);
dnnl::memory::format_tag plain_data(std::size_t rank);

// A dense row-major f32 tensor of `shape` seen as `rank` dims (leading ones added); with
// `transposed`, its last two axes swapped — same bytes, other strides.
dnnl::memory::desc dense_desc(const model::Shape& shape, std::size_t rank, bool transposed = false);

// The format tag `desc` is in, among the plain, channels-last and 8/16-channel blocked ones of
// its rank; nullopt for others.
std::optional<dnnl::memory::format_tag> tag_of(const dnnl::memory::desc& desc);

// Runs `primitive` with `args` and a scratchpad of `scratchpad` allocated for this run (the
// building blocks' user-scratchpad mode, see dnnl_conv.cpp), and waits for it.
void execute_with_scratchpad(const dnnl::primitive& primitive, dnnl::stream& stream,
                             std::unordered_map<int, dnnl::memory>& args,
                             const dnnl::memory::desc& scratchpad, const dnnl::engine& engine);

// An attribute's values for the `count` spatial axes (missing ones: `fallback`).
std::vector<std::int64_t> spatial(const model::Node& node, const char* name, std::size_t count,
                                  std::int64_t fallback);

// Denormal values (0 < |x| < FLT_MIN) as zeros — what the device does to the weights and biases
// it packs, as OpenVINO's CPU plugin does to a model's constants: an x86 multiply-add with a
// denormal operand takes a microcode assist (PP-OCRv4 det's depthwise Conv.31 has 24 denormal
// weights among 9,600 and took 242 µs, its twins without any 52). Returns how many it changed.
std::size_t flush_denormals(std::span<float> values);
// `t` (f32) without denormals: itself when it has none, else a copy with them zeroed.
model::Tensor without_denormals(const model::Tensor& t);

// `activation` (FusedConvolution/FusedMatMul, loom_ops.cpp) as a oneDNN eltwise post-op appended
// to `ops`: false when oneDNN 2.6 has no algorithm for it ("none" appends nothing, true).
bool append_activation(const model::Node& node, dnnl::post_ops& ops);

} // namespace loom::plugins::cpu
