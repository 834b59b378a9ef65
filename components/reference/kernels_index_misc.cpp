// Reference kernels: index family, part 3 — Einsum, TopK, CumSum, Bucketize, GatherTree,
// CTCGreedyDecoder and CTCGreedyDecoderSeqLen. Arithmetic kernels: f16/bf16 arrive as f32.

#include "components/reference/kernel_bytes.hpp"

#include <cmath>
#include <map>
#include <numeric>
#include <string>

namespace loom::reference {

namespace {

// ---- Einsum --------------------------------------------------------------------------------

// One operand's subscript with the ellipsis expanded to labels '0', '1', … (right-aligned
// over the broadcast ellipsis dims).
std::string expand_subscript(std::string_view text, std::int64_t rank, std::int64_t ell_rank) {
    std::string out;
    auto pos = text.find("...");
    std::string_view before = text.substr(0, pos);
    out.append(before);
    if (pos == std::string_view::npos) return out;
    std::string_view after = text.substr(pos + 3);
    const auto n = rank < 0 ? ell_rank // the output: the whole broadcast ellipsis
                            : rank - static_cast<std::int64_t>(before.size() + after.size());
    LOOM_REQUIRE(n >= 0 && n <= ell_rank, "Einsum subscript '{}' does not match rank {}", text,
                 rank);
    for (auto k = ell_rank - n; k < ell_rank; ++k)
        out.push_back(static_cast<char>('0' + k));
    out.append(after);
    return out;
}

struct EinsumPlan {
    std::vector<std::string> operands; // expanded subscripts
    std::string output;                // expanded output subscript
    std::map<char, std::int64_t> dims;
};

EinsumPlan plan_einsum(std::string equation, std::span<const Tensor> inputs) {
    std::erase(equation, ' ');
    const auto arrow = equation.find("->");
    const std::string lhs = equation.substr(0, arrow);
    std::vector<std::string> subs;
    for (std::size_t p = 0;;) {
        auto comma = lhs.find(',', p);
        subs.push_back(lhs.substr(p, comma == std::string::npos ? comma : comma - p));
        if (comma == std::string::npos) break;
        p = comma + 1;
    }
    LOOM_REQUIRE(subs.size() == inputs.size(), "Einsum equation has {} operands, node {}",
                 subs.size(), inputs.size());
    std::int64_t ell_rank = 0;
    for (std::size_t i = 0; i < subs.size(); ++i) {
        auto letters = std::count_if(subs[i].begin(), subs[i].end(), ::isalpha);
        if (subs[i].find("...") != std::string::npos)
            ell_rank = std::max<std::int64_t>(
                ell_rank, static_cast<std::int64_t>(inputs[i].shape().size()) - letters);
    }
    LOOM_REQUIRE(ell_rank <= 10, "Einsum ellipsis covers {} axes; at most 10", ell_rank);
    EinsumPlan plan;
    std::map<char, int> uses;
    for (std::size_t i = 0; i < subs.size(); ++i) {
        const auto& shape = inputs[i].shape();
        auto e = expand_subscript(subs[i], static_cast<std::int64_t>(shape.size()), ell_rank);
        LOOM_REQUIRE(e.size() == shape.size(), "Einsum operand {} does not match '{}'", i, subs[i]);
        for (std::size_t k = 0; k < e.size(); ++k) {
            auto& d = plan.dims.try_emplace(e[k], shape[k]).first->second;
            if (d == 1) d = shape[k];
            LOOM_REQUIRE(shape[k] == d || shape[k] == 1, "Einsum label '{}' has dims {} and {}",
                         e[k], d, shape[k]);
            if (std::isalpha(static_cast<unsigned char>(e[k]))) ++uses[e[k]];
        }
        plan.operands.push_back(std::move(e));
    }
    if (arrow != std::string::npos) {
        plan.output = expand_subscript(equation.substr(arrow + 2), -1, ell_rank);
    } else {
        for (std::int64_t k = 0; k < ell_rank; ++k)
            plan.output.push_back(static_cast<char>('0' + k));
        for (auto [c, n] : uses)
            if (n == 1) plan.output.push_back(c);
    }
    for (char c : plan.output)
        LOOM_REQUIRE(plan.dims.count(c), "Einsum output label '{}' is not an input label", c);
    return plan;
}

template <class T>
void einsum_compute(const EinsumPlan& plan, std::span<const Tensor> inputs, const Tensor& out) {
    std::string labels = plan.output; // output labels first, then the summed ones
    for (const auto& [c, d] : plan.dims)
        if (plan.output.find(c) == std::string::npos) labels.push_back(c);
    std::vector<std::int64_t> sizes;
    for (char c : labels)
        sizes.push_back(plan.dims.at(c));
    // strides[op][label]: element stride of that label in operand op (0 when broadcast).
    std::vector<std::vector<std::int64_t>> strides(inputs.size(),
                                                   std::vector<std::int64_t>(labels.size(), 0));
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto own = strides_of(inputs[i].shape());
        for (std::size_t k = 0; k < plan.operands[i].size(); ++k)
            if (inputs[i].shape()[k] != 1) strides[i][labels.find(plan.operands[i][k])] += own[k];
    }
    const auto n_out = plan.output.size();
    std::int64_t reduce = 1;
    for (auto k = n_out; k < labels.size(); ++k)
        reduce *= sizes[k];
    LOOM_REQUIRE(reduce <= (std::int64_t{1} << 24),
                 "Einsum sums over {} combinations; at most 2^24", reduce);
    // Offsets of every summed-label combination in each operand, computed once.
    const auto n_ops = inputs.size();
    std::vector<std::vector<std::int64_t>> red_off(n_ops,
                                                   std::vector<std::int64_t>(to_size(reduce)));
    for (std::int64_t r = 0; r < reduce; ++r) {
        auto rr = r;
        for (auto k = labels.size(); k-- > n_out;) {
            const auto v = rr % sizes[k];
            rr /= sizes[k];
            for (std::size_t i = 0; i < n_ops; ++i)
                red_off[i][to_size(r)] += v * strides[i][k];
        }
    }
    auto o = mutable_values<T>(out);
    parallel_for(out.size(), std::max<std::int64_t>(1, 65536 / reduce),
                 [&](std::int64_t b, std::int64_t e) {
                     std::vector<std::int64_t> base(n_ops);
                     for (std::int64_t idx = b; idx < e; ++idx) {
                         std::fill(base.begin(), base.end(), 0);
                         auto rem = idx;
                         for (auto k = n_out; k-- > 0;) {
                             const auto v = rem % sizes[k];
                             rem /= sizes[k];
                             for (std::size_t i = 0; i < n_ops; ++i)
                                 base[i] += v * strides[i][k];
                         }
                         T acc{};
                         for (std::int64_t r = 0; r < reduce; ++r) {
                             T prod = T(1);
                             for (std::size_t i = 0; i < n_ops; ++i)
                                 prod = static_cast<T>(
                                     prod * inputs[i].data<T>()[base[i] + red_off[i][to_size(r)]]);
                             acc = static_cast<T>(acc + prod);
                         }
                         o[to_size(idx)] = acc;
                     }
                 });
}

std::vector<Tensor> einsum(KernelContext& ctx) {
    auto plan = plan_einsum(ctx.attr<std::string>("equation"), ctx.inputs());
    auto out = ctx.allocate_output(0);
    for (const auto& in : ctx.inputs())
        LOOM_REQUIRE(in.element_type() == out.element_type(), "Einsum inputs differ in type");
    dispatch_type(out.element_type(), "Einsum",
                  [&](auto tag) { einsum_compute<decltype(tag)>(plan, ctx.inputs(), out); });
    return {out};
}

// ---- TopK, CumSum --------------------------------------------------------------------------

template <class T, class I>
void topk_compute(KernelContext& ctx, const Tensor& values_out, const Tensor& index_out,
                  std::size_t axis) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto dim = shape[axis];
    const auto k = values_out.shape()[axis];
    LOOM_REQUIRE(k <= dim, "TopK k {} exceeds the axis dimension {}", k, dim);
    const auto outer = dims_product(shape, 0, axis),
               inner = dims_product(shape, axis + 1, shape.size());
    const bool max_mode = ctx.attr<std::string>("mode") == "max";
    const auto sort = ctx.attr<std::string>("sort");
    auto x = values<T>(in);
    auto vo = mutable_values<T>(values_out);
    auto io = mutable_values<I>(index_out);
    std::vector<std::int64_t> order(to_size(dim));
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < inner; ++i) {
            auto at = [&](std::int64_t j) { return x[to_size((o * dim + j) * inner + i)]; };
            std::iota(order.begin(), order.end(), 0);
            // A strict weak order even with NaN: NaN ranks above every number.
            auto greater = [](T a, T b) {
                if constexpr (std::is_floating_point_v<T>) {
                    if (std::isnan(a) || std::isnan(b)) return !std::isnan(b);
                }
                return a > b;
            };
            auto better = [&](std::int64_t a, std::int64_t b) {
                const T va = at(a), vb = at(b);
                if (greater(va, vb)) return max_mode;
                if (greater(vb, va)) return !max_mode;
                return a < b; // ties: the lower index first (stable)
            };
            std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
            if (sort == "index") std::sort(order.begin(), order.begin() + k);
            for (std::int64_t j = 0; j < k; ++j) {
                const auto pos = to_size((o * k + j) * inner + i);
                vo[pos] = at(order[to_size(j)]);
                io[pos] = static_cast<I>(order[to_size(j)]);
            }
        }
}

