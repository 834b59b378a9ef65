// Pipelines (components/pipeline, <loom/pipeline.hpp>): declaration errors, wiring of model, op
// and component nodes, demultiplexing and gathering (N = 0 too), per-request failures,
// concurrency, and swapping a model node, an extension and a component under load.
// Models run on REFERENCE; ops come from the pipetest and template extensions.

#include <atomic>
#include <cmath>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <loom/core.hpp>
#include <loom/pipeline.hpp>

#include "components/runtime/core_access.hpp"
#include "schemas/error.hpp"
#include "tests/extensions/ext_models.hpp"
#include "tests/pipeline/rows_head.hpp"
#include "tests/support/bus_fixture.hpp"
#include "tests/support/expect.hpp"

namespace {

using loom::Core;
using loom::ElementType;
using loom::ErrorKind;
using loom::Pipeline;
using loom::Tensor;

Tensor vec(std::vector<float> v) {
    Tensor t(ElementType::F32, {static_cast<std::int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data<float>());
    return t;
}

class PipelineTest : public ::testing::Test {
protected:
    void SetUp() override {
        write("relu.onnx", loom::test::onnx_chain({{"Relu", "", {}}}, {4}));
        write("neg.onnx", loom::test::onnx_chain({{"Relu", "", {}}, {"Neg", "", {}}}, {4}));
        write("sigmoid2.onnx", loom::test::onnx_chain({{"Sigmoid", "", {}}}, {2, 4}));
    }
    void write(const std::string& name, const std::string& bytes) {
        std::ofstream(dir.path() / name, std::ios::binary) << bytes;
    }
    std::string path(const std::string& name) const { return (dir.path() / name).string(); }

    // A pipeline text with the test extension loaded.
    std::string text(const std::string& body) const {
        return fmt::format("name = \"t\"\nextensions = [\"{}\"]\n{}", LOOM_PIPETEST_EXT, body);
    }
    Pipeline compile(const std::string& body) {
        return Pipeline::compile_text(core, text(body), dir.path());
    }

    static Tensor run(const Pipeline& p, const std::string& input, const Tensor& x,
                      const std::string& output) {
        auto r = p.compiled_model().create_infer_request();
        r.set_tensor(input, x);
        r.infer();
        return r.get_tensor(output);
    }

    loom::test::TempDir dir;
    Core core;
};

// rows → (per item) relu model → check op; gathered at the output.
const std::string k_demux = loom::test::rows_head() + R"([[node]]
name = "relu"
model = "MODEL"
device = "REFERENCE"
inputs = { x = "rows" }
[[node]]
name = "check"
op = "Check"
domain = "loom.pipetest"
attributes = { limit = 100 }
inputs = ["relu.y"]
[[output]]
name = "y"
from = "check"
)";

std::string with_model(std::string body, const std::string& model) {
    body.replace(body.find("MODEL"), 5, model);
    return body;
}

// What k_demux computes for x = (n, a, b, c): rows r = 2·relu(x + r).
std::vector<float> expected_demux(const std::vector<float>& x, float sign = 1) {
    std::vector<float> out;
    const int n = static_cast<int>(std::lround(x[0]));
    for (int r = 0; r < n; ++r)
        for (float v : x)
            out.push_back(2 * sign * std::max(0.0f, v + static_cast<float>(r)));
    return out;
}

std::vector<float> values(const Tensor& t) {
    return {t.data<float>(), t.data<float>() + t.size()};
}

TEST_F(PipelineTest, DeclarationErrorsNameWhatIsWrong) {
    std::string message;
    const auto bad = [&](const std::string& body) {
        return loom::test::error_kind_of([&] { compile(body); }, &message);
    };
    const std::string input = "[[input]]\nname = \"x\"\ntype = \"f32\"\n";
    const std::string output = "[[output]]\nname = \"y\"\nfrom = \"a\"\n";
    EXPECT_EQ(bad(input +
                  "[[node]]\nname = \"a\"\nop = \"Check\"\ndomain = \"loom.pipetest\"\n"
                  "inputs = [\"nothere\"]\n" +
                  output),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("'nothere' names no input"), std::string::npos) << message;
    EXPECT_EQ(bad(input +
                  "[[node]]\nname = \"a\"\nop = \"Check\"\ndomain = \"loom.pipetest\"\n"
                  "inputs = [\"b\"]\n[[node]]\nname = \"b\"\nop = \"Check\"\n"
                  "domain = \"loom.pipetest\"\ninputs = [\"a\"]\n" +
                  output),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("form a cycle"), std::string::npos) << message;
    EXPECT_EQ(bad(input +
                  "[[node]]\nname = \"x\"\nop = \"Check\"\ndomain = \"d\"\ninputs = "
                  "[\"x\"]\n" +
                  output),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("used twice"), std::string::npos) << message;
    EXPECT_EQ(bad(input +
                  "[[node]]\nname = \"a\"\nop = \"Check\"\nmodel = \"m.onnx\"\n"
                  "inputs = [\"x\"]\n" +
                  output),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("exactly one of"), std::string::npos) << message;
    EXPECT_EQ(bad(input +
                  "[[node]]\nname = \"a\"\nop = \"Nope\"\ndomain = \"loom.pipetest\"\n"
                  "inputs = [\"x\"]\n" +
                  output),
              ErrorKind::NOT_FOUND);
    EXPECT_NE(message.find("no operation Nope"), std::string::npos) << message;
    EXPECT_EQ(bad(input +
                  "[[node]]\nname = \"a\"\nop = \"Check\"\ndomain = \"loom.pipetest\"\n"
                  "inputs = [\"x\"]\n" +
                  output),
              ErrorKind::INVALID_ARGUMENT); // the required attribute `limit` is missing
    EXPECT_NE(message.find("node 'a'"), std::string::npos) << message;
    EXPECT_EQ(bad(input +
                  "[[node]]\nname = \"a\"\nop = \"Rows\"\ndomain = \"loom.pipetest\"\n"
                  "inputs = [\"x\"]\ndemultiply = true\n[[node]]\nname = \"b\"\nop = "
                  "\"Rows\"\ndomain = \"loom.pipetest\"\ninputs = [\"a\"]\n"
                  "demultiply = true\n" +
                  output),
              ErrorKind::UNSUPPORTED);
    EXPECT_NE(message.find("one level"), std::string::npos) << message;
    // A model whose input type does not match what feeds it.
    EXPECT_EQ(bad("[[input]]\nname = \"x\"\ntype = \"i64\"\n[[node]]\nname = \"a\"\nmodel = \"" +
                  path("relu.onnx") + "\"\ndevice = \"REFERENCE\"\ninputs = { x = \"x\" }\n" +
                  output),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("node 'a': input 'x' is f32 but 'x' gives i64"), std::string::npos)
        << message;
    EXPECT_EQ(bad("name = \"t\"\n[[input"), ErrorKind::INVALID_ARGUMENT); // malformed TOML
}

TEST_F(PipelineTest, ModelAndOpNodesInSeriesGiveWhatEachComputes) {
    auto p = compile(R"(
[[input]]
name = "x"
type = "f32"
shape = [4]
[[node]]
name = "check"
op = "Check"
domain = "loom.pipetest"
attributes = { limit = 10 }
inputs = ["x"]
[[node]]
name = "relu"
model = ")" + path("relu.onnx") +
                     R"("
device = "REFERENCE"
inputs = { x = "check.output" }
[[output]]
name = "y"
from = "relu.y"
[[output]]
name = "doubled"
from = "check"
)");
    const auto& cm = p.compiled_model();
    ASSERT_EQ(cm.inputs().size(), 1u);
    EXPECT_EQ(cm.outputs().size(), 2u);
    EXPECT_EQ(cm.output("y").type, ElementType::F32);
    EXPECT_EQ(cm.device(), "PIPELINE:t");
    auto r = cm.create_infer_request();
    r.set_tensor("x", vec({-1, 0.5, 2, -3}));
    r.infer();
    EXPECT_EQ(values(r.get_tensor("y")), (std::vector<float>{0, 1, 4, 0}));
    EXPECT_EQ(values(r.get_tensor("doubled")), (std::vector<float>{-2, 1, 4, -6}));
    // Asynchronously too, with a callback.
    std::atomic<int> called{0};
    r.set_callback([&](std::exception_ptr e) { called += e ? 100 : 1; });
    r.set_tensor("x", vec({1, 1, 1, 1}));
    r.start_async();
    r.wait();
    EXPECT_EQ(called.load(), 1);
    EXPECT_EQ(values(r.get_tensor("y")), (std::vector<float>{2, 2, 2, 2}));
    // A wrong input shape is refused at set_tensor, naming the input.
    EXPECT_EQ(loom::test::error_kind_of([&] {
                  r.set_tensor("x", vec({1, 2, 3}));
              }),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(p.node_stats().size(), 2u);
    EXPECT_EQ(p.node_stats()[0].runs, 2u);
}

TEST_F(PipelineTest, DemultiplexedItemsRunEachAndAreGatheredInOrder) {
    auto p = compile(with_model(k_demux, path("relu.onnx")));
    for (float n : {3.0f, 1.0f, 7.0f}) {
        const std::vector<float> x{n, -2.5f, 0.25f, -9};
        auto y = run(p, "x", vec(x), "y");
        EXPECT_EQ(y.shape(), (loom::Shape{static_cast<std::int64_t>(n), 4}));
        EXPECT_EQ(values(y), expected_demux(x));
    }
    // N = 0: an empty output, not an error; no item ran.
    const auto before = p.node_stats()[1].runs;
    auto y = run(p, "x", vec({0, 1, 2, 3}), "y");
    EXPECT_EQ(y.shape(), (loom::Shape{0, 4}));
    EXPECT_EQ(p.node_stats()[1].runs, before);
}

TEST_F(PipelineTest, GatherFromNodeStacksItemsForAWholeRequestModel) {
    // rows (N = 2) → relu per item → gathered [2, 4] → sigmoid model on the whole batch.
    auto p = compile(loom::test::rows_head() + R"([[node]]
name = "relu"
model = ")" + path("relu.onnx") +
                     R"("
device = "REFERENCE"
inputs = { x = "rows" }
[[node]]
name = "batch"
model = ")" + path("sigmoid2.onnx") +
                     R"("
device = "REFERENCE"
inputs = { x = "relu" }
gather_from = "rows"
[[output]]
name = "y"
from = "batch"
)");
    const std::vector<float> x{2, -1, 0.5, 3};
    auto y = run(p, "x", vec(x), "y");
    ASSERT_EQ(y.shape(), (loom::Shape{2, 4}));
    for (int r = 0; r < 2; ++r)
        for (int i = 0; i < 4; ++i)
            EXPECT_NEAR(y.data<float>()[r * 4 + i],
                        1 / (1 + std::exp(-std::max(0.0f, x[i] + static_cast<float>(r)))), 1e-6);
    // A request whose item count does not fit the batch model fails naming the node.
    std::string message;
    EXPECT_EQ(loom::test::error_kind_of(
                  [&] {
                      run(p, "x", vec({3, 0, 0, 0}), "y");
                  },
                  &message),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("node 'batch'"), std::string::npos) << message;
}

TEST_F(PipelineTest, OneFailingItemFailsItsRequestOnlyWithTheNodesError) {
    auto p = compile(with_model(k_demux, path("relu.onnx")));
    // Items r = 0..5 of x = (6, 96, …): item 5 has 96 + 5 > 100 → Check refuses it.
    std::string message;
    EXPECT_EQ(loom::test::error_kind_of(
                  [&] {
                      run(p, "x", vec({6, 96, 0, 0}), "y");
                  },
                  &message),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("node 'check'"), std::string::npos) << message;
    EXPECT_NE(message.find("above the limit"), std::string::npos) << message;
    // Requests running beside failing ones are untouched.
    std::atomic<int> wrong{0}, failed_ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 30; ++i) {
                // 99.5 + r > 100 from item r = 1: a request of 2 or more items fails.
                const bool bad = (i + t) % 3 == 0 && 1 + i % 5 >= 2;
                const std::vector<float> x{static_cast<float>(1 + i % 5),
                                           (i + t) % 3 == 0 ? 99.5f : 1.0f, static_cast<float>(t),
                                           -1};
                try {
                    auto y = run(p, "x", vec(x), "y");
                    if (bad || values(y) != expected_demux(x)) ++wrong;
                } catch (const loom::Error& e) {
                    if (bad && e.kind() == ErrorKind::INVALID_ARGUMENT)
                        ++failed_ok;
                    else
                        ++wrong;
                }
            }
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(failed_ok.load(), 0);
}

TEST_F(PipelineTest, ManyRequestsInFlightEachGetTheirOwnResult) {
    auto p = compile(with_model(k_demux, path("relu.onnx")));
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            auto r = p.compiled_model().create_infer_request();
            for (int i = 0; i < 40; ++i) {
                const std::vector<float> x{static_cast<float>((i + t) % 6), static_cast<float>(t),
                                           static_cast<float>(i), -0.5f};
                r.set_tensor("x", vec(x));
                r.start_async();
                r.wait();
                if (values(r.get_tensor("y")) != expected_demux(x)) ++wrong;
            }
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
}

// Runs `threads` clients until `stop`; each request's items must all come from one version:
// counts requests per version (by `classify`, -1 = mixed or wrong) and failures.
struct Load {
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0}, mixed{0};
    std::atomic<int> per_version[2] = {0, 0};
    std::vector<std::thread> threads;

