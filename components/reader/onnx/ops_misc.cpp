// ONNX → native converters for DFT, STFT, MelWeightMatrix, Det, Einsum, GridSample, NMS, RoiAlign,
// MaxRoiPool, random ops, TfIdfVectorizer and the refused sequence/optional/string ops (default
// domain, opsets 1..17). Each converter produces OpenVINO-opset nodes with OpenVINO's attribute
// names and kinds, the way OpenVINO's ONNX frontend maps the op — except TfIdfVectorizer, which
// has no OpenVINO op and becomes Loom's own TfIdfVectorizer (loom1).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "components/reader/onnx/convert_util.hpp"
#include "components/reader/onnx/converters.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {
namespace {

Outs convert_einsum(ConvertContext& ctx) {
    std::string eq = ctx.attr_string("equation", "");
    eq.erase(std::remove_if(eq.begin(), eq.end(), [](unsigned char c) { return std::isspace(c); }),
             eq.end());
    if (eq.empty()) ctx.fail("attribute 'equation' is missing");
    std::vector<Output> inputs;
    for (std::size_t i = 0; i < ctx.input_count(); ++i)
        inputs.push_back(ctx.input(i));
    return {op(ctx, "Einsum", "opset7", std::move(inputs), attrs({{"equation", eq}}))};
}

Outs convert_grid_sample(ConvertContext& ctx) {
    return {op(ctx, "GridSample", "opset9", {ctx.input(0), ctx.input(1)},
               attrs({{"align_corners", flag(ctx.attr_int("align_corners", 0) != 0)},
                      {"mode", ctx.attr_string("mode", "bilinear")},
                      {"padding_mode", ctx.attr_string("padding_mode", "zeros")}}))};
}

// Determinant of static n×n matrices (n ≤ 6) by the Leibniz formula: one Gather picks
// a[i, σ(i)] for every permutation σ, then Π over i, × sign(σ), Σ over σ.
Outs convert_det(ConvertContext& ctx) {
    const PartialShape& s = ctx.input_shape(0);
    auto r = static_rank(s);
    if (!r || *r < 2) ctx.unsupported("Det needs an input of static rank ≥ 2");
    const Dimension& rows = s[static_cast<std::size_t>(*r - 2)];
    const Dimension& cols = s[static_cast<std::size_t>(*r - 1)];
    if (rows.is_dynamic() || cols.is_dynamic())
        ctx.unsupported("Det needs matrices of static size in the last two dims");
    std::int64_t n = rows.length();
    if (cols.length() != n)
        ctx.fail(fmt::format("Det needs square matrices, got {}x{}", n, cols.length()));
    if (n < 1 || n > 6)
        ctx.unsupported(
            fmt::format("Det of {}x{} matrices is not supported (sizes 1..6 are)", n, n));
    I64s perm(static_cast<std::size_t>(n)), picks;
    std::iota(perm.begin(), perm.end(), 0);
    std::vector<float> signs;
    do {
        std::size_t inversions = 0;
        for (std::size_t i = 0; i < perm.size(); ++i) {
            picks.push_back(static_cast<std::int64_t>(i) * n + perm[i]);
            for (std::size_t j = i + 1; j < perm.size(); ++j)
                inversions += perm[j] < perm[i] ? 1 : 0;
        }
        signs.push_back(inversions % 2 == 0 ? 1.0f : -1.0f);
    } while (std::next_permutation(perm.begin(), perm.end()));
    auto count = static_cast<std::int64_t>(signs.size());
    I64s flat_shape(static_cast<std::size_t>(*r - 2), 0);
    flat_shape.push_back(n * n);
    Output flat = reshape(ctx, ctx.input(0), ctx.constant_i64(flat_shape), true);
    Output picked = gather(ctx, flat, reshape(ctx, ctx.constant_i64(picks), I64s{count, n}), -1);
    Output prod = op(ctx, "ReduceProd", "opset1", {picked, ctx.constant_i64({-1})},
                     attrs({{"keep_dims", flag(false)}}));
    Output sign = ctx.constant_f32(signs);
    if (ctx.input_type(0) != ElementType::F32) sign = convert(ctx, sign, ctx.input_type(0));
    return {op(ctx, "ReduceSum", "opset1",
               {binary(ctx, "Multiply", prod, sign), ctx.constant_i64({-1})},
               attrs({{"keep_dims", flag(false)}}))};
}

Outs convert_dft(ConvertContext& ctx) {
    const PartialShape& s = ctx.input_shape(0);
    // [batch, signal…, 1|2]: a scalar input has no last dim (found by fuzz_onnx).
    if (!s.rank_is_dynamic() && s.rank() < 2)
        ctx.fail(
            fmt::format("the input must have a batch and a last dim of 1 or 2; it has shape {}",
                        s.to_string()));
    if (s.rank_is_dynamic() || s[static_cast<std::size_t>(s.rank() - 1)].is_dynamic())
        ctx.unsupported("DFT needs an input of static rank with a static last dim");
    std::int64_t r = s.rank();
    std::int64_t parts = s[static_cast<std::size_t>(r - 1)].length();
    if (parts != 1 && parts != 2) ctx.fail("the last dim of the input must be 1 (real) or 2");
    std::int64_t axis = ctx.attr_int("axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r - 1)
        ctx.fail(fmt::format("axis {} is out of range for an input of rank {}",
                             ctx.attr_int("axis", 1), r));
    bool inverse = ctx.attr_int("inverse", 0) != 0, onesided = ctx.attr_int("onesided", 0) != 0;
    Output x = ctx.input(0);
    std::vector<Output> inputs{x, ctx.constant_i64({axis})};
    if (ctx.has_input(1)) inputs.push_back(reshape(ctx, ctx.input(1), I64s{1}));
    if (onesided) {
        if (inverse) ctx.unsupported("inverse DFT with onesided=1 is not supported");
        if (parts != 1) ctx.fail("onesided=1 needs a real input (last dim 1)");
        inputs[0] = squeeze(ctx, x, {r - 1});
        return {op(ctx, "RDFT", "opset9", std::move(inputs))};
    }
    if (parts == 1) { // real → complex with zero imaginary parts
        I64s end(static_cast<std::size_t>(r), 0);
        end.back() = 1;
        inputs[0] = op(ctx, "Pad", "opset1",
                       {x, ctx.constant_i64(I64s(static_cast<std::size_t>(r), 0)),
                        ctx.constant_i64(end), ctx.scalar_like(0.0, ctx.input_type(0))},
                       attrs({{"pad_mode", str("constant")}}));
    }
    return {op(ctx, inverse ? "IDFT" : "DFT", "opset7", std::move(inputs))};
}

// NonMaxSuppression → NMS-9, trimmed to its valid_outputs rows (ONNX outputs only those).
// Missing inputs take ONNX's defaults: no boxes, IOU threshold 0, and no score threshold
// (NMS-9's own default of 0 would drop negative scores).
Outs convert_nms(ConvertContext& ctx) {
    auto score_type = ctx.input_type(1);
    std::vector<Output> in{
        ctx.input(0), ctx.input(1), ctx.has_input(2) ? ctx.input(2) : ctx.scalar_i64(0),
        ctx.has_input(3) ? ctx.input(3) : ctx.scalar_like(0.0, score_type),
        ctx.has_input(4) ? ctx.input(4)
                         : ctx.scalar_like(-std::numeric_limits<float>::max(), score_type)};
    bool center = ctx.attr_int("center_point_box", 0) != 0;
    auto& node = ctx.add("NonMaxSuppression", "opset9", std::move(in),
                         attrs({{"box_encoding", str(center ? "center" : "corner")},
                                {"sort_result_descending", flag(false)},
                                {"output_type", ElementType::I64}}),
                         3);
    auto valid = node.output(2);
    return {op(ctx, "Slice", "opset8",
               {node.output(0), ctx.constant_i64({0}), valid, ctx.constant_i64({1}),
                ctx.constant_i64({0})})};
}

Outs convert_roi_align(ConvertContext& ctx) {
    auto transform = ctx.opset() >= 16
                         ? ctx.attr_string("coordinate_transformation_mode", "half_pixel")
                         : std::string("output_half_pixel");
    std::string aligned;
    if (transform == "half_pixel")
        aligned = "half_pixel_for_nn"; // ONNX shifts scaled coordinates by -0.5
    else if (transform == "output_half_pixel")
        aligned = "asymmetric";
    else
        ctx.fail(fmt::format("coordinate_transformation_mode '{}' is not one of half_pixel, "
                             "output_half_pixel",
                             transform));
    auto mode = ctx.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max")
        ctx.fail(fmt::format("mode '{}' is not one of avg, max", mode));
    return {op(ctx, "ROIAlign", "opset9", {ctx.input(0), ctx.input(1), ctx.input(2)},
               attrs({{"pooled_h", i64(ctx.attr_int("output_height", 1))},
                      {"pooled_w", i64(ctx.attr_int("output_width", 1))},
                      {"sampling_ratio", i64(ctx.attr_int("sampling_ratio", 0))},
                      {"spatial_scale", f64(ctx.attr_float("spatial_scale", 1.0))},
                      {"mode", str(mode)},
                      {"aligned_mode", str(aligned)}}))};
}

// MaxRoiPool: rois are [batch_id, x1, y1, x2, y2] rows, as ROIPooling's coords.
Outs convert_max_roi_pool(ConvertContext& ctx) {
    auto pooled = ctx.attr_ints("pooled_shape");
    if (pooled.size() != 2)
        ctx.fail(fmt::format("pooled_shape has {} values, expected 2", pooled.size()));
    return {op(ctx, "ROIPooling", "opset2", {ctx.input(0), ctx.input(1)},
               attrs({{"pooled_h", i64(pooled[0])},
                      {"pooled_w", i64(pooled[1])},
                      {"spatial_scale", f64(ctx.attr_float("spatial_scale", 1.0))},
                      {"method", str("max")}}))};
}

Output random_uniform(ConvertContext& ctx, Output shape, ElementType type) {
    return op(
        ctx, "RandomUniform", "opset8",
        {shape, ctx.scalar_like(ctx.attr_float("low", 0.0), type),
         ctx.scalar_like(ctx.attr_float("high", 1.0), type)},
        attrs({{"output_type", type}, {"global_seed", i64(0)}, {"op_seed", i64(seed_of(ctx))}}));
}

ElementType dtype_of(ConvertContext& ctx, std::int64_t onnx_type) {
    auto t = element_type_from_onnx(static_cast<std::int32_t>(onnx_type));
    if (t == ElementType::UNDEFINED)
        ctx.unsupported(fmt::format("ONNX data type {} is not supported", onnx_type));
    return t;
}

ElementType dtype_attr(ConvertContext& ctx, ElementType fallback) {
    auto dtype = ctx.attr_int("dtype");
    return dtype ? dtype_of(ctx, *dtype) : fallback;
}

Outs convert_random_uniform(ConvertContext& ctx) {
    return {random_uniform(ctx, ctx.constant_i64(ctx.attr_ints("shape")),
                           dtype_attr(ctx, ElementType::F32))};
}

Outs convert_random_uniform_like(ConvertContext& ctx) {
    Output x = ctx.input(0);
    return {random_uniform(ctx, shape_of(ctx, x), dtype_attr(ctx, type_of(x)))};
}

// The [frames, frame_length] sample indices of an STFT: frame f starts at f * step.
Output frame_grid(ConvertContext& ctx, Output signal, Output step, Output length) {
    auto signal_length = gather(ctx, shape_of(ctx, signal), ctx.scalar_i64(1));
    auto frames = binary(
        ctx, "Add", binary(ctx, "Divide", binary(ctx, "Subtract", signal_length, length), step),
        ctx.scalar_i64(1));
    auto one = ctx.scalar_i64(1), zero = ctx.scalar_i64(0);
    auto starts = binary(ctx, "Multiply", range_i64(ctx, zero, frames, one), step);
    return binary(ctx, "Add", unsqueeze(ctx, starts, {1}), range_i64(ctx, zero, length, one));
}

// STFT: frames of frame_length taken every frame_step along the signal (a Gather with a
// [frames, frame_length] index grid), windowed, then RDFT (real, onesided) or DFT on axis 2.
// signal [B, L, 1|2] → [B, frames, bins, 2].
Outs convert_stft(ConvertContext& ctx) {
    Output signal = ctx.input(0);
    const auto& ss = ctx.input_shape(0);
    if (ss.rank_is_dynamic() || ss.rank() != 3 || ss[2].is_dynamic())
        ctx.unsupported("STFT needs a signal of rank 3 with a static last dimension");
    bool complex = ss[2].length() == 2;
    bool onesided = ctx.attr_int("onesided", 1) != 0;
    if (complex && onesided) ctx.fail("onesided=1 needs a real signal ([batch, length, 1])");
    // The window is 1-D ([frame_length]); a scalar one has no length (found by fuzz_onnx).
    if (present(ctx, 2) && !ctx.input_shape(2).rank_is_dynamic() && ctx.input_shape(2).rank() != 1)
        ctx.fail(
            fmt::format("the window must be 1-D; it has shape {}", ctx.input_shape(2).to_string()));
    auto step = to_scalar(ctx, convert_to(ctx, ctx.input(1), ElementType::I64));
    Output length;
    if (present(ctx, 3))
        length = to_scalar(ctx, convert_to(ctx, ctx.input(3), ElementType::I64));
    else if (present(ctx, 2))
        length = gather(ctx, shape_of(ctx, ctx.input(2)), ctx.scalar_i64(0));
    else
        ctx.fail("one of the window and frame_length inputs must be given");
    auto step_value = ctx.input_values(1);
    auto length_value = present(ctx, 3) ? ctx.input_values(3) : std::nullopt;
    if (!length_value && present(ctx, 2) && ctx.input_shape(2).is_static())
        length_value = I64s{ctx.input_shape(2).to_shape().at(0)};
    Output grid;
    if (step_value && length_value && ss[1].is_static() && step_value->size() == 1 &&
        length_value->size() == 1) {
        auto st = (*step_value)[0], len = (*length_value)[0];
        if (st < 1 || len < 1 || len > ss[1].length())
            ctx.fail(fmt::format("frame_step {} and frame_length {} do not fit a signal of {}", st,
                                 len, ss[1].length()));
        auto frames = (ss[1].length() - len) / st + 1;
        I64s idx;
        for (std::int64_t f = 0; f < frames; ++f)
            for (std::int64_t j = 0; j < len; ++j)
                idx.push_back(f * st + j);
        grid = ctx.constant(
            Tensor::copy_of(ElementType::I64, {frames, len}, std::as_bytes(std::span(idx))));
    } else {
        grid = frame_grid(ctx, signal, step, length);
    }
    Output framed = gather(ctx, signal, grid, 1); // [B, frames, frame_length, 1|2]
    if (present(ctx, 2))
        framed = binary(ctx, "Multiply", framed,
                        unsqueeze(ctx, convert_to(ctx, ctx.input(2), type_of(signal)), {1}));
    auto axes = ctx.constant_i64({2});
    if (!complex && onesided)
        return {op(ctx, "RDFT", "opset9",
                   {op(ctx, "Squeeze", "opset1", {framed, ctx.constant_i64({3})}), axes})};
    if (!complex)
        framed = concat(
            ctx, {framed, binary(ctx, "Multiply", framed, ctx.scalar_like(0.0, type_of(signal)))},
            3);
    return {op(ctx, "DFT", "opset7", {framed, axes})};
}

// The [dft_length/2 + 1, num_mel_bins] matrix of triangular mel filters, as ONNX defines it:
// num_mel_bins + 2 points evenly spaced in mel between the edges, mapped to spectrogram bins.
std::vector<float> mel_weights(std::int64_t bins, std::int64_t dft_length, double sample_rate,
                               double lower_hz, double upper_hz) {
    auto spectrogram_bins = dft_length / 2 + 1;
    auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
    auto low_mel = to_mel(lower_hz);
    auto step = (to_mel(upper_hz) - low_mel) / static_cast<double>(bins + 2);
    std::vector<std::int64_t> points(static_cast<std::size_t>(bins + 2));
    for (std::size_t i = 0; i < points.size(); ++i) {
        double hz =
            700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595.0) - 1);
        points[i] = static_cast<std::int64_t>(
            std::floor(static_cast<double>(dft_length + 1) * hz / sample_rate));
    }
    std::vector<float> w(static_cast<std::size_t>(spectrogram_bins * bins), 0.0f);
    auto set = [&](std::int64_t row, std::int64_t col, double v) {
        if (row >= 0 && row < spectrogram_bins)
            w[static_cast<std::size_t>(row * bins + col)] = static_cast<float>(v);
    };
    for (std::int64_t i = 0; i < bins; ++i) {
        auto left = points[static_cast<std::size_t>(i)];
        auto center = points[static_cast<std::size_t>(i + 1)];
        auto right = points[static_cast<std::size_t>(i + 2)];
        if (center == left) set(center, i, 1.0);
        for (auto j = left; center != left && j <= center; ++j)
            set(j, i, static_cast<double>(j - left) / static_cast<double>(center - left));
        for (auto j = center; j < right; ++j)
            set(j, i, static_cast<double>(right - j) / static_cast<double>(right - center));
    }
    return w;
}

