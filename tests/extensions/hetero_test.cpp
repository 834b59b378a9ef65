// HETERO across processes (issue 14, DESIGN.md §6): a model whose custom op's extension is
// loaded in one device host only runs that op there and the rest on the other host — the split
// by query_model in priority order, three stages crossing two processes — with the outputs of
// one device that has everything.

#include <signal.h>

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <loom/core.hpp>

#include "bus/channel.hpp"
#include "bus/context.hpp"
#include "schemas/extensions.capnp.h"
#include "tests/extensions/ext_models.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/expect.hpp"

namespace loom::test {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<ChildProcess> serve_device(const std::string& endpoint, const std::string& name) {
    auto p = std::make_unique<ChildProcess>(std::vector<std::string>{
        LOOM_EXECUTABLE, "serve", "--device", "REFERENCE", "--name", name, "-b", endpoint});
    p->read_until([](const std::string& out) { return out.find("serving") != std::string::npos; });
    EXPECT_NE(p->output().find("serving"), std::string::npos) << p->output();
    return p;
}

TEST(Hetero, RunsACustomOpOnTheOnlyHostWithItsExtensionAndTheRestOnTheOther) {
    const auto dir = fs::temp_directory_path() / ("loom-hetero-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto plain = "ipc://" + (dir / "plain").string();
    const auto with_ext = "ipc://" + (dir / "ext").string();
    auto host_plain = serve_device(plain, "plain");
    auto host_ext = serve_device(with_ext, "ext");
    { // The extension goes into the second host only (its own loader, this process only).
        bus::Context context;
        bus::Channel loader(context, with_ext, "extensions");
        bus::OutMessage request;
        request.init_payload<schema::ExtensionLoadRequest>().setSource(LOOM_TEMPLATE_V1);
        loader.call(schema::ExtensionMethod::LOAD, std::move(request));
    }
    // This process reads the model (so it loads the extension too) and has the oracle.
    Core core;
    core.add_extension(LOOM_TEMPLATE_V1);
    const auto xml = hetero_chain();
    auto model = core.read_model(std::as_bytes(std::span(xml.data(), xml.size())), {});
    const auto a = "REFERENCE@" + plain, b = "REFERENCE@" + with_ext;
    const auto hetero = "HETERO:" + a + "," + b;

    // The host without the extension cannot run the model alone; HETERO says where each node
    // goes.
    std::string message;
    EXPECT_EQ(error_kind_of([&] { core.compile_model(model, "HETERO:" + a); }, &message),
              ErrorKind::UNSUPPORTED);
    EXPECT_NE(message.find("n1"), std::string::npos) << message;
    auto affinity = core.query_model(model, hetero);
    EXPECT_EQ(affinity["n0"], a);
    EXPECT_EQ(affinity["n1"], b);
    EXPECT_EQ(affinity["n2"], a);

    auto compiled = core.compile_model(model, hetero);
    EXPECT_EQ(compiled.device(), hetero);
    EXPECT_EQ(compiled.get_property("LOOM_HETERO_STAGES"), a + " 3\n" + b + " 3\n" + a + " 3\n")
        << "three stages, each a parameter, its node and a result";
    auto runtime = compiled.runtime_model();
    int annotated = 0;
    for (const auto* n : runtime.impl()->nodes())
        for (const auto& rt : n->rt_info.children)
            for (const auto& [key, value] : rt.attributes)
                if (key == "affinity") {
                    EXPECT_EQ(value, affinity.at(n->name)) << n->name;
                    ++annotated;
                }
    EXPECT_EQ(annotated, 3);

    const auto x = hetero_chain_input();
    auto request = compiled.create_infer_request();
    request.set_input_tensor(x);
    request.infer();
    const auto y = request.get_output_tensor(0), expected = reference_output(core, model, x);
    ASSERT_EQ(y.shape(), expected.shape());
    for (int i = 0; i < 16; ++i)
        EXPECT_EQ(static_cast<const float*>(y.data())[i],
                  static_cast<const float*>(expected.data())[i])
            << i;
    // Asynchronously too, and again (each stage's request is reused).
    request.start_async();
    request.wait();
    EXPECT_EQ(std::memcmp(request.get_output_tensor(0).data(), expected.data(), 16 * 4), 0);
    host_plain.reset();
    host_ext.reset();
    fs::remove_all(dir);
}

} // namespace
} // namespace loom::test
