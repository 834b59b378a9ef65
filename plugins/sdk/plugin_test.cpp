#include "plugins/sdk/plugin.hpp"

#include <gtest/gtest.h>

#include "schemas/error.hpp"

namespace loom::plugins::sdk {
namespace {

class EchoRequest final : public SyncInferRequest {
public:
    using SyncInferRequest::SyncInferRequest;
    void infer() override {
        begin_infer();
        cancelled_at_start = m_cancel.load();
        store_output(0, input(0));
    }
    bool cancelled_at_start = false;
};

std::vector<Port> ports(const char* name) {
    Port p;
    p.name = name;
    p.names = {name};
    p.type = ElementType::F32;
    p.shape = PartialShape{model::Dimension(), 3};
    return {p};
}

TEST(SyncInferRequest, ChecksTypeShapeAndNamesThePort) {
    EchoRequest r(ports("x"), ports("y"));
    EXPECT_EQ(r.input_index("x"), 0u);
    EXPECT_THROW(r.input_index("nope"), Error);
    try {
        r.set_input(0, Tensor::allocate(ElementType::I32, {2, 3}));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("'x'"), std::string::npos) << e.message();
    }
    try {
        r.set_input(0, Tensor::allocate(ElementType::F32, {2, 4}));
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("[?,3]"), std::string::npos) << e.message();
    }
    EXPECT_THROW(r.infer(), Error); // unbound input
    r.set_input(0, Tensor::allocate(ElementType::F32, {5, 3}));
    r.infer();
    EXPECT_EQ(r.output(0).shape(), (Shape{5, 3}));
}

TEST(SyncInferRequest, PreallocatedOutputReceivesTheResult) {
    EchoRequest r(ports("x"), ports("y"));
    auto in = Tensor::allocate(ElementType::F32, {1, 3});
    reinterpret_cast<float*>(in.mutable_data())[2] = 7.f;
    auto out = Tensor::allocate(ElementType::F32, {1, 3});
    r.set_input(0, in);
    r.set_output(0, out);
    r.infer();
    EXPECT_EQ(r.output(0).bytes().data(), out.bytes().data());
    EXPECT_EQ(out.data<float>()[2], 7.f);
}

// A cancel that reaches the device before its inference (they travel separately) still
// applies to that inference, and only to it.
TEST(SyncInferRequest, CancelOvertakingItsInferenceIsNotLost) {
    EchoRequest r(ports("x"), ports("y"));
    r.set_input(0, Tensor::allocate(ElementType::F32, {1, 3}));
    r.cancel(2); // inference 2 is cancelled before it starts
    r.set_sequence(1);
    r.infer();
    EXPECT_FALSE(r.cancelled_at_start); // an earlier inference is not affected
    r.set_sequence(2);
    r.infer();
    EXPECT_TRUE(r.cancelled_at_start);
    r.set_sequence(3);
    r.infer();
    EXPECT_FALSE(r.cancelled_at_start); // nor a later one
}

TEST(HostRemoteContext, TensorsAreHostMemory) {
    HostRemoteContext ctx("TEST");
    auto t = ctx.create_tensor(ElementType::F32, {2, 2});
    EXPECT_EQ(t->device_name(), "TEST");
    auto host = Tensor::allocate(ElementType::F32, {2, 2});
    reinterpret_cast<float*>(host.mutable_data())[3] = 4.f;
    t->from_host(host);
    EXPECT_EQ(t->to_host().data<float>()[3], 4.f);
    EXPECT_THROW(t->from_host(Tensor::allocate(ElementType::F32, {3})), Error);
}

} // namespace
} // namespace loom::plugins::sdk