// MelWeightMatrix with constant inputs becomes a constant; otherwise it is refused.
Outs convert_mel_weight_matrix(ConvertContext& ctx) {
    double in[5];
    for (std::size_t i = 0; i < 5; ++i) {
        const auto* t = ctx.input_constant(i);
        if (!t || t->size() != 1) ctx.unsupported("MelWeightMatrix needs constant scalar inputs");
        in[i] = t->to_f64()[0];
    }
    auto bins = static_cast<std::int64_t>(in[0]);
    auto dft = static_cast<std::int64_t>(in[1]);
    if (bins < 1 || dft < 1 || in[2] <= 0 || in[3] < 0 || in[4] < in[3])
        ctx.fail("num_mel_bins, dft_length and sample_rate must be positive and "
                 "0 <= lower_edge_hertz <= upper_edge_hertz");
    auto w = mel_weights(bins, dft, in[2], in[3], in[4]);
    auto rows = dft / 2 + 1;
    auto t = Tensor::copy_of(ElementType::F32, {rows, bins}, std::as_bytes(std::span(w)));
    auto out = dtype_of(ctx, ctx.attr_int("output_datatype", 1));
    return {convert_to(ctx, ctx.constant(std::move(t)), out)};
}

Outs refuse_sequence(ConvertContext& ctx) {
    ctx.unsupported("sequence types are not supported");
}
Outs refuse_optional(ConvertContext& ctx) {
    ctx.unsupported("optional types are not supported");
}
Outs refuse_string(ConvertContext& ctx) {
    ctx.unsupported("string tensors are not supported");
}
// TfIdfVectorizer over an integer pool becomes Loom's TfIdfVectorizer (loom1), which keeps the
// ONNX attributes; a string pool (or string data) is refused.
Outs convert_tfidf(ConvertContext& ctx) {
    if (ctx.has_attr("pool_strings") && !ctx.attr_strings("pool_strings").empty())
        ctx.unsupported("TfIdfVectorizer with a string pool (pool_strings) is not supported");
    auto type = ctx.input_type(0);
    if (type != ElementType::I32 && type != ElementType::I64)
        ctx.unsupported(fmt::format("TfIdfVectorizer on {} data is not supported (i32 and i64 are)",
                                    loom::to_string(type)));
    if (!ctx.has_attr("pool_int64s")) ctx.fail("attribute 'pool_int64s' is missing");
    auto required_int = [&](const char* name) {
        auto v = ctx.attr_int(name);
        if (!v) ctx.fail(fmt::format("attribute '{}' is missing", name));
        return *v;
    };
    auto a = attrs({{"max_gram_length", i64(required_int("max_gram_length"))},
                    {"min_gram_length", i64(required_int("min_gram_length"))},
                    {"max_skip_count", i64(required_int("max_skip_count"))},
                    {"mode", str(ctx.attr_string("mode", ""))},
                    {"ngram_counts", ints(ctx.attr_ints("ngram_counts"))},
                    {"ngram_indexes", ints(ctx.attr_ints("ngram_indexes"))},
                    {"pool_int64s", ints(ctx.attr_ints("pool_int64s"))}});
    auto weights = ctx.attr_floats("weights");
    if (!weights.empty()) a.set("weights", std::move(weights));
    return {op(ctx, "TfIdfVectorizer", "loom1", {ctx.input(0)}, std::move(a))};
}

} // namespace

