// Device contract tests (DESIGN.md §6), written once and instantiated per device and placement:
// every device must pass them in process and hosted in another process.

#include <atomic>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"
#include "schemas/error.hpp"
#include <loom/core.hpp>

namespace loom {
namespace {

struct DeviceParam {
    std::string device;
    bool out_of_process;
};

std::string param_name(const testing::TestParamInfo<DeviceParam>& info) {
    return info.param.device + (info.param.out_of_process ? "_child_process" : "_in_process");
}

// y = x·x + 1 (f32[?,3]); s = ShapeOf(x) (i64[2]); z = Convert(x, i32) with an unbiased
// fraction, so a wrong kernel or a stale buffer shows.
std::shared_ptr<model::Model> make_model() {
    auto m = std::make_shared<model::Model>();
    auto& x = m->add_parameter(ElementType::F32, PartialShape{model::Dimension(), 3}, "x");
    x.outputs[0].names = {"x"};
    auto& sq = m->add("Multiply", "opset1", {x.output(0), x.output(0)});
    auto one = model::Tensor::allocate(ElementType::F32, {1});
    reinterpret_cast<float*>(one.mutable_data())[0] = 1.f;
    auto& c = m->add_constant(one, "one");
    auto& y = m->add("Add", "opset1", {sq.output(0), c.output(0)}, {}, 1, "y");
    y.outputs[0].names = {"y"};
    auto& s = m->add("ShapeOf", "opset3", {x.output(0)}, {}, 1, "s");
    s.outputs[0].names = {"s"};
    model::Attributes a;
    a.set("destination_type", ElementType::I32);
    auto& z = m->add("Convert", "opset1", {x.output(0)}, a, 1, "z");
    z.outputs[0].names = {"z"};
    m->add_result(y.output(0), "y");
    m->add_result(s.output(0), "s");
    m->add_result(z.output(0), "z");
    model::infer_and_validate(*m, *model::make_native_registry());
    return m;
}

std::vector<float> input_values(int rows, float base) {
    std::vector<float> v;
    for (int i = 0; i < rows * 3; ++i)
        v.push_back(base + 0.5f * static_cast<float>(i));
    return v;
}

// Checks the request's outputs against values computed here from the inputs.
void expect_outputs(InferRequest& r, const std::vector<float>& in) {
    auto y = r.get_tensor("y");
    ASSERT_EQ(y.element_type(), ElementType::F32);
    ASSERT_EQ(y.size(), static_cast<std::int64_t>(in.size()));
    for (std::size_t i = 0; i < in.size(); ++i)
        EXPECT_FLOAT_EQ(y.data<float>()[i], in[i] * in[i] + 1.f) << i;
    auto s = r.get_tensor("s");
    ASSERT_EQ(s.size(), 2);
    EXPECT_EQ(s.data<std::int64_t>()[0], static_cast<std::int64_t>(in.size() / 3));
    EXPECT_EQ(s.data<std::int64_t>()[1], 3);
    auto z = r.get_tensor("z");
    for (std::size_t i = 0; i < in.size(); ++i)
        EXPECT_EQ(z.data<std::int32_t>()[i], static_cast<std::int32_t>(in[i])) << i;
}

class DeviceContract : public testing::TestWithParam<DeviceParam> {
protected:
    void SetUp() override {
        CoreOptions o;
        o.devices_out_of_process = GetParam().out_of_process;
        m_core = std::make_unique<Core>(o);
        m_compiled = m_core->compile_model(Model(make_model()), GetParam().device);
    }
    std::unique_ptr<Core> m_core;
    CompiledModel m_compiled;
};

TEST_P(DeviceContract, RequestIsReusableAcrossShapesAndValues) {
    auto r = m_compiled.create_infer_request();
    for (int rows : {2, 5, 1}) {
        auto in = input_values(rows, static_cast<float>(rows));
        r.set_tensor("x", Tensor(ElementType::F32, {rows, 3}, in.data()));
        r.infer();
        expect_outputs(r, in);
    }
}

TEST_P(DeviceContract, ThreadsWithTheirOwnRequestsGetIdenticalResults) {
    constexpr int k_threads = 4, k_runs = 10;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t)
        threads.emplace_back([&, t] {
            auto r = m_compiled.create_infer_request();
            for (int i = 0; i < k_runs; ++i) {
                auto in = input_values(3, static_cast<float>(t * 100 + i));
                r.set_tensor("x", Tensor(ElementType::F32, {3, 3}, in.data()));
                r.infer();
                auto y = r.get_tensor("y");
                for (std::size_t k = 0; k < in.size(); ++k)
                    if (y.data<float>()[k] != in[k] * in[k] + 1.f) ++failures;
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
}

TEST_P(DeviceContract, CallbackFiresExactlyOncePerStartAsync) {
    auto r = m_compiled.create_infer_request();
    auto in = input_values(2, 1.f);
    r.set_tensor("x", Tensor(ElementType::F32, {2, 3}, in.data()));
    std::atomic<int> calls{0};
    std::atomic<bool> had_error{false};
    r.set_callback([&](std::exception_ptr e) {
        ++calls;
        had_error = e != nullptr;
    });
    r.start_async();
    r.wait();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_FALSE(had_error.load());
    expect_outputs(r, in);
    r.start_async();
    EXPECT_TRUE(r.wait_for(std::chrono::minutes(1)));
    EXPECT_EQ(calls.load(), 2);
}

TEST_P(DeviceContract, SeveralRequestsInFlight) {
    std::vector<InferRequest> requests;
    std::vector<std::vector<float>> inputs;
    for (int i = 0; i < 4; ++i) {
        requests.push_back(m_compiled.create_infer_request());
        inputs.push_back(input_values(4, static_cast<float>(i)));
        requests.back().set_tensor("x", Tensor(ElementType::F32, {4, 3}, inputs.back().data()));
    }
    for (auto& r : requests)
        r.start_async();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        requests[i].wait();
        expect_outputs(requests[i], inputs[i]);
    }
}

TEST_P(DeviceContract, CancelOfAnIdleRequestIsHarmless) {
    auto r = m_compiled.create_infer_request();
    r.cancel();
    auto in = input_values(1, 2.f);
    r.set_tensor("x", Tensor(ElementType::F32, {1, 3}, in.data()));
    r.infer();
    expect_outputs(r, in);
}

// An unbounded Loop (trip count -1, condition always true) whose body adds 1 to a carried
// value: it never ends by itself, so only cancel() can finish the inference.
std::shared_ptr<model::Model> make_endless_model() {
    auto scalar = [](model::Model& m, ElementType t, double v,
                     const std::string& name) -> model::Node& {
        auto c = model::Tensor::allocate(t, {});
        if (t == ElementType::BOOLEAN)
            *reinterpret_cast<std::uint8_t*>(c.mutable_data()) = v != 0 ? 1 : 0;
        else if (t == ElementType::I64)
            *reinterpret_cast<std::int64_t*>(c.mutable_data()) = static_cast<std::int64_t>(v);
        else
            *reinterpret_cast<float*>(c.mutable_data()) = static_cast<float>(v);
        return m.add_constant(c, name);
    };
    auto body = std::make_shared<model::Model>();
    auto& bx = body->add_parameter(ElementType::F32, PartialShape{1}, "bx");
    auto& inc = body->add("Add", "opset1",
                          {bx.output(0), scalar(*body, ElementType::F32, 1, "one").output(0)});
    body->add_result(inc.output(0), "next");
    body->add_result(scalar(*body, ElementType::BOOLEAN, 1, "go").output(0), "cond");

    auto m = std::make_shared<model::Model>();
    auto& x = m->add_parameter(ElementType::F32, PartialShape{1}, "x");
    x.outputs[0].names = {"x"};
    auto& trip = scalar(*m, ElementType::I64, -1, "trip");
    auto& cond = scalar(*m, ElementType::BOOLEAN, 1, "cond");
    auto& loop =
        m->add("Loop", "opset5", {trip.output(0), cond.output(0), x.output(0)}, {}, 1, "endless");
    model::Body b;
    b.name = "body";
    b.model = body;
    b.inputs.push_back({.external_port = 2, .body_index = 0});
    b.outputs.push_back({.external_port = 0, .body_index = 0});
    b.outputs.push_back({.body_index = 1, .purpose = "execution_condition"});
    b.back_edges.push_back({.from_result = 0, .to_parameter = 0});
    loop.bodies.push_back(std::move(b));
    loop.outputs[0].names = {"y"};
    m->add_result(loop.output(0), "y");
    model::infer_and_validate(*m, *model::make_native_registry());
    return m;
}

TEST_P(DeviceContract, CancelEndsARunningInferenceWithCancelled) {
    auto compiled = m_core->compile_model(Model(make_endless_model()), GetParam().device);
    auto r = compiled.create_infer_request();
    float x = 0.f;
    r.set_tensor("x", Tensor(ElementType::F32, {1}, &x));
    std::atomic<int> calls{0};
    std::exception_ptr seen;
    r.set_callback([&](std::exception_ptr e) {
        seen = e;
        ++calls;
    });
    r.start_async();
    r.cancel(); // pending or running: either way the inference ends with `cancelled`
    try {
        // wait_for rethrows the inference's error once it ended.
        if (r.wait_for(std::chrono::minutes(2)))
            ADD_FAILURE() << "an endless inference finished without error";
        else
            FAIL() << "cancel() did not stop the endless Loop within 2 minutes";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::CANCELLED) << e.what();
    }
    EXPECT_EQ(calls.load(), 1);
    EXPECT_TRUE(seen != nullptr);
    // The request stays usable: a normal model's request on the same device still works.
    auto ok = m_compiled.create_infer_request();
    auto in = input_values(1, 5.f);
    ok.set_tensor("x", Tensor(ElementType::F32, {1, 3}, in.data()));
    ok.infer();
    expect_outputs(ok, in);
}

// A synchronous infer() on another thread is reached by cancel() too. cancel() has no effect
// while the request is idle, so it is repeated until the inference (which never ends by itself)
// has started and taken it.
TEST_P(DeviceContract, CancelEndsARunningSynchronousInference) {
    // What the runner uses is owned with it: if cancel() fails, the runner is left running
    // (detached) and must not outlive what it uses, so the fixture's core moves in here too.
    struct Running {
        std::unique_ptr<Core> core;
        CompiledModel compiled;
        InferRequest request;
        float x = 0.f;
        std::promise<ErrorKind> outcome;
    };
    auto running = std::make_shared<Running>();
    m_compiled = CompiledModel(); // made by the core moved below; not used by this test
    running->core = std::move(m_core);
    running->compiled =
        running->core->compile_model(Model(make_endless_model()), GetParam().device);
    running->request = running->compiled.create_infer_request();
    running->request.set_tensor("x", Tensor(ElementType::F32, {1}, &running->x));
    auto done = running->outcome.get_future();
    std::thread runner([running] {
        try {
            running->request.infer();
            running->outcome.set_value(ErrorKind::INTERNAL); // an endless inference cannot finish
        } catch (const Error& e) {
            running->outcome.set_value(e.kind());
        }
    });
    auto& r = running->request;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (done.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready &&
           std::chrono::steady_clock::now() < give_up)
        r.cancel();
    const bool ended = done.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    if (!ended) {
        runner.detach(); // cannot be joined (it owns what it uses): report, do not hang
        FAIL() << "cancel() did not stop a synchronous endless inference within 2 minutes";
    }
    runner.join();
    EXPECT_EQ(done.get(), ErrorKind::CANCELLED);
}

void expect_error(const std::function<void()>& f, ErrorKind kind, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(e.message().find(needle), std::string::npos) << e.message();
    }
}

TEST_P(DeviceContract, WrongInputNameShapeOrTypeIsATypedErrorNamingTheInput) {
    auto r = m_compiled.create_infer_request();
    expect_error(
        [&] {
            r.set_tensor("nope", Tensor(ElementType::F32, {1, 3}));
        },
        ErrorKind::NOT_FOUND, "nope");
    expect_error(
        [&] {
            r.set_tensor("x", Tensor(ElementType::F32, {1, 4}));
        },
        ErrorKind::INVALID_ARGUMENT, "'x'");
    expect_error(
        [&] {
            r.set_tensor("x", Tensor(ElementType::I64, {1, 3}));
        },
        ErrorKind::INVALID_ARGUMENT, "'x'");
    expect_error([&] { r.infer(); }, ErrorKind::INVALID_ARGUMENT, "'x'"); // nothing bound
}

TEST_P(DeviceContract, ObjectsOutliveTheCore) {
    auto r = m_compiled.create_infer_request();
    auto compiled = m_compiled;
    m_compiled = CompiledModel();
    m_core.reset();
    auto in = input_values(2, 3.f);
    r.set_tensor("x", Tensor(ElementType::F32, {2, 3}, in.data()));
    r.infer();
    expect_outputs(r, in);
    auto r2 = compiled.create_infer_request();
    r2.set_tensor("x", Tensor(ElementType::F32, {2, 3}, in.data()));
    r2.infer();
    expect_outputs(r2, in);
}

TEST_P(DeviceContract, ExportThenImportGivesIdenticalOutputs) {
    std::stringstream blob;
    m_compiled.export_model(blob);
    auto imported = m_core->import_model(blob, GetParam().device);
    auto in = input_values(3, -2.f);
    auto a = m_compiled.create_infer_request();
    auto b = imported.create_infer_request();
    for (auto* r : {&a, &b}) {
        r->set_tensor("x", Tensor(ElementType::F32, {3, 3}, in.data()));
        r->infer();
    }
    for (const char* name : {"y", "s", "z"}) {
        auto ta = a.get_tensor(name), tb = b.get_tensor(name);
        ASSERT_EQ(ta.shape(), tb.shape()) << name;
        EXPECT_EQ(std::memcmp(ta.data(), tb.data(), ta.byte_size()), 0) << name;
    }
    std::stringstream garbage("not a model");
    expect_error([&] { m_core->import_model(garbage, GetParam().device); },
                 ErrorKind::INVALID_ARGUMENT, "not a model exported");
}

TEST_P(DeviceContract, PreallocatedOutputsReceiveTheResults) {
    auto r = m_compiled.create_infer_request();
    auto in = input_values(2, 1.f);
    std::vector<float> out(6, -1.f);
    r.set_tensor("x", Tensor(ElementType::F32, {2, 3}, in.data()));
    r.set_tensor("y", Tensor(ElementType::F32, {2, 3}, out.data()));
    r.infer();
    for (std::size_t i = 0; i < in.size(); ++i)
        EXPECT_FLOAT_EQ(out[i], in[i] * in[i] + 1.f);
    EXPECT_EQ(r.get_tensor("y").data(), out.data());
}

TEST_P(DeviceContract, ProfilingReportsExecutedNodes) {
    auto compiled = m_core->compile_model(Model(make_model()), GetParam().device,
                                          Properties().set(props::enable_profiling, true));
    auto r = compiled.create_infer_request();
    auto in = input_values(1, 1.f);
    r.set_tensor("x", Tensor(ElementType::F32, {1, 3}, in.data()));
    r.infer();
    auto info = r.get_profiling_info();
    int executed = 0;
    for (const auto& p : info)
        executed += p.status == ProfilingInfo::Status::EXECUTED ? 1 : 0;
    EXPECT_GE(executed, 3); // Multiply, Add (or a fused form), ShapeOf, Convert
    expect_error([&] { m_compiled.create_infer_request().get_profiling_info(); },
                 ErrorKind::INVALID_ARGUMENT, "PERF_COUNT");
}

TEST_P(DeviceContract, CacheDirExportsOnFirstCompileAndImportsNextTime) {
    auto dir = std::filesystem::temp_directory_path() /
               ("loom-cache-" + std::to_string(::getpid()) + "-" + param_name({GetParam(), 0}));
    std::filesystem::remove_all(dir);
    Properties p;
    p.set(props::cache_dir, dir.string());
    auto first = m_core->compile_model(Model(make_model()), GetParam().device, p);
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    const auto written = std::filesystem::last_write_time(files[0]);
    auto second = m_core->compile_model(Model(make_model()), GetParam().device, p);
    EXPECT_EQ(std::filesystem::last_write_time(files[0]), written); // imported, not rewritten
    auto in = input_values(2, 0.25f);
    auto r = second.create_infer_request();
    r.set_tensor("x", Tensor(ElementType::F32, {2, 3}, in.data()));
    r.infer();
    expect_outputs(r, in);
    // Another property value is another key.
    p.set(props::enable_profiling, true);
    m_core->compile_model(Model(make_model()), GetParam().device, p);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                            std::filesystem::directory_iterator{}),
              2);
    std::filesystem::remove_all(dir);
}

