#pragma once
// The CPU device's first form (issue 13): the Plan of loom::reference with the nodes oneDNN can
// run prepared as oneDNN primitives when the model is compiled — convolutions (dnnl_conv),
// transposed ones (dnnl_deconv), matmuls (dnnl_matmul) and elementwise ops (dnnl_eltwise) of
// static shape, weights packed once — and every other node on its
// reference kernel. The graph compiler (layouts, memory plan, streams) replaces this next.

#include "components/reference/interpreter.hpp"

namespace loom::plugins::cpu {

// Prepares the nodes oneDNN runs (one CPU engine shared by all); null for the others, and for a
// node oneDNN turns down at primitive creation (it then runs its reference kernel).
loom::reference::NodePreparer make_dnnl_preparer();

} // namespace loom::plugins::cpu