    template <class Classify>
    void start(const Pipeline& p, Classify classify, int count = 3) {
        for (int t = 0; t < count; ++t)
            threads.emplace_back([this, &p, classify, t] {
                auto r = p.compiled_model().create_infer_request();
                for (int i = 0; !stop; ++i) {
                    const std::vector<float> x{static_cast<float>(2 + (i + t) % 3), 1.5f,
                                               static_cast<float>(t), 0.25f};
                    try {
                        r.set_tensor("x", vec(x));
                        r.infer();
                        const int v = classify(x, r.get_tensor("y"));
                        if (v < 0)
                            ++mixed;
                        else
                            ++per_version[v];
                    } catch (const std::exception& e) {
                        ++failures;
                        ADD_FAILURE() << e.what();
                    }
                }
            });
    }
    void wait_for(int version, int requests) {
        loom::test::eventually([&] { return per_version[version] >= requests || failures > 0; });
    }
    void finish() {
        stop = true;
        for (auto& t : threads)
            t.join();
    }
};

TEST_F(PipelineTest, SwappingAModelNodeUnderLoadFailsNoneAndMixesNoVersions) {
    auto p = compile(with_model(k_demux, path("relu.onnx")));
    Load load;
    load.start(p, [](const std::vector<float>& x, const Tensor& y) {
        if (values(y) == expected_demux(x)) return 0;
        if (values(y) == expected_demux(x, -1)) return 1; // neg.onnx: −relu
        return -1;
    });
    load.wait_for(0, 20);
    p.swap_model("relu", path("neg.onnx"));
    load.wait_for(1, 20);
    load.finish();
    EXPECT_EQ(load.failures.load(), 0);
    EXPECT_EQ(load.mixed.load(), 0);
    EXPECT_GE(load.per_version[1].load(), 20);
    // After the swap every request uses the new version.
    const std::vector<float> x{2, 1, 1, 1};
    EXPECT_EQ(values(run(p, "x", vec(x), "y")), expected_demux(x, -1));
    // A model with other outputs is refused; the running one stays.
    std::string message;
    EXPECT_EQ(
        loom::test::error_kind_of([&] { p.swap_model("relu", path("sigmoid2.onnx")); }, &message),
        ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(values(run(p, "x", vec(x), "y")), expected_demux(x, -1));
    EXPECT_EQ(loom::test::error_kind_of([&] { p.swap_model("check", path("relu.onnx")); }),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(loom::test::error_kind_of([&] { p.swap_model("nope", path("relu.onnx")); }),
              ErrorKind::NOT_FOUND);
}

TEST_F(PipelineTest, SwappingAnExtensionUnderLoadFailsNoneAndMixesNoVersions) {
    // Each item runs the template extension's Activation (v2 adds 1): a request pins one version.
    auto p = Pipeline::compile_text(core,
                                    fmt::format(R"(
name = "ext"
extensions = ["{}", "{}"]
{}[[node]]
name = "act"
op = "Activation"
domain = "loom.template"
attributes = {{ alpha = 1.0, beta = 1.0 }}
inputs = ["rows"]
[[output]]
name = "y"
from = "act"
)",
                                                LOOM_PIPETEST_EXT, LOOM_TEMPLATE_V1,
                                                loom::test::rows_head()),
                                    dir.path());
    const auto version_of = [](const std::vector<float>& x, const Tensor& y) {
        const int n = static_cast<int>(std::lround(x[0]));
        int seen = -1;
        for (int r = 0; r < n; ++r)
            for (int i = 0; i < 4; ++i) {
                const double v = x[i] + r;
                const double got = y.data<float>()[r * 4 + i];
                int which = -1;
                for (int ver : {1, 2})
                    if (std::abs(got - loom::test::activation(v, 1, 1, ver)) < 1e-4)
                        which = ver - 1;
                if (which < 0 || (seen >= 0 && which != seen)) return -1;
                seen = which;
            }
        return seen;
    };
    Load load;
    load.start(p, version_of);
    load.wait_for(0, 20);
    core.swap_extension("template", LOOM_TEMPLATE_V2);
    load.wait_for(1, 20);
    load.finish();
    EXPECT_EQ(load.failures.load(), 0);
    EXPECT_EQ(load.mixed.load(), 0);
    EXPECT_GE(load.per_version[1].load(), 20);
}

// The scale component (v1: y = x, v2: y = 2x) started in this deployment, in process or in a
// child process.
void start_scale(Core& core, const std::string& library, loom::kernel::Placement placement) {
    loom::kernel::ComponentSpec spec;
    spec.name = "scaler";
    spec.library = library;
    spec.placement = placement;
    loom::CoreAccess::deployment(core).kernel_client().start(spec);
}

const std::string k_component = loom::test::rows_head() + R"([[node]]
name = "scale"
component = "scaler"
inputs = { x = "rows" }
[[output]]
name = "y"
from = "scale"
)";

