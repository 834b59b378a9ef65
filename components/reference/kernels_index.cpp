// Reference kernels: index family (see kernel.hpp) — the gather and scatter ops. Slice,
// StridedSlice and ExtractImagePatches are in kernels_index_slice.cpp; Einsum, TopK, CumSum,
// Bucketize, GatherTree and the CTC decoders in kernels_index_misc.cpp.
//
// Indices are checked before any access: an index outside its axis gives invalid_argument
// naming it (Gather-8 fills zeros instead, as its specification says).

#include "components/reference/kernel_bytes.hpp"

#include <algorithm>

namespace loom::reference {

namespace {

// idx normalized into [0, n) (negatives count from the end); invalid_argument naming `what`.
std::int64_t checked_index(std::int64_t idx, std::int64_t n, const char* what) {
    LOOM_REQUIRE(idx >= -n && idx < n, "{} index {} is out of range for dimension {}", what, idx,
                 n);
    return idx < 0 ? idx + n : idx;
}

std::vector<Tensor> gather(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& shape = data.shape();
    const auto idx = read_indices(ctx.input(1));
    const auto& idx_shape = ctx.input(1).shape();
    const auto rank = static_cast<std::int64_t>(shape.size());
    const auto axis = checked_axis(scalar_i64(ctx.input(2)), rank, "Gather axis");
    auto bd = ctx.attr_or<std::int64_t>("batch_dims", 0);
    if (bd < 0) bd += static_cast<std::int64_t>(idx_shape.size());
    LOOM_REQUIRE(bd >= 0 && bd <= axis, "Gather batch_dims {} is out of range", bd);
    const bool opset8 = ctx.node().version == "opset8";
    auto out = ctx.allocate_output(0);
    const auto es = element_size(data.element_type());
    const auto batch = dims_product(shape, 0, to_size(bd));
    const auto outer = dims_product(shape, to_size(bd), to_size(axis));
    const auto dim = shape[to_size(axis)];
    const auto inner = dims_product(shape, to_size(axis) + 1, shape.size());
    const auto count = dims_product(idx_shape, to_size(bd), idx_shape.size());
    const auto row = to_size(inner) * es;
    std::vector<std::int64_t> at(idx.size()); // checked first; -1: zeros (opset8)
    for (std::size_t i = 0; i < idx.size(); ++i)
        at[i] =
            opset8 && (idx[i] < -dim || idx[i] >= dim) ? -1 : checked_index(idx[i], dim, "Gather");
    parallel_for(batch * count, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, inner)),
                 [&](std::int64_t p0, std::int64_t p1) {
                     for (auto p = p0; p < p1; ++p) {
                         const auto b = p / count, n = p % count, j = at[to_size(p)];
                         if (j < 0) continue; // stays zero
                         for (std::int64_t o = 0; o < outer; ++o)
                             std::memcpy(
                                 out.mutable_data() + to_size(((b * outer + o) * count + n)) * row,
                                 data.bytes().data() + to_size(((b * outer + o) * dim + j)) * row,
                                 row);
                     }
                 });
    return {out};
}

std::vector<Tensor> gather_elements(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto idx = read_indices(ctx.input(1));
    const auto& idx_shape = ctx.input(1).shape();
    const auto rank = static_cast<std::int64_t>(data.shape().size());
    LOOM_REQUIRE(static_cast<std::int64_t>(idx_shape.size()) == rank,
                 "GatherElements data and indices differ in rank");
    const auto axis = to_size(checked_axis(ctx.attr<std::int64_t>("axis"), rank, "axis"));
    auto out = ctx.allocate_output(0);
    const auto ds = strides_of(data.shape());
    const auto is = strides_of(idx_shape);
    const auto es = element_size(data.element_type());
    for (std::int64_t i = 0; i < out.size(); ++i) {
        std::int64_t off = 0;
        for (std::size_t k = 0; k < idx_shape.size(); ++k) {
            auto c = (i / is[k]) % idx_shape[k];
            if (k == axis) c = checked_index(idx[to_size(i)], data.shape()[k], "GatherElements");
            LOOM_REQUIRE(c < data.shape()[k], "GatherElements index beyond data on axis {}", k);
            off += c * ds[k];
        }
        std::memcpy(out.mutable_data() + to_size(i) * es, element_ptr(data, off), es);
    }
    return {out};
}

// Element offsets into data of every index tuple of `indices` ([..., k] over data axes
// bd..bd+k), with the batch offset added; and the slice length each addresses.
struct NdIndex {
    std::vector<std::int64_t> offsets;
    std::int64_t slice = 1;
};

