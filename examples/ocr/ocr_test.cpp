// Unit tests of the OCR example's non-inference parts: PNG decoding (on PNGs written here with
// zlib, and on the shared page.png when present), preprocessing, box extraction, CTC decoding.

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "ctc.hpp"
#include "det_postprocess.hpp"
#include "png.hpp"
#include "preprocess.hpp"
#include "tests/support/shared_data.hpp"

using namespace loom::ocr;

namespace {

using Bytes = std::vector<std::uint8_t>;

void put32(Bytes& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> s));
}

void chunk(Bytes& out, const char* type, const Bytes& data) {
    put32(out, static_cast<std::uint32_t>(data.size()));
    Bytes body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    put32(out, static_cast<std::uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
}

int paeth(int a, int b, int c) {
    const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c);
}

struct PngSpec {
    int width = 0, height = 0, color_type = 2, channels = 3, bit_depth = 8, interlace = 0;
    Bytes samples;               // height × width × channels
    Bytes palette, transparency; // PLTE, tRNS
};

// Writes a PNG; row y uses filter y % 5, so every filter is exercised.
Bytes encode(const PngSpec& s) {
    Bytes raw;
    const auto stride = static_cast<std::size_t>(s.width * s.channels);
    const auto bpp = static_cast<std::size_t>(s.channels);
    for (int y = 0; y < s.height; ++y) {
        const int filter = y % 5;
        raw.push_back(static_cast<std::uint8_t>(filter));
        const std::uint8_t* cur = &s.samples[static_cast<std::size_t>(y) * stride];
        const std::uint8_t* up = y ? cur - stride : nullptr;
        for (std::size_t i = 0; i < stride; ++i) {
            const int a = i >= bpp ? cur[i - bpp] : 0, b = up ? up[i] : 0;
            const int c = (up && i >= bpp) ? up[i - bpp] : 0;
            const int pred[] = {0, a, b, (a + b) / 2, paeth(a, b, c)};
            raw.push_back(static_cast<std::uint8_t>(cur[i] - pred[filter]));
        }
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    Bytes z(size);
    EXPECT_EQ(compress(z.data(), &size, raw.data(), static_cast<uLong>(raw.size())), Z_OK);
    z.resize(size);
    Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    Bytes ihdr;
    put32(ihdr, static_cast<std::uint32_t>(s.width));
    put32(ihdr, static_cast<std::uint32_t>(s.height));
    for (int v : {s.bit_depth, s.color_type, 0, 0, s.interlace})
        ihdr.push_back(static_cast<std::uint8_t>(v));
    chunk(out, "IHDR", ihdr);
    if (!s.palette.empty()) chunk(out, "PLTE", s.palette);
    if (!s.transparency.empty()) chunk(out, "tRNS", s.transparency);
    chunk(out, "tEXt", {'C', 'o', 'm', 'm', 'e', 'n', 't', 0, 'h', 'i'}); // ancillary: skipped
    // Split the data over two IDAT chunks (decoders must concatenate them).
    const auto half = static_cast<std::ptrdiff_t>(z.size() / 2);
    chunk(out, "IDAT", Bytes(z.begin(), z.begin() + half));
    chunk(out, "IDAT", Bytes(z.begin() + half, z.end()));
    chunk(out, "IEND", {});
    return out;
}

// A pseudo-random pattern that makes every filter produce different bytes.
Bytes pattern(int n, unsigned seed) {
    Bytes out(static_cast<std::size_t>(n));
    for (auto& v : out) {
        seed = seed * 1103515245u + 12345u;
        v = static_cast<std::uint8_t>(seed >> 16);
    }
    return out;
}

PngSpec rgb_spec(int w, int h) {
    PngSpec s;
    s.width = w, s.height = h;
    s.samples = pattern(w * h * 3, 7);
    return s;
}

} // namespace

TEST(Png, RgbAllFilters) {
    const PngSpec s = rgb_spec(13, 11); // 11 rows: each filter twice or more
    const Image img = decode_png(encode(s));
    ASSERT_EQ(img.width, 13);
    ASSERT_EQ(img.height, 11);
    EXPECT_EQ(img.rgb, s.samples);
}

