// The device service's sessions (DESIGN.md §6): objects belong to the client session that
// created them, invisible to every other session and key; they are released — running
// inferences cancelled — when the session closes or its lease runs out.

#include "plugins/sdk/device_service.hpp"

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "bus/service.hpp"
#include "components/protocol/codec.hpp"
#include "schemas/error.hpp"
#include "schemas/plugin.capnp.h"
#include "tests/support/expect.hpp"

namespace loom::plugins::sdk {
namespace {

using test::error_kind_of;
using test::eventually;

using namespace std::chrono_literals;
using schema::DeviceMethod;

std::vector<Port> ports(const char* name) {
    Port p;
    p.name = name;
    p.names = {name};
    p.type = ElementType::F32;
    p.shape = PartialShape{model::Dimension()};
    return {p};
}

// Echoes its input; an input starting with a negative value blocks until cancelled.
class EchoRequest final : public SyncInferRequest {
public:
    EchoRequest()
        : SyncInferRequest(ports("x"), ports("y")) {}
    void infer() override {
        begin_infer();
        if (input(0).data<float>()[0] < 0)
            while (!m_cancel.load())
                std::this_thread::sleep_for(1ms);
        if (m_cancel.load()) LOOM_THROW(ErrorKind::CANCELLED, "cancelled");
        store_output(0, input(0));
    }
};

class EchoModel final : public CompiledModel {
public:
    const std::vector<Port>& inputs() const override { return m_in; }
    const std::vector<Port>& outputs() const override { return m_out; }
    std::shared_ptr<SyncInferRequest> create_sync_infer_request() const override {
        return std::make_shared<EchoRequest>();
    }
    std::vector<std::byte> export_model() const override { return {std::byte{1}}; }
    std::shared_ptr<Model> runtime_model() const override { return std::make_shared<Model>(); }
    std::string get_property(const std::string& name) const override { return name; }

private:
    std::vector<Port> m_in = ports("x"), m_out = ports("y");
};

class EchoPlugin final : public Plugin {
public:
    const std::string& device_name() const override { return m_name; }
    std::string full_name() const override { return "echo"; }
    std::string get_property(const std::string& name) const override {
        LOOM_THROW(ErrorKind::NOT_FOUND, "no property {}", name);
    }
    void set_property(const Properties&) override {}
    std::vector<std::string> query_model(const Model&, const Properties&) const override {
        return {};
    }
    std::vector<std::pair<std::string, bool>> op_coverage() const override { return {}; }
    std::shared_ptr<CompiledModel> compile_model(std::shared_ptr<const Model>,
                                                 const Properties&) override {
        return std::make_shared<EchoModel>();
    }
    std::shared_ptr<CompiledModel> import_model(std::span<const std::byte>,
                                                const Properties&) override {
        return std::make_shared<EchoModel>();
    }
    std::shared_ptr<RemoteContext> default_context() override { return nullptr; }

private:
    std::string m_name = "ECHO";
};

// A client of the service on the direct path, with a session and a key of its own (the key is
// what a CURVE transport would have authenticated).
class Client {
public:
    Client(bus::Dispatcher& d, std::string key = {})
        : m_d(d)
        , m_key(std::move(key)) {}