NdIndex nd_offsets(const Shape& data, const Tensor& indices, std::int64_t bd, const char* what) {
    const auto& is = indices.shape();
    LOOM_REQUIRE(!is.empty(), "{} indices must have rank 1 or more", what);
    const auto k = is.back();
    LOOM_REQUIRE(bd >= 0 && bd + k <= static_cast<std::int64_t>(data.size()),
                 "{} indices address {} axes of data {}", what, k, model::to_string(data));
    const auto idx = read_indices(indices);
    const auto strides = strides_of(data);
    NdIndex r;
    r.slice = dims_product(data, to_size(bd + k), data.size());
    const auto batch = dims_product(data, 0, to_size(bd));
    const auto tuples =
        k > 0 ? static_cast<std::int64_t>(idx.size()) / k : dims_product(is, 0, is.size() - 1);
    const auto per_batch = batch > 0 ? tuples / batch : 0;
    const auto batch_stride = bd > 0 ? strides[to_size(bd - 1)] : 0;
    for (std::int64_t t = 0; t < tuples; ++t) {
        std::int64_t off = per_batch > 0 ? (t / per_batch) * batch_stride : 0;
        for (std::int64_t j = 0; j < k; ++j) {
            const auto a = to_size(bd + j);
            off += checked_index(idx[to_size(t * k + j)], data[a], what) * strides[a];
        }
        r.offsets.push_back(off);
    }
    return r;
}

std::vector<Tensor> gather_nd(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    auto nd = nd_offsets(data.shape(), ctx.input(1), ctx.attr_or<std::int64_t>("batch_dims", 0),
                         "GatherND");
    auto out = ctx.allocate_output(0);
    const auto row = to_size(nd.slice) * element_size(data.element_type());
    LOOM_REQUIRE(out.byte_size() == row * nd.offsets.size(), "GatherND output size mismatch");
    for (std::size_t t = 0; t < nd.offsets.size(); ++t)
        std::memcpy(out.mutable_data() + t * row, element_ptr(data, nd.offsets[t]), row);
    return {out};
}

Tensor copy_of(const Tensor& t) {
    return Tensor::copy_of(t.element_type(), t.shape(), t.bytes());
}

std::vector<Tensor> scatter_update(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& shape = data.shape();
    const auto idx = read_indices(ctx.input(1));
    const auto& updates = ctx.input(2);
    const auto rank = static_cast<std::int64_t>(shape.size());
    const auto axis = to_size(checked_axis(scalar_i64(ctx.input(3)), rank, "ScatterUpdate axis"));
    const auto outer = dims_product(shape, 0, axis);
    const auto dim = shape[axis];
    const auto inner = dims_product(shape, axis + 1, shape.size());
    const auto n = static_cast<std::int64_t>(idx.size());
    LOOM_REQUIRE(updates.size() == outer * n * inner,
                 "ScatterUpdate updates have {} elements; data and indices need {}", updates.size(),
                 outer * n * inner);
    auto out = copy_of(data);
    const auto row = to_size(inner) * element_size(data.element_type());
    for (std::int64_t j = 0; j < n; ++j) {
        const auto at = checked_index(idx[to_size(j)], dim, "ScatterUpdate");
        for (std::int64_t o = 0; o < outer; ++o)
            std::memcpy(out.mutable_data() + to_size(o * dim + at) * row,
                        updates.bytes().data() + to_size(o * n + j) * row, row);
    }
    return {out};
}

// ---- reductions shared by ScatterElementsUpdate and ScatterNDUpdate ----------------------

template <class T>
T combine(const std::string& op, T a, T b) {
    if (op == "sum") return static_cast<T>(a + b);
    if (op == "sub") return static_cast<T>(a - b);
    if (op == "prod") return static_cast<T>(a * b);
    if (op == "min") return std::min(a, b);
    if (op == "max") return std::max(a, b);
    if (op == "mean") return static_cast<T>(a + b);
    return b; // none
}

template <class T>
T identity_of(const std::string& op) {
    if (op == "prod") return T(1);
    if (op == "min") return std::numeric_limits<T>::max();
    if (op == "max") return std::numeric_limits<T>::lowest();
    return T(0);
}

// out[targets[i]] = combine(out[targets[i]], updates[i]), with OpenVINO's use_init_val and mean
// semantics.
template <class T>
void scatter_reduce(const Tensor& out, const Tensor& updates,
                    const std::vector<std::int64_t>& targets, const std::string& op,
                    bool use_init_val) {
    auto o = mutable_values<T>(out);
    auto u = values<T>(updates);
    if (op != "none" && !use_init_val)
        for (auto t : targets)
            o[to_size(t)] = identity_of<T>(op);
    std::vector<std::int64_t> counts;
    if (op == "mean") counts.assign(o.size(), use_init_val ? 1 : 0);
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const auto t = to_size(targets[i]);
        o[t] = combine(op, o[t], u[i]);
        if (!counts.empty()) ++counts[t];
    }
    for (std::size_t t = 0; t < counts.size(); ++t)
        if (counts[t] > 1) {
            if constexpr (std::is_same_v<T, bool>)
                o[t] = o[t];
            else if constexpr (std::is_integral_v<T>)
                o[t] = static_cast<T>(
                    std::floor(static_cast<double>(o[t]) / static_cast<double>(counts[t])));
            else
                o[t] = static_cast<T>(o[t] / static_cast<T>(counts[t]));
        }
}

