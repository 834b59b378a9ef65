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

#include <memory>

#include <dnnl.hpp>

#include "plugins/cpu/graph.hpp"

namespace loom::plugins::cpu {

std::shared_ptr<const CpuGraph> compile_graph(const model::Model& model,
                                              const model::OpRegistry& registry,
                                              const loom::reference::KernelTable& kernels,
                                              const loom::reference::NodePreparer& prepare,
                                              const dnnl::engine& engine);

// Whether compile_graph takes `model`: no bodies, variables or extension ops, every type of a
// fixed size, and (with `static_shapes`) every shape static.
bool graph_applies(const model::Model& model, const model::OpRegistry& registry,
                   bool static_shapes = true);

} // namespace loom::plugins::cpu
