#pragma once
// Helpers for writing reference kernels: element-type dispatch, numpy broadcasting, index
// arithmetic and a parallel_for over oneTBB. Private to components/reference.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "components/reference/kernel.hpp"
#include "schemas/error.hpp"

namespace loom::reference {

// Index and count conversions between the graph's int64 and containers' size_t.
inline std::size_t at(std::int64_t i) {
    return static_cast<std::size_t>(i);
}
inline std::int64_t count(std::size_t n) {
    return static_cast<std::int64_t>(n);
}

// Calls f(T{}) with the C++ type of `type`: float, double, int8_t … uint64_t, and bool for
// boolean. f16/bf16 are not dispatched (tables convert them, see KernelOptions::half_via_f32);
// unsupported naming `what` for those and for undefined/string.
template <class F>
decltype(auto) dispatch_type(ElementType type, std::string_view what, F&& f) {
    switch (type) {
    case ElementType::F32:
        return f(float{});
    case ElementType::F64:
        return f(double{});
    case ElementType::I8:
        return f(std::int8_t{});
    case ElementType::U8:
        return f(std::uint8_t{});
    case ElementType::I16:
        return f(std::int16_t{});
    case ElementType::U16:
        return f(std::uint16_t{});
    case ElementType::I32:
        return f(std::int32_t{});
    case ElementType::U32:
        return f(std::uint32_t{});
    case ElementType::I64:
        return f(std::int64_t{});
    case ElementType::U64:
        return f(std::uint64_t{});
    case ElementType::BOOLEAN:
        return f(bool{});
    default:
        break;
    }
    LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: element type {} is not supported", what,
               loom::to_string(type));
}

// As dispatch_type, for floating types only (f32, f64).
template <class F>
decltype(auto) dispatch_float(ElementType type, std::string_view what, F&& f) {
    switch (type) {
    case ElementType::F32:
        return f(float{});
    case ElementType::F64:
        return f(double{});
    default:
        break;
    }
    LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: element type {} is not supported (floating only)", what,
               loom::to_string(type));
}

// As dispatch_float, plus the accumulating integer types i32 and i64 (what integer convolution
// and similar ops compute in, e.g. ONNX ConvInteger after its zero points are subtracted).
template <class F>
decltype(auto) dispatch_arith(ElementType type, std::string_view what, F&& f) {
    switch (type) {
    case ElementType::I32:
        return f(std::int32_t{});
    case ElementType::I64:
        return f(std::int64_t{});
    default:
        return dispatch_float(type, what, std::forward<F>(f));
    }
}

// Integer index types (i32, i64; also u32/u64 where an op allows them) read as int64.
std::vector<std::int64_t> read_indices(const Tensor& tensor);
// The value of a scalar or one-element tensor of any numeric type, as double / int64.
double scalar_f64(const Tensor& tensor);
std::int64_t scalar_i64(const Tensor& tensor);

// Element-typed views. The tensor's bytes must hold T (checked by the dispatch above).
template <class T>
std::span<const T> values(const Tensor& t) {
    return {t.data<T>(), static_cast<std::size_t>(t.size())};
}
template <class T>
std::span<T> mutable_values(const Tensor& t) {
    return {reinterpret_cast<T*>(t.mutable_data()), static_cast<std::size_t>(t.size())};
}

// Row-major strides (in elements) of `shape`.
std::vector<std::int64_t> strides_of(const Shape& shape);
// Strides of `in` broadcast (numpy: aligned right) to rank of `out`: 0 where `in` has 1 or no
// dim. invalid_argument when `in` does not broadcast to `out`.
std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Visits every element of `out_shape` in row-major order, calling f(out_index, a_index,
// b_index) with the matching element indexes of two inputs broadcast to it by
// broadcast_strides. Runs in parallel chunks for large outputs.
template <class F>
void for_each_broadcast(const Shape& out_shape, const std::vector<std::int64_t>& a_strides,
                        const std::vector<std::int64_t>& b_strides, F&& f);

// A tensor of `type` and `shape` with the given values converted from double / int64.
Tensor make_tensor(ElementType type, const Shape& shape, std::span<const double> data);
Tensor make_i64_tensor(const Shape& shape, std::span<const std::int64_t> data);

// Element-type conversion with OpenVINO's Convert semantics (float → integer truncates toward
// zero and saturates; → boolean is value != 0); every type incl. f16/bf16.
Tensor convert_tensor(const Tensor& in, ElementType to);
// The same into `out` (its type the target, its shape in's).
void convert_into(const Tensor& in, Tensor& out);

// Permutes the axes of a tensor of any type (out dim i = in dim order[i]).
Tensor transpose_tensor(const Tensor& in, std::span<const std::int64_t> order);

// ---- implementation of the templates ---------------------------------------------------------

template <class F>
void for_each_broadcast(const Shape& out_shape, const std::vector<std::int64_t>& a_strides,
                        const std::vector<std::int64_t>& b_strides, F&& f) {
    const auto rank = out_shape.size();
    std::int64_t total = 1;
    for (auto d : out_shape)
        total *= d;
    if (total == 0) return;
    if (rank == 0) {
        f(std::int64_t{0}, std::int64_t{0}, std::int64_t{0});
        return;
    }
    const std::int64_t inner = out_shape.back();
    const std::int64_t a_in = a_strides.back();
    const std::int64_t b_in = b_strides.back();
    const std::int64_t rows = total / (inner ? inner : 1);
    parallel_for(rows, std::max<std::int64_t>(1, 16384 / (inner ? inner : 1)),
                 [&](std::int64_t r0, std::int64_t r1) {
                     for (std::int64_t r = r0; r < r1; ++r) {
                         std::int64_t rem = r, a = 0, b = 0;
                         for (std::size_t k = rank - 1; k-- > 0;) {
                             const auto i = rem % out_shape[k];
                             rem /= out_shape[k];
                             a += i * a_strides[k];
                             b += i * b_strides[k];
                         }
                         const std::int64_t base = r * inner;
                         for (std::int64_t j = 0; j < inner; ++j)
                             f(base + j, a + j * a_in, b + j * b_in);
                     }
                 });
}

} // namespace loom::reference
