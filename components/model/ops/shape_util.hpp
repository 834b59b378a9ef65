#pragma once
// Small helpers shared by the shape-manipulating ops (shape_ops.cpp) and the indexing ops
// (index_ops.cpp); private to components/model/ops.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "components/model/ops/infer_util.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {

using Dims = std::vector<Dimension>;

inline std::size_t at(std::int64_t i) {
    return static_cast<std::size_t>(i);
}
inline std::int64_t count(std::size_t n) {
    return static_cast<std::int64_t>(n);
}

inline bool is_one(const Dimension& d) {
    return d.is_static() && d.length() == 1;
}

// The static length of 1-D input `i`, when known.
inline std::optional<std::int64_t> input_length(const InferContext& ctx, std::size_t i) {
    const auto& s = ctx.input_shape(i);
    if (s.rank_is_dynamic()) return std::nullopt;
    if (s.rank() == 0) return 1;
    if (s.rank() == 1 && s[0].is_static()) return s[0].length();
    return std::nullopt;
}

// A scalar (or one-element) constant input's value.
inline std::optional<std::int64_t> scalar_value(const InferContext& ctx, std::size_t i) {
    auto v = ctx.input_values(i);
    if (!v) return std::nullopt;
    LOOM_REQUIRE(v->size() == 1, "input {} must hold one value, not {}", i, v->size());
    return (*v)[0];
}

inline void pass_through(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

inline Dimension merge_dim(const Dimension& a, const Dimension& b, std::string_view what) {
    auto m = a.merge(b);
    LOOM_REQUIRE(m, "{}: dimensions {} and {} differ", what, a.to_string(), b.to_string());
    return *m;
}

} // namespace loom::model::ops
