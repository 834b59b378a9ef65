// `loom run`, `loom check` and `loom info` end to end (DESIGN.md §7): the built executable on
// small ONNX models and test cases written by the test itself.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "components/runtime/tensor_io.hpp"
#include "tests/support/child_process.hpp"

namespace loom::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Runs the built `loom` with `args`, capturing its output.
Outcome loom(std::vector<std::string> args, std::chrono::seconds timeout = 120s) {
    args.insert(args.begin(), LOOM_EXECUTABLE);
    auto o = run_process(std::move(args), timeout);
    if (o.timed_out) ADD_FAILURE() << "loom timed out: " << o.output;
    return o;
}

// ---- models and test data written here -----------------------------------------------------

// A one-node model: `op` over float inputs `inputs` (shape `dims`, -1 = dynamic) into `output`.
void write_model(const fs::path& path, const std::string& op,
                 const std::vector<std::string>& inputs, const std::string& output,
                 const std::vector<std::int64_t>& dims, int type = onnx::TensorProto::FLOAT) {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    auto* g = m.mutable_graph();
    g->set_name("g");
    auto* node = g->add_node();
    node->set_op_type(op);
    node->set_name(op + "_0");
    node->add_output(output);
    auto add_value = [&](onnx::ValueInfoProto* v, const std::string& name) {
        v->set_name(name);
        auto* t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(type);
        for (std::size_t i = 0; i < dims.size(); ++i) {
            auto* dim = t->mutable_shape()->add_dim();
            if (dims[i] < 0)
                dim->set_dim_param("N" + std::to_string(i));
            else
                dim->set_dim_value(dims[i]);
        }
    };
    for (const auto& in : inputs) {
        node->add_input(in);
        add_value(g->add_input(), in);
    }
    add_value(g->add_output(), output);
    std::ofstream f(path, std::ios::binary);
    ASSERT_TRUE(m.SerializeToOstream(&f));
}

void write_pb(const fs::path& path, const std::string& name, const std::vector<std::int64_t>& dims,
              const std::vector<float>& values) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims)
        t.add_dims(d);
    t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
    std::ofstream f(path, std::ios::binary);
    ASSERT_TRUE(t.SerializeToOstream(&f));
}

Tensor f32(const Shape& shape, const std::vector<float>& values) {
    Tensor t(ElementType::F32, shape);
    std::memcpy(t.data(), values.data(), values.size() * 4);
    return t;
}

std::vector<float> values(const Tensor& t) {
    return {t.data<float>(), t.data<float>() + t.size()};
}

const float k_nan = std::nanf("");
const std::vector<float> k_x = {1, 2, 3, -4, k_nan, 6};
const std::vector<float> k_y = {10, 20, 30, 40, 50, 60};
const std::vector<float> k_sum = {11, 22, 33, 36, k_nan, 66};

// An Add case in the backend-test layout; `expected` is what output_0.pb holds.
fs::path write_add_case(const fs::path& dir, const std::vector<float>& expected,
                        const std::string& case_json = {}) {
    fs::create_directories(dir / "test_data_set_0");
    write_model(dir / "model.onnx", "Add", {"x", "y"}, "sum", {2, 3});
    write_pb(dir / "test_data_set_0/input_0.pb", "x", {2, 3}, k_x);
    write_pb(dir / "test_data_set_0/input_1.pb", "y", {2, 3}, k_y);
    write_pb(dir / "test_data_set_0/output_0.pb", "sum", {2, 3}, expected);
    if (!case_json.empty()) std::ofstream(dir / "case.json") << case_json;
    return dir;
}

