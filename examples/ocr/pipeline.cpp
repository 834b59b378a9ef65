#include "pipeline.hpp"

#include <chrono>
#include <stdexcept>

#include "preprocess.hpp"

namespace loom::ocr {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Adds `ms` to the stage's entry (kept in first-use order).
void add_time(OcrResult& result, const std::string& stage, double ms) {
    for (auto& [name, total] : result.timings_ms)
        if (name == stage) {
            total += ms;
            return;
        }
    result.timings_ms.emplace_back(stage, ms);
}

} // namespace

ModelPaths ModelPaths::under(const std::filesystem::path& dir) {
    return {dir / "ppocr-det-v4" / "model.onnx", dir / "ppocr-cls-v2" / "model.onnx",
            dir / "ppocr-rec-v4" / "model.onnx", dir / "ocr-pipeline" / "ppocr_keys_v1.txt"};
}

std::vector<std::filesystem::path> ModelPaths::missing() const {
    std::vector<std::filesystem::path> out;
    for (const auto& p : {det, cls, rec, dictionary})
        if (!std::filesystem::is_regular_file(p)) out.push_back(p);
    return out;
}

Pipeline::Pipeline(const ModelPaths& paths, std::string device, loom::Properties properties)
    : m_device(std::move(device))
    , m_properties(std::move(properties)) {
    const auto start = Clock::now();
    m_det.model = m_core.read_model(paths.det.string());
    m_cls.model = m_core.read_model(paths.cls.string());
    m_rec.model = m_core.read_model(paths.rec.string());
    m_charset = load_dictionary(paths.dictionary);
    m_read_ms = ms_since(start);
}

// Runs `stage` on one NCHW f32 input of `shape` (reshaping and compiling when the shape is new)
// and returns its first output.
loom::Tensor Pipeline::infer(Stage& stage, const Shape& shape, std::vector<float>& data,
                             OcrResult& result, const std::string& name) {
    if (stage.dynamic ? stage.shape.empty() : stage.shape != shape) {
        const auto start = Clock::now();
        if (!stage.dynamic) stage.model.reshape(PartialShape(shape));
        stage.compiled = m_core.compile_model(stage.model, m_device, m_properties);
        stage.shape = shape;
        add_time(result, name + " compile", ms_since(start));
    }
    const auto start = Clock::now();
    auto request = stage.compiled.create_infer_request();
    request.set_input_tensor(loom::Tensor(ElementType::F32, shape, data.data()));
    request.infer();
    loom::Tensor out = request.get_output_tensor(0);
    add_time(result, name + " infer", ms_since(start));
    if (out.element_type() != ElementType::F32)
        throw std::runtime_error(name + ": expected an f32 output");
    return out;
}

std::vector<Box> Pipeline::detect(const Image& image, OcrResult& result) {
    auto start = Clock::now();
    Batch in = det_input(image, det_input_size(image.width, image.height));
    add_time(result, "det preprocess", ms_since(start));
    const loom::Tensor prob = infer(m_det, {1, 3, in.h, in.w}, in.data, result, "det");
    const Shape& s = prob.shape();
    if (s.size() != 4 || s[0] != 1 || s[1] != 1 || s[2] != in.h || s[3] != in.w)
        throw std::runtime_error("det: unexpected output shape " + model::to_string(s));
    start = Clock::now();
    auto boxes = extract_boxes(prob.data<float>(), static_cast<int>(in.w), static_cast<int>(in.h),
                               image.width, image.height);
    sort_reading_order(boxes);
    add_time(result, "det postprocess", ms_since(start));
    return boxes;
}

// Classifies each crop's direction and turns the upside-down ones (label 1 with score > 0.9).
std::vector<bool> Pipeline::classify(std::vector<Image>& crops, OcrResult& result) {
    Batch in = line_batch(crops, 192);
    const loom::Tensor out = infer(m_cls, {in.n, 3, in.h, in.w}, in.data, result, "cls");
    const Shape& s = out.shape();
    if (s.size() != 2 || s[0] != in.n || s[1] != 2)
        throw std::runtime_error("cls: unexpected output shape " + model::to_string(s));
    std::vector<bool> rotated(crops.size(), false);
    const float* p = out.data<float>();
    for (std::size_t i = 0; i < crops.size(); ++i)
        if (p[2 * i + 1] > p[2 * i] && p[2 * i + 1] > 0.9f) {
            crops[i] = rotate_180(crops[i]);
            rotated[i] = true;
        }
    return rotated;
}

// Each line at its own width (≥ 320, by its aspect ratio): padding a line to another line's
// width changes what CTC reads at its end ("Extensibility API" read as "ExtensibilityAPI").
// The recogniser is compiled once for any width.
std::vector<Decoded> Pipeline::recognise(const std::vector<Image>& crops, OcrResult& result) {
    m_rec.dynamic = true;
    std::vector<Decoded> texts;
    for (const Image& crop : crops) {
        Batch in = line_batch({crop}, rec_batch_width({crop}));
        const loom::Tensor out = infer(m_rec, {in.n, 3, in.h, in.w}, in.data, result, "rec");
        const Shape& s = out.shape();
        if (s.size() != 3 || s[0] != 1)
            throw std::runtime_error("rec: unexpected output shape " + model::to_string(s));
        const auto start = Clock::now();
        texts.push_back(ctc_greedy_decode(out.data<float>(), static_cast<int>(s[1]),
                                          static_cast<int>(s[2]), m_charset));
        add_time(result, "ctc decode", ms_since(start));
    }
    return texts;
}

OcrResult Pipeline::run(const Image& image) {
    OcrResult result;
    const auto boxes = detect(image, result);
    if (boxes.empty()) return result;
    auto start = Clock::now();
    std::vector<Image> crops;
    for (const Box& b : boxes) {
        Image c = crop(image, b.x0, b.y0, b.x1, b.y1);
        // A tall crop is vertical text: turn it to read left to right (as PaddleOCR does).
        crops.push_back(c.height >= 1.5 * c.width ? rotate_90_ccw(c) : std::move(c));
    }
    add_time(result, "crop", ms_since(start));
    const auto rotated = classify(crops, result);
    const auto texts = recognise(crops, result);
    for (std::size_t i = 0; i < boxes.size(); ++i)
        result.lines.push_back({boxes[i], rotated[i], texts[i].text, texts[i].score});
    return result;
}

} // namespace loom::ocr
