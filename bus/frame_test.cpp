// Frame: the shared bytes beside a message. Allocation alignment, explicit copies, borrowed
// storage kept alive by its owner, slices, and ZeroMQ buffers adopted without a copy.

#include "bus/frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <zmq.hpp>

namespace loom::bus {
namespace {

std::vector<std::byte> pattern(std::size_t size, int seed = 1) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((i * 31 + static_cast<std::size_t>(seed)) & 0xff);
    return bytes;
}

TEST(Frame, DefaultIsEmpty) {
    Frame f;
    EXPECT_TRUE(f.empty());
    EXPECT_EQ(f.size(), 0u);
    EXPECT_EQ(f.data(), nullptr);
    EXPECT_EQ(f.owner(), nullptr);
}

TEST(Frame, AllocateIsSixtyFourByteAligned) {
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64},
                             std::size_t{65}, std::size_t{4097}, std::size_t{1} << 20}) {
        Frame f = Frame::allocate(size);
        EXPECT_EQ(f.size(), size);
        ASSERT_NE(f.data(), nullptr) << size;
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f.data()) % 64, 0u) << size;
        EXPECT_GE(f.alignment(), 64u) << size;
        EXPECT_NE(f.owner(), nullptr);
        // The bytes are writable over their whole size.
        if (size > 0) {
            std::memset(f.data(), 0xab, size);
            EXPECT_EQ(f.data()[size - 1], std::byte{0xab});
        }
    }
}

TEST(Frame, AllocateHonoursALargerAlignment) {
    Frame f = Frame::allocate(100, 4096);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f.data()) % 4096, 0u);
    EXPECT_EQ(f.alignment(), 4096u) << "alignment() is capped at 4096";
}

TEST(Frame, AlignmentReportsTheLargestPowerOfTwoDividingTheAddress) {
    Frame base = Frame::allocate(256);
    EXPECT_EQ(base.slice(1, 8).alignment(), 1u);
    EXPECT_EQ(base.slice(2, 8).alignment(), 2u);
    EXPECT_EQ(base.slice(6, 8).alignment(), 2u);
    EXPECT_EQ(base.slice(8, 8).alignment(), 8u);
    EXPECT_EQ(base.slice(24, 8).alignment(), 8u);
    EXPECT_EQ(base.slice(32, 8).alignment(), 32u);
    EXPECT_GE(base.slice(64, 8).alignment(), 64u);
}

TEST(Frame, CopyOfCopiesTheBytesIntoAlignedMemory) {
    auto source = pattern(1000);
    Frame f = Frame::copy_of(source);
    ASSERT_EQ(f.size(), source.size());
    EXPECT_NE(f.data(), source.data());
    EXPECT_EQ(std::memcmp(f.data(), source.data(), source.size()), 0);
    EXPECT_GE(f.alignment(), 64u);
    // A copy: changing the source does not change the frame.
    source[0] = ~source[0];
    EXPECT_NE(f.data()[0], source[0]);
}

TEST(Frame, CopyOfEmpty) {
    Frame f = Frame::copy_of({});
    EXPECT_TRUE(f.empty());
}

TEST(Frame, CopiesShareTheBytes) {
    Frame a = Frame::copy_of(pattern(64));
    Frame b = a;
    EXPECT_EQ(a.data(), b.data());
    EXPECT_EQ(a.owner(), b.owner());
    b.data()[0] = std::byte{0x5a};
    EXPECT_EQ(a.data()[0], std::byte{0x5a});
}

TEST(Frame, WrapKeepsTheOwnerAliveUntilTheLastCopyDies) {
    bool released = false;
    auto storage = std::make_unique<std::vector<std::byte>>(pattern(128));
    std::byte* data = storage->data();
    std::shared_ptr<void> owner(storage.release(), [&released](void* p) {
        released = true;
        delete static_cast<std::vector<std::byte>*>(p);
    });

    std::optional<Frame> first = Frame::wrap(data, 128, std::move(owner));
    EXPECT_EQ(first->data(), data) << "wrap borrows, it does not copy";
    EXPECT_EQ(first->size(), 128u);
    std::optional<Frame> copy = *first;
    std::optional<Frame> slice = first->slice(16, 32);
    EXPECT_EQ(slice->data(), data + 16);
    EXPECT_EQ(slice->size(), 32u);

    first.reset();
    EXPECT_FALSE(released) << "a copy still refers to the bytes";
    copy.reset();
    EXPECT_FALSE(released) << "a slice still refers to the bytes";
    EXPECT_EQ(slice->data()[0], pattern(128)[16]);
    slice.reset();
    EXPECT_TRUE(released) << "the owner outlived the last frame";
}

TEST(Frame, SliceViewsTheSameBytes) {
    Frame f = Frame::copy_of(pattern(100, 7));
    Frame s = f.slice(10, 20);
    EXPECT_EQ(s.data(), f.data() + 10);
    EXPECT_EQ(s.size(), 20u);
    EXPECT_EQ(s.owner(), f.owner());
    EXPECT_EQ(std::memcmp(s.data(), f.data() + 10, 20), 0);
    Frame empty = f.slice(100, 0);
    EXPECT_TRUE(empty.empty());
}

TEST(Frame, AdoptKeepsZeroMQsBuffer) {
    // A large message: ZeroMQ keeps its content in a separate buffer (not the small-message
    // inline storage), and the frame must view that very buffer.
    auto source = pattern(1 << 16, 3);
    zmq::message_t message(source.data(), source.size());
    const void* buffer = message.data();
    Frame f = Frame::adopt(std::move(message));
    EXPECT_EQ(static_cast<const void*>(f.data()), buffer) << "adopt copied the bytes";
    ASSERT_EQ(f.size(), source.size());
    EXPECT_EQ(std::memcmp(f.data(), source.data(), source.size()), 0);
}

TEST(Frame, AdoptKeepsZeroMQsZeroCopyBufferAliveUntilTheLastCopyDies) {
    struct Hint {
        bool freed = false;
    } hint;
    auto* storage = new std::vector<std::byte>(pattern(4096, 5));
    std::byte* data = storage->data();
    {
        zmq::message_t message(
            data, storage->size(),
            [](void*, void* h) noexcept {
                auto* context = static_cast<std::pair<Hint*, std::vector<std::byte>*>*>(h);
                context->first->freed = true;
                delete context->second;
                delete context;
            },
            new std::pair<Hint*, std::vector<std::byte>*>(&hint, storage));
        Frame f = Frame::adopt(std::move(message));
        EXPECT_EQ(f.data(), data);
        Frame copy = f.slice(100, 10);
        { Frame drop = std::move(f); }
        EXPECT_FALSE(hint.freed) << "ZeroMQ's buffer was released while a slice views it";
        EXPECT_EQ(copy.data(), data + 100);
    }
    EXPECT_TRUE(hint.freed);
}

TEST(Frame, AsViewsTheBytesAsElements) {
    Frame f = Frame::allocate(4 * sizeof(float));
    auto floats = f.as_mutable<float>();
    ASSERT_EQ(floats.size(), 4u);
    for (std::size_t i = 0; i < floats.size(); ++i)
        floats[i] = static_cast<float>(i) + 0.5f;
    auto read = f.as<float>();
    EXPECT_EQ(read[3], 3.5f);
    EXPECT_EQ(f.as<double>().size(), 2u);
}

} // namespace
} // namespace loom::bus