TEST_P(DeviceContract, DevicePropertiesAreTyped) {
    EXPECT_FALSE(m_core->get_property(GetParam().device, props::device_full_name).empty());
    auto supported = m_core->get_property(GetParam().device, props::supported_properties);
    EXPECT_NE(std::find(supported.begin(), supported.end(), "PERF_COUNT"), supported.end());
    expect_error(
        [&] {
            m_core->set_property(GetParam().device,
                                 Properties().set_text("PERF_COUNT", "sometimes"));
        },
        ErrorKind::INVALID_ARGUMENT, "PERF_COUNT");
    expect_error([&] { m_core->get_property(GetParam().device, "NO_SUCH_PROPERTY"); },
                 ErrorKind::NOT_FOUND, "NO_SUCH_PROPERTY");
}

TEST_P(DeviceContract, QueryModelListsEveryNode) {
    auto m = make_model();
    auto supported = m_core->query_model(Model(m), GetParam().device);
    for (const auto* n : m->nodes())
        EXPECT_TRUE(supported.contains(n->name)) << n->name;
}

// Out-of-process hosting must give the same bytes as in-process.
TEST(DeviceHosting, ChildProcessDeviceGivesIdenticalOutputs) {
    Core local;
    CoreOptions o;
    o.devices_out_of_process = true;
    Core remote(o);
    auto in = input_values(4, -1.25f);
    std::vector<InferRequest> requests;
    for (auto* core : {&local, &remote}) {
        auto r = core->compile_model(Model(make_model()), "REFERENCE").create_infer_request();
        r.set_tensor("x", Tensor(ElementType::F32, {4, 3}, in.data()));
        r.infer();
        requests.push_back(r);
    }
    for (const char* name : {"y", "s", "z"}) {
        auto a = requests[0].get_tensor(name), b = requests[1].get_tensor(name);
        ASSERT_EQ(a.shape(), b.shape());
        EXPECT_EQ(std::memcmp(a.data(), b.data(), a.byte_size()), 0) << name;
    }
}