fs::path fresh_dir(const std::string& name) {
    auto dir = fs::path(testing::TempDir()) / ("launcher_run_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// ---- loom run ----------------------------------------------------------------------------------

TEST(LoomRun, WritesEachOutputAsNpyAndPrintsALinePerOutput) {
    auto dir = fresh_dir("outputs");
    write_model(dir / "model.onnx", "Add", {"x", "y"}, "out/sum:0", {2, 3});
    runtime::write_npy(dir / "x.npy", f32({2, 3}, k_x));
    write_pb(dir / "y.pb", "y", {2, 3}, k_y);
    auto r =
        loom({"run", "-m", (dir / "model.onnx").string(), "-i", "x=" + (dir / "x.npy").string(),
              "-i", "y=" + (dir / "y.pb").string(), "-o", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto file = dir / "out" / "out_sum_0.npy"; // '/' and ':' are unsafe in file names
    ASSERT_TRUE(fs::exists(file)) << r.output;
    auto sum = runtime::read_npy(file);
    EXPECT_EQ(sum.element_type(), ElementType::F32);
    EXPECT_EQ(sum.shape(), (Shape{2, 3}));
    auto got = values(sum);
    for (std::size_t i = 0; i < got.size(); ++i)
        if (std::isnan(k_sum[i]))
            EXPECT_TRUE(std::isnan(got[i]));
        else
            EXPECT_EQ(got[i], k_sum[i]) << i;
    ASSERT_EQ(r.lines().size(), 1u) << r.output;
    const auto line = r.lines()[0];
    for (const char* part : {"out/sum:0", "f32", "[2,3]", "out_sum_0.npy"})
        EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
}

TEST(LoomRun, BareFilesFeedASingleInputOrTheInputTheirPbNames) {
    auto dir = fresh_dir("bare");
    write_model(dir / "relu.onnx", "Relu", {"x"}, "y", {2, 3});
    runtime::write_npy(dir / "x.npy", f32({2, 3}, {-1, 2, -3, 4, -5, 6}));
    auto r = loom({"run", "-m", (dir / "relu.onnx").string(), "-i", (dir / "x.npy").string(), "-o",
                   dir.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(values(runtime::read_npy(dir / "y.npy")), (std::vector<float>{0, 2, 0, 4, 0, 6}));

    write_model(dir / "add.onnx", "Add", {"x", "y"}, "s", {2, 3});
    write_pb(dir / "a.pb", "x", {2, 3}, k_y);
    write_pb(dir / "b.pb", "y", {2, 3}, k_y);
    r = loom({"run", "-m", (dir / "add.onnx").string(), "-i", (dir / "b.pb").string(), "-i",
              (dir / "a.pb").string(), "-o", dir.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(values(runtime::read_npy(dir / "s.npy"))[5], 120.f);
}

TEST(LoomRun, MissingUnknownOrMistypedInputsFailNamingThem) {
    auto dir = fresh_dir("bad_inputs");
    write_model(dir / "add.onnx", "Add", {"x", "y"}, "s", {2, 3});
    runtime::write_npy(dir / "x.npy", f32({2, 3}, k_x));
    const auto model = (dir / "add.onnx").string();
    const auto x = (dir / "x.npy").string();
    auto r = loom({"run", "-m", model, "-i", "x=" + x, "-o", dir.string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("missing inputs: y"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir / "s.npy"));

    r = loom({"run", "-m", model, "-i", "x=" + x, "-i", "z=" + x});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no input 'z'"), std::string::npos) << r.output;

    r = loom({"run", "-m", model, "-i", x}); // two inputs: which one?
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("NAME="), std::string::npos) << r.output;

    Tensor d(ElementType::F64, {2, 3});
    runtime::write_npy(dir / "d.npy", d);
    r = loom({"run", "-m", model, "-i", "x=" + x, "-i", "y=" + (dir / "d.npy").string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("f64"), std::string::npos) << r.output;

    r = loom({"run", "-m", model, "-i", "x=" + x, "-i", "y=" + (dir / "none.npy").string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("none.npy"), std::string::npos) << r.output;

    r = loom({"run", "-m", (dir / "missing.onnx").string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("missing.onnx"), std::string::npos) << r.output;
}

TEST(LoomRun, ReshapesADynamicModelAndRunsIsolated) {
    auto dir = fresh_dir("shape");
    write_model(dir / "relu.onnx", "Relu", {"x"}, "y", {-1, 3});
    runtime::write_npy(dir / "x.npy", f32({2, 3}, {-1, 2, -3, 4, -5, 6}));
    auto r = loom({"run", "-m", (dir / "relu.onnx").string(), "--shape", "x=2,3", "-i",
                   (dir / "x.npy").string(), "-o", dir.string(), "--isolate"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(values(runtime::read_npy(dir / "y.npy")), (std::vector<float>{0, 2, 0, 4, 0, 6}));
    r = loom({"run", "-m", (dir / "relu.onnx").string(), "--shape", "x=2,x", "-i",
              (dir / "x.npy").string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("'x' is not a dimension"), std::string::npos) << r.output;
}

// ---- loom bench --------------------------------------------------------------------------------

// The --json report (DESIGN.md §7): exactly the contract's keys, and numbers that agree.
void expect_consistent_report(const nlohmann::json& j, const std::string& hint) {
    std::set<std::string> keys;
    for (const auto& [key, value] : j.items())
        keys.insert(key);
    EXPECT_EQ(keys,
              (std::set<std::string>{"first_inference_ms", "count", "duration_s", "latency_ms",
                                     "throughput_fps", "device", "hint", "streams", "requests"}));
    std::set<std::string> latency_keys;
    for (const auto& [key, value] : j["latency_ms"].items())
        latency_keys.insert(key);
    EXPECT_EQ(latency_keys, (std::set<std::string>{"median", "mean", "min", "max", "p90", "p99"}));
    const auto& l = j["latency_ms"];
    const auto count = j["count"].get<std::int64_t>();
    EXPECT_GE(count, 1);
    EXPECT_GT(j["first_inference_ms"].get<double>(), 0.0);
    EXPECT_GT(l["min"].get<double>(), 0.0);
    EXPECT_LE(l["min"].get<double>(), l["median"].get<double>());
    EXPECT_LE(l["median"].get<double>(), l["p90"].get<double>());
    EXPECT_LE(l["p90"].get<double>(), l["p99"].get<double>());
    EXPECT_LE(l["p99"].get<double>(), l["max"].get<double>());
    EXPECT_LE(l["min"].get<double>(), l["mean"].get<double>());
    EXPECT_LE(l["mean"].get<double>(), l["max"].get<double>());
    EXPECT_NEAR(j["throughput_fps"].get<double>(),
                static_cast<double>(count) / j["duration_s"].get<double>(), 1e-6);
    EXPECT_EQ(j["device"], "REFERENCE");
    EXPECT_EQ(j["hint"], hint);
    EXPECT_GE(j["streams"].get<std::int64_t>(), 1);
    EXPECT_GE(j["requests"].get<std::int64_t>(), 1);
}

TEST(LoomBench, ReportsTheJsonContractForBothHintsWithoutAProgressBarOnAPipe) {
    auto dir = fresh_dir("bench");
    write_model(dir / "relu.onnx", "Relu", {"x"}, "y", {1, 3, 8, 8});
    for (const std::string hint : {"latency", "throughput"}) {
        const auto json = dir / (hint + ".json");
        auto r = loom({"bench", "-m", (dir / "relu.onnx").string(), "-t", "0.3", "--hint", hint,
                       "--json", json.string()});
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_EQ(r.output.find('\r'), std::string::npos) << "a progress bar on a pipe";
        for (const char* part : {"First inference:", "Latency (ms):", "Throughput:"})
            EXPECT_NE(r.output.find(part), std::string::npos) << part << " in " << r.output;
        std::ifstream in(json);
        ASSERT_TRUE(in) << json;
        auto report = nlohmann::json::parse(in);
        expect_consistent_report(report, hint);
        if (hint == "latency") {
            EXPECT_EQ(report["requests"], 1);
        }
        // Ran about as long as asked (after the first inference; at least one run).
        EXPECT_GE(report["duration_s"].get<double>(), 0.3);
    }
}

TEST(LoomBench, DynamicInputsNeedAShapeOrAFileAndBadOptionsFail) {
    auto dir = fresh_dir("bench_dynamic");
    write_model(dir / "relu.onnx", "Relu", {"x"}, "y", {-1, 3});
    const auto model = (dir / "relu.onnx").string();
    auto r = loom({"bench", "-m", model, "-t", "0.1"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("input 'x' has the dynamic shape [?,3]: give --shape x="),
              std::string::npos)
        << r.output;
    r = loom({"bench", "-m", model, "-t", "0.1", "--shape", "x=4,3"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    runtime::write_npy(dir / "x.npy", f32({2, 3}, {-1, 2, -3, 4, -5, 6}));
    r = loom({"bench", "-m", model, "-t", "0.1", "-i", "x=" + (dir / "x.npy").string()});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    r = loom({"bench", "-m", model, "-t", "0.1", "--hint", "fastest", "--shape", "x=1,3"});
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("fastest"), std::string::npos) << r.output;
    r = loom({"bench", "-m", model, "-t", "0", "--shape", "x=1,3"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("must be positive"), std::string::npos) << r.output;
    r = loom({"bench", "-m", model, "-i", "z=" + (dir / "x.npy").string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no input 'z'"), std::string::npos) << r.output;
}

// --trace: Chrome-trace JSON with one complete event per executed node and inference.
TEST(LoomTrace, RunAndBenchWriteAChromeTraceOfTheExecutedNodes) {
    auto dir = fresh_dir("trace");
    write_model(dir / "relu.onnx", "Relu", {"x"}, "y", {1, 3, 8, 8});
    const auto model = (dir / "relu.onnx").string();
    runtime::write_npy(dir / "x.npy", Tensor(ElementType::F32, {1, 3, 8, 8}));
    auto r = loom({"run", "-m", model, "-o", dir.string(), "-i", "x=" + (dir / "x.npy").string(),
                   "--trace", (dir / "run.json").string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto complete_events = [](const nlohmann::json& trace) {
        std::vector<nlohmann::json> out;
        for (const auto& e : trace["traceEvents"])
            if (e["ph"] == "X") out.push_back(e);
        return out;
    };
    auto run_trace = nlohmann::json::parse(std::ifstream(dir / "run.json"));
    auto events = complete_events(run_trace);
    ASSERT_EQ(events.size(), 1u) << run_trace.dump();
    EXPECT_EQ(events[0]["name"], "Relu_0");
    EXPECT_EQ(events[0]["cat"], "Relu");
    EXPECT_EQ(events[0]["ts"], 0);
    EXPECT_GE(events[0]["dur"].get<std::int64_t>(), 0);
    EXPECT_FALSE(events[0]["args"]["exec_type"].get<std::string>().empty());

    r = loom({"bench", "-m", model, "-t", "0.2", "--json", (dir / "bench.json").string(), "--trace",
              (dir / "bench_trace.json").string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto report = nlohmann::json::parse(std::ifstream(dir / "bench.json"));
    events = complete_events(nlohmann::json::parse(std::ifstream(dir / "bench_trace.json")));
    // One node per inference, every timed inference up to the first 1000, in start order.
    EXPECT_EQ(events.size(), std::min<std::size_t>(report["count"].get<std::size_t>(), 1000));
    for (std::size_t i = 1; i < events.size(); ++i)
        EXPECT_GE(events[i]["ts"].get<std::int64_t>(), events[i - 1]["ts"].get<std::int64_t>());
}

// ---- loom check --------------------------------------------------------------------------------

TEST(LoomCheck, PassesFailsAndSurvivesABrokenCase) {
    auto root = fresh_dir("check");
    write_add_case(root / "a_good", k_sum);
    auto wrong = k_sum;
    wrong[2] = 34;
    write_add_case(root / "b_wrong", wrong);
    fs::create_directories(root / "c_broken/test_data_set_0");
    std::ofstream(root / "c_broken/model.onnx") << "not a model";
    auto near = k_sum;
    near[0] += 0.05f;
    write_add_case(root / "d_tolerant", near, R"({"rtol": 0, "atol": 0.1})");
    write_add_case(root / "e_strict", near, R"({"rtol": 0.001, "atol": 0})");
    const auto json = root / "report.json";
    auto r = loom({"check", "-d", "REFERENCE", "--json", json.string(), root.string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    auto lines = r.lines();
    ASSERT_EQ(lines.size(), 6u) << r.output;
    EXPECT_EQ(lines[0], "PASS a_good");
    EXPECT_TRUE(lines[1].starts_with("FAIL b_wrong: ")) << lines[1];
    EXPECT_NE(lines[1].find("first at 2: got 33, expected 34"), std::string::npos) << lines[1];
    EXPECT_TRUE(lines[2].starts_with("FAIL c_broken: read: ")) << lines[2];
    EXPECT_EQ(lines[3], "PASS d_tolerant");
    EXPECT_TRUE(lines[4].starts_with("FAIL e_strict: ")) << lines[4];
    EXPECT_EQ(lines[5], "2 passed, 3 failed");

    std::ifstream in(json);
    auto j = nlohmann::json::parse(in);
    ASSERT_EQ(j.size(), 5u);
    EXPECT_EQ(j[0]["name"], "a_good");
    EXPECT_EQ(j[0]["passed"], true);
    EXPECT_EQ(j[0]["reason"], "");
    EXPECT_TRUE(j[0]["ms"].is_number());
    EXPECT_EQ(j[1]["passed"], false);
    EXPECT_EQ("FAIL b_wrong: " + j[1]["reason"].get<std::string>(), lines[1]);
}

TEST(LoomCheck, AllPassingExitsZeroAndMismatchedShapesOrCountsFail) {
    auto root = fresh_dir("check_ok");
    auto good = write_add_case(root / "good", k_sum);
    auto r = loom({"check", good.string()});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.lines().back(), "1 passed, 0 failed");

    auto shape = write_add_case(root / "shape", k_sum);
    write_pb(shape / "test_data_set_0/output_0.pb", "sum", {3, 2}, k_sum);
    auto extra = write_add_case(root / "extra", k_sum);
    write_pb(extra / "test_data_set_0/output_1.pb", "sum", {2, 3}, k_sum);
    auto two_sets = write_add_case(root / "two_sets", k_sum);
    fs::copy(two_sets / "test_data_set_0", two_sets / "test_data_set_1");
    write_pb(two_sets / "test_data_set_1/output_0.pb", "sum", {2, 3}, k_y);
    r = loom({"check", shape.string(), extra.string(), two_sets.string(), "/nonexistent/case"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("FAIL shape: test_data_set_0 output 0 (sum): shape [2,3], expected "
                            "[3,2]"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("FAIL extra: test_data_set_0: invalid_argument: 2 output files"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("FAIL two_sets: test_data_set_1 output 0"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("FAIL case: no such file or directory"), std::string::npos) << r.output;
    EXPECT_EQ(r.lines().back(), "0 passed, 4 failed");
}

TEST(LoomCheck, TimeoutCancelsASlowInferenceAndFailsItsCase) {
    auto root = fresh_dir("slow");
    auto dir = root / "slow";
    fs::create_directories(dir / "test_data_set_0");
    const std::int64_t n = 3000; // [n,1] + [1,n]: 9M sums, far more than a millisecond
    write_model(dir / "model.onnx", "Add", {"a", "b"}, "c", {-1, -1});
    write_pb(dir / "test_data_set_0/input_0.pb", "a", {n, 1}, std::vector<float>(n, 1.f));
    write_pb(dir / "test_data_set_0/input_1.pb", "b", {1, n}, std::vector<float>(n, 2.f));
    write_pb(dir / "test_data_set_0/output_0.pb", "c", {1}, {3.f});
    auto r = loom({"check", "--timeout", "0.001", dir.string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("FAIL slow: test_data_set_0 infer: timeout: "), std::string::npos)
        << r.output;
    auto fast = write_add_case(root / "fast", k_sum);
    r = loom({"check", "--timeout", "600", fast.string()});
    EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(LoomCheck, RunsOnnxBackendTestData) {
    const fs::path node = "/usr/share/libonnx-testdata/data/node";
    if (!fs::exists(node)) GTEST_SKIP() << node << " is missing (Debian package libonnx-testdata)";
    auto r = loom({"check", (node / "test_add").string(), (node / "test_relu").string()});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "PASS test_add\nPASS test_relu\n2 passed, 0 failed\n");
}

// ---- loom info ---------------------------------------------------------------------------------

TEST(LoomInfo, ListsDevicesWithPropertiesAndOpCoverage) {
    const auto json = fresh_dir("info") / "info.json";
    auto r = loom({"info", "--verbose", "--json", json.string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("REFERENCE"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("FULL_DEVICE_NAME"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("operations: "), std::string::npos) << r.output;
    std::ifstream in(json);
    auto j = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    bool found = false;
    for (const auto& d : j["devices"]) {
        if (d["name"] != "REFERENCE") continue;
        found = true;
        EXPECT_FALSE(d["full_name"].get<std::string>().empty());
        EXPECT_GT(d["ops"]["total"].get<int>(), 100);
        EXPECT_EQ(d["ops"]["total"].get<std::size_t>(),
                  d["ops"]["supported"].get<std::size_t>() + d["ops"]["unsupported"].size());
    }
    EXPECT_TRUE(found) << j.dump(2);
}

} // namespace
} // namespace loom::test
