// Reference kernels: reduction family — ReduceSum/Mean/Prod/Max/Min (opset1), ReduceL1/L2
// (opset4) and ReduceLogicalAnd/Or (opset1) (see kernel.hpp).
//
// Axes come from input 1 (negative values count from the end, repeats are allowed, an empty
// list reduces nothing). Floating sums and products accumulate in double; integer ones wrap
// (computed on uint64) and ReduceMean of integers truncates. Empty reductions give the
// identity: Sum/L1/L2 0, Prod 1, Max the lowest value, Min the highest, Mean NaN (0 for
// integers), LogicalAnd true, LogicalOr false. Max and Min propagate NaN.

#include <cmath>
#include <limits>
#include <type_traits>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

enum class Red { Sum, Mean, Prod, Max, Min, L1, L2, And, Or };

// The input seen as groups of adjacent kept or reduced dims (dims of size 1 dropped): the
// output enumerates the kept groups in order, each output element reduces over the others.
struct Groups {
    std::vector<std::int64_t> kept_dims, kept_strides, red_dims, red_strides;
    std::int64_t out_count = 1, red_count = 1;
};

Groups group_dims(const Shape& shape, const std::vector<bool>& reduced) {
    Groups g;
    const auto strides = strides_of(shape);
    int last = -1; // the kind of the previous group: 0 kept, 1 reduced
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        const int kind = reduced[d] ? 1 : 0;
        auto& dims = kind ? g.red_dims : g.kept_dims;
        auto& st = kind ? g.red_strides : g.kept_strides;
        if (kind == last) { // contiguous with the previous dim: merge
            dims.back() *= shape[d];
            st.back() = strides[d];
        } else {
            dims.push_back(shape[d]);
            st.push_back(strides[d]);
        }
        last = kind;
    }
    for (auto d : g.kept_dims)
        g.out_count *= d;
    for (auto d : g.red_dims)
        g.red_count *= d;
    return g;
}

std::vector<bool> reduced_axes(const KernelContext& ctx) {
    const auto rank = static_cast<std::int64_t>(ctx.input(0).shape().size());
    std::vector<bool> reduced(static_cast<std::size_t>(rank), false);
    if (rank == 0) return reduced;
    for (auto a : read_indices(ctx.input(1))) {
        LOOM_REQUIRE(a >= -rank && a < rank, "{}: axis {} is out of range for rank {}",
                     ctx.node().type, a, rank);
        reduced[static_cast<std::size_t>(a < 0 ? a + rank : a)] = true;
    }
    return reduced;
}

template <Red R, class T>
auto initial() {
    if constexpr (R == Red::Max)
        return std::numeric_limits<T>::lowest();
    else if constexpr (R == Red::Min)
        return std::numeric_limits<T>::max();
    else if constexpr (R == Red::And)
        return true;
    else if constexpr (R == Red::Or)
        return false;
    else if constexpr (R == Red::L1 || R == Red::L2)
        return 0.0;
    else if constexpr (std::is_floating_point_v<T>)
        return R == Red::Prod ? 1.0 : 0.0;
    else
        return std::uint64_t{R == Red::Prod ? 1U : 0U};
}

template <Red R, class A, class T>
A step(A acc, T x) {
    if constexpr (R == Red::Max) {
        if constexpr (std::is_floating_point_v<T>)
            if (std::isnan(acc) || std::isnan(x)) return std::isnan(acc) ? acc : x;
        return x > acc ? x : acc;
    } else if constexpr (R == Red::Min) {
        if constexpr (std::is_floating_point_v<T>)
            if (std::isnan(acc) || std::isnan(x)) return std::isnan(acc) ? acc : x;
        return x < acc ? x : acc;
    } else if constexpr (R == Red::And) {
        return acc && x;
    } else if constexpr (R == Red::Or) {
        return acc || x;
    } else if constexpr (R == Red::L1) {
        return acc + std::fabs(static_cast<double>(x));
    } else if constexpr (R == Red::L2) {
        return acc + static_cast<double>(x) * static_cast<double>(x);
    } else if constexpr (R == Red::Prod) {
        return acc * static_cast<A>(x);
    } else {
        return acc + static_cast<A>(x);
    }
}

