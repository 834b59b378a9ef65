#pragma once
// What the oneDNN building blocks (dnnl_conv, dnnl_matmul) share: the eltwise post-op of Loom's
// fused ops' `activation` attribute, and reading a node's inputs and constants.

#include <optional>

#include <dnnl.hpp>

#include "components/model/graph.hpp"

namespace loom::plugins::cpu {

// The output info of input `i` of `node`.
const model::OutputInfo& input_info(const model::Node& node, std::size_t i);

// The Constant producing input `i` of `node`, or null.
const model::Node* constant_input(const model::Node& node, std::size_t i);

// `activation` (FusedConvolution/FusedMatMul, loom_ops.cpp) as a oneDNN eltwise post-op appended
// to `ops`: false when oneDNN 2.6 has no algorithm for it ("none" appends nothing, true).
bool append_activation(const model::Node& node, dnnl::post_ops& ops);

} // namespace loom::plugins::cpu
