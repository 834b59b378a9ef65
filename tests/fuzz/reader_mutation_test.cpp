// Readers against corrupted input: seeded, deterministic mutations (byte flips, truncation,
// insertions, duplicated spans) of real ONNX models and IR documents. Every mutant must either
// read or be refused with a loom::Error whose kind is not `internal` — never a crash, a hang or
// another exception type. Run under ASan+UBSan by .ci/run.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::byte> file_bytes(const fs::path& path) {
    auto file = loom::model::MappedFile::open(path.string());
    return {file->bytes().begin(), file->bytes().end()};
}

std::vector<std::byte> mutate(const std::vector<std::byte>& original, std::mt19937_64& rng) {
    auto bytes = original;
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
    switch (rng() % 5) {
    case 0: // flip a few bytes
        for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n && !bytes.empty(); ++i)
            bytes[pick(bytes.size())] = static_cast<std::byte>(rng());
        break;
    case 1: // truncate
        bytes.resize(pick(bytes.size()));
        break;
    case 2: { // insert random bytes
        auto at = pick(bytes.size() + 1);
        for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i)
            bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                         static_cast<std::byte>(rng()));
        break;
    }
    case 3: { // duplicate a span somewhere else
        auto from = pick(bytes.size()),
             len = std::min<std::size_t>(pick(64) + 1, bytes.size() - from);
        std::vector<std::byte> span(bytes.begin() + static_cast<std::ptrdiff_t>(from),
                                    bytes.begin() + static_cast<std::ptrdiff_t>(from + len));
        auto at = pick(bytes.size() + 1);
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), span.begin(), span.end());
        break;
    }
    default: // replace a digit (dims, offsets, ids, attribute values in text formats)
        for (int tries = 0; tries < 64 && !bytes.empty(); ++tries) {
            auto i = pick(bytes.size());
            auto c = static_cast<char>(bytes[i]);
            if (c >= '0' && c <= '9') {
                const char digits[] = "0123456789-9";
                bytes[i] = static_cast<std::byte>(digits[rng() % 12]);
                break;
            }
        }
    }
    return bytes;
}

// LOOM_FUZZ_SCALE multiplies the mutant counts for longer exploratory runs (default 1).
int scaled(int count) {
    const char* env = std::getenv("LOOM_FUZZ_SCALE");
    int scale = env ? std::max(1, std::atoi(env)) : 1;
    return count * scale;
}

struct Outcome {
    std::size_t read = 0, refused = 0;
    std::map<std::string, std::size_t> kinds;
};

void run_mutants(const std::vector<std::byte>& original, std::span<const std::byte> weights,
                 loom::reader::Format format, std::uint64_t seed, int count, Outcome& outcome) {
    auto registry = loom::model::make_native_registry();
    std::mt19937_64 rng(seed);
    for (int i = 0; i < count; ++i) {
        auto mutant = mutate(original, rng);
        // Where a failing mutant is kept, to reproduce it with `loom info -m`.
        auto keep = [&] {
            auto path = fs::path(testing::TempDir()) /
                        ("mutant_" + std::to_string(seed) + "_" + std::to_string(i) +
                         (format == loom::reader::Format::Ir ? ".xml" : ".onnx"));
            std::ofstream(path, std::ios::binary)
                .write(reinterpret_cast<const char*>(mutant.data()),
                       static_cast<std::streamsize>(mutant.size()));
            return path.string();
        };
        try {
            loom::reader::read_model_bytes(mutant, weights, nullptr, *registry, format);
            ++outcome.read;
        } catch (const loom::Error& e) {
            ++outcome.refused;
            ++outcome.kinds[std::string(loom::to_string(e.kind()))];
            if (e.kind() == loom::ErrorKind::INTERNAL)
                FAIL() << "mutant " << i << " of seed " << seed << " (kept as " << keep()
                       << "): " << e.what();
        } catch (const std::exception& e) {
            FAIL() << "mutant " << i << " of seed " << seed << " (kept as " << keep()
                   << ") threw a non-Loom exception: " << e.what();
        }
    }
}

void print(const char* what, const Outcome& o) {
    std::cout << "[ mutants ] " << what << ": " << o.read << " read, " << o.refused << " refused (";
    for (const auto& [kind, n] : o.kinds)
        std::cout << kind << " " << n << " ";
    std::cout << ")\n";
}

} // namespace

TEST(ReaderMutations, CorruptedOnnxModelsAreRefusedWithTypedErrors) {
    fs::path data = "/usr/share/libonnx-testdata/data/node";
    LOOM_REQUIRE_DATA(data);
    std::vector<fs::path> models;
    for (const auto& e : fs::directory_iterator(data))
        if (fs::exists(e.path() / "model.onnx")) models.push_back(e.path() / "model.onnx");
    std::sort(models.begin(), models.end());
    Outcome outcome;
    for (std::size_t i = 0; i < models.size(); i += 31) // 31 models across the alphabet
        run_mutants(file_bytes(models[i]), {}, loom::reader::Format::Onnx, i, scaled(200), outcome);
    print("onnx", outcome);
    EXPECT_GT(outcome.refused, 0u);
}

TEST(ReaderMutations, CorruptedIrDocumentsAreRefusedWithTypedErrors) {
    auto dir = loom::test::shared_dir() / "models/ir";
    LOOM_REQUIRE_DATA(dir);
    Outcome outcome;
    std::uint64_t seed = 1;
    for (const char* name : {"dummy/dummy", "summator/summator", "dummy_fp64/saved_model",
                             "passthrough/passthrough", "no_name_output/model"}) {
        auto xml = file_bytes(dir / (std::string(name) + ".xml"));
        auto bin = file_bytes(dir / (std::string(name) + ".bin"));
        run_mutants(xml, bin, loom::reader::Format::Ir, seed++, scaled(1000), outcome);
    }
    print("ir", outcome);
    EXPECT_GT(outcome.refused, 0u);
}
