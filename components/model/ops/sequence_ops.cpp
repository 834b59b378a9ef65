// Ops whose output shapes depend on input data: NonZero, Unique, NonMaxSuppression, the random
// ops and the embedding bags. Data-dependent lengths are dynamic dimensions bounded by what the
// input shapes allow (OpenVINO's upper bounds), so memory can be planned for the worst case.
#include <algorithm>

#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

using Dims = std::vector<Dimension>;

std::size_t at(std::int64_t i) {
    return static_cast<std::size_t>(i);
}

// The number of elements of `s` as a dimension: static, bounded or unbounded.
Dimension element_count(const PartialShape& s) {
    if (s.rank_is_dynamic()) return Dimension();
    Dimension n(1);
    for (const auto& d : s.dims())
        n = n * d;
    return n;
}

// [0, upper bound of d].
Dimension up_to(const Dimension& d) {
    return Dimension(0, d.max());
}

void require_index_type(ElementType type, std::string_view attr) {
    LOOM_REQUIRE(type == ElementType::I64 || type == ElementType::I32,
                 "{} must be i64 or i32, not {}", attr, loom::to_string(type));
}

void infer_non_zero(InferContext& ctx) {
    auto type = ctx.attr_or<ElementType>("output_type", ElementType::I64);
    require_index_type(type, "output_type");
    const auto& in = ctx.input_shape(0);
    if (in.rank_is_dynamic()) {
        ctx.set_output(0, type, PartialShape::dynamic(2));
        return;
    }
    // A scalar counts as one element of rank 1 (OpenVINO's convention).
    auto rank = std::max<std::int64_t>(in.rank(), 1);
    ctx.set_output(0, type, PartialShape({Dimension(rank), up_to(element_count(in))}));
}

void infer_unique(InferContext& ctx) {
    auto index_type = ctx.attr_or<ElementType>("index_element_type", ElementType::I64);
    auto count_type = ctx.attr_or<ElementType>("count_element_type", ElementType::I64);
    require_index_type(index_type, "index_element_type");
    require_index_type(count_type, "count_element_type");
    const auto& in = ctx.input_shape(0);
    PartialShape unique_shape;
    Dimension n_unique, n_rev;
    if (ctx.input_count() < 2) { // flattened
        auto total = element_count(in);
        n_rev = total;
        n_unique =
            total.max() == 0 ? Dimension(0) : Dimension(total.min() > 0 ? 1 : 0, total.max());
        unique_shape = PartialShape({n_unique});
    } else {
        auto axis = ctx.input_values(1);
        if (axis)
            LOOM_REQUIRE(axis->size() == 1, "Unique axis must be one value, got {}", axis->size());
        if (!axis || in.rank_is_dynamic()) {
            unique_shape = in.rank_is_static() ? PartialShape::dynamic(in.rank()) : in;
            n_unique = n_rev = Dimension();
        } else {
            auto a = dim_axis((*axis)[0], in.rank(), "Unique axis");
            const auto& d = in[at(a)];
            n_rev = d;
            n_unique = d.max() == 0 ? Dimension(0) : Dimension(d.min() > 0 ? 1 : 0, d.max());
            unique_shape = in;
            unique_shape[at(a)] = n_unique;
        }
    }
    ctx.set_output(0, ctx.input_type(0), unique_shape);
    ctx.set_output(1, index_type, PartialShape({n_unique}));
    ctx.set_output(2, index_type, PartialShape({n_rev}));
    ctx.set_output(3, count_type, PartialShape({n_unique}));
}

