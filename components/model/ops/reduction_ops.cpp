// Reductions, Softmax/LogSoftmax, TopK, CumSum and the normalizations (MVN, NormalizeL2,
// BatchNormInference, LRN, GroupNormalization) of OpenVINO's opsets 1..13.
//
// Axes inputs are integer tensors of rank 0 or 1. When they are constants the axes are checked
// against the data rank (negative values count from the end) and the output shape is exact;
// otherwise the shape is as precise as the spec allows without the values.
#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

using K = AttrKind;
constexpr auto k_undefined = ElementType::UNDEFINED;

void require_numeric(std::size_t i, ElementType type) {
    LOOM_REQUIRE(type != ElementType::BOOLEAN, "input {} is boolean; this op takes numeric types",
                 i);
}

// Input `i` must be an integer tensor of rank ≤ `max_rank` (a scalar or a list of axes).
void check_int_input(const InferContext& ctx, std::size_t i, std::string_view what,
                     std::int64_t max_rank = 1) {
    auto type = ctx.input_type(i);
    LOOM_REQUIRE(type == k_undefined || (is_integral(type) && type != ElementType::BOOLEAN),
                 "{} (input {}) is {}; it must be an integer type", what, i, loom::to_string(type));
    const auto& s = ctx.input_shape(i);
    LOOM_REQUIRE(s.rank_is_dynamic() || s.rank() <= max_rank, "{} (input {}) has shape {}; {}",
                 what, i, s.to_string(), max_rank == 0 ? "it must be a scalar" : "it must be 1-D");
}

// The normalized values of a constant axes input; nullopt when the input is not constant or
// the data rank is dynamic. invalid_argument when an axis is out of range.
std::optional<std::vector<std::int64_t>> constant_axes(const InferContext& ctx, std::size_t i,
                                                       const PartialShape& data,
                                                       std::string_view what = "axes") {
    check_int_input(ctx, i, what);
    auto values = ctx.input_values(i);
    if (!values || data.rank_is_dynamic()) return std::nullopt;
    return normalize_axes(*values, data.rank(), what);
}

// ---- Reduce* -----------------------------------------------------------------------------

// Output shape of a reduction of input 0 over the axes of input 1; an empty axes list
// reduces nothing.
PartialShape reduced_shape(const InferContext& ctx) {
    bool keep_dims = ctx.attr_or<bool>("keep_dims", false);
    const auto& data = ctx.input_shape(0);
    auto axes = constant_axes(ctx, 1, data);
    if (!axes) {
        if (data.rank_is_dynamic()) return PartialShape::dynamic();
        if (keep_dims) return PartialShape::dynamic(data.rank());
        // A single axis cannot repeat, so it removes exactly one dim.
        const auto& axes_shape = ctx.input_shape(1);
        if (axes_shape.is_static() && shape_size(axes_shape.to_shape()) == 1)
            return PartialShape::dynamic(std::max<std::int64_t>(data.rank() - 1, 0));
        return PartialShape::dynamic();
    }
    auto rank = data.rank();
    std::vector<bool> reduced(static_cast<std::size_t>(rank), false);
    for (auto a : *axes)
        if (rank > 0) reduced[static_cast<std::size_t>(a)] = true;
    std::vector<Dimension> dims;
    for (std::size_t d = 0; d < reduced.size(); ++d) {
        if (!reduced[d])
            dims.push_back(data[d]);
        else if (keep_dims)
            dims.emplace_back(1);
    }
    return PartialShape(std::move(dims));
}

void infer_reduce_arith(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_numeric(0, type);
    ctx.set_output(0, type, reduced_shape(ctx));
}

void infer_reduce_logical(InferContext& ctx) {
    auto type = ctx.input_type(0);
    LOOM_REQUIRE(type == k_undefined || type == ElementType::BOOLEAN,
                 "input 0 is {}; logical reductions take boolean data", loom::to_string(type));
    ctx.set_output(0, ElementType::BOOLEAN, reduced_shape(ctx));
}

// ---- Softmax, LogSoftmax, CumSum ---------------------------------------------------------

// Softmax-1 takes axis in [0, rank); Softmax-8 and LogSoftmax-5 also [-rank, 0).
template <bool AllowNegative>
void infer_softmax(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_floating(0, type);
    auto axis = ctx.attr_or<std::int64_t>("axis", 1);
    const auto& data = ctx.input_shape(0);
    LOOM_REQUIRE(AllowNegative || axis >= 0, "axis {} is negative; this version takes axis >= 0",
                 axis);
    if (data.rank_is_static()) normalize_axis(axis, data.rank());
    ctx.set_output(0, type, data);
}

void infer_cumsum(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_numeric(0, type);
    const auto& data = ctx.input_shape(0);
    if (ctx.input_count() == 2) {
        check_int_input(ctx, 1, "axis", 0);
        auto values = ctx.input_values(1);
        if (values && data.rank_is_static()) {
            LOOM_REQUIRE(values->size() == 1, "axis must hold one value, not {}", values->size());
            normalize_axis(values->front(), data.rank());
        }
    }
    ctx.set_output(0, type, data);
}

