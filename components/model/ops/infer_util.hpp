#pragma once
// Helpers shared by the shape inference functions in ops/ (private to components/model).

#include <cstdint>
#include <initializer_list>
#include <string>
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
// normalize_axis() for an axis that indexes a dimension (so a scalar has none).
std::int64_t dim_axis(std::int64_t axis, std::int64_t rank, std::string_view what);
// ASCII case-insensitive string equality.
bool iequals(std::string_view a, std::string_view b);
// Checks an enum-like String attribute (compared case-insensitively, as OpenVINO's enum
// attribute parser does); `fallback` is used when the attribute is absent. invalid_argument
// listing `allowed` otherwise.
void check_enum(const InferContext& ctx, std::string_view attr, std::string fallback,
                std::initializer_list<std::string_view> allowed);
// Input `i`'s type must be floating-point (or undefined); invalid_argument otherwise.
void require_floating(std::size_t i, ElementType type);
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
