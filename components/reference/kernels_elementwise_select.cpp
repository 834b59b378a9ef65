// Reference kernels: elementwise family, many-input part — Select and FakeQuantize (see
// kernel.hpp).

#include <array>
#include <cmath>
#include <string>
#include <type_traits>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

// kernels_elementwise.cpp
std::vector<std::int64_t> elementwise_strides(const KernelContext& ctx, const Shape& in,
                                              const Shape& out);

namespace {

// Calls f(out_index, index of input 0 … N-1) over `out` in row-major order, the inputs
// broadcast onto it with the given strides; parallel over rows.
template <std::size_t N, class F>
void for_each_broadcast_n(const Shape& out, const std::array<std::vector<std::int64_t>, N>& st,
                          F f) {
    std::int64_t total = 1;
    for (auto d : out)
        total *= d;
    if (total == 0) return;
    if (out.empty()) {
        f(std::int64_t{0}, std::array<std::int64_t, N>{});
        return;
    }
    const std::int64_t inner = out.back();
    const std::int64_t rows = total / inner;
    parallel_for(rows, std::max<std::int64_t>(1, 16384 / inner),
                 [&](std::int64_t r0, std::int64_t r1) {
                     std::array<std::int64_t, N> idx{};
                     for (std::int64_t r = r0; r < r1; ++r) {
                         std::array<std::int64_t, N> base{};
                         std::int64_t rem = r;
                         for (std::size_t k = out.size() - 1; k-- > 0;) {
                             const auto i = rem % out[k];
                             rem /= out[k];
                             for (std::size_t n = 0; n < N; ++n)
                                 base[n] += i * st[n][k];
                         }
                         for (std::int64_t j = 0; j < inner; ++j) {
                             for (std::size_t n = 0; n < N; ++n)
                                 idx[n] = base[n] + j * st[n].back();
                             f(r * inner + j, idx);
                         }
                     }
                 });
}

// Strides of `in` onto `out` when `in` may have more (leading 1) dims than `out`.
std::vector<std::int64_t> onto(const KernelContext& ctx, Shape in, const Shape& out) {
    while (in.size() > out.size() && in.front() == 1)
        in.erase(in.begin());
    return elementwise_strides(ctx, in, out);
}

template <class T>
void select_typed(const KernelContext& ctx, const Tensor& out) {
    const auto& cond = ctx.input(0);
    const auto& a = ctx.input(1);
    const auto& b = ctx.input(2);
    const auto& shape = out.shape();
    const bool* pc = cond.data<bool>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = reinterpret_cast<T*>(out.mutable_data());
    if (cond.shape() == shape && a.shape() == shape && b.shape() == shape) {
        parallel_for(out.size(), 1 << 15, [&](std::int64_t i0, std::int64_t i1) {
            for (std::int64_t i = i0; i < i1; ++i)
                po[i] = pc[i] ? pa[i] : pb[i];
        });
        return;
    }
    // pdpd: cond and else broadcast onto then; numpy: all onto the output.
    std::array<std::vector<std::int64_t>, 3> st{elementwise_strides(ctx, cond.shape(), shape),
                                                elementwise_strides(ctx, a.shape(), shape),
                                                elementwise_strides(ctx, b.shape(), shape)};
    for_each_broadcast_n<3>(shape, st, [&](std::int64_t o, const std::array<std::int64_t, 3>& i) {
        po[o] = pc[i[0]] ? pa[i[1]] : pb[i[2]];
    });
}

// Select works on raw elements of any type.
std::vector<Tensor> select(KernelContext& ctx) {
    LOOM_REQUIRE(ctx.input(0).element_type() == ElementType::BOOLEAN,
                 "Select: the condition must be boolean");
    auto out = ctx.allocate_output(0);
    switch (loom::element_size(out.element_type())) {
    case 1:
        select_typed<std::uint8_t>(ctx, out);
        break;
    case 2:
        select_typed<std::uint16_t>(ctx, out);
        break;
    case 4:
        select_typed<std::uint32_t>(ctx, out);
        break;
    case 8:
        select_typed<std::uint64_t>(ctx, out);
        break;
    default:
        LOOM_THROW(ErrorKind::UNSUPPORTED, "Select: element type {} is not supported",
                   loom::to_string(out.element_type()));
    }
    return {out};
}

// OpenVINO's FakeQuantize on one value (C: the computation type).
template <class C>
C fake_quantize_one(C x, C il, C ih, C ol, C oh, C steps) {
    if (x <= std::min(il, ih)) return ol;
    if (x > std::max(il, ih)) return oh;
    return std::nearbyint((x - il) / (ih - il) * steps) / steps * (oh - ol) + ol;
}

std::vector<Tensor> fake_quantize(KernelContext& ctx) {
    auto out = ctx.allocate_output(0);
    const auto levels = ctx.attr<std::int64_t>("levels");
    LOOM_REQUIRE(levels >= 2, "FakeQuantize: levels is {}; it must be at least 2", levels);
    const auto& shape = out.shape();
    std::array<std::vector<std::int64_t>, 5> st;
    for (std::size_t i = 0; i < 5; ++i)
        st[i] = onto(ctx, ctx.input(i).shape(), shape);
    dispatch_type(out.element_type(), "FakeQuantize", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_THROW(ErrorKind::UNSUPPORTED, "FakeQuantize does not take boolean inputs");
        } else {
            using C = std::conditional_t<std::is_floating_point_v<T>, T, double>;
            std::array<const T*, 5> p{};
            for (std::size_t i = 0; i < 5; ++i)
                p[i] = ctx.input(i).data<T>();
            T* po = reinterpret_cast<T*>(out.mutable_data());
            const auto steps = static_cast<C>(levels - 1);
            for_each_broadcast_n<5>(
                shape, st, [&](std::int64_t o, const std::array<std::int64_t, 5>& i) {
                    po[o] = static_cast<T>(fake_quantize_one<C>(p[0][i[0]], p[1][i[1]], p[2][i[2]],
                                                                p[3][i[3]], p[4][i[4]], steps));
                });
        }
    });
    return {out};
}

} // namespace

void add_select_kernels(KernelTable& table) {
    table.add("Select", "opset1", select, {.half_via_f32 = false});
    table.add("FakeQuantize", "opset1", fake_quantize);
}

} // namespace loom::reference
