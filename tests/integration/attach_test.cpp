// A Core attached to a running deployment (issue 14): `loom kernel` with the model components,
// a device host that dialled in as REFERENCE@nodeb (`loom serve --device REFERENCE --name
// nodeb`), and the public API used on it as on any device — over ipc, so it runs on any machine
// (tests/integration/multihost_test.cpp does the same across network namespaces over tcp).

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <loom/core.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/expect.hpp"

namespace loom::test {
namespace {

namespace fs = std::filesystem;
constexpr const char* k_relu = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class Attached : public testing::Test {
protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("loom-attach-" + std::to_string(::getpid()));
        fs::create_directories(m_dir);
        fs::permissions(m_dir, fs::perms::owner_all, fs::perm_options::replace);
        std::ofstream toml(m_dir / "deploy.toml");
        toml << "[kernel]\nendpoints = [\"ipc://{runtime}/kernel\"]\nruntime_dir = \""
             << m_dir.string() << "\"\nheartbeat_ms = 300\n";
        for (const char* c : {"extensions", "reader", "transform"})
            toml << "[[component]]\nname = \"" << c << "\"\nlibrary = \"" << LOOM_LIB_DIR
                 << "/libloom_" << c << "_component.so\"\n";
        toml.close();
        m_kernel = std::make_unique<ChildProcess>(
            std::vector<std::string>{LOOM_EXECUTABLE, "kernel", "-c", (m_dir / "deploy.toml")});
        auto out =
            m_kernel->read_until([](const std::string& o) { return contains(o, "ready\n"); });
        ASSERT_TRUE(contains(out, "ready\n")) << out;
        m_endpoint = "ipc://" + (m_dir / "kernel").string();
        m_device = std::make_unique<ChildProcess>(std::vector<std::string>{
            LOOM_EXECUTABLE, "serve", "--device", "REFERENCE", "--name", "nodeb", "-b",
            "ipc://" + (m_dir / "nodeb").string(), "--kernel", m_endpoint});
        out = m_device->read_until([](const std::string& o) { return contains(o, "instance"); });
        ASSERT_TRUE(contains(out, "serving 'device/REFERENCE@nodeb'")) << out;
    }
    void TearDown() override {
        m_device.reset();
        m_kernel.reset();
        fs::remove_all(m_dir);
    }

    CoreOptions attached() const {
        CoreOptions o;
        o.kernel = m_endpoint;
        return o;
    }