// ---- TopK --------------------------------------------------------------------------------

// TopK(data, k): values and indices, both data's shape with dim `axis` replaced by k (when k
// is not a constant: 0 up to the input dim, as OpenVINO infers it).
void infer_topk(InferContext& ctx) {
    check_enum(ctx, "mode", "max", {"max", "min"});
    check_enum(ctx, "sort", "none", {"value", "index", "none"});
    auto index_type = ctx.attr_or<ElementType>("index_element_type", ElementType::I32);
    LOOM_REQUIRE(index_type == ElementType::I32 || index_type == ElementType::I64,
                 "index_element_type is {}; it must be i32 or i64", loom::to_string(index_type));
    auto type = ctx.input_type(0);
    require_numeric(0, type);
    check_int_input(ctx, 1, "k", 0);
    auto shape = ctx.input_shape(0);
    if (shape.rank_is_static()) {
        LOOM_REQUIRE(shape.rank() > 0, "data is a scalar; TopK needs rank >= 1");
        auto axis = normalize_axis(ctx.attr<std::int64_t>("axis"), shape.rank());
        Dimension k(0, shape[static_cast<std::size_t>(axis)].max()); // at most the input dim
        if (auto values = ctx.input_values(1)) {
            LOOM_REQUIRE(values->size() == 1, "k must hold one value, not {}", values->size());
            LOOM_REQUIRE(values->front() >= 0, "k is {}; it must not be negative", values->front());
            k = Dimension(values->front());
        }
        shape[static_cast<std::size_t>(axis)] = k;
    }
    ctx.set_output_count(2);
    ctx.set_output(0, type, shape);
    ctx.set_output(1, index_type, shape);
}

// ---- normalizations ----------------------------------------------------------------------

void infer_mvn1(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_floating(0, type);
    const auto& data = ctx.input_shape(0);
    if (ctx.node().attrs.has("reduction_axes") && data.rank_is_static())
        normalize_axes(ctx.attr<std::vector<std::int64_t>>("reduction_axes"), data.rank(),
                       "reduction_axes");
    ctx.set_output(0, type, data);
}

// Floating data (input 0) normalized over the axes of input 1: same type and shape out.
void infer_normalize_over_axes(InferContext& ctx) {
    auto type = ctx.input_type(0);
    require_floating(0, type);
    constant_axes(ctx, 1, ctx.input_shape(0));
    ctx.set_output(0, type, ctx.input_shape(0));
}

void infer_mvn6(InferContext& ctx) {
    check_enum(ctx, "eps_mode", "inside_sqrt", {"inside_sqrt", "outside_sqrt"});
    infer_normalize_over_axes(ctx);
}

void infer_normalize_l2(InferContext& ctx) {
    check_enum(ctx, "eps_mode", "add", {"add", "max"});
    infer_normalize_over_axes(ctx);
}

void infer_lrn(InferContext& ctx) {
    auto size = ctx.attr<std::int64_t>("size");
    LOOM_REQUIRE(size > 0, "attribute 'size' is {}; it must be positive", size);
    auto type = ctx.input_type(0);
    require_floating(0, type);
    constant_axes(ctx, 1, ctx.input_shape(0));
    ctx.set_output(0, type, ctx.input_shape(0));
}

// Merges the 1-D per-channel inputs `params` (of the data's type) into the channel dim (dim 1)
// of input `data_index`; returns the data shape refined by them.
PartialShape merge_channels(const InferContext& ctx, std::size_t data_index,
                            std::initializer_list<std::pair<std::size_t, const char*>> params) {
    auto data = ctx.input_shape(data_index);
    LOOM_REQUIRE(data.rank_is_dynamic() || data.rank() >= 2,
                 "data (input {}) has shape {}; it needs rank >= 2 (channels are dim 1)",
                 data_index, data.to_string());
    Dimension channels = data.rank_is_static() ? data[1] : Dimension();
    for (auto [i, what] : params) {
        merge_types(ctx, data_index, i);
        const auto& s = ctx.input_shape(i);
        if (s.rank_is_dynamic()) continue;
        LOOM_REQUIRE(s.rank() == 1, "{} (input {}) has shape {}; it must be 1-D", what, i,
                     s.to_string());
        auto merged = channels.merge(s[0]);
        LOOM_REQUIRE(merged.has_value(), "{} (input {}) has {} channels but data has {}", what, i,
                     s[0].to_string(), channels.to_string());
        channels = *merged;
    }
    if (data.rank_is_static()) data[1] = channels;
    return data;
}

