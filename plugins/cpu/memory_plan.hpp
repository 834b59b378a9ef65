#pragma once
// The memory plan of a compiled CPU graph (issue 13): every intermediate value gets an offset in
// one arena, and values whose lifetimes do not overlap share bytes — so a request allocates its
// arena once and nothing per inference.

#include <cstddef>
#include <vector>

namespace loom::plugins::cpu {

struct Lifetime {
    std::size_t bytes = 0;
    std::size_t first = 0, last = 0; // the steps that write it first and read it last (inclusive)
};

struct MemoryPlan {
    std::vector<std::size_t> offsets; // per lifetime, 64-byte aligned
    std::size_t total = 0;            // the arena's size
};

// Greedy by size (largest first, lowest offset that fits beside every placed value whose
// lifetime overlaps).
MemoryPlan plan_memory(const std::vector<Lifetime>& values);

} // namespace loom::plugins::cpu
