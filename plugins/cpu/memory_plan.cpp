#include "plugins/cpu/memory_plan.hpp"

#include <algorithm>
#include <numeric>

namespace loom::plugins::cpu {

namespace {

constexpr std::size_t k_align = 64;

std::size_t aligned(std::size_t n) {
    return (n + k_align - 1) / k_align * k_align;
}

bool overlap(const Lifetime& a, const Lifetime& b) {
    return a.first <= b.last && b.first <= a.last;
}

} // namespace

MemoryPlan plan_memory(const std::vector<Lifetime>& values) {
    MemoryPlan plan;
    plan.offsets.assign(values.size(), 0);
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return values[a].bytes > values[b].bytes; });
    struct Block {
        std::size_t begin, end, value;
    };
    std::vector<Block> placed; // by offset
    for (auto v : order) {
        const auto size = aligned(values[v].bytes);
        if (size == 0) continue;
        std::size_t offset = 0;
        for (const auto& b : placed) {
            if (!overlap(values[b.value], values[v])) continue;
            if (offset + size <= b.begin) break;
            offset = std::max(offset, b.end);
        }
        plan.offsets[v] = offset;
        placed.push_back({offset, offset + size, v});
        std::sort(placed.begin(), placed.end(),
                  [](const Block& a, const Block& b) { return a.begin < b.begin; });
        plan.total = std::max(plan.total, offset + size);
    }
    return plan;
}

} // namespace loom::plugins::cpu