// NonMaxSuppression: boxes [batches, boxes, 4], scores [batches, classes, boxes]; selected
// triples (batch, class, box) number at most batches × classes × min(boxes, max per class).
Dimension nms_selected(const InferContext& ctx) {
    const auto& boxes = ctx.input_shape(0);
    const auto& scores = ctx.input_shape(1);
    LOOM_REQUIRE(boxes.rank_is_dynamic() || (boxes.rank() == 3 && boxes[2].compatible(4)),
                 "NonMaxSuppression boxes must be [batches, boxes, 4], has shape {}",
                 boxes.to_string());
    LOOM_REQUIRE(scores.rank_is_dynamic() || scores.rank() == 3,
                 "NonMaxSuppression scores must be [batches, classes, boxes], has shape {}",
                 scores.to_string());
    if (boxes.rank_is_dynamic() || scores.rank_is_dynamic()) return Dimension();
    LOOM_REQUIRE(boxes[0].compatible(scores[0]) && boxes[1].compatible(scores[2]),
                 "NonMaxSuppression boxes {} and scores {} disagree on batches or boxes",
                 boxes.to_string(), scores.to_string());
    auto per_class = boxes[1].max();
    if (ctx.input_count() > 2) {
        auto v = ctx.input_values(2);
        if (v && v->size() == 1)
            per_class = per_class == Dimension::k_unbounded
                            ? std::max<std::int64_t>((*v)[0], 0)
                            : std::clamp<std::int64_t>((*v)[0], 0, per_class);
    } else {
        per_class = 0; // no max_output_boxes_per_class: nothing is selected
    }
    auto bound =
        Dimension(0, per_class) * Dimension(0, boxes[0].max()) * Dimension(0, scores[1].max());
    return Dimension(0, bound.max());
}

void check_nms_attrs(const InferContext& ctx) {
    auto encoding = ctx.attr_or<std::string>("box_encoding", "corner");
    LOOM_REQUIRE(encoding == "corner" || encoding == "center",
                 "box_encoding '{}' is not corner or center", encoding);
}

void infer_nms_v1(InferContext& ctx) {
    check_nms_attrs(ctx);
    auto type = ctx.attr_or<ElementType>("output_type", ElementType::I64);
    require_index_type(type, "output_type");
    ctx.set_output(0, type, PartialShape({nms_selected(ctx), Dimension(3)}));
}

void infer_nms_v5(InferContext& ctx) {
    check_nms_attrs(ctx);
    auto type = ctx.attr_or<ElementType>("output_type", ElementType::I64);
    require_index_type(type, "output_type");
    auto score_type =
        ctx.input_type(1) == ElementType::UNDEFINED ? ElementType::F32 : ctx.input_type(1);
    LOOM_REQUIRE(is_floating(score_type), "NonMaxSuppression scores must be floating point, not {}",
                 loom::to_string(score_type));
    auto selected = nms_selected(ctx);
    ctx.set_output(0, type, PartialShape({selected, Dimension(3)}));
    ctx.set_output(1, score_type, PartialShape({selected, Dimension(3)}));
    ctx.set_output(2, type, PartialShape({Dimension(1)}));
}

void infer_random_uniform(InferContext& ctx) {
    auto type = ctx.attr<ElementType>("output_type");
    LOOM_REQUIRE(is_floating(type) || type == ElementType::I32 || type == ElementType::I64,
                 "RandomUniform output_type must be floating point, i32 or i64, not {}",
                 loom::to_string(type));
    for (std::size_t i = 1; i < 3; ++i) {
        const auto& s = ctx.input_shape(i);
        LOOM_REQUIRE(s.rank_is_dynamic() || s.rank() == 0 || (s.rank() == 1 && s[0].compatible(1)),
                     "RandomUniform {} must be a scalar, has shape {}", i == 1 ? "min" : "max",
                     s.to_string());
    }
    if (auto v = ctx.input_values(0))
        for (auto d : *v)
            LOOM_REQUIRE(d >= 0, "RandomUniform shape has a negative dimension {}", d);
    ctx.set_output(0, type, shape_from_input(ctx, 0));
}

void infer_multinomial(InferContext& ctx) {
    auto type = ctx.attr<ElementType>("convert_type");
    require_index_type(type, "convert_type");
    const auto& probs = ctx.input_shape(0);
    LOOM_REQUIRE(probs.rank_is_dynamic() || probs.rank() == 1 || probs.rank() == 2,
                 "Multinomial probs must be 1-D or 2-D, has shape {}", probs.to_string());
    auto samples = ctx.input_values(1);
    if (samples) LOOM_REQUIRE(samples->size() == 1, "Multinomial num_samples must be one value");
    Dimension n = samples ? Dimension((*samples)[0]) : Dimension();
    if (probs.rank_is_dynamic())
        ctx.set_output(0, type, PartialShape::dynamic());
    else
        ctx.set_output(0, type,
                       probs.rank() == 1 ? PartialShape({n}) : PartialShape({probs[0], n}));
}

