// Reference kernels: NonMaxSuppression-1/3/4/5/9 (see kernel.hpp).
//
// Per batch and class, boxes scoring above score_threshold are visited by descending score
// (ties: lower box index first); a box is dropped when its IOU with a box already selected
// exceeds iou_threshold. With soft_nms_sigma > 0 (opset5/9) overlaps decay the score by
// exp(-0.5 · iou² / sigma) instead, and a decayed box goes back into the queue while its score
// stays above the threshold. Selections are ordered by batch, class, then selection order; with
// sort_result_descending by score across all of them (stable). Opset1-4 output
// min(boxes, max_output_boxes_per_class) · batches · classes rows padded with -1; opset5/9
// output exactly the selected rows, their scores and the count.

#include <cmath>
#include <queue>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

struct Box {
    float y1, x1, y2, x2;
};

struct Selected {
    std::int64_t batch, cls, box;
    float score;
};

struct NmsParams {
    std::int64_t max_per_class = 0;
    float iou_threshold = 0, score_threshold = 0, sigma = 0;
};

std::vector<Box> read_boxes(const Tensor& t, bool center) {
    auto v = t.to_f64();
    std::vector<Box> boxes(v.size() / 4);
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        auto a = static_cast<float>(v[4 * i]), b = static_cast<float>(v[4 * i + 1]);
        auto c = static_cast<float>(v[4 * i + 2]), d = static_cast<float>(v[4 * i + 3]);
        if (center) // [x_center, y_center, width, height]
            boxes[i] = {b - d / 2, a - c / 2, b + d / 2, a + c / 2};
        else // [y1, x1, y2, x2], corners in any order
            boxes[i] = {std::min(a, c), std::min(b, d), std::max(a, c), std::max(b, d)};
    }
    return boxes;
}

float iou(const Box& a, const Box& b) {
    const float area_a = (a.y2 - a.y1) * (a.x2 - a.x1);
    const float area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
    if (area_a <= 0 || area_b <= 0) return 0;
    const float h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
    const float w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
    const float inter = h * w;
    return inter / (area_a + area_b - inter);
}

struct Candidate {
    float score;
    std::int64_t box;
    std::size_t checked_from; // selections before this index were already applied
};

struct ByScore {
    bool operator()(const Candidate& l, const Candidate& r) const {
        return l.score < r.score || (l.score == r.score && l.box > r.box);
    }
};

// Selections of one batch and class, in selection order.
void select_class(const Box* boxes, const float* scores, std::int64_t n, const NmsParams& p,
                  std::int64_t batch, std::int64_t cls, std::vector<Selected>& out) {
    std::priority_queue<Candidate, std::vector<Candidate>, ByScore> queue;
    for (std::int64_t i = 0; i < n; ++i)
        if (scores[i] > p.score_threshold) queue.push({scores[i], i, 0});
    const float scale = p.sigma > 0 ? -0.5f / p.sigma : 0.0f;
    std::vector<Selected> chosen;
    while (std::ssize(chosen) < p.max_per_class && !queue.empty()) {
        Candidate c = queue.top();
        queue.pop();
        const float original = c.score;
        bool suppressed = false;
        for (auto j = chosen.size(); j-- > c.checked_from;) {
            const float overlap = iou(boxes[c.box], boxes[chosen[j].box]);
            if (overlap > p.iou_threshold) {
                suppressed = true;
                break;
            }
            if (scale != 0) c.score *= std::exp(scale * overlap * overlap);
            if (c.score <= p.score_threshold) break;
        }
        if (suppressed) continue;
        c.checked_from = chosen.size();
        if (c.score == original)
            chosen.push_back({batch, cls, c.box, c.score});
        else if (c.score > p.score_threshold)
            queue.push(c);
    }
    out.insert(out.end(), chosen.begin(), chosen.end());
}

NmsParams read_params(const KernelContext& ctx) {
    NmsParams p;
    auto present = [&](std::size_t i) { return ctx.has_input(i) && !ctx.input(i).empty(); };
    if (present(2)) p.max_per_class = std::max<std::int64_t>(0, scalar_i64(ctx.input(2)));
    if (present(3)) p.iou_threshold = static_cast<float>(scalar_f64(ctx.input(3)));
    if (present(4)) p.score_threshold = static_cast<float>(scalar_f64(ctx.input(4)));
    if (present(5)) p.sigma = static_cast<float>(scalar_f64(ctx.input(5)));
    return p;
}

