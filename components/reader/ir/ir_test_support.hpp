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
#include "tests/support/shared_data.hpp"

namespace loom::reader::ir::testing {

inline std::string ir_dir() {
    return (::loom::test::shared_dir() / "models/ir").string();
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
#define IR_REQUIRE_SHARED() LOOM_REQUIRE_DATA(::loom::reader::ir::testing::ir_dir())
