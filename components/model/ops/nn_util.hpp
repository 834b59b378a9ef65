#pragma once
// Small helpers shared by the nn ops (nn_ops.cpp), the image ops (image_ops.cpp) and the
// recurrent/DFT ops (rnn_ops.cpp);
// private to components/model/ops.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "components/model/ops/infer_util.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {

using Dims = std::vector<Dimension>;
using Ints = std::vector<std::int64_t>;

// ---------------------------------------------------------------------------------------------
// Small shared helpers

inline std::string join(std::initializer_list<std::string_view> items) {
    std::string out;
    for (auto s : items) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

// The string attribute `name` (or `fallback` when absent), which must be one of `allowed`.
inline std::string one_of(const InferContext& ctx, std::string_view name, std::string fallback,
                          std::initializer_list<std::string_view> allowed) {
    auto value = ctx.attr_or<std::string>(name, std::move(fallback));
    for (auto a : allowed)
        if (value == a) return value;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "attribute '{}' is '{}'; expected one of: {}", name,
               value, join(allowed));
}

inline Dimension dim_or_dynamic(const PartialShape& s, std::size_t i) {
    return s.rank_is_static() && i < s.dims().size() ? s[i] : Dimension();
}

// Requires rank `rank` (when static); `what` names the input.
inline void require_rank(const PartialShape& s, std::int64_t rank, std::string_view what) {
    LOOM_REQUIRE(s.rank_is_dynamic() || s.rank() == rank, "{} must have rank {}, got {}", what,
                 rank, s.to_string());
}

// Merges `acc` with dimension `axis` of `s` (when known); `what` describes the dimension.
inline Dimension merge_dim(const Dimension& acc, const PartialShape& s, std::size_t axis,
                           std::string_view what) {
    if (s.rank_is_dynamic() || axis >= s.dims().size()) return acc;
    auto m = acc.merge(s[axis]);
    LOOM_REQUIRE(m.has_value(), "{} is {} in {} but {} elsewhere", what, s[axis].to_string(),
                 s.to_string(), acc.to_string());
    return *m;
}

inline std::int64_t positive_int(const InferContext& ctx, std::string_view name,
                                 std::int64_t fallback) {
    auto v = ctx.attr_or<std::int64_t>(name, fallback);
    LOOM_REQUIRE(v > 0, "attribute '{}' must be positive, got {}", name, v);
    return v;
}

// Checks one weight-like input: dims (after the direction dim for sequences) must match
// `expected`; `what` names it.
inline void check_weights(const PartialShape& s, const Dims& expected, std::string_view what) {
    require_rank(s, static_cast<std::int64_t>(expected.size()), what);
    if (s.rank_is_dynamic()) return;
    for (std::size_t i = 0; i < expected.size(); ++i)
        LOOM_REQUIRE(s[i].compatible(expected[i]), "{} {} must be {}", what, s.to_string(),
                     PartialShape(expected).to_string());
}

// Bound on products of attribute values (block sizes) so they cannot overflow.
inline constexpr std::int64_t k_max_dim = std::int64_t{1} << 40;

} // namespace loom::model::ops
