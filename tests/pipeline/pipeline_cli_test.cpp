// The launcher on pipelines (DESIGN.md §7): `loom run --pipeline`, `loom check` on pipeline
// cases (a case folder holding pipeline.toml, and --pipeline for every case), `loom bench
// --pipeline` with its JSON report and per-node lines.

#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "tests/extensions/ext_models.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/child_process.hpp"

namespace {

namespace fs = std::filesystem;

void write_tensor(const fs::path& file, const std::vector<float>& v) {
    onnx::TensorProto t;
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(static_cast<std::int64_t>(v.size()));
    for (float f : v)
        t.add_float_data(f);
    std::ofstream(file, std::ios::binary) << t.SerializeAsString();
}

class PipelineCli : public ::testing::Test {
protected:
    void SetUp() override {
        std::ofstream(dir.path() / "relu.onnx", std::ios::binary)
            << loom::test::onnx_chain({{"Relu", "", {}}}, {4});
        std::ofstream(dir.path() / "p.toml") << R"(name = "cli"
[[input]]
name = "x"
type = "f32"
shape = [4]
[[node]]
name = "relu"
model = "relu.onnx"
device = "REFERENCE"
inputs = ["x"]
[[output]]
name = "y"
from = "relu"
)";
    }
    static loom::test::Outcome loom(std::vector<std::string> args) {
        args.insert(args.begin(), LOOM_EXECUTABLE);
        return loom::test::run_process(std::move(args));
    }
    loom::test::TempDir dir;
};

TEST_F(PipelineCli, RunWritesThePipelinesOutputs) {
    write_tensor(dir.path() / "x.pb", {-1, 2, -3, 4});
    const auto out = dir.path() / "out";
    auto r = loom({"run", "--pipeline", (dir.path() / "p.toml").string(), "-i",
                   "x=" + (dir.path() / "x.pb").string(), "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("y "), std::string::npos) << r.output;
    EXPECT_TRUE(fs::exists(out / "y.npy"));
    // Neither a model nor a pipeline: a clear error.
    r = loom({"run", "-i", "x=" + (dir.path() / "x.pb").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("--pipeline FILE"), std::string::npos) << r.output;
}

TEST_F(PipelineCli, CheckRunsPipelineCasesAndReportsEach) {
    // A case folder with pipeline.toml (and its model beside it), one passing data set; a second
    // case whose expected output is wrong.
    for (const auto& [name, expected] : {std::pair{"good", std::vector<float>{0, 2, 0, 4}},
                                         std::pair{"bad", std::vector<float>{0, 2, 0, 5}}}) {
        const auto c = dir.path() / "cases" / name;
        fs::create_directories(c / "test_data_set_0");
        fs::copy_file(dir.path() / "p.toml", c / "pipeline.toml");
        fs::copy_file(dir.path() / "relu.onnx", c / "relu.onnx");
        write_tensor(c / "test_data_set_0" / "input_0.pb", {-1, 2, -3, 4});
        write_tensor(c / "test_data_set_0" / "output_0.pb", expected);
    }
    auto r = loom({"check", (dir.path() / "cases").string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("PASS good"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("FAIL bad"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("1 passed, 1 failed"), std::string::npos) << r.output;
    // --pipeline runs the given file for a case folder holding only data.
    fs::remove(dir.path() / "cases" / "good" / "pipeline.toml");
    r = loom({"check", "--pipeline", (dir.path() / "p.toml").string(),
              (dir.path() / "cases" / "good").string()});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("1 passed, 0 failed"), std::string::npos) << r.output;
}

TEST_F(PipelineCli, BenchReportsThePipelineAndItsNodes) {
    write_tensor(dir.path() / "x.pb", {-1, 2, -3, 4});
    const auto json = dir.path() / "b.json";
    auto r = loom({"bench", "--pipeline", (dir.path() / "p.toml").string(), "-i",
                   "x=" + (dir.path() / "x.pb").string(), "-t", "0.3", "--json", json.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("node relu"), std::string::npos) << r.output;
    std::ifstream in(json);
    const auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["device"], "PIPELINE:cli");
    EXPECT_GT(j["count"].get<double>(), 0);
    EXPECT_GT(j["throughput_fps"].get<double>(), 0);
}

TEST_F(PipelineCli, InfoDescribesThePipelineOrSaysWhyItCannot) {
    const auto json = dir.path() / "i.json";
    auto r =
        loom({"info", "--pipeline", (dir.path() / "p.toml").string(), "--json", json.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("relu"), std::string::npos) << r.output;
    std::ifstream in(json);
    const auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["name"], "cli");
    EXPECT_EQ(j["inputs"][0]["name"], "x");
    EXPECT_EQ(j["nodes"][0]["kind"], "model");
    EXPECT_EQ(j["nodes"][0]["device"], "REFERENCE");
    std::ofstream(dir.path() / "bad.toml") << "name = \"bad\"\n[[input]]\nname = \"x\"\n"
                                              "type = \"f32\"\n[[node]]\nname = \"a\"\n"
                                              "inputs = [\"x\"]\n";
    r = loom({"info", "--pipeline", (dir.path() / "bad.toml").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("exactly one of"), std::string::npos) << r.output;
}

} // namespace
