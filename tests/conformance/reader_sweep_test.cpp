// Every model.onnx of Debian's ONNX backend test data is read, or refused with a clear reason
// that is listed in reader_expected_failures.txt (which may only shrink: a listed case that
// reads is an error too, so is a listed case that no longer exists).

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path k_data = "/usr/share/libonnx-testdata/data";
const char* const k_folders[] = {"node", "simple", "pytorch-converted", "pytorch-operator"};

std::map<std::string, std::string> expected_failures() {
    std::map<std::string, std::string> out;
    std::ifstream in(LOOM_READER_EXPECTED_FAILURES);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto colon = line.find(": ");
        EXPECT_NE(colon, std::string::npos)
            << "malformed line (want 'folder/case: reason'): " << line;
        if (colon == std::string::npos) continue;
        EXPECT_TRUE(out.emplace(line.substr(0, colon), line.substr(colon + 2)).second)
            << "listed twice: " << line;
        EXPECT_GT(line.size(), colon + 12) << "the reason is too short to be clear: " << line;
    }
    return out;
}

class ReaderSweep : public testing::TestWithParam<const char*> {};

TEST_P(ReaderSweep, EveryCaseReadsOrIsListedWithItsReason) {
    fs::path folder = k_data / GetParam();
    LOOM_REQUIRE_DATA(folder);
    auto listed = expected_failures();
    auto registry = loom::model::make_native_registry();
    std::vector<std::string> problems;
    std::size_t read = 0, refused = 0;
    std::set<std::string> cases;
    for (const auto& entry : fs::directory_iterator(folder)) {
        auto model = entry.path() / "model.onnx";
        if (!fs::exists(model)) continue;
        std::string key = std::string(GetParam()) + "/" + entry.path().filename().string();
        cases.insert(key);
        std::string error;
        try {
            auto m = loom::reader::read_model(model.string(), *registry);
            EXPECT_FALSE(m->results().empty()) << key;
        } catch (const loom::Error& e) {
            error = e.what();
            EXPECT_NE(e.kind(), loom::ErrorKind::INTERNAL) << key << ": " << error;
        }
        bool is_listed = listed.count(key) > 0;
        if (error.empty()) {
            ++read;
            if (is_listed)
                problems.push_back(key + " reads now: remove it from the expected failures");
        } else {
            ++refused;
            if (!is_listed) problems.push_back(key + ": " + error);
        }
    }
    for (const auto& [key, reason] : listed)
        if (key.starts_with(std::string(GetParam()) + "/") && !cases.count(key))
            problems.push_back(key + " is listed but no such case exists");
    std::string all;
    for (const auto& p : problems)
        all += "  " + p + "\n";
    EXPECT_TRUE(problems.empty()) << problems.size() << " unexpected outcomes in " << GetParam()
                                  << ":\n"
                                  << all;
    std::cout << "[ reader ] " << GetParam() << ": " << read << " read, " << refused
              << " refused (listed)\n";
}

INSTANTIATE_TEST_SUITE_P(OnnxBackendData, ReaderSweep, testing::ValuesIn(k_folders),
                         [](const auto& param_info) {
                             std::string name = param_info.param;
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

} // namespace
