#pragma once
// Frame — shared bytes that travel beside a bus message (DESIGN.md §3). A frame never copies on
// its way through the bus: sending hands its buffer to ZeroMQ, receiving keeps ZeroMQ's buffer
// (or a shared-memory slot) as its storage. Copies are explicit (copy_of).
//
// Ownership: the bytes live as long as any Frame (or ZeroMQ message) referring to them; the owner
// is released on whichever thread drops the last reference. A Frame's bytes must not be written
// after it has been handed to the bus.

#include <cstddef>
#include <memory>
#include <span>

namespace zmq {
class message_t;
}

namespace loom::bus {

class Frame {
public:
    Frame() = default;

    // Uninitialised, writable bytes aligned to `alignment` (a power of two; Loom uses 64).
    static Frame allocate(std::size_t size, std::size_t alignment = 64);
    static Frame copy_of(std::span<const std::byte> bytes, std::size_t alignment = 64);
    // Borrows `data`; `keepalive` owns it and is released with the last reference.
    static Frame wrap(void* data, std::size_t size, std::shared_ptr<void> keepalive);
    // Takes ZeroMQ's received buffer as storage (no copy).
    static Frame adopt(zmq::message_t&& message);

    std::byte* data() noexcept { return m_data; }
    const std::byte* data() const noexcept { return m_data; }
    std::size_t size() const noexcept { return m_size; }
    bool empty() const noexcept { return m_size == 0; }
    std::span<const std::byte> bytes() const noexcept { return {m_data, m_size}; }
    std::span<std::byte> mutable_bytes() noexcept { return {m_data, m_size}; }
    template <class T>
    std::span<const T> as() const noexcept {
        return {reinterpret_cast<const T*>(m_data), m_size / sizeof(T)};
    }
    template <class T>
    std::span<T> as_mutable() noexcept {
        return {reinterpret_cast<T*>(m_data), m_size / sizeof(T)};
    }

    // The largest power of two (up to 4096) that divides the data address: 64 when Loom
    // allocated it, often less for views on received frames (DESIGN.md §3 "Alignment").
    std::size_t alignment() const noexcept;

    // The reference that keeps the bytes alive (shared with every copy of this Frame).
    const std::shared_ptr<void>& owner() const noexcept { return m_owner; }

    // A view of [offset, offset + size) sharing this frame's owner. Caller checks bounds.
    Frame slice(std::size_t offset, std::size_t size) const noexcept;

private:
    Frame(std::byte* data, std::size_t size, std::shared_ptr<void> owner)
        : m_data(data)
        , m_size(size)
        , m_owner(std::move(owner)) {}

    std::byte* m_data = nullptr;
    std::size_t m_size = 0;
    std::shared_ptr<void> m_owner;
};

} // namespace loom::bus
