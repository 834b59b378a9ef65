// LLVMFuzzerInitialize for fuzz builds: with LOOM_FUZZ_WRITE_SEEDS=DIR, writes the target's
// seeds there (seed-<n>) before fuzzing starts (tools/fuzz.sh seeds each corpus this way).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/targets/fuzz_target.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* dir = std::getenv("LOOM_FUZZ_WRITE_SEEDS");
    if (!dir) return 0;
    std::filesystem::create_directories(dir);
    std::size_t n = 0;
    for (const auto& seed : loom_fuzz_seeds()) {
        std::ofstream out(std::filesystem::path(dir) / ("seed-" + std::to_string(n++)),
                          std::ios::binary);
        out.write(reinterpret_cast<const char*>(seed.data()),
                  static_cast<std::streamsize>(seed.size()));
    }
    return 0;
}