TEST(Png, GrayIsReplicated) {
    PngSpec s;
    s.width = 5, s.height = 6, s.color_type = 0, s.channels = 1;
    s.samples = pattern(30, 3);
    const Image img = decode_png(encode(s));
    for (std::size_t i = 0; i < 30; ++i)
        for (std::size_t c = 0; c < 3; ++c)
            ASSERT_EQ(img.rgb[i * 3 + c], s.samples[i]);
}

TEST(Png, AlphaOverWhite) {
    PngSpec s;
    s.width = 3, s.height = 1, s.color_type = 6, s.channels = 4;
    s.samples = {10, 20, 30, 255, 0, 0, 0, 0, 0, 100, 200, 51}; // opaque, transparent, 20%
    const Image img = decode_png(encode(s));
    // 0*0.2 + 255*0.8 = 204; 100*0.2+204 = 224; 200*0.2+204 = 244
    EXPECT_EQ(img.rgb, (Bytes{10, 20, 30, 255, 255, 255, 204, 224, 244}));
    s.color_type = 4, s.channels = 2, s.samples = {50, 255, 50, 0};
    s.width = 2;
    EXPECT_EQ(decode_png(encode(s)).rgb, (Bytes{50, 50, 50, 255, 255, 255}));
}

TEST(Png, Palette) {
    PngSpec s;
    s.width = 4, s.height = 2, s.color_type = 3, s.channels = 1;
    s.palette = {255, 0, 0, 0, 255, 0, 0, 0, 255};
    s.transparency = {255, 255, 0}; // index 2 transparent
    s.samples = {0, 1, 2, 0, 1, 1, 0, 0};
    const Image img = decode_png(encode(s));
    EXPECT_EQ(img.rgb, (Bytes{255, 0,   0, 0, 255, 0, 255, 255, 255, 255, 0, 0, //
                              0,   255, 0, 0, 255, 0, 255, 0,   0,   255, 0, 0}));
    s.samples[3] = 3; // no such palette entry
    EXPECT_THROW(decode_png(encode(s)), PngError);
}

