// The declared OCR pipeline (examples/ocr/ocr.toml, label integration): on the shared page.png it
// finds the same boxes as loom-ocr's hand-written pipeline and the same text (compared without
// spaces: recognising each line at its own width, the pipeline keeps the space that loom-ocr's
// padded batch loses in "Extensibility API"); many requests at once all give that result; a
// file that is not a PNG fails naming the node; a page without text gives N = 0 lines.

#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>
#include <zlib.h>

#include <loom/core.hpp>
#include <loom/pipeline.hpp>

#include "pipeline.hpp"
#include "png.hpp"
#include "schemas/error.hpp"
#include "tests/support/shared_data.hpp"

namespace {

namespace fs = std::filesystem;

loom::Tensor file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    loom::Tensor t(loom::ElementType::U8, {static_cast<std::int64_t>(bytes.size())});
    std::copy(bytes.begin(), bytes.end(), t.data<char>());
    return t;
}

// A white RGB PNG of w×h (filter 0 rows), built with zlib.
loom::Tensor white_png(int w, int h) {
    std::string raw;
    for (int y = 0; y < h; ++y)
        raw += '\0' + std::string(static_cast<std::size_t>(w) * 3, '\xff');
    uLongf size = compressBound(raw.size());
    std::string z(size, '\0');
    compress(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
             raw.size());
    z.resize(size);
    const auto be32 = [](std::uint32_t v) {
        return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                           static_cast<char>(v >> 8), static_cast<char>(v)};
    };
    const auto chunk = [&](const std::string& type, const std::string& data) {
        const std::string body = type + data;
        const auto crc =
            crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
        return be32(static_cast<std::uint32_t>(data.size())) + body +
               be32(static_cast<std::uint32_t>(crc));
    };
    const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) +
                            chunk("IHDR", be32(w) + be32(h) + std::string("\x08\x02\0\0\0", 5)) +
                            chunk("IDAT", z) + chunk("IEND", "");
    loom::Tensor t(loom::ElementType::U8, {static_cast<std::int64_t>(png.size())});
    std::copy(png.begin(), png.end(), t.data<char>());
    return t;
}

std::string without_spaces(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != ' ') out += c;
    return out;
}

struct Lines {
    std::vector<std::string> text;
    std::vector<std::array<int, 4>> boxes;
};

Lines run(const loom::Pipeline& p, const loom::Tensor& image) {
    auto r = p.compiled_model().create_infer_request();
    r.set_tensor("image", image);
    r.infer();
    Lines out;
    for (auto v : r.get_tensor("text").impl().string_values())
        out.text.emplace_back(v);
    const auto boxes = r.get_tensor("boxes");
    for (std::int64_t i = 0; i < boxes.shape()[0]; ++i) {
        const auto* b = boxes.data<std::int32_t>() + 4 * i;
        out.boxes.push_back({b[0], b[1], b[2], b[3]});
    }
    return out;
}

class OcrPipeline : public ::testing::Test {
protected:
    void SetUp() override {
        models = loom::test::shared_dir() / "models";
        LOOM_REQUIRE_DATA(models / "ppocr-rec-v4" / "model.onnx");
        LOOM_REQUIRE_DATA(models / "ocr-pipeline" / "page.png");
        setenv("LOOM_SHARED_DIR", fs::absolute(loom::test::shared_dir()).c_str(), 1);
        pipeline = loom::Pipeline::compile(core, LOOM_OCR_TOML);
    }
    fs::path models;
    loom::Core core;
    loom::Pipeline pipeline;
};

TEST_F(OcrPipeline, ReadsTheSameLinesAsLoomOcr) {
    const auto page = models / "ocr-pipeline" / "page.png";
    const Lines got = run(pipeline, file_bytes(page));
    loom::ocr::Pipeline hand(loom::ocr::ModelPaths::under(models), "CPU");
    const auto want = hand.run(loom::ocr::read_png(page));
    ASSERT_EQ(got.text.size(), want.lines.size());
    ASSERT_GE(got.text.size(), 5u);
    for (std::size_t i = 0; i < got.text.size(); ++i) {
        const auto& w = want.lines[i];
        EXPECT_EQ(got.boxes[i], (std::array<int, 4>{w.box.x0, w.box.y0, w.box.x1, w.box.y1}));
        EXPECT_EQ(without_spaces(got.text[i]), without_spaces(w.text))
            << got.text[i] << " vs loom-ocr's " << w.text;
    }
    EXPECT_EQ(got.text[0], "Extensibility API");
    EXPECT_EQ(got.text[2], "Hello World");
}

TEST_F(OcrPipeline, ConcurrentRequestsAllReadThePage) {
    const auto image = file_bytes(models / "ocr-pipeline" / "page.png");
    const Lines first = run(pipeline, image);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 3; ++i) {
                const Lines again = run(pipeline, image);
                if (again.text != first.text || again.boxes != first.boxes) ++wrong;
            }
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST_F(OcrPipeline, ANonPngFailsNamingTheNodeAndABlankPageHasNoLines) {
    try {
        run(pipeline, file_bytes(models / "ocr-pipeline" / "ppocr_keys_v1.txt"));
        FAIL() << "a text file was read as an image";
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("node 'decode'"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("not a PNG"), std::string::npos) << e.message();
    }
    // A white 64×64 page: no box, so no line — empty outputs, not an error.
    auto r = pipeline.compiled_model().create_infer_request();
    r.set_tensor("image", white_png(64, 64));
    r.infer();
    EXPECT_EQ(r.get_tensor("text").shape(), (loom::Shape{0}));
    EXPECT_EQ(r.get_tensor("boxes").shape(), (loom::Shape{0, 4}));
}

} // namespace
