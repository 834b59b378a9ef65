// The OCR extension (libloom_ocr_extension.so): the non-model steps of loom-ocr as operations, so
// that examples/ocr/ocr.toml declares the whole PP-OCR pipeline. Domain "loom.ocr"; every op is a
// host evaluate (outputs may have data-dependent shapes) over the same code loom-ocr runs:
//
//   DecodePng(file: u8[n])                  → image u8[H, W, 3] (RGB)
//   DetPreprocess(image)                    → f32[1, 3, h, w] (sides multiples of 32, ≤ 960)
//   DetBoxes(prob f32[1, 1, h, w], image)   → boxes i32[N, 4] (x0, y0, x1, y1; reading order),
//                                             scores f32[N]
//   CropLine(image, box i32[4])             → line u8[h', w', 3] (tall crops turned 90°)
//   ClsPreprocess(line)                     → f32[1, 3, 48, 192]
//   Upright(line, cls f32[1, 2])            → line turned 180° when cls says so (label 1, > 0.9)
//   RecPreprocess(line)                     → f32[1, 3, 48, W] (W by aspect ratio, ≥ 320)
//   CtcDecode(probs f32[1, T, C], keys string[K]) → text string[], score f32[]
//
// Stateless: callbacks may run on many threads at once.

#include <span>
#include <string>
#include <vector>

#include "ctc.hpp"
#include "det_postprocess.hpp"
#include "extensions/sdk/extension.hpp"
#include "png.hpp"
#include "preprocess.hpp"

namespace {

namespace sdk = loom::extensions::sdk;
using loom::ElementType;
using loom::model::Dimension;
using loom::model::PartialShape;
using loom::ocr::Image;
using Tensors = std::vector<sdk::Tensor>;
constexpr const char* k_domain = "loom.ocr";

Dimension any() {
    return Dimension::dynamic();
}

void require_image(sdk::InferContext& c, std::size_t i) {
    LOOM_REQUIRE(c.input_type(i) == ElementType::U8, "input {} must be a u8 image [H, W, 3]", i);
}

Image to_image(const sdk::Tensor& t) {
    const auto& s = t.shape();
    LOOM_REQUIRE(s.size() == 3 && s[2] == 3 && s[0] > 0 && s[1] > 0,
                 "an image is u8 [H, W, 3], got {}", loom::model::to_string(s));
    Image img;
    img.height = static_cast<int>(s[0]);
    img.width = static_cast<int>(s[1]);
    img.rgb.assign(t.data<std::uint8_t>(), t.data<std::uint8_t>() + t.size());
    return img;
}

sdk::Tensor from_image(const Image& img) {
    auto t = sdk::Tensor::allocate(ElementType::U8, {img.height, img.width, 3});
    std::copy(img.rgb.begin(), img.rgb.end(), reinterpret_cast<std::uint8_t*>(t.mutable_data()));
    return t;
}

sdk::Tensor from_batch(const loom::ocr::Batch& b) {
    auto t = sdk::Tensor::allocate(ElementType::F32, {b.n, b.c, b.h, b.w});
    std::copy(b.data.begin(), b.data.end(), reinterpret_cast<float*>(t.mutable_data()));
    return t;
}

Tensors decode_png(const sdk::Node&, std::span<const sdk::Tensor> in) {
    LOOM_REQUIRE(in[0].element_type() == ElementType::U8 && in[0].shape().size() == 1,
                 "DecodePng takes a PNG file's bytes as u8[n]");
    try {
        return {from_image(loom::ocr::decode_png(
            {in[0].data<std::uint8_t>(), static_cast<std::size_t>(in[0].size())}))};
    } catch (const loom::ocr::PngError& e) {
        LOOM_THROW(loom::ErrorKind::INVALID_ARGUMENT, "not a PNG Loom can decode: {}", e.what());
    }
}

Tensors det_preprocess(const sdk::Node&, std::span<const sdk::Tensor> in) {
    const Image img = to_image(in[0]);
    return {
        from_batch(loom::ocr::det_input(img, loom::ocr::det_input_size(img.width, img.height)))};
}

Tensors det_boxes(const sdk::Node& node, std::span<const sdk::Tensor> in) {
    const auto& s = in[0].shape();
    LOOM_REQUIRE(
        in[0].element_type() == ElementType::F32 && s.size() == 4 && s[0] == 1 && s[1] == 1,
        "DetBoxes takes the probability map f32[1, 1, h, w], got {}", loom::model::to_string(s));
    const Image img = to_image(in[1]);
    loom::ocr::DetParams params;
    params.threshold = static_cast<float>(node.attrs.get_or<double>("threshold", 0.3));
    params.box_threshold = static_cast<float>(node.attrs.get_or<double>("box_threshold", 0.6));
    auto boxes = loom::ocr::extract_boxes(in[0].data<float>(), static_cast<int>(s[3]),
                                          static_cast<int>(s[2]), img.width, img.height, params);
    loom::ocr::sort_reading_order(boxes);
    const auto n = static_cast<std::int64_t>(boxes.size());
    auto out = sdk::Tensor::allocate(ElementType::I32, {n, 4});
    auto scores = sdk::Tensor::allocate(ElementType::F32, {n});
    auto* b = reinterpret_cast<std::int32_t*>(out.mutable_data());
    auto* sc = reinterpret_cast<float*>(scores.mutable_data());
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        b[4 * i] = boxes[i].x0;
        b[4 * i + 1] = boxes[i].y0;
        b[4 * i + 2] = boxes[i].x1;
        b[4 * i + 3] = boxes[i].y1;
        sc[i] = boxes[i].score;
    }
    return {out, scores};
}