TEST(Png, RefusesWhatItDoesNotSupport) {
    auto message = [](const Bytes& file) {
        try {
            decode_png(file);
        } catch (const PngError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    PngSpec s = rgb_spec(4, 4);
    s.bit_depth = 16;
    EXPECT_NE(message(encode(s)).find("bit depth 16"), std::string::npos);
    s = rgb_spec(4, 4);
    s.interlace = 1;
    EXPECT_NE(message(encode(s)).find("interlaced"), std::string::npos);
    EXPECT_NE(message({1, 2, 3}).find("not a PNG"), std::string::npos);

    Bytes good = encode(rgb_spec(4, 4));
    Bytes bad_crc = good;
    bad_crc[20] ^= 1; // inside IHDR's data
    EXPECT_NE(message(bad_crc).find("CRC"), std::string::npos);
    Bytes truncated(good.begin(), good.begin() + 40);
    EXPECT_NE(message(truncated).find("truncated"), std::string::npos);
    EXPECT_THROW(read_png("/nonexistent/x.png"), PngError);
}

TEST(Png, SharedPage) {
    const auto path = loom::test::shared_dir() / "models" / "ocr-pipeline" / "page.png";
    LOOM_REQUIRE_DATA(path);
    const Image img = read_png(path);
    EXPECT_EQ(img.width, 640);
    EXPECT_EQ(img.height, 640);
    const std::uint8_t* corner = img.pixel(0, 0); // white paper
    EXPECT_EQ(corner[0], 255);
    EXPECT_EQ(corner[1], 255);
    EXPECT_EQ(corner[2], 255);
    int dark = 0; // some black text
    for (std::size_t i = 0; i < img.rgb.size(); i += 3)
        dark += img.rgb[i] < 64;
    EXPECT_GT(dark, 1000);
}

namespace {

Image solid(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    Image img;
    img.width = w, img.height = h;
    for (int i = 0; i < w * h; ++i)
        img.rgb.insert(img.rgb.end(), {r, g, b});
    return img;
}

} // namespace

TEST(Preprocess, DetInputSize) {
    EXPECT_EQ(det_input_size(640, 640).width, 640);
    const DetSize big = det_input_size(1920, 1080); // ratio 0.5 → 960 × 540 → 960 × 544
    EXPECT_EQ(big.width, 960);
    EXPECT_EQ(big.height, 544);
    const DetSize tiny = det_input_size(10, 100); // never below 32
    EXPECT_EQ(tiny.width, 32);
    EXPECT_EQ(tiny.height, 96);
}

TEST(Preprocess, DetInputIsBgrImageNet) {
    const Batch b = det_input(solid(32, 32, 255, 0, 51), {32, 32});
    ASSERT_EQ(b.data.size(), 3u * 32 * 32);
    // Plane 0 is blue: 51/255 = 0.2 → (0.2 - 0.485) / 0.229
    EXPECT_NEAR(b.data[0], (0.2f - 0.485f) / 0.229f, 1e-5);
    EXPECT_NEAR(b.data[1024], (0.0f - 0.456f) / 0.224f, 1e-5);
    EXPECT_NEAR(b.data[2048 + 5], (1.0f - 0.406f) / 0.225f, 1e-5);
}

TEST(Preprocess, LineBatchKeepsAspectAndPads) {
    // 24 × 12 → 96 × 48 inside a 192-wide slot: columns ≥ 96 stay zero (padding).
    const Batch b = line_batch({solid(24, 12, 0, 0, 255), solid(400, 20, 255, 255, 255)}, 192);
    ASSERT_EQ(b.n, 2);
    ASSERT_EQ(b.data.size(), 2u * 3 * 48 * 192);
    EXPECT_FLOAT_EQ(b.data[0], 1.0f);                  // blue plane, x = 0: (1 - 0.5) / 0.5
    EXPECT_FLOAT_EQ(b.data[95], 1.0f);                 // last resized column
    EXPECT_FLOAT_EQ(b.data[96], 0.0f);                 // padding
    EXPECT_FLOAT_EQ(b.data[48 * 192], -1.0f);          // green plane
    EXPECT_FLOAT_EQ(b.data[3 * 48 * 192 + 191], 1.0f); // the wide crop fills its slot
    EXPECT_EQ(rec_batch_width({solid(100, 48, 0, 0, 0)}), 320);
    EXPECT_EQ(rec_batch_width({solid(700, 48, 0, 0, 0)}), 704);
    EXPECT_EQ(rec_batch_width({solid(9000, 48, 0, 0, 0)}), 1600);
}

TEST(Preprocess, CropRotateResize) {
    Image img;
    img.width = 3, img.height = 2;
    for (std::uint8_t v = 0; v < 6; ++v)
        img.rgb.insert(img.rgb.end(), {v, v, v});
    // pixels: row 0 = 0 1 2, row 1 = 3 4 5
    const Image c = crop(img, 1, 0, 3, 5); // clamped to [1,3) × [0,2)
    EXPECT_EQ(c.width, 2);
    EXPECT_EQ(c.height, 2);
    EXPECT_EQ(c.pixel(0, 1)[0], 4);
    EXPECT_THROW(crop(img, 2, 0, 2, 2), std::invalid_argument);
    const Image r = rotate_180(img);
    EXPECT_EQ(r.pixel(0, 0)[0], 5);
    EXPECT_EQ(r.pixel(2, 1)[0], 0);
    const Image q = rotate_90_ccw(img); // numpy.rot90: [[2,5],[1,4],[0,3]]
    ASSERT_EQ(q.width, 2);
    ASSERT_EQ(q.height, 3);
    EXPECT_EQ(q.pixel(0, 0)[0], 2);
    EXPECT_EQ(q.pixel(1, 0)[0], 5);
    EXPECT_EQ(q.pixel(0, 2)[0], 0);
    EXPECT_EQ(resize_bilinear(img, 3, 2).rgb, img.rgb);
    const Image up = resize_bilinear(img, 6, 2); // x' = 1 ↔ x = 0.25: 0.75·0 + 0.25·1
    EXPECT_EQ(up.pixel(0, 0)[0], 0);
    EXPECT_EQ(up.pixel(2, 1)[0], 4); // x = 0.75 between 3 and 4 → 3.75
}

TEST(DetPostprocess, BoxesUnclippedScaledAndOrdered) {
    // 40 × 26 map of an 80 × 52 image; two text blobs on one line and one below.
    const int w = 40, h = 26;
    std::vector<float> prob(w * h, 0.0f);
    auto fill = [&](int x0, int y0, int x1, int y1, float v) {
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x)
                prob[static_cast<std::size_t>(y * w + x)] = v;
    };
    fill(22, 2, 32, 6, 0.9f);   // right of the first line, 10 × 4
    fill(2, 3, 12, 7, 0.8f);    // left of the first line
    fill(4, 12, 34, 16, 0.7f);  // second line, 30 × 4
    fill(36, 12, 37, 13, 0.9f); // 1 × 1 speck: too small
    fill(2, 20, 12, 24, 0.35f); // above the threshold but weak: dropped by box_threshold
    auto boxes = extract_boxes(prob.data(), w, h, 80, 52);
    ASSERT_EQ(boxes.size(), 3u);
    sort_reading_order(boxes);
    // 10 × 4: d = 40 · 1.5 / 28 = 2.142857; x: (2 - d) · 2 = -0.29 → 0, (12 + d) · 2 = 28.3 → 28
    EXPECT_EQ(boxes[0].x0, 0);
    EXPECT_EQ(boxes[0].x1, 28);
    EXPECT_EQ(boxes[0].y0, 2);  // (3 - d) · 2 = 1.71
    EXPECT_EQ(boxes[0].y1, 18); // (7 + d) · 2 = 18.3
    EXPECT_NEAR(boxes[0].score, 0.8f, 1e-6);
    EXPECT_EQ(boxes[1].x0, 40); // (22 - d) · 2 = 39.7
    // 30 × 4: d = 120 · 1.5 / 68 = 2.647; y0 = (12 - d) · 2 = 18.7
    EXPECT_EQ(boxes[2].y0, 19);
    EXPECT_EQ(boxes[2].x1, 73); // (34 + d) · 2 = 73.3
    EXPECT_THROW(extract_boxes(prob.data(), 0, h, 80, 52), std::invalid_argument);
}

TEST(DetPostprocess, DiagonalPixelsAreOneComponent) {
    std::vector<float> prob(100, 0.0f);
    for (int i = 0; i < 10; ++i)
        prob[static_cast<std::size_t>(i * 10 + i)] = 1.0f;
    DetParams p;
    p.box_threshold = 0.05f; // the box's mean is 10 / 100
    const auto boxes = extract_boxes(prob.data(), 10, 10, 10, 10, p);
    ASSERT_EQ(boxes.size(), 1u);
    EXPECT_EQ(boxes[0].x0, 0);
    EXPECT_EQ(boxes[0].x1, 10);
}

TEST(Ctc, GreedyDecodeMergesRepeatsAndDropsBlanks) {
    const auto charset = make_charset({"a", "b", "中"});
    ASSERT_EQ(charset.size(), 5u); // blank, a, b, 中, space
    EXPECT_EQ(charset.back(), " ");
    const int C = 5;
    // Steps: a a blank a b space 中 中
    const int best[] = {1, 1, 0, 1, 2, 4, 3, 3};
    const float top[] = {0.9f, 0.8f, 0.99f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f};
    std::vector<float> probs(8 * C, 0.01f);
    for (int t = 0; t < 8; ++t)
        probs[static_cast<std::size_t>(t * C + best[t])] = top[t];
    const Decoded d = ctc_greedy_decode(probs.data(), 8, C, charset);
    EXPECT_EQ(d.text, "aab 中");
    // kept: a (0.9), a (0.7), b (0.6), space (0.5), 中 (0.4)
    EXPECT_NEAR(d.score, (0.9f + 0.7f + 0.6f + 0.5f + 0.4f) / 5, 1e-6);
    EXPECT_EQ(ctc_greedy_decode(probs.data(), 0, C, charset).text, "");
    EXPECT_THROW(ctc_greedy_decode(probs.data(), 8, 4, charset), std::invalid_argument);
}

TEST(Ctc, SharedDictionary) {
    const auto path = loom::test::shared_dir() / "models" / "ocr-pipeline" / "ppocr_keys_v1.txt";
    LOOM_REQUIRE_DATA(path);
    const auto charset = load_dictionary(path);
    EXPECT_EQ(charset.size(), 6625u); // PP-OCR's rec output classes
    EXPECT_EQ(charset[0], "");
    EXPECT_EQ(charset.back(), " ");
}
