#pragma once
// The explicit tables of the native op set (OpenVINO's opsets). Each function adds one family's
// specs; make_native_registry() calls them all, in this order. Attribute names, defaults and
// semantics are those of OpenVINO's operation specification for the op's opset version.

namespace loom::model {
class OpRegistry;
}

namespace loom::model::ops {

void add_core_ops(
    OpRegistry& r); // Parameter, Constant, Result, Convert, ShapeOf, ReadValue, Assign …
void add_elementwise_ops(OpRegistry& r); // unary/binary arithmetic, comparisons, logic, activations
void add_reduction_ops(OpRegistry& r);   // Reduce*, Softmax, TopK, normalizations, CumSum …
void add_nn_ops(OpRegistry& r);          // convolutions, pooling, MatMul
void add_image_ops(OpRegistry& r);       // Interpolate, space/depth rearrangements, ROI, GridSample
void add_rnn_ops(OpRegistry& r);         // RNN/GRU/LSTM cells and sequences, the DFT family
void add_shape_ops(OpRegistry& r);       // Reshape, Transpose, Concat, Split, Broadcast, Pad …
void add_index_ops(OpRegistry& r);       // Gather*, Scatter*, Slice, StridedSlice, Einsum …
void add_sequence_ops(
    OpRegistry& r); // ops whose output shapes depend on data (NonZero, Unique, NMS …)
void add_control_ops(OpRegistry& r); // If, Loop, TensorIterator
void add_loom_ops(OpRegistry& r);    // Loom's own fused ops (version "loom1")

} // namespace loom::model::ops
