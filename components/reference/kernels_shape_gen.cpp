// Reference kernels: shape family, part 2 — Range, OneHot, Eye (generators) and
// ReverseSequence, Reverse, Roll (permutations). Every element type, moved or converted as raw
// bytes where possible.

#include "components/reference/kernel_bytes.hpp"

#include <cmath>

namespace loom::reference {

namespace {

std::vector<Tensor> range(KernelContext& ctx) {
    const auto type = ctx.output_type(0);
    const auto n = ctx.output_shape(0).at(0);
    if (model::is_integral(type)) {
        const auto start = static_cast<std::int64_t>(std::trunc(scalar_f64(ctx.input(0))));
        const auto step = static_cast<std::int64_t>(std::trunc(scalar_f64(ctx.input(2))));
        std::vector<std::int64_t> v(to_size(n));
        for (std::int64_t i = 0; i < n; ++i)
            v[to_size(i)] = start + i * step;
        return {convert_tensor(make_i64_tensor({n}, v), type)};
    }
    const auto start = scalar_f64(ctx.input(0)), step = scalar_f64(ctx.input(2));
    std::vector<double> v(to_size(n));
    for (std::int64_t i = 0; i < n; ++i)
        v[to_size(i)] = start + static_cast<double>(i) * step;
    return {make_tensor(type, {n}, v)};
}

std::vector<Tensor> one_hot(KernelContext& ctx) {
    const auto& indices = ctx.input(0);
    const auto depth = scalar_i64(ctx.input(1));
    const auto& on = ctx.input(2);
    const auto& off = ctx.input(3);
    LOOM_REQUIRE(on.size() == 1 && off.size() == 1, "OneHot on_value and off_value are scalars");
    auto out = ctx.allocate_output(0);
    const auto rank = static_cast<std::int64_t>(indices.shape().size());
    const auto axis = to_size(checked_axis(ctx.attr<std::int64_t>("axis"), rank + 1, "axis"));
    const auto idx = read_indices(indices);
    const auto inner = dims_product(indices.shape(), axis, indices.shape().size());
    const auto outer = dims_product(indices.shape(), 0, axis);
    const auto es = element_size(out.element_type());
    auto* dst = out.mutable_data();
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t d = 0; d < depth; ++d)
            for (std::int64_t i = 0; i < inner; ++i) {
                const bool hot = idx[to_size(o * inner + i)] == d;
                const auto pos = to_size((o * depth + d) * inner + i) * es;
                std::memcpy(dst + pos, (hot ? on : off).bytes().data(), es);
            }
    return {out};
}

std::vector<Tensor> eye(KernelContext& ctx) {
    auto shape = ctx.output_shape(0);
    const auto rows = shape.at(shape.size() - 2), cols = shape.back();
    const auto diag = scalar_i64(ctx.input(2));
    std::vector<double> m(to_size(rows * cols), 0.0);
    for (std::int64_t r = 0; r < rows; ++r)
        if (r + diag >= 0 && r + diag < cols) m[to_size(r * cols + r + diag)] = 1.0;
    auto matrix = make_tensor(ctx.output_type(0), {rows, cols}, m);
    auto out = ctx.allocate_output(0);
    const auto bytes = matrix.byte_size();
    const auto batch = dims_product(shape, 0, shape.size() - 2);
    for (std::int64_t b = 0; b < batch && bytes > 0; ++b)
        std::memcpy(out.mutable_data() + to_size(b) * bytes, matrix.bytes().data(), bytes);
    return {out};
}

std::vector<Tensor> reverse_sequence(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<std::int64_t>(shape.size());
    const auto batch =
        to_size(checked_axis(ctx.attr_or<std::int64_t>("batch_axis", 0), rank, "batch_axis"));
    const auto seq =
        to_size(checked_axis(ctx.attr_or<std::int64_t>("seq_axis", 1), rank, "seq_axis"));
    LOOM_REQUIRE(batch != seq, "ReverseSequence batch_axis and seq_axis are the same axis");
    const auto lengths = read_indices(ctx.input(1));
    LOOM_REQUIRE(static_cast<std::int64_t>(lengths.size()) == shape[batch],
                 "ReverseSequence has {} seq_lengths for batch {}", lengths.size(), shape[batch]);
    for (auto len : lengths)
        LOOM_REQUIRE(len >= 0 && len <= shape[seq],
                     "ReverseSequence seq_lengths value {} is outside [0, {}]", len, shape[seq]);
    auto out = ctx.allocate_output(0);
    const auto strides = strides_of(shape);
    const auto es = element_size(in.element_type());
    for (std::int64_t i = 0; i < in.size(); ++i) {
        const auto b = (i / strides[batch]) % shape[batch];
        const auto s = (i / strides[seq]) % shape[seq];
        const auto len = lengths[to_size(b)];
        const auto src = s < len ? i + (len - 1 - 2 * s) * strides[seq] : i;
        std::memcpy(out.mutable_data() + to_size(i) * es, element_ptr(in, src), es);
    }
    return {out};
}

std::vector<Tensor> reverse(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<std::int64_t>(shape.size());
    std::vector<bool> flip(shape.size(), false);
    if (ctx.attr<std::string>("mode") == "mask") {
        const auto& mask = ctx.input(1);
        LOOM_REQUIRE(mask.size() == rank, "Reverse mask has {} values for rank {}", mask.size(),
                     rank);
        const auto v = mask.to_i64();
        for (std::size_t k = 0; k < v.size(); ++k)
            flip[k] = v[k] != 0;
    } else {
        for (auto a : read_indices(ctx.input(1)))
            flip[to_size(checked_axis(a, rank, "Reverse axis"))] = true;
    }
    std::vector<std::vector<std::int64_t>> maps(shape.size());
    for (std::size_t k = 0; k < shape.size(); ++k)
        for (std::int64_t i = 0; i < shape[k]; ++i)
            maps[k].push_back(flip[k] ? shape[k] - 1 - i : i);
    auto out = ctx.allocate_output(0);
    remap_axes(in, out, maps);
    return {out};
}

std::vector<Tensor> roll(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<std::int64_t>(shape.size());
    auto shifts = read_indices(ctx.input(1));
    const auto axes = read_indices(ctx.input(2));
    if (shifts.size() == 1 && axes.size() > 1) shifts.assign(axes.size(), shifts[0]);
    LOOM_REQUIRE(shifts.size() == axes.size(), "Roll has {} shifts for {} axes", shifts.size(),
                 axes.size());
    std::vector<std::int64_t> total(shape.size(), 0);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const auto a = to_size(checked_axis(axes[i], rank, "Roll axis"));
        if (shape[a] > 0) total[a] = (total[a] + shifts[i] % shape[a]) % shape[a];
    }
    std::vector<std::vector<std::int64_t>> maps(shape.size());
    for (std::size_t k = 0; k < shape.size(); ++k)
        for (std::int64_t i = 0; i < shape[k]; ++i)
            maps[k].push_back(((i - total[k]) % shape[k] + shape[k]) % shape[k]);
    auto out = ctx.allocate_output(0);
    remap_axes(in, out, maps);
    return {out};
}

} // namespace

void add_shape_gen_kernels(KernelTable& table) {
    const KernelOptions bytes{.half_via_f32 = false};
    table.add("Range", "opset1", range, bytes);
    table.add("Range", "opset4", range, bytes);
    table.add("OneHot", "opset1", one_hot, bytes);
    table.add("Eye", "opset9", eye, bytes);
    table.add("ReverseSequence", "opset1", reverse_sequence, bytes);
    table.add("Reverse", "opset1", reverse, bytes);
    table.add("Roll", "opset7", roll, bytes);
}

} // namespace loom::reference
