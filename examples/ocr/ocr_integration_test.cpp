// loom-ocr end to end (label integration): reads the shared page.png with the shared PP-OCR
// models on the REFERENCE device and must find the words printed on the page; without the
// models it must exit 2 saying how to get them.

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/shared_data.hpp"

namespace {

// loom-ocr with `args`: its exit code (-1 if a signal ended it) and its output.
loom::test::Outcome run_ocr(std::vector<std::string> args) {
    args.insert(args.begin(), LOOM_OCR);
    return loom::test::run_process(std::move(args), std::chrono::minutes(15));
}

} // namespace

TEST(LoomOcr, MissingModelsExplainHowToGetThem) {
    const auto r = run_ocr({"--models", "/nonexistent/loom-ocr-models"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("ppocr-det-v4"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("pip download rapidocr-onnxruntime"), std::string::npos) << r.output;
}

TEST(LoomOcr, ReadsThePage) {
    const auto models = loom::test::shared_dir() / "models";
    LOOM_REQUIRE_DATA(models / "ppocr-det-v4" / "model.onnx");
    LOOM_REQUIRE_DATA(models / "ocr-pipeline" / "page.png");
    const auto r = run_ocr({"--models", models.string(), "-d", "REFERENCE"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // The words printed on page.png (five lines of rendered text).
    for (const char* word : {"Extensibility", "API", "custom", "operation", "42", "Hello", "World",
                             "device", "plugin", "CPU", "kernel", "bus", "components"})
        EXPECT_NE(r.output.find(word), std::string::npos) << "missing \"" << word << "\" in\n"
                                                          << r.output;
    EXPECT_NE(r.output.find("timings"), std::string::npos) << r.output;
}

TEST(LoomOcr, RefusesANonPngImage) {
    const auto models = loom::test::shared_dir() / "models";
    LOOM_REQUIRE_DATA(models / "ppocr-det-v4" / "model.onnx");
    const auto r = run_ocr({"--models", models.string(), "--image",
                            (models / "ocr-pipeline" / "ppocr_keys_v1.txt").string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("not a PNG"), std::string::npos) << r.output;
}
