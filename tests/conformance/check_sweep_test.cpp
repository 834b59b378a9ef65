// `loom check -d REFERENCE` and `-d CPU` — the product path: reader → transform → device through
// Core — over every case of Debian's ONNX backend test data, compared with each device's
// expected failures (which may only shrink: an unlisted failure is an error, so is a listed case
// that passes or no longer exists), and over the shared real models (all must pass on both).
// REFERENCE's list is reference_expected_failures.txt; CPU's is that list (CPU runs what it does
// not accelerate on the reference kernels, so it may pass a case REFERENCE fails, never the
// reverse) plus cpu_expected_failures.txt, its own failures. If `loom` dies on a case (a crash in a
// kernel), that case is recorded as crashed and the sweep goes on with the cases after it.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/shared_data.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path k_data = "/usr/share/libonnx-testdata/data";
const char* const k_folders[] = {"node", "simple", "pytorch-converted", "pytorch-operator"};

struct LoomRun {
    std::string status; // "exit N", "signal N" or "timeout"
    bool exited = false;
    std::string output;
};

LoomRun run_loom(std::vector<std::string> args, std::chrono::seconds timeout) {
    args.insert(args.begin(), LOOM_EXECUTABLE);
    auto o = loom::test::run_process(std::move(args), timeout);
    LoomRun r;
    r.exited = !o.timed_out && o.exit_code >= 0;
    r.status = o.timed_out        ? "timeout"
               : o.exit_code >= 0 ? "exit " + std::to_string(o.exit_code)
                                  : "signal " + std::to_string(o.signal);
    r.output = std::move(o.output);
    return r;
}

struct Result {
    bool passed = false;
    std::string reason;
};

// Case folders below `folder`, in the order `loom check` runs them.
std::vector<fs::path> cases_in(const fs::path& folder) {
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.is_directory() && fs::exists(entry.path() / "model.onnx"))
            cases.push_back(entry.path());
    std::sort(cases.begin(), cases.end());
    return cases;
}

// PASS/FAIL lines of `loom check` output by case name.
std::map<std::string, Result> parse_lines(const std::string& output) {
    std::map<std::string, Result> out;
    std::size_t start = 0;
    while (start < output.size()) {
        auto end = output.find('\n', start);
        if (end == std::string::npos) end = output.size();
        const auto line = output.substr(start, end - start);
        start = end + 1;
        if (line.starts_with("PASS ")) {
            out[line.substr(5)] = {true, {}};
        } else if (line.starts_with("FAIL ")) {
            auto colon = line.find(": ", 5);
            if (colon != std::string::npos)
                out[line.substr(5, colon - 5)] = {false, line.substr(colon + 2)};
        }
    }
    return out;
}

// Runs `loom check --json` over `cases`; when loom dies or hangs, the first case without a
// result is recorded as such and the rest are run again.
// Everything must finish within `budget` (below ctest's TIMEOUT); cases left are "not run".
std::map<std::string, Result> check_all(const std::string& device, std::vector<fs::path> cases,
                                        const fs::path& json, std::chrono::seconds budget = 650s) {
    std::map<std::string, Result> results;
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (!cases.empty()) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            for (const auto& c : cases)
                results[c.filename().string()] = {false, "not run: the sweep ran out of time"};
            return results;
        }
        std::vector<std::string> args = {"check", "-d",     device,       "--timeout",
                                         "300",   "--json", json.string()};
        for (const auto& c : cases)
            args.push_back(c.string());
        fs::remove(json);
        auto o = run_loom(args, left);
        if (o.exited && fs::exists(json)) {
            std::ifstream in(json);
            auto j = nlohmann::json::parse(in, nullptr, false);
            EXPECT_TRUE(j.is_array()) << json << " is not a JSON array";
            if (j.is_array())
                for (const auto& r : j)
                    results[r.at("name").get<std::string>()] = {r.at("passed").get<bool>(),
                                                                r.at("reason").get<std::string>()};
            EXPECT_TRUE(o.output.ends_with(" failed\n")) << "no summary line:\n" << o.output;
            return results;
        }
        EXPECT_FALSE(o.exited) << "loom check ended (" << o.status << ") without writing " << json
                               << ":\n"
                               << o.output;
        if (o.exited) return results;
        auto done = parse_lines(o.output);
        std::vector<fs::path> rest;
        bool blamed = false;
        for (const auto& c : cases) {
            const auto name = c.filename().string();
            if (auto it = done.find(name); it != done.end()) {
                results[name] = it->second;
            } else if (!blamed) {
                results[name] = {false, "loom check died on this case (" + o.status + ")"};
                blamed = true;
            } else {
                rest.push_back(c);
            }
        }
        cases = std::move(rest);
    }
    return results;
}

// `folder/case: reason` lines of `file` into `out`.
void read_list(const char* file, std::map<std::string, std::string>& out) {
    std::ifstream in(file);
    EXPECT_TRUE(in.good()) << "cannot read " << file;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto colon = line.find(": ");
        EXPECT_NE(colon, std::string::npos)
            << "malformed line (want 'folder/case: reason'): " << line;
        if (colon == std::string::npos) continue;
        EXPECT_TRUE(out.emplace(line.substr(0, colon), line.substr(colon + 2)).second)
            << "listed twice: " << line;
    }
}