    fs::path m_dir;
    std::string m_endpoint;
    std::unique_ptr<ChildProcess> m_kernel, m_device;
};

Tensor input() {
    Tensor x(ElementType::F32, {3, 4, 5});
    for (int i = 0; i < 60; ++i)
        static_cast<float*>(x.data())[i] = static_cast<float>(i - 30) * 0.5f;
    return x;
}

void expect_relu(const Tensor& y) {
    ASSERT_EQ(y.shape(), (Shape{3, 4, 5}));
    for (int i = 0; i < 60; ++i)
        EXPECT_EQ(static_cast<const float*>(y.data())[i],
                  std::max(static_cast<float>(i - 30) * 0.5f, 0.0f))
            << i;
}

TEST_F(Attached, ARemoteDeviceIsADeviceLikeAnyOther) {
    Core core(attached());
    const auto devices = core.available_devices();
    EXPECT_NE(std::find(devices.begin(), devices.end(), "REFERENCE@nodeb"), devices.end());
    // Read here (the file travels as bytes to the deployment's reader), compiled and run there.
    auto model = core.read_model(k_relu);
    Properties profiling;
    profiling.set(props::enable_profiling, true);
    auto compiled = core.compile_model(model, "REFERENCE@nodeb", profiling);
    EXPECT_EQ(compiled.device(), "REFERENCE@nodeb");
    EXPECT_EQ(core.get_property("REFERENCE@nodeb", props::device_full_name).empty(), false);
    auto request = compiled.create_infer_request();
    request.set_input_tensor(input());
    request.infer();
    expect_relu(request.get_output_tensor(0));
    EXPECT_FALSE(request.get_profiling_info().empty());
    request.set_input_tensor(input());
    request.start_async();
    request.wait();
    expect_relu(request.get_output_tensor(0));
    // Exported there, imported there again.
    std::stringstream blob;
    compiled.export_model(blob);
    auto imported = core.import_model(blob, "REFERENCE@nodeb");
    auto again = imported.create_infer_request();
    again.set_input_tensor(input());
    again.infer();
    expect_relu(again.get_output_tensor(0));
    auto affinity = core.query_model(model, "REFERENCE@nodeb");
    EXPECT_FALSE(affinity.empty());
}

TEST_F(Attached, UnknownDevicesAndKernelsAreTypedErrors) {
    Core core(attached());
    std::string message;
    EXPECT_EQ(error_kind_of([&] { core.compile_model(k_relu, "REFERENCE@nodex"); }, &message),
              ErrorKind::NOT_FOUND);
    EXPECT_TRUE(contains(message, "REFERENCE@nodeb")) << "it lists what there is: " << message;
    CoreOptions nowhere;
    nowhere.kernel = "ipc://" + (m_dir / "no-kernel").string();
    EXPECT_EQ(error_kind_of([&] { Core c(nowhere); }, &message), ErrorKind::UNAVAILABLE) << message;
    CoreOptions plain_tcp;
    plain_tcp.kernel = "tcp://127.0.0.1:1";
    EXPECT_EQ(error_kind_of([&] { Core c(plain_tcp); }, &message), ErrorKind::INVALID_ARGUMENT);
    EXPECT_TRUE(contains(message, "CURVE")) << message;
    // Embedded, a device on another host is named by endpoint or reached through its kernel.
    Core embedded;
    EXPECT_EQ(error_kind_of([&] { embedded.compile_model(k_relu, "REFERENCE@nodeb"); }, &message),
              ErrorKind::NOT_FOUND);
    EXPECT_TRUE(contains(message, "--kernel")) << message;
    // By endpoint, the type must be the one served there.
    const auto at = "ipc://" + (m_dir / "nodeb").string();
    EXPECT_EQ(error_kind_of([&] { embedded.compile_model(k_relu, "CPU@" + at); }, &message),
              ErrorKind::NOT_FOUND);
    EXPECT_TRUE(contains(message, "device/REFERENCE@nodeb")) << message;
    auto by_endpoint = embedded.compile_model(k_relu, "REFERENCE@" + at).create_infer_request();
    by_endpoint.set_input_tensor(input());
    by_endpoint.infer();
    expect_relu(by_endpoint.get_output_tensor(0));
}

TEST_F(Attached, InfoListsTheDeploymentsDevicesWithStateAndLoad) {
    auto info = run_process({LOOM_EXECUTABLE, "info", "--kernel", m_endpoint, "--json",
                             (m_dir / "info.json").string()});
    ASSERT_EQ(info.exit_code, 0) << info.output;
    EXPECT_TRUE(contains(info.output, "REFERENCE@nodeb")) << info.output;
    std::ifstream json(m_dir / "info.json");
    std::stringstream text;
    text << json.rdbuf();
    EXPECT_TRUE(contains(text.str(), "\"in_flight\"")) << text.str();
    EXPECT_TRUE(contains(text.str(), "\"state\": \"ready\"")) << text.str();
    auto run = run_process({LOOM_EXECUTABLE, "run", "--kernel", m_endpoint, "-d", "REFERENCE@nodeb",
                            "-m", k_relu, "-i",
                            "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/"
                            "input_0.pb",
                            "-o", (m_dir / "out").string()});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_TRUE(fs::exists(m_dir / "out" / "y.npy")) << run.output;
    auto check =
        run_process({LOOM_EXECUTABLE, "check", "--kernel", m_endpoint, "-d", "REFERENCE@nodeb",
                     "/usr/share/libonnx-testdata/data/node/test_relu"});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_TRUE(contains(check.output, "1 passed, 0 failed")) << check.output;
}

// loom bench over MULTI reports each member's share: the same device host reached two ways
// (through the kernel and by endpoint) is two members.
TEST_F(Attached, BenchReportsEachMultiMembersShare) {
    const auto by_endpoint = "REFERENCE@ipc://" + (m_dir / "nodeb").string();
    const auto json_file = (m_dir / "bench.json").string();
    auto bench = run_process({LOOM_EXECUTABLE, "bench", "--kernel", m_endpoint, "-d",
                              "MULTI:REFERENCE@nodeb," + by_endpoint, "-m", k_relu, "-t", "0.3",
                              "--hint", "throughput", "--json", json_file});
    ASSERT_EQ(bench.exit_code, 0) << bench.output;
    EXPECT_TRUE(contains(bench.output, "member REFERENCE@nodeb")) << bench.output;
    std::ifstream in(json_file);
    std::stringstream text;
    text << in.rdbuf();
    const auto json = text.str();
    // {"device": …, "served": N, …} per member; their sum is every inference, the first included.
    std::regex served(R"re("served": (\d+))re"), count(R"re("count": (\d+))re");
    long sum = 0, members = 0;
    for (std::sregex_iterator it(json.begin(), json.end(), served), end; it != end; ++it, ++members)
        sum += std::stol((*it)[1]);
    std::smatch c;
    ASSERT_TRUE(std::regex_search(json, c, count)) << json;
    EXPECT_EQ(members, 2) << json;
    EXPECT_EQ(sum, std::stol(c[1]) + 1) << json;
}

} // namespace
} // namespace loom::test
