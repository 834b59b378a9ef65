#include "components/protocol/port.hpp"

#include <cstring>
#include <functional>

#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include "bus/message.hpp"
#include "components/protocol/codec.hpp"
#include "schemas/error.hpp"

namespace loom::protocol {
namespace {

Port port(const char* name, ElementType type, model::PartialShape shape) {
    Port p;
    p.name = name;
    p.names = {name, std::string(name) + ":0"};
    p.type = type;
    p.shape = std::move(shape);
    return p;
}

Error error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error(ErrorKind::INTERNAL, "none");
}

TEST(Port, FitsChecksRankAndEveryDimension) {
    model::PartialShape ps{model::Dimension(), 3};
    EXPECT_TRUE(fits(ps, {7, 3}));
    EXPECT_FALSE(fits(ps, {7, 4}));
    EXPECT_FALSE(fits(ps, {3}));
    EXPECT_TRUE(fits(model::PartialShape::dynamic(), {1, 2, 3, 4}));
}

TEST(Port, CheckTensorNamesThePortAndWhatIsWrong) {
    auto p = port("x", ElementType::F32, {2, 3});
    check_tensor("input", p, model::Tensor::allocate(ElementType::F32, {2, 3}));
    auto e = error_of([&] {
        check_tensor("input", p, model::Tensor::allocate(ElementType::I32, {2, 3}));
    });
    EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(e.message().find("input 'x' expects f32"), std::string::npos) << e.message();
    e = error_of([&] {
        check_tensor("output", p, model::Tensor::allocate(ElementType::F32, {3, 2}));
    });
    EXPECT_NE(e.message().find("output 'x' expects shape [2,3], got [3,2]"), std::string::npos)
        << e.message();
    e = error_of([&] { check_tensor("input", p, model::Tensor{}); });
    EXPECT_NE(e.message().find("empty"), std::string::npos) << e.message();
}

TEST(Port, IndexByAnyTensorNameOrNotFoundListingThePorts) {
    std::vector<Port> ports{port("a", ElementType::F32, {1}), port("b", ElementType::F32, {1})};
    EXPECT_EQ(port_index(ports, "b", "input"), 1u);
    EXPECT_EQ(port_index(ports, "a:0", "input"), 0u);
    auto e = error_of([&] { port_index(ports, "c", "input"); });
    EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
    EXPECT_NE(e.message().find("no input named 'c' (it has: a, b)"), std::string::npos)
        << e.message();
}

TEST(Port, ModelPortsAreNumberedInOrder) {
    model::Model m;
    auto& x = m.add_parameter(ElementType::F32, model::PartialShape{1, 2}, "x");
    auto& y = m.add_parameter(ElementType::I64, model::PartialShape{3}, "y");
    m.add_result(x.output(0));
    m.add_result(y.output(0));
    auto ins = input_ports(m);
    ASSERT_EQ(ins.size(), 2u);
    EXPECT_EQ(ins[1].index, 1u);
    EXPECT_EQ(ins[1].type, ElementType::I64);
    EXPECT_EQ(output_ports(m).size(), 2u);
}

TEST(Codec, PortsAndPropertiesReadBackAsWritten) {
    std::vector<Port> ports{port("x", ElementType::F16, {model::Dimension(1, 8), 3}),
                            port("y", ElementType::BOOLEAN, model::PartialShape::dynamic())};
    Properties props;
    props.set_text("PERF_COUNT", "YES");
    bus::OutMessage out;
    init_properties(out.init_payload<schema::PropertyList>(), props);
    // Ports: decode from a fresh message.
    bus::OutMessage again;
    put_ports(again.init_payload<schema::CompiledInfo>().initInputs(2), ports);
    auto back = take_ports(again.payload<schema::CompiledInfo>().asReader().getInputs());
    ASSERT_EQ(back.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(back[i].index, i);
        EXPECT_EQ(back[i].name, ports[i].name);
        EXPECT_EQ(back[i].names, ports[i].names);
        EXPECT_EQ(back[i].type, ports[i].type);
        EXPECT_EQ(back[i].shape, ports[i].shape);
    }
    auto p = take_properties(out.payload<schema::PropertyList>().asReader().getProperties());
    EXPECT_EQ(p.text("PERF_COUNT"), "YES");
}

TEST(Codec, TensorFromAMisalignedFrameIsCopiedAndAlignedOneIsViewed) {
    auto t = model::Tensor::allocate(ElementType::F32, {4});
    for (int i = 0; i < 4; ++i)
        reinterpret_cast<float*>(t.mutable_data())[i] = static_cast<float>(i) + 0.5f;
    bus::OutMessage out;
    auto desc = out.init_payload<schema::TensorDesc>();
    put_tensor(out, desc, t, "t");
    auto in = bus::InMessage::decode(bus::encode_words(out), bus::Limits{});
    in.set_frames(out.frames());
    auto view = take_tensor(in, in.payload<schema::TensorDesc>());
    EXPECT_EQ(view.bytes().data(), t.bytes().data()); // aligned: no copy
    // The same bytes at an odd address.
    auto raw = std::make_shared<std::vector<std::byte>>(t.byte_size() + 1);
    std::memcpy(raw->data() + 1, t.bytes().data(), t.byte_size());
    std::vector<bus::Frame> frames{bus::Frame::wrap(raw->data() + 1, t.byte_size(), raw)};
    in.set_frames(frames);
    auto copy = take_tensor(in, in.payload<schema::TensorDesc>());
    EXPECT_NE(copy.bytes().data(), static_cast<const void*>(raw->data() + 1));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(copy.bytes().data()) % alignof(float), 0u);
    EXPECT_EQ(copy.data<float>()[3], 3.5f);
}

} // namespace
// Found by fuzz_device_request: a property list of zero-sized structs (three words on the wire)
// claims any number of properties (up to the traversal limit), and every request carrying
// properties looped over them.
TEST(Codec, APropertyListOfEmptyStructsIsRefusedBeforeAnElementIsRead) {
    std::uint64_t w[3] = {};
    w[0] = std::uint64_t{1} << 48;        // root: 0 data words, 1 pointer, right after
    w[1] = 1u | (std::uint64_t{7} << 32); // properties: an inline-composite list, tag next
    w[2] = std::uint64_t{1000000} << 2;   // the tag: 10^6 elements of 0 words, 0 pointers
    auto words = kj::heapArray<capnp::word>(3);
    std::memcpy(words.begin(), w, sizeof(w));
    kj::ArrayPtr<const capnp::word> segments[] = {words.asPtr()};
    capnp::SegmentArrayMessageReader reader(segments);
    auto list = reader.getRoot<schema::PropertyList>().getProperties();
    ASSERT_EQ(list.size(), 1000000u);
    try {
        (void)take_properties(list);
        FAIL() << "a million empty properties were read";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("properties whose elements carry no data"), std::string::npos)
            << e.what();
    }
}

} // namespace loom::protocol