TEST(DeviceHosting, UnknownDeviceIsNotFoundListingTheAvailableOnes) {
    Core core;
    expect_error([&] { core.compile_model(Model(make_model()), "NOPE"); }, ErrorKind::NOT_FOUND,
                 "REFERENCE");
}

TEST(CoreApi, AvailableDevicesReadModelAndReshape) {
    Core core;
    auto devices = core.available_devices();
    EXPECT_NE(std::find(devices.begin(), devices.end(), "REFERENCE"), devices.end());
    // read_model through the reader component: Debian's ONNX test data (installed by setup.sh).
    const std::filesystem::path onnx = "/usr/share/libonnx-testdata/data/node/test_abs/model.onnx";
    if (std::filesystem::exists(onnx)) {
        auto read = core.read_model(onnx.string());
        ASSERT_EQ(read.inputs().size(), 1u);
        EXPECT_EQ(read.inputs()[0].shape, (PartialShape{3, 4, 5}));
    }
    Model m(make_model()); // x: f32[?,3]
    EXPECT_TRUE(m.is_dynamic());
    m.reshape({{"x", PartialShape{4, 3}}});
    EXPECT_FALSE(m.is_dynamic());
    EXPECT_EQ(m.input("x").shape, (PartialShape{4, 3}));
    EXPECT_EQ(m.output("s").shape, (PartialShape{2}));
    // Every shape is re-inferred: this model takes any rank, and ShapeOf follows it.
    m.reshape(PartialShape{4, 3, 1});
    EXPECT_EQ(m.output("s").shape, (PartialShape{3}));
    m.reshape({{"x", PartialShape{4, 3}}});
    expect_error([&] { m.reshape({{"nope", PartialShape{1, 3}}}); }, ErrorKind::NOT_FOUND, "nope");
    // The reshaped model compiles with the static shape: another batch is refused, naming x.
    auto r = core.compile_model(m, "REFERENCE").create_infer_request();
    auto in = input_values(4, 1.f);
    r.set_tensor("x", Tensor(ElementType::F32, {4, 3}, in.data()));
    r.infer();
    expect_outputs(r, in);
    expect_error(
        [&] {
            r.set_tensor("x", Tensor(ElementType::F32, {2, 3}));
        },
        ErrorKind::INVALID_ARGUMENT, "'x'");
}

