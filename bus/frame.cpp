#include "bus/frame.hpp"

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include <zmq.hpp>

#include "schemas/error.hpp"

namespace loom::bus {

Frame Frame::allocate(std::size_t size, std::size_t alignment) {
    LOOM_ASSERT(std::has_single_bit(alignment), "alignment {} is not a power of two", alignment);
    std::size_t rounded = (size + alignment - 1) / alignment * alignment;
    void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
    if (!p)
        LOOM_THROW(ErrorKind::OVERLOADED, "cannot allocate a {}-byte frame: out of memory", size);
    std::shared_ptr<void> owner(p, [](void* q) { std::free(q); });
    return Frame(static_cast<std::byte*>(p), size, std::move(owner));
}

Frame Frame::copy_of(std::span<const std::byte> bytes, std::size_t alignment) {
    Frame f = allocate(bytes.size(), alignment);
    if (!bytes.empty()) std::memcpy(f.m_data, bytes.data(), bytes.size());
    return f;
}

Frame Frame::wrap(void* data, std::size_t size, std::shared_ptr<void> keepalive) {
    return Frame(static_cast<std::byte*>(data), size, std::move(keepalive));
}

Frame Frame::adopt(zmq::message_t&& message) {
    auto owned = std::make_shared<zmq::message_t>(std::move(message));
    auto* data = static_cast<std::byte*>(owned->data());
    std::size_t size = owned->size();
    return Frame(data, size, std::move(owned));
}

std::size_t Frame::alignment() const noexcept {
    auto address = reinterpret_cast<std::uintptr_t>(m_data);
    if (address == 0) return 4096;
    std::size_t a = std::size_t{1} << std::countr_zero(address);
    return a > 4096 ? 4096 : a;
}

Frame Frame::slice(std::size_t offset, std::size_t size) const noexcept {
    return Frame(m_data + offset, size, m_owner);
}

} // namespace loom::bus
