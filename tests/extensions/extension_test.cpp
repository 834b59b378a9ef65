// Extensions end to end (DESIGN.md §4-§6), label `extensions`: custom-op models in ONNX and IR
// written here, read, compiled and run against the op's reference; swaps under load with the
// device in process and in a process of its own; broken swaps; deferred unload; an extension
// hosted in its own process that crashes.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "schemas/error.hpp"
#include "tests/extensions/ext_models.hpp"
#include "tests/support/child_process.hpp"
#include <loom/core.hpp>

namespace loom::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::vector<std::int64_t> k_dims{4, 8};
constexpr float k_alpha = 0.75f, k_beta = 1.5f;

// Reads a model written by the test (ONNX or IR text, no weights).
Model read(Core& core, const std::string& text) {
    return core.read_model(std::as_bytes(std::span(text.data(), text.size())), {});
}

std::vector<float> ramp(std::size_t n, float from, float to) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = from + (to - from) * static_cast<float>(i) / static_cast<float>(n - 1);
    return v;
}

std::vector<float> run(CompiledModel& compiled, const std::vector<float>& x) {
    auto request = compiled.create_infer_request();
    auto in = x; // the tensor wraps it
    request.set_input_tensor(Tensor(ElementType::F32, {k_dims[0], k_dims[1]}, in.data()));
    request.infer();
    auto y = request.get_output_tensor();
    return {y.data<float>(), y.data<float>() + y.size()};
}

bool close_to(const std::vector<float>& got, const std::vector<double>& want) {
    if (got.size() != want.size()) return false;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (std::abs(got[i] - want[i]) > 1e-4 * (1.0 + std::abs(want[i]))) return false;
    return true;
}

// Two Activation nodes in series: v(a)∘v(b) for versions a (second node) and b (first node).
std::vector<double> two_activations(const std::vector<float>& x, int first, int second) {
    std::vector<double> out;
    for (float v : x)
        out.push_back(activation(activation(v, k_alpha, k_beta, first), k_alpha, k_beta, second));
    return out;
}

CustomNode act() {
    return {"Activation", "loom.template", {{"alpha", k_alpha}, {"beta", k_beta}}};
}

ErrorKind error_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (message) *message = e.message();
        return e.kind();
    }
    ADD_FAILURE() << "no error";
    return ErrorKind::INTERNAL;
}

// ---- custom-op models in both formats ------------------------------------------------------

class CustomOpModels : public ::testing::TestWithParam<const char*> {
protected:
    std::string model(const std::vector<CustomNode>& nodes) const {
        return std::string(GetParam()) == "onnx" ? onnx_chain(nodes, k_dims)
                                                 : ir_chain(nodes, k_dims);
    }
};

// How many nodes of the compiled model's runtime model ran with execType `type`.
int nodes_with_exec_type(const CompiledModel& compiled, const std::string& type) {
    const auto runtime = compiled.runtime_model();
    int count = 0;
    for (const auto* n : runtime.impl()->nodes())
        for (const auto& rt : n->rt_info.children)
            for (const auto& [k, v] : rt.attributes)
                if (k == "execType" && v == type) ++count;
    return count;
}

TEST_P(CustomOpModels, ReadCompileAndMatchTheOpsReference) {
    Core core;
    auto info = core.add_extension(LOOM_TEMPLATE_V1);
    EXPECT_EQ(info.name, "template");
    EXPECT_EQ(info.version, "1.0.0");
    auto m = read(core, (model({{"Identity", "loom.template", {}}, act(), act()})));
    EXPECT_EQ(m.outputs().at(0).shape, PartialShape(Shape{4, 8}));
    // query_model reports the custom nodes as supported (node name → device).
    auto supported = core.query_model(m, "REFERENCE");
    for (const auto* n : m.impl()->nodes())
        if (n->version == "loom.template") {
            ASSERT_TRUE(supported.contains(n->name)) << n->name;
            EXPECT_EQ(supported.at(n->name), "REFERENCE");
        }
    auto compiled = core.compile_model(m, "REFERENCE");
    const auto x = ramp(32, -3.0f, 3.0f);
    EXPECT_TRUE(close_to(run(compiled, x), two_activations(x, 1, 1)));
    // The runtime model says the custom nodes ran as extension ops.
    EXPECT_EQ(nodes_with_exec_type(compiled, "extension"), 3);
    // On CPU the same nodes run their CPU kernels (with the device's parallel_for).
    auto on_cpu = core.compile_model(m, "CPU");
    EXPECT_TRUE(close_to(run(on_cpu, x), two_activations(x, 1, 1)));
    EXPECT_EQ(nodes_with_exec_type(on_cpu, "extension_cpu"), 3);
}

