// loom-ocr — reads the text of an image with PP-OCR models running on a Loom device:
// PNG decode → text detection → crop → direction classification → recognition → CTC decode.
// Exit status: 0 on success, 1 on an error, 2 when the models are missing.

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "pipeline.hpp"
#include "png.hpp"

namespace fs = std::filesystem;
using namespace loom::ocr;

namespace {

fs::path default_models_dir() {
    const char* env = std::getenv("LOOM_SHARED_DIR");
    return (env && *env ? fs::path(env) : fs::path("../shared")) / "models";
}

void explain_missing(const fs::path& models, const std::vector<fs::path>& missing) {
    std::cerr << "loom-ocr: the PP-OCR models are missing under " << models << ":\n";
    for (const auto& p : missing)
        std::cerr << "  not found: " << p.string() << "\n";
    std::cerr
        << "Point --models (or LOOM_SHARED_DIR=<dir holding models/>) at a folder laid out\n"
           "as <models>/ppocr-det-v4/model.onnx, ppocr-cls-v2/model.onnx,\n"
           "ppocr-rec-v4/model.onnx and ocr-pipeline/ppocr_keys_v1.txt.\n"
           "To get them: the PyPI wheel rapidocr-onnxruntime carries the same PP-OCR models:\n"
           "  pip download rapidocr-onnxruntime --no-deps && unzip rapidocr_onnxruntime-*.whl\n"
           "then copy rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx,\n"
           "ch_ppocr_mobile_v2.0_cls_infer.onnx and ch_PP-OCRv4_rec_infer.onnx into that\n"
           "layout (PaddleOCR's ppocr_keys_v1.txt is the recognition dictionary).\n";
}

int run(const fs::path& models, fs::path image_path, const std::string& device, float min_score,
        const std::string& precision) {
    const auto paths = ModelPaths::under(models);
    if (const auto missing = paths.missing(); !missing.empty()) {
        explain_missing(models, missing);
        return 2;
    }
    if (image_path.empty()) image_path = models / "ocr-pipeline" / "page.png";
    auto start = std::chrono::steady_clock::now();
    const Image image = read_png(image_path);
    const double decode_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    fmt::print("loom-ocr: {} ({}x{}) on {}{}\n", image_path.string(), image.width, image.height,
               device, precision.empty() ? "" : " in " + precision);
    loom::Properties properties;
    if (!precision.empty())
        properties.set(loom::props::inference_precision,
                       precision == "bf16" ? loom::ElementType::BF16 : loom::ElementType::F32);
    Pipeline pipeline(paths, device, properties);
    const OcrResult result = pipeline.run(image);
    int shown = 0;
    for (const OcrLine& line : result.lines) {
        if (line.text.empty() || line.score < min_score) continue;
        fmt::print("[{:2}] ({:4},{:4})-({:4},{:4}) {:.3f}{} {}\n", ++shown, line.box.x0,
                   line.box.y0, line.box.x1, line.box.y1, line.score,
                   line.rotated ? " (rotated 180)" : "", line.text);
    }
    fmt::print("{} text line(s) from {} box(es)\n", shown, result.lines.size());
    fmt::print("timings (ms): png decode {:.1f}, read models {:.1f}", decode_ms,
               pipeline.read_ms());
    double total = decode_ms + pipeline.read_ms();
    for (const auto& [stage, ms] : result.timings_ms) {
        fmt::print(", {} {:.1f}", stage, ms);
        total += ms;
    }
    fmt::print("; total {:.1f}\n", total);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"loom-ocr: reads the text of a PNG image with PP-OCR models (detection, "
                 "direction classification, recognition) running on a Loom device"};
    fs::path models = default_models_dir();
    fs::path image;
    std::string device = "REFERENCE";
    float min_score = 0.5f;
    app.add_option("--models", models,
                   "Folder holding ppocr-det-v4, ppocr-cls-v2, ppocr-rec-v4 and ocr-pipeline "
                   "(default $LOOM_SHARED_DIR/models or ../shared/models)");
    app.add_option("--image", image, "PNG image (default <models>/ocr-pipeline/page.png)");
    app.add_option("-d,--device", device, "Loom device (default REFERENCE)");
    app.add_option("--min-score", min_score, "Drop lines recognised with a lower mean score");
    std::string precision;
    app.add_option("--infer-precision", precision,
                   "INFERENCE_PRECISION_HINT: f32, or bf16 (-d CPU on CPUs with avx512_bf16)")
        ->check(CLI::IsMember({"f32", "bf16"}));
    CLI11_PARSE(app, argc, argv);
    try {
        return run(models, image, device, min_score, precision);
    } catch (const std::exception& e) {
        std::cerr << "loom-ocr: " << e.what() << "\n";
        return 1;
    }
}
