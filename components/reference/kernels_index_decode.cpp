// Reference kernels: index family, part 4 — Bucketize, GatherTree, CTCGreedyDecoder and
// CTCGreedyDecoderSeqLen. f16/bf16 arrive as f32.

#include "components/reference/kernel_bytes.hpp"

#include <algorithm>

namespace loom::reference {

namespace {

std::vector<Tensor> bucketize(KernelContext& ctx) {
    const auto x = ctx.input(0).to_f64();
    const auto buckets = ctx.input(1).to_f64();
    const bool right = ctx.attr_or<bool>("with_right_bound", true);
    std::vector<std::int64_t> out(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        auto it = right ? std::lower_bound(buckets.begin(), buckets.end(), x[i])
                        : std::upper_bound(buckets.begin(), buckets.end(), x[i]);
        out[i] = it - buckets.begin();
    }
    return {convert_tensor(make_i64_tensor(ctx.input(0).shape(), out), ctx.output_type(0))};
}

// step_ids, parent_idx [T, B, W]; max_seq_len [B]; end_token scalar.
template <class T>
void gather_tree_compute(KernelContext& ctx, const Tensor& out) {
    const auto& shape = ctx.input(0).shape();
    LOOM_REQUIRE(shape.size() == 3 && ctx.input(1).shape() == shape,
                 "GatherTree step_ids and parent_idx must be [T, B, W] alike");
    const auto steps = shape[0], batch = shape[1], beams = shape[2];
    auto ids = values<T>(ctx.input(0));
    auto parents = values<T>(ctx.input(1));
    const auto max_len = ctx.input(2).to_f64();
    LOOM_REQUIRE(static_cast<std::int64_t>(max_len.size()) == batch,
                 "GatherTree max_seq_len has {} values for batch {}", max_len.size(), batch);
    const auto end_token = static_cast<T>(scalar_f64(ctx.input(3)));
    auto o = mutable_values<T>(out);
    auto at = [&](std::int64_t t, std::int64_t b, std::int64_t w) {
        return to_size((t * batch + b) * beams + w);
    };
    for (std::int64_t b = 0; b < batch; ++b) {
        const auto len =
            std::clamp<std::int64_t>(static_cast<std::int64_t>(max_len[to_size(b)]), 0, steps);
        for (std::int64_t w = 0; w < beams; ++w) {
            for (auto t = len; t < steps; ++t)
                o[at(t, b, w)] = end_token;
            std::int64_t parent = w;
            for (auto t = len - 1; t >= 0; --t) {
                LOOM_REQUIRE(parent >= 0 && parent < beams,
                             "GatherTree parent index {} is out of range [0, {})", parent, beams);
                o[at(t, b, w)] = ids[at(t, b, parent)];
                parent = static_cast<std::int64_t>(parents[at(t, b, parent)]);
            }
            bool finished = false;
            for (std::int64_t t = 0; t < len; ++t) {
                if (finished)
                    o[at(t, b, w)] = end_token;
                else if (o[at(t, b, w)] == end_token)
                    finished = true;
            }
        }
    }
}

std::vector<Tensor> gather_tree(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    dispatch_type(out.element_type(), "GatherTree",
                  [&](auto tag) { gather_tree_compute<decltype(tag)>(ctx, out); });
    return {out};
}

// The best class of each step of one sequence (logits at[t](c)), merged and without blanks.
template <class F>
std::vector<std::int64_t> greedy_decode(std::int64_t length, std::int64_t classes,
                                        std::int64_t blank, bool merge, F&& at) {
    std::vector<std::int64_t> out;
    std::int64_t prev = -1;
    for (std::int64_t t = 0; t < length; ++t) {
        std::int64_t best = 0;
        for (std::int64_t c = 1; c < classes; ++c)
            if (at(t, c) > at(t, best)) best = c;
        if (best != blank && !(merge && best == prev)) out.push_back(best);
        prev = best;
    }
    return out;
}

// data [T, N, C], seq_mask [T, N] → [N, T, 1, 1] of classes, -1 after the end.
std::vector<Tensor> ctc_greedy_decoder(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    LOOM_REQUIRE(s.size() == 3, "CTCGreedyDecoder data must be [T, N, C]");
    const auto steps = s[0], batch = s[1], classes = s[2];
    const auto mask = ctx.input(1).to_f64();
    LOOM_REQUIRE(static_cast<std::int64_t>(mask.size()) == steps * batch,
                 "CTCGreedyDecoder seq_mask must be [T, N]");
    const auto x = data.to_f64();
    std::vector<double> out(to_size(batch * steps), -1.0);
    for (std::int64_t n = 0; n < batch; ++n) {
        std::int64_t len = 0;
        while (len < steps && mask[to_size(len * batch + n)] != 0.0)
            ++len;
        auto seq =
            greedy_decode(len, classes, classes - 1, ctx.attr_or<bool>("ctc_merge_repeated", true),
                          [&](std::int64_t t, std::int64_t c) {
                              return x[to_size((t * batch + n) * classes + c)];
                          });
        for (std::size_t t = 0; t < seq.size(); ++t)
            out[to_size(n * steps) + t] = static_cast<double>(seq[t]);
    }
    return {make_tensor(ctx.output_type(0), ctx.output_shape(0), out)};
}

// data [N, T, C], sequence_length [N], blank_index → classes [N, T] (-1 padded), lengths [N].
std::vector<Tensor> ctc_greedy_decoder_seq_len(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    LOOM_REQUIRE(s.size() == 3, "CTCGreedyDecoderSeqLen data must be [N, T, C]");
    const auto batch = s[0], steps = s[1], classes = s[2];
    const auto lengths = read_indices(ctx.input(1));
    LOOM_REQUIRE(static_cast<std::int64_t>(lengths.size()) == batch,
                 "CTCGreedyDecoderSeqLen sequence_length has {} values for batch {}",
                 lengths.size(), batch);
    const auto blank = ctx.has_input(2) ? scalar_i64(ctx.input(2)) : classes - 1;
    const auto x = data.to_f64();
    std::vector<std::int64_t> decoded(to_size(batch * steps), -1), counts(to_size(batch));
    for (std::int64_t n = 0; n < batch; ++n) {
        const auto len = lengths[to_size(n)];
        LOOM_REQUIRE(len >= 0 && len <= steps,
                     "CTCGreedyDecoderSeqLen sequence_length {} is outside [0, {}]", len, steps);
        auto seq = greedy_decode(len, classes, blank, ctx.attr_or<bool>("merge_repeated", true),
                                 [&](std::int64_t t, std::int64_t c) {
                                     return x[to_size((n * steps + t) * classes + c)];
                                 });
        std::copy(seq.begin(), seq.end(), decoded.begin() + n * steps);
        counts[to_size(n)] = static_cast<std::int64_t>(seq.size());
    }
    return {convert_tensor(make_i64_tensor({batch, steps}, decoded), ctx.output_type(0)),
            convert_tensor(make_i64_tensor({batch}, counts), ctx.output_type(1))};
}

} // namespace

void add_index_decode_kernels(KernelTable& table) {
    table.add("Bucketize", "opset3", bucketize);
    table.add("GatherTree", "opset1", gather_tree);
    table.add("CTCGreedyDecoder", "opset1", ctc_greedy_decoder);
    table.add("CTCGreedyDecoderSeqLen", "opset6", ctc_greedy_decoder_seq_len);
}

} // namespace loom::reference
