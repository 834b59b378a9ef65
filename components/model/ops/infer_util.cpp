#include "components/model/ops/infer_util.hpp"

#include <algorithm>
#include <cctype>

#include "schemas/error.hpp"

namespace loom::model::ops {

PartialShape broadcast_numpy(const PartialShape& a, const PartialShape& b) {
    if (a.rank_is_dynamic() || b.rank_is_dynamic()) return PartialShape::dynamic();
    auto ra = a.rank(), rb = b.rank(), r = std::max(ra, rb);
    std::vector<Dimension> out(static_cast<std::size_t>(r));
    for (std::int64_t i = 0; i < r; ++i) {
        Dimension da = i < r - ra ? Dimension(1) : a[static_cast<std::size_t>(i - (r - ra))];
        Dimension db = i < r - rb ? Dimension(1) : b[static_cast<std::size_t>(i - (r - rb))];
        Dimension d;
        if (da.is_static() && da.length() == 1)
            d = db;
        else if (db.is_static() && db.length() == 1)
            d = da;
        else if (da.is_static() && db.is_static()) {
            LOOM_REQUIRE(da.length() == db.length(), "shapes {} and {} do not broadcast",
                         a.to_string(), b.to_string());
            d = da;
        } else if (da.is_static()) {
            d = da; // the dynamic one must be equal (or 1, which broadcasts to da)
        } else if (db.is_static()) {
            d = db;
        } else if (da.min() > 1 && db.min() > 1) {
            auto m = da.merge(db); // neither can be 1: they must be equal
            LOOM_REQUIRE(m.has_value(), "shapes {} and {} do not broadcast", a.to_string(),
                         b.to_string());
            d = *m;
        } else { // either may be 1: the result is whichever is larger
            bool bounded = da.max() != Dimension::k_unbounded && db.max() != Dimension::k_unbounded;
            d = Dimension(0, bounded ? std::max(da.max(), db.max()) : Dimension::k_unbounded);
        }
        out[static_cast<std::size_t>(i)] = d;
    }
    return PartialShape(std::move(out));
}

PartialShape broadcast_binary(const InferContext& ctx, const PartialShape& a,
                              const PartialShape& b) {
    auto mode = ctx.attr_or<std::string>("auto_broadcast", "numpy");
    if (mode == "none" || mode == "explicit") {
        LOOM_REQUIRE(a.compatible(b), "shapes {} and {} differ and auto_broadcast is none",
                     a.to_string(), b.to_string());
        return a.is_static() ? a : b;
    }
    if (mode == "pdpd") { // b broadcasts onto a from `axis`
        return a;
    }
    LOOM_REQUIRE(mode == "numpy", "auto_broadcast '{}' is not numpy, none or pdpd", mode);
    return broadcast_numpy(a, b);
}

std::int64_t normalize_axis(std::int64_t axis, std::int64_t rank, std::string_view what) {
    LOOM_REQUIRE(rank > 0 && axis >= -rank && axis < rank, "{} {} is out of range for rank {}",
                 what, axis, rank);
    return axis < 0 ? axis + rank : axis;
}

std::vector<std::int64_t> normalize_axes(const std::vector<std::int64_t>& axes, std::int64_t rank,
                                         std::string_view what) {
    std::vector<std::int64_t> out;
    out.reserve(axes.size());
    for (auto a : axes)
        out.push_back(normalize_axis(a, rank, what));
    return out;
}

std::int64_t dim_axis(std::int64_t axis, std::int64_t rank, std::string_view what) {
    LOOM_REQUIRE(rank > 0, "{} {} needs an input of rank 1 or more, not a scalar", what, axis);
    return normalize_axis(axis, rank, what);
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

void check_enum(const InferContext& ctx, std::string_view attr, std::string fallback,
                std::initializer_list<std::string_view> allowed) {
    auto value = ctx.attr_or<std::string>(std::string(attr), std::move(fallback));
    for (auto a : allowed)
        if (iequals(value, a)) return;
    std::string list;
    for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + std::string(a);
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "attribute '{}' is '{}'; expected one of: {}", attr,
               value, list);
}

void require_floating(std::size_t i, ElementType type) {
    LOOM_REQUIRE(type == ElementType::UNDEFINED || is_floating(type),
                 "input {} is {}; this op takes a floating-point type", i, loom::to_string(type));
}

ElementType merge_types(const InferContext& ctx, std::size_t a, std::size_t b) {
    auto ta = ctx.input_type(a), tb = ctx.input_type(b);
    if (ta == ElementType::UNDEFINED) return tb;
    if (tb == ElementType::UNDEFINED) return ta;
    LOOM_REQUIRE(ta == tb, "inputs {} and {} have different element types ({} and {})", a, b,
                 loom::to_string(ta), loom::to_string(tb));
    return ta;
}

PartialShape shape_from_input(const InferContext& ctx, std::size_t input) {
    if (auto values = ctx.input_values(input)) {
        std::vector<Dimension> dims;
        for (auto v : *values)
            dims.push_back(v < 0 ? Dimension() : Dimension(v));
        return PartialShape(std::move(dims));
    }
    const auto& s = ctx.input_shape(input);
    if (s.rank_is_static() && s.rank() == 1 && s[0].is_static())
        return PartialShape::dynamic(s[0].length());
    return PartialShape::dynamic();
}

void add_spec(OpRegistry& r, std::string type, std::string version, std::vector<AttrSpec> attrs,
              std::size_t min_inputs, std::size_t max_inputs, InferFn infer) {
    OpSpec spec;
    spec.type = std::move(type);
    spec.version = std::move(version);
    spec.attrs = std::move(attrs);
    spec.min_inputs = min_inputs;
    spec.max_inputs = max_inputs;
    spec.infer = infer;
    r.add(std::move(spec));
}

} // namespace loom::model::ops