void add_converters_misc(std::vector<ConverterEntry>& table) {
    const ConverterEntry entries[] = {
        {"DFT", 17, convert_dft},
        {"Det", 11, convert_det},
        {"Einsum", 12, convert_einsum},
        {"GridSample", 16, convert_grid_sample},
        {"MaxRoiPool", 1, convert_max_roi_pool},
        {"MelWeightMatrix", 17, convert_mel_weight_matrix},
        {"NonMaxSuppression", 10, convert_nms},
        {"Optional", 15, refuse_optional},
        {"OptionalGetElement", 15, refuse_optional},
        {"OptionalHasElement", 15, refuse_optional},
        {"RandomUniform", 1, convert_random_uniform},
        {"RandomUniformLike", 1, convert_random_uniform_like},
        {"RoiAlign", 10, convert_roi_align},
        {"STFT", 17, convert_stft},
        {"SequenceAt", 11, refuse_sequence},
        {"SequenceConstruct", 11, refuse_sequence},
        {"SequenceEmpty", 11, refuse_sequence},
        {"SequenceErase", 11, refuse_sequence},
        {"SequenceInsert", 11, refuse_sequence},
        {"SequenceLength", 11, refuse_sequence},
        {"SequenceMap", 17, refuse_sequence},
        {"SplitToSequence", 11, refuse_sequence},
        {"StringNormalizer", 10, refuse_string},
        {"TfIdfVectorizer", 9, convert_tfidf},
    };
    table.insert(table.end(), std::begin(entries), std::end(entries));
}

} // namespace loom::reader::onnx_fe
