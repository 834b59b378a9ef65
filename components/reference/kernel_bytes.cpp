#include "components/reference/kernel_bytes.hpp"

namespace loom::reference {

std::int64_t dims_product(const Shape& shape, std::size_t begin, std::size_t end) {
    std::int64_t p = 1;
    for (std::size_t i = begin; i < end && i < shape.size(); ++i)
        p *= shape[i];
    return p;
}

std::int64_t checked_axis(std::int64_t axis, std::int64_t rank, const char* what) {
    LOOM_REQUIRE(axis >= -rank && axis < rank, "{} {} is out of range for rank {}", what, axis,
                 rank);
    return axis < 0 ? axis + rank : axis;
}

void remap_axes(const Tensor& in, const Tensor& out,
                const std::vector<std::vector<std::int64_t>>& maps,
                std::span<const std::byte> fill) {
    const auto& shape = out.shape();
    const auto rank = shape.size();
    const auto es = element_size(out.element_type());
    LOOM_REQUIRE(maps.size() == rank && in.shape().size() == rank,
                 "remap: ranks differ ({} maps, input rank {}, output rank {})", maps.size(),
                 in.shape().size(), rank);
    const auto* src = in.bytes().data();
    auto* dst = out.mutable_data();
    if (out.size() == 0) return;
    if (rank == 0) {
        std::memcpy(dst, src, es);
        return;
    }
    // Byte offsets per axis position (-1: fill).
    const auto strides = strides_of(in.shape());
    std::vector<std::vector<std::int64_t>> offs(rank);
    for (std::size_t k = 0; k < rank; ++k) {
        offs[k].resize(to_size(shape[k]));
        for (std::size_t i = 0; i < offs[k].size(); ++i) {
            auto m = maps[k].at(i);
            LOOM_REQUIRE(m < in.shape()[k], "remap index {} out of range {}", m, in.shape()[k]);
            offs[k][i] = m < 0 ? -1 : m * strides[k] * static_cast<std::int64_t>(es);
        }
    }
    const auto inner = shape.back();
    bool contiguous = true; // maps[rank-1] is the identity
    for (std::int64_t j = 0; j < inner && contiguous; ++j)
        contiguous = maps[rank - 1][to_size(j)] == j;
    const auto rows = out.size() / inner;
    parallel_for(
        rows, std::max<std::int64_t>(1, 16384 / inner), [&](std::int64_t r0, std::int64_t r1) {
            for (std::int64_t r = r0; r < r1; ++r) {
                std::int64_t rem = r, base = 0;
                bool filled = false;
                for (std::size_t k = rank - 1; k-- > 0;) {
                    auto o = offs[k][to_size(rem % shape[k])];
                    rem /= shape[k];
                    if (o < 0) filled = true;
                    base += o;
                }
                auto* d = dst + to_size(r * inner) * es;
                if (!filled && contiguous) { // the last axis maps onto itself: one row copy
                    std::memcpy(d, src + base, to_size(inner) * es);
                    continue;
                }
                for (std::int64_t j = 0; j < inner; ++j, d += es) {
                    auto o = offs[rank - 1][to_size(j)];
                    if (filled || o < 0) {
                        if (!fill.empty()) std::memcpy(d, fill.data(), es);
                    } else {
                        std::memcpy(d, src + base + o, es);
                    }
                }
            }
        });
}

} // namespace loom::reference
