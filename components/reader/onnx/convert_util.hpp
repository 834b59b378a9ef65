#pragma once
// Building blocks shared by the ONNX converters (ops_*.cpp; private to components/reader/onnx):
// one-line node makers over ConvertContext (op, binary, reshape, slice, …), shape/rank queries
// that fold to constants when static, ONNX attribute helpers (auto_pad, window geometry, legacy
// broadcast) and the convolution core shared by Conv and ConvInteger.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "components/reader/onnx/convert_context.hpp"

namespace loom::reader::onnx_fe {

using model::Attributes;
using model::AttrValue;
using model::Dimension;
using model::Tensor;
using I64s = std::vector<std::int64_t>;
using Outs = std::vector<Output>;

inline constexpr std::int64_t k_max_i64 = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t k_min_i64 = std::numeric_limits<std::int64_t>::min();

Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> list);

// The `seed` attribute (a float in ONNX) as the random ops' integer seed; invalid_argument when
// it is not finite or not within int64 (a cast would be undefined — found by fuzz_onnx).
std::int64_t seed_of(const ConvertContext& ctx);
AttrValue str(std::string s);
AttrValue i64(std::int64_t v);
AttrValue f64(double v);
AttrValue flag(bool v);
AttrValue ints(I64s v);
Output op(ConvertContext& ctx, std::string type, std::string version, std::vector<Output> inputs,
          Attributes a = {});
const PartialShape& shape_of_value(Output v);
ElementType type_of(Output v);
Output binary(ConvertContext& ctx, const char* type, Output a, Output b);
Output shape_of(ConvertContext& ctx, Output x);
// Elements `indices` of a 1-D value (a scalar index gives a scalar).
Output gather(ConvertContext& ctx, Output data, Output indices, std::int64_t axis = 0);
// data[begin:end:step] along `axis`.
Output slice(ConvertContext& ctx, Output data, std::int64_t begin, std::int64_t end,
             std::int64_t step = 1, std::int64_t axis = 0);
Output reshape(ConvertContext& ctx, Output x, Output target, bool special_zero = false);
Output reshape(ConvertContext& ctx, Output x, I64s target);
Output unsqueeze(ConvertContext& ctx, Output x, I64s axes);
Output squeeze(ConvertContext& ctx, Output x, I64s axes);
Output transpose(ConvertContext& ctx, Output x, I64s order);
Output convert(ConvertContext& ctx, Output x, ElementType to);
Output concat(ConvertContext& ctx, std::vector<Output> parts, std::int64_t axis = 0);
Outs split(ConvertContext& ctx, Output x, std::int64_t axis, std::int64_t parts);
Output broadcast(ConvertContext& ctx, Output value, Output target_shape,
                 const char* mode = "numpy");
Output zeros(ConvertContext& ctx, ElementType type, model::Shape shape);
Output bool_scalar(ConvertContext& ctx, bool value);
std::optional<std::int64_t> static_rank(const PartialShape& s);
// Dims `idx` of x (negative counts from the back) as a 1-D i64 value: a constant when they are
// static, so shape inference downstream sees the values.
Output dims_of(ConvertContext& ctx, Output x, const I64s& idx);
// Dim `i` of x as a scalar i64 value.
Output dim_scalar(ConvertContext& ctx, Output x, std::int64_t i);
// The shape of x as a 1-D i64 value (a constant when static).
Output shape_like(ConvertContext& ctx, Output x);
// The rank of x as a scalar i64 value.
Output rank_scalar(ConvertContext& ctx, Output x);
// [start, rank(x)) as a 1-D i64 value: a constant when the rank is static.
Output axes_from(ConvertContext& ctx, Output x, std::int64_t start);
// Reshapes a per-channel 1-D value [C] to [1, C, 1, …] so it broadcasts against x [N, C, …].
Output per_channel(ConvertContext& ctx, Output v, Output x);
// x coerced to 2-D at `axis` (ONNX Flatten semantics; axis may be negative).
Output flatten_2d(ConvertContext& ctx, Output x, std::int64_t axis);
// ONNX auto_pad → OpenVINO auto_pad.
std::string auto_pad(ConvertContext& ctx);
// Window geometry of convolutions and pooling: `n` spatial dims.
struct Window {
    I64s kernel, strides, dilations, pads_begin, pads_end;
    std::string auto_pad;
};

Window read_window(ConvertContext& ctx, std::int64_t n);
// Spatial rank of a convolution: from kernel_shape, else the weights' or the data's rank.
std::int64_t conv_spatial_rank(ConvertContext& ctx);
std::optional<std::int64_t> rank_of(Output v);
std::optional<model::Shape> static_shape(Output v);
std::int64_t require_rank(ConvertContext& ctx, Output v, std::string_view what);
// True when the registry holds exactly this version of the op (not only an older one).
bool has_spec(ConvertContext& ctx, std::string_view type, std::string_view version);
Output select(ConvertContext& ctx, Output cond, Output a, Output b);
// x converted to `to`; x itself when it already has that type.
Output convert_to(ConvertContext& ctx, Output x, ElementType to);
Output to_scalar(ConvertContext& ctx, Output x);
Output range_i64(ConvertContext& ctx, Output start, Output stop, Output step);
// [0, 1, …, rank-1] of x: a constant when the rank is static, a Range over ShapeOf otherwise.
Output all_axes(ConvertContext& ctx, Output x);
I64s iota(std::int64_t begin, std::int64_t end);
// The values of an optional constant input; nullopt when absent, empty when an empty tensor.
bool is_empty_constant(ConvertContext& ctx, std::size_t i);
bool present(ConvertContext& ctx, std::size_t i);
// Inputs 0 and 1 of a binary op, with ONNX's opset<7 `broadcast`/`axis` attributes applied:
// B is aligned to A starting at `axis`, which numpy broadcasting then covers.
std::pair<Output, Output> binary_inputs(ConvertContext& ctx);
Output matmul(ConvertContext& ctx, Output a, Output b);
// strides / dilations / pads_begin / pads_end / auto_pad of a conv or pool over `n` spatial dims.
Attributes window_attrs(ConvertContext& ctx, std::size_t n, bool dilations);
// x reduced over `axes` by the native op `type`.
Output reduce(ConvertContext& ctx, const char* type, const char* version, Output x, Output axes,
              bool keep = true);
// Weights [A, B, k…] of a grouped (transposed) convolution → [G, A/G, B, k…].
Output group_weights(ConvertContext& ctx, Output w, std::int64_t group);
Attributes conv_attrs(const Window& w);
Output conv_core(ConvertContext& ctx, Output x, Output w);
// The order p of LpPool / GlobalLpPool (a float attribute before opset 2, an int since).
double lp_order(ConvertContext& ctx);

} // namespace loom::reader::onnx_fe
