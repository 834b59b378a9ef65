// loom-ocr end to end (label integration): reads the shared page.png with the shared PP-OCR
// models on the REFERENCE device and must find the words printed on the page; without the
// models it must exit 2 saying how to get them.

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/shared_data.hpp"

namespace {

struct OcrRun {
    int status = -1;
    std::string output; // stdout and stderr
};

OcrRun run_ocr(const std::string& args) {
    OcrRun r;
    const std::string command = std::string(LOOM_OCR) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return r;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        r.output.append(buffer, n);
    const int status = pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

} // namespace

TEST(LoomOcr, MissingModelsExplainHowToGetThem) {
    const OcrRun r = run_ocr("--models /nonexistent/loom-ocr-models");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("ppocr-det-v4"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("pip download rapidocr-onnxruntime"), std::string::npos) << r.output;
}

TEST(LoomOcr, ReadsThePage) {
    const auto models = loom::test::shared_dir() / "models";
    LOOM_REQUIRE_DATA(models / "ppocr-det-v4" / "model.onnx");
    LOOM_REQUIRE_DATA(models / "ocr-pipeline" / "page.png");
    const OcrRun r = run_ocr("--models " + models.string() + " -d REFERENCE");
    ASSERT_EQ(r.status, 0) << r.output;
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
    const OcrRun r = run_ocr("--models " + models.string() + " --image " +
                             (models / "ocr-pipeline" / "ppocr_keys_v1.txt").string());
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("not a PNG"), std::string::npos) << r.output;
}
