#pragma once
// Byte-level helpers for the data-movement kernels (shape and index families): they copy
// elements of any type, f16/bf16 and boolean included, by element_size. Private to
// components/reference.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

inline std::size_t to_size(std::int64_t v) {
    return static_cast<std::size_t>(v);
}

// Product of shape[begin, end).
std::int64_t dims_product(const Shape& shape, std::size_t begin, std::size_t end);

// Normalizes axis into [0, rank) (negative counts from the end); invalid_argument naming
// `what` when out of range.
std::int64_t checked_axis(std::int64_t axis, std::int64_t rank, const char* what);

// For every element of `out` (same rank as `in`), copies the element of `in` whose index along
// axis k is maps[k][i_k] — or `fill` (one element's bytes) when any of those is negative.
// maps[k] has out.shape()[k] entries, each in [-1, in.shape()[k]).
void remap_axes(const Tensor& in, const Tensor& out,
                const std::vector<std::vector<std::int64_t>>& maps,
                std::span<const std::byte> fill = {});

// The bytes of element i of `t`.
inline const std::byte* element_ptr(const Tensor& t, std::int64_t i) {
    return t.bytes().data() + to_size(i) * element_size(t.element_type());
}

} // namespace loom::reference