Tensors crop_line(const sdk::Node&, std::span<const sdk::Tensor> in) {
    const Image img = to_image(in[0]);
    LOOM_REQUIRE(in[1].element_type() == ElementType::I32 && in[1].size() == 4,
                 "CropLine takes a box i32[4]");
    const auto* b = in[1].data<std::int32_t>();
    LOOM_REQUIRE(b[0] >= 0 && b[1] >= 0 && b[2] > b[0] && b[3] > b[1] && b[2] <= img.width &&
                     b[3] <= img.height,
                 "box ({}, {})-({}, {}) is not inside the {}x{} image", b[0], b[1], b[2], b[3],
                 img.width, img.height);
    Image c = loom::ocr::crop(img, b[0], b[1], b[2], b[3]);
    // A tall crop is vertical text: turn it to read left to right (as PaddleOCR does).
    return {from_image(c.height >= 1.5 * c.width ? loom::ocr::rotate_90_ccw(c) : c)};
}

Tensors cls_preprocess(const sdk::Node&, std::span<const sdk::Tensor> in) {
    return {from_batch(loom::ocr::line_batch({to_image(in[0])}, 192))};
}

Tensors upright(const sdk::Node&, std::span<const sdk::Tensor> in) {
    LOOM_REQUIRE(in[1].element_type() == ElementType::F32 && in[1].size() == 2,
                 "Upright takes the direction classifier's f32[1, 2]");
    const float* p = in[1].data<float>();
    if (p[1] > p[0] && p[1] > 0.9f) return {from_image(loom::ocr::rotate_180(to_image(in[0])))};
    return {in[0]};
}

Tensors rec_preprocess(const sdk::Node&, std::span<const sdk::Tensor> in) {
    const std::vector<Image> lines{to_image(in[0])};
    return {from_batch(loom::ocr::line_batch(lines, loom::ocr::rec_batch_width(lines)))};
}

