#pragma once
// The passes of loom::passes. Every pass recurses into the bodies of If/Loop/TensorIterator: the
// rewrites are local and keep a body's parameters and results, so they are safe there.
// Fusions only rewrite when each intermediate value has no consumer outside the pattern, so no
// value observable elsewhere changes; the rewritten root keeps its friendly name and its output
// tensor names.

#include <memory>

#include "components/passes/pass_manager.hpp"

namespace loom::passes {

// "validate": infer_and_validate; never changes the graph.
std::unique_ptr<Pass> make_validate_pass();

// "constant_folding": replaces nodes whose inputs are all Constants by Constants of their
// outputs, using OpSpec::evaluate. Folded without evaluate: ShapeOf of a static shape (input
// need not be constant), Convert of a Constant, Reshape/Squeeze/Unsqueeze of a Constant with a
// static output shape. Never folds nodes with side effects (ReadValue, Assign, random ops) or
// bodies. Run validate first: folding reads inferred output shapes.
std::unique_ptr<Pass> make_constant_folding_pass();

// "dce": Model::remove_unused (keeps parameters, results, sinks).
std::unique_ptr<Pass> make_dce_pass();

// "cse": merges nodes with the same type, version, attributes and inputs (Constants: same type,
// shape and bytes). Never merges nodes with side effects, bodies, or ops the registry does not
// know (an unknown extension op may be stateful).
std::unique_ptr<Pass> make_cse_pass();

// "fuse_conv_batchnorm": Convolution/GroupConvolution with Constant f32/f16/bf16 weights followed
// by BatchNormInference with Constant parameters → Convolution with scaled weights + Add(bias).
std::unique_ptr<Pass> make_conv_batchnorm_fusion_pass();

// "fuse_bias_activation": Convolution (not GroupConvolution) or MatMul, + Add of a per-channel
// Constant (channel axis 1 for Convolution, the last axis for MatMul), + optionally one of
// Relu, Sigmoid, Tanh, HSwish, Clamp, Swish, Gelu, Elu → FusedConvolution / FusedMatMul (loom1).
// Skipped when the registry lacks the loom1 ops.
std::unique_ptr<Pass> make_bias_activation_fusion_pass();

// "fuse_hswish": x * HardSigmoid(x, 1/6, 0.5) and x * Clamp(x + 3, 0, 6) / 6 (or * 1/6, either
// operand order) → HSwish-4.
std::unique_ptr<Pass> make_hswish_fusion_pass();

// "fuse_swish": x * Sigmoid(x) (either order) → Swish-4.
std::unique_ptr<Pass> make_swish_fusion_pass();

// "fuse_gelu": 0.5 * x * (1 + Erf(x / √2)) → Gelu-7 "ERF"; 0.5 * x * (1 + Tanh(√(2/π) *
// (x + 0.044715 * x³))) → Gelu-7 "TANH" (operand orders, Div by √2 or Mul by 1/√2, Div by 2).
std::unique_ptr<Pass> make_gelu_fusion_pass();

// "fuse_layer_norm": (x − ReduceMean(x)) / Sqrt(ReduceMean((x − mean)²) + eps) → MVN-6
// (normalize_variance, eps_mode "inside_sqrt"); a following gamma Multiply / beta Add stay.
std::unique_ptr<Pass> make_layer_norm_fusion_pass();

// "eliminate_identity": x*1, x+0, x-0, x/1 (same shape and type as x), Convert to the same type,
// Transpose pairs that cancel, Reshape/Squeeze/Unsqueeze chains back to the source's shape.
// Values read by a Result are left in place (their tensor names are the model's interface).
std::unique_ptr<Pass> make_identity_elimination_pass();

// "convert_f16_to_f32": runs an f16 model in f32 (what INFERENCE_PRECISION_HINT f32 means on a
// device, as OpenVINO's CPU does): f16 Constants become f32, consumers of an f16 Parameter read
// a Convert to f32, "destination_type"/"output_type"/"element_type" f16 attributes become f32,
// and a Result of an f16 value reads a Convert back to f16 (which takes the tensor names), so
// the interface keeps its types.
std::unique_ptr<Pass> make_f16_to_f32_pass();

} // namespace loom::passes
