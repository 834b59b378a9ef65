#pragma once
// The OCR pipeline on Loom's public API: detect (PP-OCRv4 det) → crop → direction
// (PP-OCR v2 cls) → recognise (PP-OCRv4 rec) → greedy CTC decode.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ctc.hpp"
#include "det_postprocess.hpp"
#include "png.hpp"
#include <loom/core.hpp>

namespace loom::ocr {

// Where the pipeline's files live under a models folder (the layout of ../shared/models).
struct ModelPaths {
    std::filesystem::path det, cls, rec, dictionary;
    static ModelPaths under(const std::filesystem::path& models_dir);
    std::vector<std::filesystem::path> missing() const;
};

struct OcrLine {
    Box box;
    bool rotated = false; // turned 180° after the direction classifier
    std::string text;
    float score = 0;
};

struct OcrResult {
    std::vector<OcrLine> lines;                             // reading order
    std::vector<std::pair<std::string, double>> timings_ms; // stage → milliseconds
};

class Pipeline {
public:
    // `properties`: what every model is compiled with (e.g. INFERENCE_PRECISION_HINT).
    Pipeline(const ModelPaths& paths, std::string device, loom::Properties properties = {});
    OcrResult run(const Image& image);
    // Reading the three models.
    double read_ms() const { return m_read_ms; }

private:
    struct Stage {
        loom::Model model;
        loom::CompiledModel compiled;
        Shape shape;          // the shape `compiled` was compiled for
        bool dynamic = false; // compiled once as read (any input shape), never reshaped
    };
    loom::Tensor infer(Stage& stage, const Shape& shape, std::vector<float>& data,
                       OcrResult& result, const std::string& name);
    std::vector<Box> detect(const Image& image, OcrResult& result);
    std::vector<bool> classify(std::vector<Image>& crops, OcrResult& result);
    std::vector<Decoded> recognise(const std::vector<Image>& crops, OcrResult& result);

    loom::Core m_core;
    std::string m_device;
    loom::Properties m_properties;
    Stage m_det, m_cls, m_rec;
    std::vector<std::string> m_charset;
    double m_read_ms = 0;
};

} // namespace loom::ocr
