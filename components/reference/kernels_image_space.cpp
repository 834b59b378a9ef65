// Reference kernels: image family, rearrangements — DepthToSpace, SpaceToDepth,
// ShuffleChannels, BatchToSpace-2, SpaceToBatch-2 (see kernel.hpp). Each is a reshape and a
// transpose of raw bytes (every element type), plus a crop or zero pad for the batch ops.

#include <cstring>
#include <string>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

// Copies the overlap of `src` into a zero tensor of `dst_shape`, element src[i] landing at
// dst[i + offset] per axis (negative offsets crop, positive ones pad).
Tensor shift_copy(const Tensor& src, const Shape& dst_shape,
                  const std::vector<std::int64_t>& offset) {
    auto dst = Tensor::allocate(src.element_type(), dst_shape);
    const auto& s = src.shape();
    const auto rank = s.size();
    if (src.size() == 0 || dst.size() == 0) return dst;
    const auto es = static_cast<std::int64_t>(element_size(src.element_type()));
    const auto ss = strides_of(s), ds = strides_of(dst_shape);
    const std::int64_t lo = std::max<std::int64_t>(0, -offset[rank - 1]);
    const std::int64_t hi =
        std::min<std::int64_t>(s[rank - 1], dst_shape[rank - 1] - offset[rank - 1]);
    if (hi <= lo) return dst;
    const std::int64_t rows = src.size() / s[rank - 1];
    for (std::int64_t r = 0; r < rows; ++r) {
        std::int64_t rem = r, so = 0, d = 0;
        bool inside = true;
        for (std::size_t k = rank - 1; k-- > 0;) {
            const auto c = rem % s[k];
            rem /= s[k];
            const auto dc = c + offset[k];
            inside = inside && dc >= 0 && dc < dst_shape[k];
            so += c * ss[k];
            d += dc * ds[k];
        }
        if (!inside) continue;
        std::memcpy(dst.mutable_data() + (d + lo + offset[rank - 1]) * es,
                    src.bytes().data() + (so + lo) * es, static_cast<std::size_t>((hi - lo) * es));
    }
    return dst;
}

std::int64_t block_size(KernelContext& ctx) {
    return ctx.attr_or<std::int64_t>("block_size", 1);
}

std::vector<Tensor> depth_to_space(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    const auto k = s.size() - 2;
    const auto bs = block_size(ctx);
    const bool blocks_first = ctx.attr<std::string>("mode") == "blocks_first";
    const auto out_shape = ctx.output_shape(0);
    const auto c = out_shape[1];
    Shape split{s[0]};
    if (!blocks_first) split.push_back(c);
    for (std::size_t i = 0; i < k; ++i)
        split.push_back(bs);
    if (blocks_first) split.push_back(c);
    for (std::size_t i = 0; i < k; ++i)
        split.push_back(s[2 + i]);
    // → [N, C', D1, b, D2, b, …]
    std::vector<std::int64_t> order{0, blocks_first ? static_cast<std::int64_t>(k) + 1 : 1};
    const std::int64_t first_block = blocks_first ? 1 : 2;
    for (std::size_t i = 0; i < k; ++i) {
        order.push_back(static_cast<std::int64_t>(k + 2 + i));
        order.push_back(first_block + static_cast<std::int64_t>(i));
    }
    return {transpose_tensor(data.reshaped(split), order).reshaped(out_shape)};
}

std::vector<Tensor> space_to_depth(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    const auto k = s.size() - 2;
    const auto bs = block_size(ctx);
    const bool blocks_first = ctx.attr<std::string>("mode") == "blocks_first";
    Shape split{s[0], s[1]};
    for (std::size_t i = 0; i < k; ++i) {
        split.push_back(s[2 + i] / bs);
        split.push_back(bs);
    }
    std::vector<std::int64_t> order{0};
    if (!blocks_first) order.push_back(1);
    for (std::size_t i = 0; i < k; ++i)
        order.push_back(static_cast<std::int64_t>(3 + 2 * i));
    if (blocks_first) order.push_back(1);
    for (std::size_t i = 0; i < k; ++i)
        order.push_back(static_cast<std::int64_t>(2 + 2 * i));
    return {transpose_tensor(data.reshaped(split), order).reshaped(ctx.output_shape(0))};
}

