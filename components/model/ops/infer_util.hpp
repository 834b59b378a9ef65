#pragma once
// Helpers shared by the shape inference functions in ops/ (private to components/model).

#include <cstdint>
#include <string_view>
#include <vector>

#include "components/model/op_registry.hpp"

namespace loom::model::ops {

// Numpy-style broadcast of two partial shapes; invalid_argument when incompatible.
PartialShape broadcast_numpy(const PartialShape& a, const PartialShape& b);
// OpenVINO's auto_broadcast attribute ("numpy" default, "none", "pdpd"): output shape of a
// binary op.
PartialShape broadcast_binary(const InferContext& ctx, const PartialShape& a,
                              const PartialShape& b);
// axis in [-rank, rank) → [0, rank); invalid_argument naming `what` otherwise.
std::int64_t normalize_axis(std::int64_t axis, std::int64_t rank, std::string_view what = "axis");
std::vector<std::int64_t> normalize_axes(const std::vector<std::int64_t>& axes, std::int64_t rank,
                                         std::string_view what = "axes");
// The two inputs must have the same element type (unless one is undefined); returns it.
ElementType merge_types(const InferContext& ctx, std::size_t a, std::size_t b);
// A shape whose dims come from the values of a constant 1-D integer input (−1 → dynamic);
// PartialShape::dynamic(length) when the input is not constant but its length is static;
// fully dynamic otherwise.
PartialShape shape_from_input(const InferContext& ctx, std::size_t input);
// Registers a spec in one line.
void add_spec(OpRegistry& r, std::string type, std::string version, std::vector<AttrSpec> attrs,
              std::size_t min_inputs, std::size_t max_inputs, InferFn infer);

} // namespace loom::model::ops
