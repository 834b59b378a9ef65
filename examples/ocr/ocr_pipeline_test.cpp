// The declared OCR pipeline (examples/ocr/ocr.toml, label integration): on the shared page.png it
// finds the same boxes and the same text as loom-ocr's hand-written pipeline; many requests at
// once all give that result; a
// file that is not a PNG fails naming the node; a page without text gives N = 0 lines; served
// over HTTP to 8 concurrent clients it loses nothing and /metrics counts what was sent.

#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <loom/core.hpp>
#include <loom/pipeline.hpp>

#include "components/serving/http_server.hpp"
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
        EXPECT_EQ(got.text[i], w.text);
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

TEST_F(OcrPipeline, ServedOverHttpUnderLoadLosesNothingAndMetricsCountIt) {
    // 8 concurrent clients × 10 requests (page.png, binary) against the pipeline served over
    // HTTP from this Core: every answer has the page's lines; /metrics counts exactly 80.
    loom::serving::HttpOptions o;
    o.port = 0;
    o.models.push_back({"ocr", "", LOOM_OCR_TOML, "", "CPU", "1", {}});
    loom::serving::HttpServer server(core, o);
    server.start();
    const auto image = file_bytes(models / "ocr-pipeline" / "page.png");
    const std::string header = nlohmann::json{
        {"inputs",
         {{{"name", "image"},
           {"datatype", "UINT8"},
           {"shape", {image.size()}},
           {"parameters", {{"binary_data_size", image.size()}}}}}},
        {"outputs",
         {{{"name", "text"}}}}}.dump();
    const std::string body =
        header + std::string(image.data<char>(), static_cast<std::size_t>(image.size()));
    const Lines want = run(pipeline, image);
#ifdef __SANITIZE_ADDRESS__
    constexpr int k_clients = 8, k_requests = 2; // each page takes ~10× longer sanitized
#else
    constexpr int k_clients = 8, k_requests = 10;
#endif
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_clients; ++t)
        threads.emplace_back([&] {
            httplib::Client c("127.0.0.1", server.port());
            c.set_read_timeout(std::chrono::seconds(120));
            httplib::Headers h{{"Inference-Header-Content-Length", std::to_string(header.size())}};
            for (int i = 0; i < k_requests; ++i) {
                auto r = c.Post("/v2/models/ocr/infer", h, body, "application/octet-stream");
                if (!r || r->status != 200 ||
                    nlohmann::json::parse(r->body)["outputs"][0]["data"] != want.text)
                    ++wrong;
            }
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
    httplib::Client c("127.0.0.1", server.port());
    auto metrics = c.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(
        metrics->body.find(fmt::format(
            "loom_inference_requests_total{{model=\"ocr\",version=\"1\",outcome=\"success\"}} {}",
            k_clients * k_requests)),
        std::string::npos);
    EXPECT_NE(metrics->body.find(fmt::format(
                  "loom_pipeline_node_duration_seconds_count{{pipeline=\"ocr\",node=\"rec\",kind="
                  "\"model\"}} {}",
                  k_clients * k_requests * static_cast<int>(want.text.size()))),
              std::string::npos);
}

} // namespace