// BatchNormInference-1 keeps the port order of OpenVINO's v0 node: (gamma, beta, data, mean,
// variance) — its documentation lists data first, but IR v10 files written by OpenVINO carry
// the node's input order. BatchNormInference-5 is (data, gamma, beta, mean, variance).
template <std::size_t Data, std::size_t Gamma, std::size_t Beta>
void infer_batch_norm(InferContext& ctx) {
    auto eps = ctx.attr<double>("epsilon");
    LOOM_REQUIRE(eps >= 0, "attribute 'epsilon' is {}; it must not be negative", eps);
    auto type = ctx.input_type(Data);
    require_floating(Data, type);
    auto shape =
        merge_channels(ctx, Data, {{Gamma, "gamma"}, {Beta, "beta"}, {3, "mean"}, {4, "variance"}});
    ctx.set_output(0, type, std::move(shape));
}

void infer_group_norm(InferContext& ctx) {
    auto groups = ctx.attr<std::int64_t>("num_groups");
    LOOM_REQUIRE(groups > 0, "attribute 'num_groups' is {}; it must be positive", groups);
    auto eps = ctx.attr<double>("epsilon");
    LOOM_REQUIRE(eps >= 0, "attribute 'epsilon' is {}; it must not be negative", eps);
    auto type = ctx.input_type(0);
    require_floating(0, type);
    auto shape = merge_channels(ctx, 0, {{1, "scale"}, {2, "bias"}});
    if (shape.rank_is_static() && shape[1].is_static())
        LOOM_REQUIRE(shape[1].length() % groups == 0,
                     "{} channels do not split into num_groups = {} groups", shape[1].length(),
                     groups);
    ctx.set_output(0, type, std::move(shape));
}

// ---- tables ------------------------------------------------------------------------------

void add_reduce_ops(OpRegistry& r) {
    const std::vector<AttrSpec> keep = {{"keep_dims", K::Bool, false}};
    for (auto type : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"})
        add_spec(r, type, "opset1", keep, 2, 2, infer_reduce_arith);
    for (auto type : {"ReduceL1", "ReduceL2"})
        add_spec(r, type, "opset4", keep, 2, 2, infer_reduce_arith);
    for (auto type : {"ReduceLogicalAnd", "ReduceLogicalOr"})
        add_spec(r, type, "opset1", keep, 2, 2, infer_reduce_logical);
}

void add_topk_ops(OpRegistry& r) {
    std::vector<AttrSpec> attrs = {{"axis", K::Int},
                                   {"mode", K::String},
                                   {"sort", K::String},
                                   {"index_element_type", K::Type, false}};
    add_spec(r, "TopK", "opset1", attrs, 2, 2, infer_topk);
    add_spec(r, "TopK", "opset3", attrs, 2, 2, infer_topk);
    attrs.push_back({"stable", K::Bool, false});
    add_spec(r, "TopK", "opset11", attrs, 2, 2, infer_topk);
}

void add_norm_ops(OpRegistry& r) {
    add_spec(r, "MVN", "opset2",
             {{"eps", K::Float},
              {"across_channels", K::Bool, false},
              {"normalize_variance", K::Bool, false},
              {"reduction_axes", K::Ints, false}},
             1, 1, infer_mvn1);
    add_spec(r, "MVN", "opset6",
             {{"eps", K::Float}, {"normalize_variance", K::Bool}, {"eps_mode", K::String}}, 2, 2,
             infer_mvn6);
    add_spec(r, "NormalizeL2", "opset1", {{"eps", K::Float}, {"eps_mode", K::String}}, 2, 2,
             infer_normalize_l2);
    add_spec(r, "BatchNormInference", "opset1", {{"epsilon", K::Float}}, 5, 5,
             infer_batch_norm<2, 0, 1>);
    add_spec(r, "BatchNormInference", "opset5", {{"epsilon", K::Float}}, 5, 5,
             infer_batch_norm<0, 1, 2>);
    add_spec(r, "LRN", "opset1",
             {{"alpha", K::Float}, {"beta", K::Float}, {"bias", K::Float}, {"size", K::Int}}, 2, 2,
             infer_lrn);
    add_spec(r, "GroupNormalization", "opset12", {{"num_groups", K::Int}, {"epsilon", K::Float}}, 3,
             3, infer_group_norm);
}

} // namespace

void add_reduction_ops(OpRegistry& r) {
    add_reduce_ops(r);
    add_spec(r, "Softmax", "opset1", {{"axis", K::Int, false}}, 1, 1, infer_softmax<false>);
    add_spec(r, "Softmax", "opset8", {{"axis", K::Int, false}}, 1, 1, infer_softmax<true>);
    add_spec(r, "LogSoftmax", "opset5", {{"axis", K::Int, false}}, 1, 1, infer_softmax<true>);
    add_spec(r, "CumSum", "opset3", {{"exclusive", K::Bool, false}, {"reverse", K::Bool, false}}, 1,
             2, infer_cumsum);
    add_topk_ops(r);
    add_norm_ops(r);
}

} // namespace loom::model::ops