std::vector<float> rows_times(const std::vector<float>& x, float factor) {
    std::vector<float> out;
    for (int r = 0; r < static_cast<int>(std::lround(x[0])); ++r)
        for (float v : x)
            out.push_back((v + static_cast<float>(r)) * factor);
    return out;
}

TEST_F(PipelineTest, ComponentNodesRunInProcessAndInAnotherProcess) {
    for (auto placement :
         {loom::kernel::Placement::IN_PROCESS, loom::kernel::Placement::CHILD_PROCESS}) {
        Core local;
        start_scale(local, LOOM_SCALE_V2, placement);
        auto p = Pipeline::compile_text(local, text(k_component), dir.path());
        const std::vector<float> x{3, 1, -2, 0.5};
        EXPECT_EQ(values(run(p, "x", vec(x), "y")), rows_times(x, 2));
    }
    // No such component: not_found naming the node.
    std::string message;
    EXPECT_EQ(loom::test::error_kind_of([&] { compile(k_component); }, &message),
              ErrorKind::NOT_FOUND);
    EXPECT_NE(message.find("node 'scale'"), std::string::npos) << message;
}

TEST_F(PipelineTest, SwappingAComponentUnderLoadFailsNoneAndMixesNoVersions) {
    start_scale(core, LOOM_SCALE_V1, loom::kernel::Placement::CHILD_PROCESS);
    auto p = compile(k_component);
    Load load;
    load.start(p, [](const std::vector<float>& x, const Tensor& y) {
        if (values(y) == rows_times(x, 1)) return 0;
        if (values(y) == rows_times(x, 2)) return 1;
        return -1; // a request whose items went to both versions, or a wrong value
    });
    load.wait_for(0, 20);
    loom::kernel::ComponentSpec next;
    next.name = "scaler";
    next.library = LOOM_SCALE_V2;
    next.placement = loom::kernel::Placement::CHILD_PROCESS;
    loom::CoreAccess::deployment(core).kernel_client().swap("scaler", next);
    load.wait_for(1, 20);
    load.finish();
    EXPECT_EQ(load.failures.load(), 0);
    EXPECT_EQ(load.mixed.load(), 0); // a request pins the instance; one swapped out runs again
    EXPECT_GE(load.per_version[1].load(), 20);
    std::cout << "requests run again after the swap: "
              << p.compiled_model().get_property("LOOM_PIPELINE_RERUNS") << "\n";
}

TEST_F(PipelineTest, ACompiledPipelineOutlivesTheCoreThatMadeIt) {
    loom::CompiledModel kept;
    {
        Core local;
        auto p =
            Pipeline::compile_text(local, text(with_model(k_demux, path("relu.onnx"))), dir.path());
        kept = p.compiled_model();
    }
    auto r = kept.create_infer_request();
    const std::vector<float> x{2, -1, 0.5f, 3};
    r.set_tensor("x", vec(x));
    r.infer();
    EXPECT_EQ(values(r.get_tensor("y")), expected_demux(x));
}

TEST_F(PipelineTest, CancelEndsARequestWithCancelled) {
    auto p = compile(with_model(k_demux, path("relu.onnx")));
    auto r = p.compiled_model().create_infer_request();
    r.set_tensor("x", vec({50, 1, 1, 1}));
    r.start_async();
    r.cancel();
    try {
        r.wait();
        // It may have finished before the cancel arrived: then it is complete.
        EXPECT_EQ(r.get_tensor("y").shape()[0], 50);
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::CANCELLED) << e.message();
    }
}

} // namespace