TEST_P(CustomOpModels, AConversionMapsTheFrameworkOpOntoExistingOps) {
    Core core;
    core.add_extension(LOOM_TEMPLATE_V1);
    auto m = read(core, (model({{"MulAdd", "loom.template", {{"scale", 3.0f}, {"bias", -1.0f}}}})));
    for (const auto* n : m.impl()->nodes())
        EXPECT_NE(n->version, "loom.template") << n->type << " was not converted";
    auto compiled = core.compile_model(m, "REFERENCE");
    const auto x = ramp(32, -2.0f, 2.0f);
    std::vector<double> want;
    for (float v : x)
        want.push_back(3.0 * v - 1.0);
    EXPECT_TRUE(close_to(run(compiled, x), want));
}

TEST_P(CustomOpModels, WithoutTheExtensionTheOpIsUnknownAndNamed) {
    Core core;
    std::string message;
    EXPECT_EQ(error_of([&] { read(core, (model({act()}))); }, &message), ErrorKind::NOT_FOUND);
    EXPECT_NE(message.find("Activation"), std::string::npos) << message;
    EXPECT_NE(message.find("loom.template"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Formats, CustomOpModels, ::testing::Values("onnx", "ir"));

// ---- swap under load ---------------------------------------------------------------------

// On REFERENCE and on CPU, each in process and in a device process of its own.
class SwapUnderLoad : public ::testing::TestWithParam<std::pair<const char*, bool>> {};

TEST_P(SwapUnderLoad, NoRequestFailsAndNoneMixesVersions) {
    CoreOptions options;
    options.devices_out_of_process = GetParam().second;
    Core core(options);
    core.add_extension(LOOM_TEMPLATE_V1);
    auto compiled =
        core.compile_model(read(core, (onnx_chain({act(), act()}, k_dims))), GetParam().first);
    const auto x = ramp(32, -2.0f, 2.0f);
    const auto v1 = two_activations(x, 1, 1), v2 = two_activations(x, 2, 2);
    ASSERT_FALSE(close_to(std::vector<float>(v1.begin(), v1.end()), v2));

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> done{0}, saw_v1{0}, saw_v2{0}, mixed{0}, failed{0};
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    std::vector<std::thread> clients;
    for (int t = 0; t < 3; ++t)
        clients.emplace_back([&] {
            auto request = compiled.create_infer_request();
            auto in = x;
            request.set_input_tensor(Tensor(ElementType::F32, {4, 8}, in.data()));
            while (!stop.load()) {
                try {
                    request.infer();
                    auto y = request.get_output_tensor();
                    std::vector<float> got(y.data<float>(), y.data<float>() + y.size());
                    (close_to(got, v1) ? saw_v1 : close_to(got, v2) ? saw_v2 : mixed)++;
                } catch (const Error& e) {
                    failed++;
                    std::lock_guard lock(errors_mutex);
                    errors.push_back(e.what());
                }
                done++;
            }
        });
    // Each swap happens while the clients are inferring: wait for progress, not for time.
    auto progress = [&](std::uint64_t n) {
        const auto target = done.load() + n;
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (done.load() < target && std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
        return done.load() >= target;
    };
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(progress(6)) << "the clients stopped making progress";
        auto info =
            core.swap_extension("template", i % 2 == 0 ? LOOM_TEMPLATE_V2 : LOOM_TEMPLATE_V1);
        EXPECT_EQ(info.version, i % 2 == 0 ? "2.0.0" : "1.0.0");
    }
    ASSERT_TRUE(progress(6));
    stop = true;
    for (auto& c : clients)
        c.join();
    EXPECT_EQ(failed.load(), 0u) << (errors.empty() ? "" : errors.front());
    EXPECT_EQ(mixed.load(), 0u);
    EXPECT_GT(saw_v1.load(), 0u);
    EXPECT_GT(saw_v2.load(), 0u);
    EXPECT_TRUE(close_to(run(compiled, x), v1)); // ten swaps end on version 1
    // After the last drain nothing uses version 2: its copies are unmapped everywhere.
    EXPECT_TRUE(mapped_copies("libloom_template_extension_v2").empty());
    if (GetParam().second) {
        auto children = child_pids();
        EXPECT_FALSE(children.empty());
        bool device_has_v1 = false;
        for (int pid : children) {
            EXPECT_TRUE(mapped_copies("libloom_template_extension_v2", pid).empty()) << pid;
            device_has_v1 |= !mapped_copies("libloom_template_extension", pid).empty();
        }
        EXPECT_TRUE(device_has_v1) << "the device process never loaded the extension";
    }
}

INSTANTIATE_TEST_SUITE_P(Device, SwapUnderLoad,
                         ::testing::Values(std::pair{"REFERENCE", false},
                                           std::pair{"REFERENCE", true}, std::pair{"CPU", false},
                                           std::pair{"CPU", true}),
                         [](const auto& p) {
                             return std::string(p.param.first) +
                                    (p.param.second ? "_OutOfProcess" : "_InProcess");
                         });

// ---- broken swaps ------------------------------------------------------------------------

struct Broken {
    const char* name;
    const char* path;
    ErrorKind kind;
    const char* says;
};

TEST(BrokenSwap, KeepsTheOldVersionServingAndSaysWhy) {
    const Broken cases[] = {
        {"missing entry", LOOM_EXT_TEST_NO_ENTRY, ErrorKind::NOT_FOUND, "loom_create_extensions"},
        {"ABI mismatch", LOOM_EXT_TEST_ABI, ErrorKind::UNSUPPORTED, "ABI"},
        {"throws during init", LOOM_EXT_TEST_THROWS, ErrorKind::INVALID_ARGUMENT,
         "init failed on purpose"},
        {"bad shape function", LOOM_EXT_TEST_BAD_SHAPE, ErrorKind::INVALID_ARGUMENT,
         "would change"},
        {"other ops", LOOM_EXT_TEST_GOOD, ErrorKind::INVALID_ARGUMENT, "schemas differ"},
        {"STB_GNU_UNIQUE", LOOM_EXT_TEST_UNIQUE, ErrorKind::INVALID_ARGUMENT, "gnu-unique"},
        {"no such file", "/nonexistent/libnothing.so", ErrorKind::NOT_FOUND, "libnothing"},
    };
    Core core;
    core.add_extension(LOOM_TEMPLATE_V1);
    auto compiled =
        core.compile_model(read(core, (onnx_chain({act(), act()}, k_dims))), "REFERENCE");
    const auto x = ramp(32, -2.0f, 2.0f);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::string message;
        EXPECT_EQ(error_of([&] { core.swap_extension("template", c.path); }, &message), c.kind)
            << message;
        EXPECT_NE(message.find(c.says), std::string::npos) << message;
        EXPECT_TRUE(close_to(run(compiled, x), two_activations(x, 1, 1)));
        ASSERT_EQ(core.extensions().size(), 1u);
        EXPECT_EQ(core.extensions()[0].version, "1.0.0");
    }
    // The refused candidate (it loaded fine, the compiled model refused it) is not kept.
    EXPECT_TRUE(mapped_copies("libloom_ext_test_bad_shape").empty());
}

// ---- unload ------------------------------------------------------------------------------

TEST(Unload, IsDeferredUntilTheLastCompiledModelUsingItIsReleased) {
    Core core;
    core.add_extension(LOOM_TEMPLATE_V1);
    const auto text = onnx_chain({act()}, k_dims);
    const auto x = ramp(32, -1.0f, 1.0f);
    std::vector<double> want;
    for (float v : x)
        want.push_back(activation(v, k_alpha, k_beta, 1));
    {
        auto compiled = core.compile_model(read(core, (text)), "REFERENCE");
        core.remove_extension("template");
        EXPECT_TRUE(core.extensions().empty());
        EXPECT_EQ(error_of([&] { read(core, (text)); }), ErrorKind::NOT_FOUND);
        EXPECT_TRUE(close_to(run(compiled, x), want)); // still runs the unloaded version
        EXPECT_FALSE(mapped_copies("libloom_template_extension").empty());
    }
    EXPECT_TRUE(mapped_copies("libloom_template_extension").empty());
    core.add_extension(LOOM_TEMPLATE_V1); // and it can come back
    auto compiled = core.compile_model(read(core, (text)), "REFERENCE");
    EXPECT_TRUE(close_to(run(compiled, x), want));
}

TEST(Load, ErrorsAreTypedAndNameTheProblem) {
    Core core;
    std::string message;
    EXPECT_EQ(error_of([&] { core.add_extension(LOOM_EXT_TEST_UNIQUE); }, &message),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("UNIQUE"), std::string::npos) << message;
    core.add_extension(LOOM_TEMPLATE_V1);
    EXPECT_EQ(error_of([&] { core.add_extension(LOOM_TEMPLATE_V2); }, &message),
              ErrorKind::INVALID_ARGUMENT); // same name: swap it instead
    EXPECT_NE(message.find("swap"), std::string::npos) << message;
    EXPECT_EQ(error_of([&] { core.swap_extension("nothing", LOOM_TEMPLATE_V2); }),
              ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_of([&] { core.remove_extension("nothing"); }), ErrorKind::NOT_FOUND);
}

// ---- an extension in a process of its own -----------------------------------------------------

// `loom serve --extension LIB -b ENDPOINT`, serving once it says so (its first line).
std::unique_ptr<ChildProcess> serve_extension(const std::string& library,
                                              const std::string& endpoint) {
    auto host = std::make_unique<ChildProcess>(
        std::vector<std::string>{LOOM_EXECUTABLE, "serve", "--extension", library, "-b", endpoint},
        false);
    auto line =
        host->read_until([](const std::string& t) { return t.find('\n') != std::string::npos; },
                         std::chrono::seconds(30));
    EXPECT_NE(line.find("serving extension"), std::string::npos) << line;
    return host;
}

TEST(OutOfProcessExtension, ACrashFailsThatRequestOnlyAndARestartServesAgain) {
    auto dir = fs::temp_directory_path() / fmt::format("loom-ext-host-{}", ::getpid());
    fs::create_directories(dir);
    const auto endpoint = "ipc://" + (dir / "crashing.sock").string();
    auto host = serve_extension(LOOM_EXT_TEST_CRASHING, endpoint);
    Core core;
    auto info = core.add_extension(endpoint);
    EXPECT_EQ(info.name, "crashing");
    auto fragile = core.compile_model(
        read(core, (onnx_chain({{"Fragile", "loom.test", {}}}, k_dims))), "REFERENCE");
    auto other =
        core.compile_model(read(core, (onnx_chain({{"Relu", "", {}}}, k_dims))), "REFERENCE");
    const auto positive = ramp(32, 0.0f, 3.0f);
    std::vector<double> plus_one;
    for (float v : positive)
        plus_one.push_back(v + 1.0);
    EXPECT_TRUE(close_to(run(fragile, positive), plus_one));

    // A negative input makes the extension abort inside its kernel.
    EXPECT_EQ(error_of([&] { run(fragile, ramp(32, -1.0f, 1.0f)); }), ErrorKind::DISCONNECTED);
    EXPECT_TRUE(WIFSIGNALED(host->wait()));
    // Nothing else is affected: other models run, the Core answers.
    const auto mixed = ramp(32, -1.0f, 1.0f);
    std::vector<double> relu;
    for (float v : mixed)
        relu.push_back(v > 0 ? v : 0.0);
    EXPECT_TRUE(close_to(run(other, mixed), relu));
    EXPECT_EQ(core.extensions().size(), 1u);

    host = serve_extension(LOOM_EXT_TEST_CRASHING, endpoint); // restarted
    EXPECT_TRUE(close_to(run(fragile, positive), plus_one));
    host.reset();
    fs::remove_all(dir);
}

} // namespace
} // namespace loom::test
