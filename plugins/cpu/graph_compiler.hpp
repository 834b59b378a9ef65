#pragma once
// compile_graph — a model compiled into a CpuGraph (graph.hpp) for the CPU device (issue 13):
//  - every Convolution/GroupConvolution/FusedConvolution oneDNN has becomes one primitive with
//    the chain after it folded in as post-ops (post_ops.hpp), its layouts left to oneDNN
//    (format_tag::any), its weights packed once;
//  - unary/binary elementwise ops and reductions run as oneDNN primitives in whatever layout
//    their input has (layout-agnostic: blocked values stay blocked through them);
//  - the other nodes run their kernel entry (or the device's prepared node) on plain tensors,
//    with a reorder to plain before them where a value is blocked;
//  - a memory plan over all of it (memory_plan.hpp).
// Null when the model is not one for it — shapes not all static, bodies (If/Loop), variables,
// extension ops: the device runs those as a Plan.
// With `bf16` (INFERENCE_PRECISION_HINT bf16, on CPUs with avx512_bf16): convolutions take bf16
// sources and weights (f32 bias, post-ops computed in f32 by oneDNN) and write bf16; the
// primitives after them (elementwise, pooling, resampling, concat, batch norm) keep bf16; a value
// becomes f32 again wherever it leaves oneDNN (results, nodes on reference kernels, the ops run
// on plain f32 values: softmax, layer norm, transposes, views).

#include <memory>

#include <dnnl.hpp>

#include "plugins/cpu/graph.hpp"

namespace loom::plugins::cpu {

std::shared_ptr<const CpuGraph> compile_graph(const model::Model& model,
                                              const model::OpRegistry& registry,
                                              const loom::reference::KernelTable& kernels,
                                              const loom::reference::NodePreparer& prepare,
                                              const dnnl::engine& engine, bool bf16 = false);

// Whether compile_graph takes `model`: no bodies, variables or extension ops, every type of a
// fixed size, and (with `static_shapes`) every shape static.
bool graph_applies(const model::Model& model, const model::OpRegistry& registry,
                   bool static_shapes = true);

} // namespace loom::plugins::cpu