std::vector<Tensor> topk(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto rank = static_cast<std::int64_t>(in.shape().size());
    const auto axis = to_size(checked_axis(ctx.attr<std::int64_t>("axis"), rank, "TopK axis"));
    auto v = ctx.allocate_output(0);
    auto idx = ctx.allocate_output(1);
    dispatch_type(in.element_type(), "TopK", [&](auto tag) {
        using T = decltype(tag);
        if (idx.element_type() == ElementType::I32)
            topk_compute<T, std::int32_t>(ctx, v, idx, axis);
        else
            topk_compute<T, std::int64_t>(ctx, v, idx, axis);
    });
    return {v, idx};
}

std::vector<Tensor> cumsum(KernelContext& ctx) {
    const auto& in = ctx.input(0);
    const auto& shape = in.shape();
    const auto rank = static_cast<std::int64_t>(shape.size());
    const auto axis =
        to_size(checked_axis(ctx.has_input(1) ? scalar_i64(ctx.input(1)) : 0, rank, "CumSum axis"));
    const bool exclusive = ctx.attr_or<bool>("exclusive", false);
    const bool reverse = ctx.attr_or<bool>("reverse", false);
    auto out = ctx.allocate_output(0);
    const auto dim = shape[axis];
    const auto outer = dims_product(shape, 0, axis),
               inner = dims_product(shape, axis + 1, shape.size());
    dispatch_type(in.element_type(), "CumSum", [&](auto tag) {
        using T = decltype(tag);
        auto x = values<T>(in);
        auto y = mutable_values<T>(out);
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                T acc{};
                for (std::int64_t s = 0; s < dim; ++s) {
                    const auto j = reverse ? dim - 1 - s : s;
                    const auto p = to_size((o * dim + j) * inner + i);
                    if (exclusive) {
                        y[p] = acc;
                        acc = static_cast<T>(acc + x[p]);
                    } else {
                        acc = static_cast<T>(acc + x[p]);
                        y[p] = acc;
                    }
                }
            }
    });
    return {out};
}

} // namespace

void add_index_decode_kernels(KernelTable& table); // kernels_index_decode.cpp

void add_index_misc_kernels(KernelTable& table) {
    table.add("Einsum", "opset7", einsum);
    for (const char* v : {"opset1", "opset3", "opset11"})
        table.add("TopK", v, topk);
    table.add("CumSum", "opset3", cumsum);
    add_index_decode_kernels(table);
}

} // namespace loom::reference
