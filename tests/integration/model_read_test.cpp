// The shared real models read through the reader component — in process (direct dispatch) and
// from a reader in another process (ipc + shared memory) — give the same graph as the reader
// library called directly; the IR writer round-trips them through the bus too.

#include <filesystem>

#include <gtest/gtest.h>

#include "components/reader/reader.hpp"
#include "components/runtime/embedded.hpp"
#include "schemas/error.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;
using loom::kernel::Placement;

namespace {

struct SharedModel {
    std::string name;
    fs::path path;
};

std::vector<SharedModel> shared_models() {
    std::vector<SharedModel> out;
    auto models = loom::test::shared_dir() / "models";
    if (!fs::exists(models)) return out;
    for (const auto& e : fs::directory_iterator(models))
        if (fs::exists(e.path() / "model.onnx"))
            out.push_back({e.path().filename().string(), e.path() / "model.onnx"});
    if (fs::exists(models / "ir"))
        for (const auto& e : fs::directory_iterator(models / "ir"))
            for (const auto& f : fs::directory_iterator(e.path()))
                if (f.path().extension() == ".xml" && e.path().filename() != "passthrough_string")
                    out.push_back({"ir/" + e.path().filename().string(), f.path()});
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

void expect_same_through_bus(Placement placement) {
    auto models = shared_models();
    auto dir = loom::test::shared_dir() / "models";
    LOOM_REQUIRE_DATA(dir);
    ASSERT_GE(models.size(), 12u) << "expected the 3 ONNX and 10 IR shared models";
    auto registry = loom::model::make_native_registry();
    loom::runtime::EmbeddedOptions options;
    options.reader = placement;
    loom::runtime::EmbeddedDeployment deployment(options);
    for (const auto& m : models) {
        SCOPED_TRACE(m.name);
        auto direct = loom::reader::read_model(m.path.string(), *registry);
        auto via_bus = loom::runtime::read_model(deployment.reader(), m.path.string());
        EXPECT_EQ(loom::model::compare_models(*direct, *via_bus.model), std::nullopt);
    }
}

} // namespace

TEST(ModelRead, SharedModelsSameInProcessThroughTheBus) {
    expect_same_through_bus(Placement::IN_PROCESS);
}

TEST(ModelRead, SharedModelsSameFromAReaderInAnotherProcess) {
    expect_same_through_bus(Placement::CHILD_PROCESS);
}

TEST(ModelRead, StringModelIsRefusedCleanlyThroughTheBus) {
    auto path = loom::test::shared_dir() / "models/ir/passthrough_string/passthrough.xml";
    LOOM_REQUIRE_DATA(path);
    loom::runtime::EmbeddedDeployment deployment;
    try {
        loom::runtime::read_model(deployment.reader(), path.string());
        FAIL() << "a string model was read";
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::UNSUPPORTED) << e.what();
        EXPECT_NE(std::string(e.what()).find("string"), std::string::npos) << e.what();
    }
}

TEST(ModelRead, MissingFileIsNotFoundThroughTheBus) {
    loom::runtime::EmbeddedDeployment deployment;
    try {
        loom::runtime::read_model(deployment.reader(), "/nonexistent/model.onnx");
        FAIL();
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::NOT_FOUND);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/model.onnx"), std::string::npos);
    }
}

TEST(ModelRead, ModelBytesTravelToTheReader) {
    auto path = loom::test::shared_dir() / "models/ppocr-cls-v2/model.onnx";
    LOOM_REQUIRE_DATA(path);
    auto registry = loom::model::make_native_registry();
    auto direct = loom::reader::read_model(path.string(), *registry);
    auto file = loom::model::MappedFile::open(path.string());
    auto bytes = loom::bus::Frame::copy_of(file->bytes());
    loom::runtime::EmbeddedOptions options;
    options.reader = Placement::CHILD_PROCESS;
    loom::runtime::EmbeddedDeployment deployment(options);
    auto via = loom::runtime::read_model_bytes(deployment.reader(), bytes, {},
                                               loom::runtime::ModelFormat::Onnx);
    EXPECT_EQ(loom::model::compare_models(*direct, *via.model), std::nullopt);
}

TEST(ModelRead, IrWrittenThroughTheReaderReadsBackTheSame) {
    auto path = loom::test::shared_dir() / "models/ir/squeezenet1.1-fp16/squeezenet1.1.xml";
    LOOM_REQUIRE_DATA(path);
    loom::runtime::EmbeddedDeployment deployment;
    auto original = loom::runtime::read_model(deployment.reader(), path.string()).model;
    auto out = fs::path(testing::TempDir()) / "loom_written" / "squeezenet.xml";
    fs::create_directories(out.parent_path());
    auto [bin, bytes] = loom::runtime::write_ir(deployment.reader(), *original, out.string());
    EXPECT_TRUE(fs::exists(bin));
    EXPECT_GT(bytes, 2'000'000u); // the FP16 weights (2.4 MB)
    auto back = loom::runtime::read_model(deployment.reader(), out.string()).model;
    EXPECT_EQ(loom::model::compare_models(*original, *back), std::nullopt);
}
