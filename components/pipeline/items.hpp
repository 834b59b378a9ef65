#pragma once
// Demultiplexing on host tensors (DESIGN.md §6): a demultiply node's output splits along its
// first dimension into items; a gather stacks items back along a new first dimension.

#include <string>
#include <vector>

#include "components/model/tensor.hpp"

namespace loom::pipeline {

// The shape of one item of a value of shape `shape` (its first dimension dropped);
// invalid_argument naming `what` when it has no first dimension.
model::PartialShape item_shape(const model::PartialShape& shape, const std::string& what);
// The shape of N gathered items of shape `item`.
model::PartialShape gathered_shape(const model::PartialShape& item);

// Item `k` of `t` (a view sharing its bytes; string tensors are copied).
model::Tensor slice_item(const model::Tensor& t, std::int64_t k);
// `items` stacked along a new first dimension, in order; they must agree in type and shape
// (invalid_argument naming `what`). No items: a tensor of `type` with first dimension 0 and
// `item`'s other dimensions (0 where unknown).
model::Tensor stack_items(const std::vector<model::Tensor>& items, ElementType type,
                          const model::PartialShape& item, const std::string& what);

} // namespace loom::pipeline
