#pragma once
// Test helpers shared by ir_reader_test.cpp and ir_writer_test.cpp (header only, tests only).

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"

namespace loom::reader::ir::testing {

// $LOOM_SHARED_DIR (set by ctest), "../shared" otherwise.
inline std::string shared_dir() {
    const char* dir = std::getenv("LOOM_SHARED_DIR");
    return dir && *dir ? dir : "../shared";
}

inline std::string ir_dir() {
    return shared_dir() + "/models/ir";
}

inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

// The .xml file of a shared IR folder.
inline std::string ir_xml(const std::string& folder) {
    for (const auto& entry : std::filesystem::directory_iterator(ir_dir() + "/" + folder))
        if (entry.path().extension() == ".xml") return entry.path().string();
    return ir_dir() + "/" + folder + "/missing.xml";
}

inline std::vector<std::string> ir_folders() {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(ir_dir()))
        if (entry.is_directory()) out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// The native op registry (a fresh one: tests may add specs to it).
inline std::shared_ptr<model::OpRegistry> registry() {
    return model::make_native_registry();
}

} // namespace loom::reader::ir::testing

// Skips (or, with CI=true, fails) a test when the shared models are not there.
#define IR_REQUIRE_SHARED()                                                                        \
    do {                                                                                           \
        if (!std::filesystem::is_directory(::loom::reader::ir::testing::ir_dir())) {               \
            if (::loom::reader::ir::testing::in_ci())                                              \
                FAIL() << "shared IR models missing at " << ::loom::reader::ir::testing::ir_dir(); \
            GTEST_SKIP() << "shared IR models missing at "                                         \
                         << ::loom::reader::ir::testing::ir_dir()                                  \
                         << " (set LOOM_SHARED_DIR to the folder holding models/ir)";              \
        }                                                                                          \
    } while (0)
