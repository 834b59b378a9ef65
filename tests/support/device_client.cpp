// loom_test_device_client ENDPOINT LEASE_MS MODELS REQUESTS WEIGHT_MIB
// A client process for the device-session fault tests: opens a session with the device service at
// ENDPOINT (lease LEASE_MS), compiles MODELS models each holding WEIGHT_MIB MiB of weights,
// creates REQUESTS infer requests on the first, runs one inference, prints "ready <session>" and
// then blocks until it is killed — so the test can kill it holding all of that.

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "bus/channel.hpp"
#include "bus/context.hpp"
#include "components/model/op_registry.hpp"
#include "components/model/serialize.hpp"
#include "components/protocol/codec.hpp"
#include "components/protocol/device_session.hpp"
#include "schemas/error.hpp"
#include "schemas/plugin.capnp.h"

namespace {

using namespace loom;
using schema::DeviceMethod;

// y = x · W with W [rows, 16] f32 of `mib` MiB, x [1, rows].
std::unique_ptr<model::Model> weighty_model(int mib) {
    const std::int64_t rows = std::max<std::int64_t>(1, std::int64_t(mib) * 1024 * 1024 / 64);
    auto owned = std::make_unique<model::Model>();
    auto& m = *owned;
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape{1, rows}, "x");
    auto w = model::Tensor::allocate(ElementType::F32, {rows, 16});
    auto* p = reinterpret_cast<float*>(w.mutable_data());
    for (std::int64_t i = 0; i < rows * 16; ++i)
        p[i] = static_cast<float>(i % 7);
    auto& c = m.add_constant(std::move(w), "w");
    model::Attributes attrs;
    attrs.set("transpose_a", false);
    attrs.set("transpose_b", false);
    auto& mm = m.add("MatMul", "opset1", {x.output(0), c.output(0)}, attrs, 1, "mm");
    m.add_result(mm.output(0), "y");
    model::infer_and_validate(m, *model::make_native_registry());
    return owned;
}

int run(int argc, char** argv) {
    if (argc != 6) {
        std::cerr << "usage: loom_test_device_client ENDPOINT LEASE_MS MODELS REQUESTS MIB\n";
        return 2;
    }
    const std::string endpoint = argv[1];
    const auto lease = std::chrono::milliseconds(std::stoi(argv[2]));
    const int models = std::stoi(argv[3]), requests = std::stoi(argv[4]), mib = std::stoi(argv[5]);
    bus::Context context;
    bus::Channel device(context, endpoint, "device/REFERENCE");
    protocol::DeviceSession session(
        [&device](std::uint16_t method, bus::OutMessage& request, bus::CallOptions options) {
            return device.call_method_keep(method, request, options);
        },
        protocol::SessionOptions{lease, std::chrono::seconds(1)});
    auto graph = weighty_model(mib);
    std::uint64_t first = 0;
    for (int i = 0; i < models; ++i) {
        bus::OutMessage request;
        auto p = request.init_payload<schema::ModelRequest>();
        p.initProperties(0);
        model::put_graph(request, p, *graph);
        auto reply = session.call(DeviceMethod::COMPILE_MODEL, request);
        if (i == 0) first = reply.payload<schema::CompiledInfo>().getHandle();
    }
    std::uint64_t last_request = 0;
    for (int i = 0; i < requests; ++i) {
        bus::OutMessage request;
        request.init_payload<schema::Handle>().setHandle(first);
        last_request = session.call(DeviceMethod::CREATE_REQUEST, request)
                           .payload<schema::Handle>()
                           .getHandle();
    }
    if (last_request != 0) {
        bus::OutMessage request;
        auto p = request.init_payload<schema::InferRequest>();
        p.setRequest(last_request);
        auto x = model::Tensor::allocate(ElementType::F32,
                                         graph->parameters()[0]->outputs[0].shape.to_shape());
        protocol::put_tensor(request, p.initInputs(1)[0], x);
        session.call(DeviceMethod::INFER, request);
    }
    std::cout << "ready " << session.id() << std::endl;
    for (;;)
        ::pause(); // until killed
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "loom_test_device_client: " << e.what() << std::endl;
        return 1;
    }
}