std::vector<Selected> run_nms(const KernelContext& ctx, const NmsParams& p) {
    const auto& bt = ctx.input(0);
    const auto& st = ctx.input(1);
    LOOM_REQUIRE(bt.shape().size() == 3 && bt.shape()[2] == 4,
                 "boxes must be [batches, boxes, 4], not {}", model::to_string(bt.shape()));
    LOOM_REQUIRE(st.shape().size() == 3, "scores must be [batches, classes, boxes], not {}",
                 model::to_string(st.shape()));
    const auto batches = bt.shape()[0], n = bt.shape()[1], classes = st.shape()[1];
    LOOM_REQUIRE(st.shape()[0] == batches && st.shape()[2] == n,
                 "boxes {} and scores {} disagree on batches or boxes",
                 model::to_string(bt.shape()), model::to_string(st.shape()));
    const auto encoding = ctx.attr_or<std::string>("box_encoding", "corner");
    LOOM_REQUIRE(encoding == "corner" || encoding == "center",
                 "box_encoding '{}' is not corner or center", encoding);
    auto boxes = read_boxes(bt, encoding == "center");
    auto sd = st.to_f64();
    std::vector<float> scores(sd.begin(), sd.end());
    std::vector<Selected> out;
    for (std::int64_t b = 0; b < batches; ++b)
        for (std::int64_t c = 0; c < classes; ++c)
            select_class(boxes.data() + b * n, scores.data() + at((b * classes + c) * n), n, p, b,
                         c, out);
    if (ctx.attr_or<bool>("sort_result_descending", true))
        std::stable_sort(out.begin(), out.end(),
                         [](const Selected& l, const Selected& r) { return l.score > r.score; });
    return out;
}

std::vector<std::int64_t> index_rows(const std::vector<Selected>& sel, std::size_t rows) {
    std::vector<std::int64_t> v(rows * 3, -1);
    for (std::size_t i = 0; i < sel.size(); ++i) {
        v[3 * i] = sel[i].batch;
        v[3 * i + 1] = sel[i].cls;
        v[3 * i + 2] = sel[i].box;
    }
    return v;
}

std::vector<Tensor> nms_v1(KernelContext& ctx) {
    auto p = read_params(ctx);
    p.sigma = 0;
    auto sel = run_nms(ctx, p);
    const auto& s = ctx.input(1).shape();
    const auto rows = std::min(s[2], p.max_per_class) * s[0] * s[1];
    auto type = ctx.attr_or<ElementType>("output_type", ElementType::I64);
    auto v = index_rows(sel, at(rows));
    return {convert_tensor(make_i64_tensor({rows, 3}, v), type)};
}

std::vector<Tensor> nms_v5(KernelContext& ctx) {
    auto sel = run_nms(ctx, read_params(ctx));
    const auto n = static_cast<std::int64_t>(sel.size());
    auto type = ctx.attr_or<ElementType>("output_type", ElementType::I64);
    std::vector<double> scores;
    for (const auto& s : sel) {
        scores.push_back(static_cast<double>(s.batch));
        scores.push_back(static_cast<double>(s.cls));
        scores.push_back(static_cast<double>(s.score));
    }
    std::vector<std::int64_t> valid{n};
    return {convert_tensor(make_i64_tensor({n, 3}, index_rows(sel, sel.size())), type),
            make_tensor(ctx.input(1).element_type(), {n, 3}, scores),
            convert_tensor(make_i64_tensor({1}, valid), type)};
}

} // namespace

void add_nms_kernels(KernelTable& table) {
    table.add("NonMaxSuppression", "opset1", nms_v1);
    table.add("NonMaxSuppression", "opset3", nms_v1);
    table.add("NonMaxSuppression", "opset4", nms_v1);
    table.add("NonMaxSuppression", "opset5", nms_v5);
    table.add("NonMaxSuppression", "opset9", nms_v5);
}

} // namespace loom::reference