// Embedding bags: [bags, table dims 1..].
void set_embedding_output(InferContext& ctx, Dimension bags) {
    const auto& table = ctx.input_shape(0);
    if (table.rank_is_dynamic()) {
        ctx.set_output(0, ctx.input_type(0), PartialShape::dynamic());
        return;
    }
    LOOM_REQUIRE(table.rank() >= 1, "embedding table must have rank 1 or more");
    Dims out{bags};
    out.insert(out.end(), table.dims().begin() + 1, table.dims().end());
    ctx.set_output(0, ctx.input_type(0), PartialShape(std::move(out)));
}

void infer_embedding_offsets(InferContext& ctx) {
    const auto& offsets = ctx.input_shape(2);
    LOOM_REQUIRE(offsets.rank_is_dynamic() || offsets.rank() == 1,
                 "EmbeddingBagOffsetsSum offsets must be 1-D, has shape {}", offsets.to_string());
    set_embedding_output(ctx, offsets.rank_is_static() ? offsets[0] : Dimension());
}

void infer_embedding_packed(InferContext& ctx) {
    const auto& indices = ctx.input_shape(1);
    LOOM_REQUIRE(indices.rank_is_dynamic() || indices.rank() == 2,
                 "EmbeddingBagPackedSum indices must be 2-D, has shape {}", indices.to_string());
    set_embedding_output(ctx, indices.rank_is_static() ? indices[0] : Dimension());
}

void infer_embedding_segments(InferContext& ctx) {
    auto n = ctx.input_values(3);
    if (n)
        LOOM_REQUIRE(n->size() == 1 && (*n)[0] >= 0, "num_segments must be one non-negative value");
    set_embedding_output(ctx, n ? Dimension((*n)[0]) : Dimension());
}

} // namespace

void add_sequence_ops(OpRegistry& r) {
    using K = AttrKind;
    add_spec(r, "NonZero", "opset3", {{"output_type", K::Type, false}}, 1, 1, infer_non_zero);
    add_spec(r, "Unique", "opset10",
             {{"sorted", K::Bool, false},
              {"index_element_type", K::Type, false},
              {"count_element_type", K::Type, false}},
             1, 2, infer_unique);
    std::vector<AttrSpec> nms1{{"box_encoding", K::String, false},
                               {"sort_result_descending", K::Bool, false}};
    std::vector<AttrSpec> nms3 = nms1;
    nms3.push_back({"output_type", K::Type, false});
    add_spec(r, "NonMaxSuppression", "opset1", nms1, 2, 5, infer_nms_v1);
    add_spec(r, "NonMaxSuppression", "opset3", nms3, 2, 5, infer_nms_v1);
    add_spec(r, "NonMaxSuppression", "opset4", nms3, 2, 5, infer_nms_v1);
    add_spec(r, "NonMaxSuppression", "opset5", nms3, 2, 6, infer_nms_v5);
    add_spec(r, "NonMaxSuppression", "opset9", nms3, 2, 6, infer_nms_v5);
    add_spec(r, "RandomUniform", "opset8",
             {{"output_type", K::Type}, {"global_seed", K::Int, false}, {"op_seed", K::Int, false}},
             3, 3, infer_random_uniform);
    add_spec(r, "Multinomial", "opset13",
             {{"convert_type", K::Type},
              {"with_replacement", K::Bool},
              {"log_probs", K::Bool},
              {"global_seed", K::Int, false},
              {"op_seed", K::Int, false}},
             2, 2, infer_multinomial);
    add_spec(r, "EmbeddingBagOffsetsSum", "opset3", {}, 3, 5, infer_embedding_offsets);
    add_spec(r, "EmbeddingBagPackedSum", "opset3", {}, 2, 3, infer_embedding_packed);
    add_spec(r, "EmbeddingSegmentsSum", "opset3", {}, 4, 6, infer_embedding_segments);
}

} // namespace loom::model::ops