template <Red R, class T, class A>
T finish(A acc, std::int64_t count) {
    if constexpr (R == Red::Mean) {
        if constexpr (std::is_floating_point_v<T>) {
            return static_cast<T>(acc / static_cast<double>(count));
        } else {
            if (count == 0) return T{0};
            if constexpr (std::is_signed_v<T>)
                return static_cast<T>(static_cast<std::int64_t>(acc) / count);
            else
                return static_cast<T>(acc / static_cast<std::uint64_t>(count));
        }
    } else if constexpr (R == Red::L2) {
        if constexpr (std::is_floating_point_v<T>)
            return static_cast<T>(std::sqrt(acc));
        else
            return static_cast<T>(std::round(std::sqrt(acc)));
    } else if constexpr (R == Red::L1 && !std::is_floating_point_v<T>) {
        return static_cast<T>(static_cast<std::uint64_t>(acc));
    } else {
        return static_cast<T>(acc);
    }
}

template <Red R, class T>
void reduce_typed(const Tensor& in, const Tensor& out, const Groups& g) {
    const T* p = in.data<T>();
    T* po = reinterpret_cast<T*>(out.mutable_data());
    const auto nk = g.kept_dims.size(), nr = g.red_dims.size();
    const std::int64_t inner = nr ? g.red_dims.back() : 1;
    const std::int64_t inner_stride = nr ? g.red_strides.back() : 0;
    const std::int64_t outer = inner ? g.red_count / inner : 0;
    const std::int64_t grain =
        std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, g.red_count));
    parallel_for(g.out_count, grain, [&](std::int64_t o0, std::int64_t o1) {
        for (std::int64_t o = o0; o < o1; ++o) {
            std::int64_t base = 0, rem = o;
            for (std::size_t k = nk; k-- > 0;) {
                base += (rem % g.kept_dims[k]) * g.kept_strides[k];
                rem /= g.kept_dims[k];
            }
            auto acc = initial<R, T>();
            if constexpr (R == Red::Max || R == Red::Min) // also right for ±inf data
                if (g.red_count > 0) acc = p[base];
            for (std::int64_t q = 0; q < outer; ++q) {
                std::int64_t off = base, r = q;
                for (std::size_t k = nr > 0 ? nr - 1 : 0; k-- > 0;) {
                    off += (r % g.red_dims[k]) * g.red_strides[k];
                    r /= g.red_dims[k];
                }
                const T* row = p + off;
                if (inner_stride == 1) {
                    for (std::int64_t j = 0; j < inner; ++j)
                        acc = step<R>(acc, row[j]);
                } else {
                    for (std::int64_t j = 0; j < inner; ++j)
                        acc = step<R>(acc, row[j * inner_stride]);
                }
            }
            po[o] = finish<R, T>(acc, g.red_count);
        }
    });
}

template <Red R>
std::vector<Tensor> reduce(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    auto out = ctx.allocate_output(0);
    auto g = group_dims(in.shape(), reduced_axes(ctx));
    LOOM_REQUIRE(g.out_count == out.size(), "{}: output shape {} does not match the reduction",
                 ctx.node().type, model::to_string(out.shape()));
    if (g.red_dims.empty() && R != Red::L1 && R != Red::L2) {
        // Nothing reduced and no dim of size 0 to reduce over: a copy (Sum/Mean/Prod/Max/Min/
        // And/Or of one value is the value).
        std::memcpy(out.mutable_data(), in.data<std::byte>(), in.byte_size());
        return {out};
    }
    dispatch_type(in.element_type(), ctx.node().type, [&](auto tag) {
        using T = decltype(tag);
        constexpr bool logical = R == Red::And || R == Red::Or;
        if constexpr (logical != std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: element type {} is not supported",
                       ctx.node().type, loom::to_string(in.element_type()));
        } else {
            reduce_typed<R, T>(in, out, g);
        }
    });
    return {out};
}

} // namespace

void add_reduction_kernels(KernelTable& table) {
    table.add("ReduceSum", "opset1", reduce<Red::Sum>);
    table.add("ReduceMean", "opset1", reduce<Red::Mean>);
    table.add("ReduceProd", "opset1", reduce<Red::Prod>);
    table.add("ReduceMax", "opset1", reduce<Red::Max>);
    table.add("ReduceMin", "opset1", reduce<Red::Min>);
    table.add("ReduceL1", "opset4", reduce<Red::L1>);
    table.add("ReduceL2", "opset4", reduce<Red::L2>);
    table.add("ReduceLogicalAnd", "opset1", reduce<Red::And>);
    table.add("ReduceLogicalOr", "opset1", reduce<Red::Or>);
}

} // namespace loom::reference