// A shape the graph cannot take is refused, and the model keeps its shapes.
TEST(CoreApi, ReshapeThatDoesNotFitIsRefusedAndChangesNothing) {
    auto g = std::make_shared<model::Model>();
    auto& x = g->add_parameter(ElementType::F32, PartialShape{model::Dimension(), 3}, "x");
    x.outputs[0].names = {"x"};
    auto& w = g->add_constant(model::Tensor::allocate(ElementType::F32, {3, 2}), "w");
    model::Attributes t;
    t.set("transpose_a", false);
    t.set("transpose_b", false);
    auto& y = g->add("MatMul", "opset1", {x.output(0), w.output(0)}, t, 1, "y");
    y.outputs[0].names = {"y"};
    g->add_result(y.output(0), "y");
    model::infer_and_validate(*g, *model::make_native_registry());
    Model m(g);
    expect_error(
        [&] {
            m.reshape({{"x", PartialShape{4, 5}}});
        },
        ErrorKind::INVALID_ARGUMENT, "reshape");
    EXPECT_EQ(m.input("x").shape, (PartialShape{model::Dimension(), 3}));
    m.reshape({{"x", PartialShape{4, 3}}});
    EXPECT_EQ(m.output("y").shape, (PartialShape{4, 2}));
}

TEST(CoreApi, CorePropertiesAreTypedAndChecked) {
    Core core;
    const auto dir = std::filesystem::temp_directory_path().string();
    core.set_property("", Properties().set(props::cache_dir, dir));
    EXPECT_EQ(core.get_property("", props::cache_dir), dir);
    expect_error([&] { core.get_property("", "NO_SUCH_PROPERTY"); }, ErrorKind::NOT_FOUND,
                 "NO_SUCH_PROPERTY");
    expect_error([&] { core.set_property("", Properties().set(props::enable_profiling, true)); },
                 ErrorKind::INVALID_ARGUMENT, "PERF_COUNT");
}

INSTANTIATE_TEST_SUITE_P(Devices, DeviceContract,
                         testing::Values(DeviceParam{"REFERENCE", false},
                                         DeviceParam{"REFERENCE", true}, DeviceParam{"CPU", false},
                                         DeviceParam{"CPU", true}),
                         param_name);

} // namespace
} // namespace loom
