// Reference kernels: shape family (see kernel.hpp) — Reshape, Squeeze, Unsqueeze, Transpose,
// Concat, Split, VariadicSplit, Broadcast, Tile, Pad. Range, OneHot, Eye, ReverseSequence,
// Reverse and Roll are in kernels_shape_gen.cpp. All of them move raw bytes, so they work on
// every element type.

#include "components/reference/kernel_bytes.hpp"

namespace loom::reference {

namespace {

// Reshape, Squeeze, Unsqueeze: the same bytes under the inferred shape.
std::vector<Tensor> reshape_like(KernelContext& ctx) {
    return {ctx.input(0).reshaped(ctx.output_shape(0))};
}

std::vector<Tensor> transpose(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto order = read_indices(ctx.input(1));
    const auto rank = static_cast<std::int64_t>(in.shape().size());
    if (order.empty())
        for (auto i = rank - 1; i >= 0; --i)
            order.push_back(i);
    LOOM_REQUIRE(static_cast<std::int64_t>(order.size()) == rank,
                 "Transpose order has {} values for rank {}", order.size(), rank);
    std::vector<bool> seen(to_size(rank), false);
    for (auto v : order) {
        LOOM_REQUIRE(v >= 0 && v < rank && !seen[to_size(v)],
                     "Transpose order is not a permutation of 0..{}", rank - 1);
        seen[to_size(v)] = true;
    }
    return {transpose_tensor(in, order)};
}

std::vector<Tensor> concat(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const auto& shape = out.shape();
    const auto axis = to_size(checked_axis(ctx.attr<std::int64_t>("axis"),
                                           static_cast<std::int64_t>(shape.size()), "Concat axis"));
    const auto es = element_size(out.element_type());
    const auto outer = dims_product(shape, 0, axis);
    const auto out_row = to_size(dims_product(shape, axis, shape.size())) * es;
    std::size_t offset = 0;
    for (const auto& in : ctx.inputs()) {
        LOOM_REQUIRE(in.shape().size() == shape.size(), "Concat input has rank {}, output {}",
                     in.shape().size(), shape.size());
        const auto row = to_size(dims_product(in.shape(), axis, shape.size())) * es;
        if (row > 0)
            parallel_for(outer, static_cast<std::int64_t>(std::max<std::size_t>(1, 65536 / row)),
                         [&](std::int64_t o0, std::int64_t o1) {
                             for (auto o = o0; o < o1; ++o)
                                 std::memcpy(out.mutable_data() + to_size(o) * out_row + offset,
                                             in.bytes().data() + to_size(o) * row, row);
                         });
        offset += row;
    }
    return {out};
}

// Splits input 0 along the axis in input 1 into the inferred outputs.
std::vector<Tensor> split(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto axis = to_size(checked_axis(scalar_i64(ctx.input(1)),
                                           static_cast<std::int64_t>(shape.size()), "Split axis"));
    const auto es = element_size(in.element_type());
    const auto outer = dims_product(shape, 0, axis);
    const auto in_row = to_size(dims_product(shape, axis, shape.size())) * es;
    std::vector<Tensor> outs;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < ctx.output_count(); ++i) {
        auto out = ctx.allocate_output(i);
        const auto row = to_size(dims_product(out.shape(), axis, shape.size())) * es;
        LOOM_REQUIRE(offset + row <= in_row, "split parts exceed the input along axis {}", axis);
        for (std::int64_t o = 0; o < outer && row > 0; ++o)
            std::memcpy(out.mutable_data() + to_size(o) * row,
                        in.bytes().data() + to_size(o) * in_row + offset, row);
        offset += row;
        outs.push_back(std::move(out));
    }
    return outs;
}

// Index maps broadcasting `in_shape` (already of the output's rank) to `out_shape`.
std::vector<std::vector<std::int64_t>> broadcast_maps(const Shape& in_shape,
                                                      const Shape& out_shape) {
    std::vector<std::vector<std::int64_t>> maps(out_shape.size());
    for (std::size_t k = 0; k < out_shape.size(); ++k) {
        LOOM_REQUIRE(in_shape[k] == out_shape[k] || in_shape[k] == 1,
                     "shape {} does not broadcast to {}", model::to_string(in_shape),
                     model::to_string(out_shape));
        for (std::int64_t i = 0; i < out_shape[k]; ++i)
            maps[k].push_back(in_shape[k] == 1 ? 0 : i);
    }
    return maps;
}

std::vector<Tensor> broadcast(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto mode = ctx.attr_or<std::string>("mode", "numpy");
    auto out = ctx.allocate_output(0);
    const auto& out_shape = out.shape();
    Shape aligned(out_shape.size(), 1);
    if (mode == "numpy" || mode == "bidirectional" || mode == "pdpd") { // pdpd: axis -1
        LOOM_REQUIRE(in.shape().size() <= out_shape.size(), "Broadcast data rank exceeds output");
        std::copy(in.shape().begin(), in.shape().end(),
                  aligned.begin() +
                      static_cast<std::ptrdiff_t>(out_shape.size() - in.shape().size()));
    } else if (mode == "explicit" || mode == "none") {
        auto mapping = read_indices(ctx.input(2));
        LOOM_REQUIRE(mapping.size() == in.shape().size(),
                     "axes_mapping has {} values for data of rank {}", mapping.size(),
                     in.shape().size());
        for (std::size_t i = 0; i < mapping.size(); ++i) {
            LOOM_REQUIRE(mapping[i] >= 0 && to_size(mapping[i]) < out_shape.size() &&
                             (i == 0 || mapping[i] > mapping[i - 1]),
                         "axes_mapping value {} is out of range or not increasing", mapping[i]);
            aligned[to_size(mapping[i])] = in.shape()[i];
        }
    } else {
        LOOM_THROW(ErrorKind::UNSUPPORTED, "Broadcast mode '{}' is not supported", mode);
    }
    remap_axes(in.reshaped(aligned), out, broadcast_maps(aligned, out_shape));
    return {out};
}

std::vector<Tensor> tile(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto out = ctx.allocate_output(0);
    const auto& out_shape = out.shape();
    LOOM_REQUIRE(in.shape().size() <= out_shape.size(), "Tile output rank below the data rank");
    Shape aligned(out_shape.size(), 1);
    std::copy(in.shape().begin(), in.shape().end(),
              aligned.begin() + static_cast<std::ptrdiff_t>(out_shape.size() - in.shape().size()));
    std::vector<std::vector<std::int64_t>> maps(out_shape.size());
    for (std::size_t k = 0; k < out_shape.size(); ++k)
        for (std::int64_t i = 0; i < out_shape[k]; ++i)
            maps[k].push_back(i % aligned[k]);
    remap_axes(in.reshaped(aligned), out, maps);
    return {out};
}

// Source index along an axis of length n for padded position p (already shifted by the begin
// pad), or -1 for the constant value.
std::int64_t pad_source(std::int64_t p, std::int64_t n, const std::string& mode) {
    if (p >= 0 && p < n) return p;
    if (mode == "constant") return -1;
    LOOM_REQUIRE(n > 0, "Pad mode {} of an empty dimension", mode);
    if (mode == "edge") return p < 0 ? 0 : n - 1;
    if (mode == "reflect") {
        if (n == 1) return 0;
        const auto period = 2 * (n - 1);
        auto q = ((p % period) + period) % period;
        return q < n ? q : period - q;
    }
    // symmetric: the edge element repeats
    const auto period = 2 * n;
    auto q = ((p % period) + period) % period;
    return q < n ? q : period - 1 - q;
}

std::vector<Tensor> pad(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto mode = ctx.attr_or<std::string>("pad_mode", "constant");
    LOOM_REQUIRE(mode == "constant" || mode == "edge" || mode == "reflect" || mode == "symmetric",
                 "pad_mode '{}' is unknown", mode);
    auto begin = read_indices(ctx.input(1));
    auto out = ctx.allocate_output(0);
    const auto& shape = in.shape();
    LOOM_REQUIRE(begin.size() == shape.size(), "pads_begin has {} values for rank {}", begin.size(),
                 shape.size());
    std::vector<std::vector<std::int64_t>> maps(shape.size());
    for (std::size_t k = 0; k < shape.size(); ++k) {
        if (mode == "reflect" || mode == "symmetric") {
            auto limit = mode == "reflect" ? shape[k] - 1 : shape[k];
            LOOM_REQUIRE(begin[k] <= limit && out.shape()[k] - shape[k] - begin[k] <= limit,
                         "Pad mode {} pads axis {} by more than its dimension {} allows", mode, k,
                         shape[k]);
        }
        for (std::int64_t i = 0; i < out.shape()[k]; ++i)
            maps[k].push_back(pad_source(i - begin[k], shape[k], mode));
    }
    std::vector<std::byte> fill(element_size(in.element_type()), std::byte{0});
    if (mode == "constant" && ctx.has_input(3)) {
        const auto& v = ctx.input(3);
        LOOM_REQUIRE(v.size() == 1 && v.element_type() == in.element_type(),
                     "pad_value must be one value of the data's type");
        std::memcpy(fill.data(), v.bytes().data(), fill.size());
    }
    remap_axes(in, out, maps, fill);
    return {out};
}

} // namespace

void add_shape_gen_kernels(KernelTable& table); // kernels_shape_gen.cpp

void add_shape_kernels(KernelTable& table) {
    const KernelOptions bytes{.half_via_f32 = false};
    table.add("Reshape", "opset1", reshape_like, bytes);
    table.add("Squeeze", "opset1", reshape_like, bytes);
    table.add("Unsqueeze", "opset1", reshape_like, bytes);
    table.add("Transpose", "opset1", transpose, bytes);
    table.add("Concat", "opset1", concat, bytes);
    table.add("Split", "opset1", split, bytes);
    table.add("VariadicSplit", "opset1", split, bytes);
    table.add("Broadcast", "opset1", broadcast, bytes);
    table.add("Broadcast", "opset3", broadcast, bytes);
    table.add("Tile", "opset1", tile, bytes);
    table.add("Pad", "opset1", pad, bytes);
    table.add("Pad", "opset12", pad, bytes);
    add_shape_gen_kernels(table);
}

} // namespace loom::reference