std::vector<Tensor> shuffle_channels(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    auto axis = ctx.attr_or<std::int64_t>("axis", 1);
    if (axis < 0) axis += static_cast<std::int64_t>(s.size());
    const auto group = ctx.attr_or<std::int64_t>("group", 1);
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(s.size()); ++i) {
        if (i < axis) outer *= s[static_cast<std::size_t>(i)];
        if (i > axis) inner *= s[static_cast<std::size_t>(i)];
    }
    const auto c = s[static_cast<std::size_t>(axis)];
    const std::int64_t order[] = {0, 2, 1, 3};
    return {transpose_tensor(data.reshaped({outer, group, c / group, inner}), order).reshaped(s)};
}

struct BlockArgs {
    std::vector<std::int64_t> block, begin, end;
};

BlockArgs block_args(KernelContext& ctx, const char* what) {
    BlockArgs a{read_indices(ctx.input(1)), read_indices(ctx.input(2)), read_indices(ctx.input(3))};
    const auto rank = ctx.input(0).shape().size();
    LOOM_REQUIRE(a.block.size() == rank && a.begin.size() == rank && a.end.size() == rank,
                 "{}: block_shape and the {} need {} values", what,
                 std::string(what) == "BatchToSpace" ? "crops" : "pads", rank);
    if (a.block[0] != 1 || a.begin[0] != 0 || a.end[0] != 0)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: the batch axis must have block 1 and no {}", what,
                   std::string(what) == "BatchToSpace" ? "crops" : "pads");
    for (std::size_t i = 0; i < rank; ++i)
        LOOM_REQUIRE(a.block[i] > 0 && a.begin[i] >= 0 && a.end[i] >= 0,
                     "{}: block_shape must be positive and the {} non-negative", what,
                     std::string(what) == "BatchToSpace" ? "crops" : "pads");
    return a;
}

std::vector<Tensor> batch_to_space(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    const auto n = s.size();
    auto a = block_args(ctx, "BatchToSpace");
    std::int64_t prod = 1;
    for (auto b : a.block)
        prod *= b;
    // [b1..b_{n-1}, B/prod, D1..D_{n-1}] → [B/prod, D1, b1, D2, b2, …]
    Shape split;
    for (std::size_t i = 1; i < n; ++i)
        split.push_back(a.block[i]);
    split.push_back(s[0] / prod);
    for (std::size_t i = 1; i < n; ++i)
        split.push_back(s[i]);
    std::vector<std::int64_t> order{static_cast<std::int64_t>(n - 1)};
    Shape full{s[0] / prod};
    for (std::size_t i = 1; i < n; ++i) {
        order.push_back(static_cast<std::int64_t>(n - 1 + i));
        order.push_back(static_cast<std::int64_t>(i - 1));
        full.push_back(s[i] * a.block[i]);
    }
    auto moved = transpose_tensor(data.reshaped(split), order).reshaped(full);
    std::vector<std::int64_t> offset(n);
    for (std::size_t i = 0; i < n; ++i)
        offset[i] = -a.begin[i];
    return {shift_copy(moved, ctx.output_shape(0), offset)};
}

std::vector<Tensor> space_to_batch(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    const auto n = s.size();
    auto a = block_args(ctx, "SpaceToBatch");
    Shape padded(n);
    for (std::size_t i = 0; i < n; ++i)
        padded[i] = s[i] + a.begin[i] + a.end[i];
    auto p = shift_copy(data, padded, a.begin);
    // [D0, D1/b1, b1, …] → [b1, …, b_{n-1}, D0, D1/b1, …]
    Shape split{padded[0]};
    std::vector<std::int64_t> order, rest{0};
    for (std::size_t i = 1; i < n; ++i) {
        split.push_back(padded[i] / a.block[i]);
        split.push_back(a.block[i]);
        order.push_back(static_cast<std::int64_t>(2 * i));
        rest.push_back(static_cast<std::int64_t>(2 * i - 1));
    }
    order.insert(order.end(), rest.begin(), rest.end());
    return {transpose_tensor(p.reshaped(split), order).reshaped(ctx.output_shape(0))};
}

} // namespace

void add_image_space_kernels(KernelTable& table) {
    const KernelOptions bytes{.half_via_f32 = false, .foldable = true};
    table.add("DepthToSpace", "opset1", depth_to_space, bytes);
    table.add("SpaceToDepth", "opset1", space_to_depth, bytes);
    table.add("ShuffleChannels", "opset1", shuffle_channels, bytes);
    table.add("BatchToSpace", "opset2", batch_to_space, bytes);
    table.add("SpaceToBatch", "opset2", space_to_batch, bytes);
}

} // namespace loom::reference