struct Expected {
    std::map<std::string, std::string> own;       // must fail: a pass means "remove it"
    std::map<std::string, std::string> inherited; // REFERENCE's, for CPU: may fail or pass
    const char* file = nullptr;                   // where `own` comes from
};

Expected expected_failures(const std::string& device) {
    Expected e;
    if (device == "REFERENCE") {
        e.file = LOOM_REFERENCE_EXPECTED_FAILURES;
    } else {
        e.file = LOOM_CPU_EXPECTED_FAILURES;
        read_list(LOOM_REFERENCE_EXPECTED_FAILURES, e.inherited);
    }
    read_list(e.file, e.own);
    return e;
}

fs::path report_dir() {
    const char* build = std::getenv("LOOM_BUILD_DIR");
    return build && *build ? fs::path(build) : fs::path(testing::TempDir());
}

struct SweepParam {
    const char* device;
    const char* folder;
};

class CheckSweep : public testing::TestWithParam<SweepParam> {};

TEST_P(CheckSweep, EveryCasePassesOrIsListedWithItsReason) {
    const std::string device = GetParam().device, name = GetParam().folder;
    const fs::path folder = k_data / name;
    LOOM_REQUIRE_DATA(folder);
    const auto expected_list = expected_failures(device);
    const auto& listed = expected_list.own;
    const auto cases = cases_in(folder);
    auto results = check_all(
        device, cases, fs::path(testing::TempDir()) / ("check_" + device + "_" + name + ".json"));
    std::vector<std::string> problems;
    std::string failures; // every failure, in the list's format
    std::size_t passed = 0, failed = 0, expected = 0;
    for (const auto& c : cases) {
        const auto key = name + "/" + c.filename().string();
        const auto it = results.find(c.filename().string());
        if (it == results.end()) {
            problems.push_back(key + ": no result from loom check");
            continue;
        }
        const bool is_listed = listed.contains(key) || expected_list.inherited.contains(key);
        if (it->second.passed) {
            ++passed;
            if (listed.contains(key))
                problems.push_back(key + " passes now: remove it from the list");
            continue;
        }
        ++failed;
        failures += key + ": " + it->second.reason + "\n";
        if (is_listed)
            ++expected;
        else
            problems.push_back(key + ": " + it->second.reason);
    }
    for (const auto& [key, reason] : listed)
        if (key.starts_with(name + "/") &&
            std::none_of(cases.begin(), cases.end(), [&](const fs::path& c) {
                return name + "/" + c.filename().string() == key;
            }))
            problems.push_back(key + " is listed but no such case exists: remove it");
    const auto report = report_dir() / (device + "_failures_" + name + ".txt");
    std::ofstream(report) << failures;
    std::cout << device << " " << name << ": " << cases.size() << " cases, " << passed
              << " passed, " << failed << " failed (" << expected << " listed); all failures in "
              << report.string() << "\n";
    RecordProperty("passed", static_cast<int>(passed));
    // The bar: at least 93% of the node cases pass, listed ones counting as failures.
    if (name == "node") {
        EXPECT_GE(passed * 100, cases.size() * 93)
            << passed << " of " << cases.size() << " node cases pass; the target is 93%";
    }
    RecordProperty("failed", static_cast<int>(failed));
    std::string all;
    for (const auto& p : problems)
        all += "  " + p + "\n";
    EXPECT_TRUE(problems.empty()) << problems.size() << " unexpected outcomes in " << name
                                  << " (see " << expected_list.file << "):\n"
                                  << all;
}

std::vector<SweepParam> sweeps() {
    std::vector<SweepParam> out;
    for (const char* device : {"REFERENCE", "CPU"})
        for (const char* folder : k_folders)
            out.push_back({device, folder});
    return out;
}

INSTANTIATE_TEST_SUITE_P(OnnxBackend, CheckSweep, testing::ValuesIn(sweeps()),
                         [](const testing::TestParamInfo<SweepParam>& param) {
                             std::string s =
                                 std::string(param.param.device) + "_" + param.param.folder;
                             std::replace(s.begin(), s.end(), '-', '_');
                             return s;
                         });

class CheckSharedModels : public testing::TestWithParam<const char*> {};

TEST_P(CheckSharedModels, EveryPpocrModelPasses) {
    const auto models = loom::test::shared_dir() / "models";
    LOOM_REQUIRE_DATA(models);
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(models))
        if (entry.path().filename().string().starts_with("ppocr-") &&
            fs::exists(entry.path() / "model.onnx"))
            cases.push_back(entry.path());
    std::sort(cases.begin(), cases.end());
    ASSERT_FALSE(cases.empty()) << "no ppocr-* models in " << models;
    const std::string device = GetParam();
    auto results = check_all(device, cases,
                             fs::path(testing::TempDir()) / ("check_ppocr_" + device + ".json"));
    for (const auto& c : cases) {
        const auto it = results.find(c.filename().string());
        ASSERT_NE(it, results.end()) << c << ": no result";
        EXPECT_TRUE(it->second.passed) << c.filename().string() << ": " << it->second.reason;
    }
}

INSTANTIATE_TEST_SUITE_P(Devices, CheckSharedModels, testing::Values("REFERENCE", "CPU"));

} // namespace