    bus::InMessage call(DeviceMethod method, bus::OutMessage out = {}) {
        auto env = out.envelope();
        env.setService("device/ECHO");
        env.setMethod(static_cast<std::uint16_t>(method));
        out.set_session(session);
        auto in = bus::InMessage::decode(bus::encode_words(out), m_d.limits());
        in.set_frames(out.frames());
        in.set_peer_key(m_key);
        auto reply = m_d.dispatch_here(in, bus::Clock::now());
        auto back = bus::InMessage::decode(bus::encode_words(reply), m_d.limits());
        back.set_frames(reply.frames());
        back.throw_if_error();
        return back;
    }
    void open(std::uint32_t lease_ms = 0) {
        bus::OutMessage m;
        m.init_payload<schema::SessionRequest>().setLeaseMs(lease_ms);
        session = call(DeviceMethod::OPEN_SESSION, std::move(m))
                      .payload<schema::SessionInfo>()
                      .getSession();
    }
    std::uint64_t compile() {
        bus::OutMessage m;
        m.init_payload<schema::ModelRequest>();
        return call(DeviceMethod::COMPILE_MODEL, std::move(m))
            .payload<schema::CompiledInfo>()
            .getHandle();
    }
    std::uint64_t create_request(std::uint64_t model) {
        return call(DeviceMethod::CREATE_REQUEST, handle(model))
            .payload<schema::Handle>()
            .getHandle();
    }
    float infer(std::uint64_t request, float value) {
        bus::OutMessage m;
        auto p = m.init_payload<schema::InferRequest>();
        p.setRequest(request);
        auto t = Tensor::allocate(ElementType::F32, {1});
        reinterpret_cast<float*>(t.mutable_data())[0] = value;
        protocol::put_tensor(m, p.initInputs(1)[0], t);
        auto reply = call(DeviceMethod::INFER, std::move(m));
        auto out =
            protocol::take_tensor(reply, reply.payload<schema::InferReply>().getOutputs()[0]);
        return out.data<float>()[0];
    }
    static bus::OutMessage handle(std::uint64_t h) {
        bus::OutMessage m;
        m.init_payload<schema::Handle>().setHandle(h);
        return m;
    }
    std::int64_t property(const char* name) {
        bus::OutMessage m;
        m.init_payload<schema::PropertyRequest>().setName(name);
        return std::stoll(std::string(call(DeviceMethod::GET_PROPERTY, std::move(m))
                                          .payload<schema::PropertyValue>()
                                          .getValue()));
    }
    std::uint64_t session = 0;

private:
    bus::Dispatcher& m_d;
    std::string m_key;
};

struct DeviceServiceTest : ::testing::Test {
    std::shared_ptr<bus::Service> service =
        make_device_service(std::make_shared<EchoPlugin>(), "device/ECHO");
    bus::Dispatcher dispatcher{service, bus::Limits{}, 1};
};

TEST_F(DeviceServiceTest, AnotherSessionCannotUseOrReleaseTheObjects) {
    Client a(dispatcher), b(dispatcher), thief(dispatcher, "another-key");
    a.open();
    b.open();
    const auto model = a.compile();
    const auto request = a.create_request(model);
    EXPECT_EQ(a.infer(request, 3.f), 3.f);
    EXPECT_EQ(error_kind_of([&] { b.infer(request, 1.f); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { b.create_request(model); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(
        error_kind_of([&] { b.call(DeviceMethod::RELEASE_REQUEST, Client::handle(request)); }),
        ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { b.call(DeviceMethod::RELEASE_MODEL, Client::handle(model)); }),
              ErrorKind::NOT_FOUND);
    // a's session number with another key is nobody's session.
    thief.session = a.session;
    EXPECT_EQ(error_kind_of([&] { thief.infer(request, 1.f); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(error_kind_of([&] { thief.call(DeviceMethod::CLOSE_SESSION); }),
              ErrorKind::NOT_FOUND);
    // Nothing of a's was touched.
    EXPECT_EQ(a.infer(request, 5.f), 5.f);
    EXPECT_EQ(a.property("LOOM_COMPILED_MODELS"), 1);
    EXPECT_EQ(a.property("LOOM_INFER_REQUESTS"), 1);
}

TEST_F(DeviceServiceTest, WithoutASessionNothingIsCreated) {
    Client c(dispatcher);
    EXPECT_EQ(error_kind_of([&] { c.compile(); }), ErrorKind::INVALID_ARGUMENT);
    c.session = 12345; // never opened
    EXPECT_EQ(error_kind_of([&] { c.compile(); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(c.property("LOOM_COMPILED_MODELS"), 0);
    // Describing the device needs none.
    EXPECT_EQ(
        std::string(c.call(DeviceMethod::DESCRIBE).payload<schema::DeviceInfo>().getName().cStr()),
        "ECHO");
}

TEST_F(DeviceServiceTest, ClosingTheSessionReleasesItsObjects) {
    Client a(dispatcher), b(dispatcher);
    a.open();
    b.open();
    a.create_request(a.compile());
    a.create_request(a.compile());
    b.compile();
    EXPECT_EQ(a.property("LOOM_SESSIONS"), 2);
    EXPECT_EQ(a.property("LOOM_COMPILED_MODELS"), 3);
    EXPECT_EQ(a.property("LOOM_INFER_REQUESTS"), 2);
    a.call(DeviceMethod::CLOSE_SESSION);
    EXPECT_EQ(b.property("LOOM_SESSIONS"), 1);
    EXPECT_EQ(b.property("LOOM_COMPILED_MODELS"), 1);
    EXPECT_EQ(b.property("LOOM_INFER_REQUESTS"), 0);
    EXPECT_EQ(error_kind_of([&] { a.compile(); }), ErrorKind::NOT_FOUND);
}

TEST_F(DeviceServiceTest, AnExpiredLeaseCancelsTheRunningInferenceAndReleasesEverything) {
    Client a(dispatcher);
    a.open(100); // the shortest lease; nobody renews it
    const auto request = a.create_request(a.compile());
    auto running = std::async(std::launch::async, [&] { return a.infer(request, -1.f); });
    ASSERT_EQ(running.wait_for(30s), std::future_status::ready) << "the inference never ended";
    EXPECT_EQ(error_kind_of([&] { running.get(); }), ErrorKind::CANCELLED);
    EXPECT_TRUE(eventually([&] { return a.property("LOOM_SESSIONS") == 0; }));
    EXPECT_EQ(a.property("LOOM_COMPILED_MODELS"), 0);
    EXPECT_EQ(a.property("LOOM_INFER_REQUESTS"), 0);
}

} // namespace
} // namespace loom::plugins::sdk