Tensors ctc_decode(const sdk::Node&, std::span<const sdk::Tensor> in) {
    const auto& s = in[0].shape();
    LOOM_REQUIRE(in[0].element_type() == ElementType::F32 && s.size() == 3 && s[0] == 1,
                 "CtcDecode takes the recogniser's f32[1, T, C], got {}",
                 loom::model::to_string(s));
    LOOM_REQUIRE(in[1].element_type() == ElementType::STRING,
                 "CtcDecode's second input is the dictionary, a string tensor");
    std::vector<std::string> lines;
    for (auto v : in[1].string_values())
        lines.emplace_back(v);
    const auto charset = loom::ocr::make_charset(std::move(lines));
    LOOM_REQUIRE(static_cast<std::int64_t>(charset.size()) == s[2],
                 "the dictionary gives {} classes but the recogniser has {}", charset.size(), s[2]);
    const auto d = loom::ocr::ctc_greedy_decode(in[0].data<float>(), static_cast<int>(s[1]),
                                                static_cast<int>(s[2]), charset);
    auto score = sdk::Tensor::allocate(ElementType::F32, {});
    *reinterpret_cast<float*>(score.mutable_data()) = d.score;
    return {sdk::Tensor::strings({}, {d.text}), score};
}

void build(sdk::Extension& ext) {
    ext.name("ocr").version("1.0.0");
    ext.op("DecodePng", k_domain)
        .inputs(1, 1)
        .infer([](sdk::InferContext& c) {
            LOOM_REQUIRE(c.input_type(0) == ElementType::U8, "DecodePng takes u8 bytes");
            c.set_output(0, ElementType::U8, PartialShape{any(), any(), 3});
        })
        .evaluate(decode_png);
    ext.op("DetPreprocess", k_domain)
        .inputs(1, 1)
        .infer([](sdk::InferContext& c) {
            require_image(c, 0);
            c.set_output(0, ElementType::F32, PartialShape{1, 3, any(), any()});
        })
        .evaluate(det_preprocess);
    ext.op("DetBoxes", k_domain)
        .inputs(2, 2)
        .attr("threshold", sdk::AttrKind::Float, false)
        .attr("box_threshold", sdk::AttrKind::Float, false)
        .infer([](sdk::InferContext& c) {
            require_image(c, 1);
            c.set_output_count(2);
            c.set_output(0, ElementType::I32, PartialShape{any(), 4});
            c.set_output(1, ElementType::F32, PartialShape{any()});
        })
        .evaluate(det_boxes);
    ext.op("CropLine", k_domain)
        .inputs(2, 2)
        .infer([](sdk::InferContext& c) {
            require_image(c, 0);
            c.set_output(0, ElementType::U8, PartialShape{any(), any(), 3});
        })
        .evaluate(crop_line);
    ext.op("ClsPreprocess", k_domain)
        .inputs(1, 1)
        .infer([](sdk::InferContext& c) {
            require_image(c, 0);
            c.set_output(0, ElementType::F32, PartialShape{1, 3, 48, 192});
        })
        .evaluate(cls_preprocess);
    ext.op("Upright", k_domain)
        .inputs(2, 2)
        .infer([](sdk::InferContext& c) {
            require_image(c, 0);
            c.set_output(0, ElementType::U8, PartialShape{any(), any(), 3});
        })
        .evaluate(upright);
    ext.op("RecPreprocess", k_domain)
        .inputs(1, 1)
        .infer([](sdk::InferContext& c) {
            require_image(c, 0);
            c.set_output(0, ElementType::F32, PartialShape{1, 3, 48, any()});
        })
        .evaluate(rec_preprocess);
    ext.op("CtcDecode", k_domain)
        .inputs(2, 2)
        .infer([](sdk::InferContext& c) {
            c.set_output_count(2);
            c.set_output(0, ElementType::STRING, PartialShape(loom::model::Shape{}));
            c.set_output(1, ElementType::F32, PartialShape(loom::model::Shape{}));
        })
        .evaluate(ctc_decode);
}

} // namespace

LOOM_EXTENSION(build)