void apply_scatter(const Tensor& out, const Tensor& updates,
                   const std::vector<std::int64_t>& targets, const std::string& op,
                   bool use_init_val, const char* what) {
    LOOM_REQUIRE(static_cast<std::int64_t>(targets.size()) == updates.size(),
                 "{} has {} updates for {} indexed elements", what, updates.size(), targets.size());
    dispatch_type(out.element_type(), what, [&](auto tag) {
        scatter_reduce<decltype(tag)>(out, updates, targets, op, use_init_val);
    });
}

std::vector<Tensor> scatter_elements(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& idx_t = ctx.input(1);
    const auto idx = read_indices(idx_t);
    const auto& is = idx_t.shape();
    const auto rank = static_cast<std::int64_t>(data.shape().size());
    LOOM_REQUIRE(static_cast<std::int64_t>(is.size()) == rank,
                 "ScatterElementsUpdate data and indices differ in rank");
    const auto axis = to_size(checked_axis(scalar_i64(ctx.input(3)), rank, "axis"));
    const auto ds = strides_of(data.shape());
    const auto istr = strides_of(is);
    std::vector<std::int64_t> targets(idx.size());
    for (std::size_t i = 0; i < idx.size(); ++i) {
        std::int64_t off = 0;
        for (std::size_t k = 0; k < is.size(); ++k) {
            auto c = (static_cast<std::int64_t>(i) / istr[k]) % is[k];
            if (k == axis) c = checked_index(idx[i], data.shape()[k], "ScatterElementsUpdate");
            LOOM_REQUIRE(c < data.shape()[k], "ScatterElementsUpdate index beyond data axis {}", k);
            off += c * ds[k];
        }
        targets[i] = off;
    }
    auto out = copy_of(data);
    apply_scatter(out, ctx.input(2), targets, ctx.attr_or<std::string>("reduction", "none"),
                  ctx.attr_or<bool>("use_init_val", true), "ScatterElementsUpdate");
    return {out};
}

std::vector<Tensor> scatter_nd(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    auto nd = nd_offsets(data.shape(), ctx.input(1), 0, "ScatterNDUpdate");
    std::vector<std::int64_t> targets;
    for (auto off : nd.offsets)
        for (std::int64_t j = 0; j < nd.slice; ++j)
            targets.push_back(off + j);
    auto out = copy_of(data);
    const auto op = ctx.attr_or<std::string>("reduction", "none");
    if (op == "none") { // raw bytes: every type
        const auto& updates = ctx.input(2);
        LOOM_REQUIRE(static_cast<std::int64_t>(targets.size()) == updates.size(),
                     "ScatterNDUpdate has {} updates for {} indexed elements", updates.size(),
                     targets.size());
        const auto es = element_size(data.element_type());
        for (std::size_t i = 0; i < targets.size(); ++i)
            std::memcpy(out.mutable_data() + to_size(targets[i]) * es,
                        element_ptr(updates, static_cast<std::int64_t>(i)), es);
        return {out};
    }
    apply_scatter(out, ctx.input(2), targets, op, true, "ScatterNDUpdate");
    return {out};
}

} // namespace

void add_index_slice_kernels(KernelTable& table); // kernels_index_slice.cpp
void add_index_misc_kernels(KernelTable& table);  // kernels_index_misc.cpp

void add_index_kernels(KernelTable& table) {
    const KernelOptions bytes{.half_via_f32 = false};
    for (const char* v : {"opset1", "opset7", "opset8"})
        table.add("Gather", v, gather, bytes);
    table.add("GatherElements", "opset6", gather_elements, bytes);
    table.add("GatherND", "opset5", gather_nd, bytes);
    table.add("GatherND", "opset8", gather_nd, bytes);
    table.add("ScatterUpdate", "opset3", scatter_update, bytes);
    table.add("ScatterElementsUpdate", "opset3", scatter_elements);
    table.add("ScatterElementsUpdate", "opset12", scatter_elements);
    table.add("ScatterNDUpdate", "opset3", scatter_nd);
    table.add("ScatterNDUpdate", "opset15", scatter_nd);
    add_index_slice_kernels(table);
    add_index_misc_kernels(table);
}

} // namespace loom::reference
