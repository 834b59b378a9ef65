#pragma once
// Tensor — an element type, a static shape and shared bytes (DESIGN.md §3, §5). The bytes are
// owned by whatever `owner` holds: a Loom allocation (64-byte aligned), a bus frame, or a
// memory-mapped file (IR weights, ONNX external data). Copies of a Tensor share the bytes.
// A Tensor reports the alignment it actually has; kernels that need more copy.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "components/model/shape.hpp"

namespace loom::model {

class Tensor {
public:
    Tensor() = default;

    // Zero-filled, 64-byte aligned bytes for `shape` (invalid_argument on an unsupported type
    // or a shape too large).
    static Tensor allocate(ElementType type, Shape shape);
    // A view of `bytes` kept alive by `owner`; invalid_argument unless the byte count matches
    // type × shape.
    static Tensor view(ElementType type, Shape shape, std::span<const std::byte> bytes,
                       std::shared_ptr<const void> owner);
    // A 64-byte aligned copy of `bytes` (checked as for view()).
    static Tensor copy_of(ElementType type, Shape shape, std::span<const std::byte> bytes);
    // A string tensor (ElementType::STRING, KServe's BYTES): one byte string per element, stored
    // as the bus carries them — each a u32 little-endian length then its bytes. Devices and
    // models do not take string tensors (unsupported); pipelines and servers pass them along.
    static Tensor strings(Shape shape, const std::vector<std::string>& values);
    // The elements of a string tensor, viewing its bytes (invalid_argument for another type).
    std::vector<std::string_view> string_values() const;

    bool empty() const noexcept { return m_type == ElementType::UNDEFINED; }
    ElementType element_type() const noexcept { return m_type; }
    const Shape& shape() const noexcept { return m_shape; }
    std::int64_t size() const noexcept { return m_elements; }
    std::size_t byte_size() const noexcept { return m_bytes.size(); }
    std::span<const std::byte> bytes() const noexcept { return m_bytes; }
    // Writable only for tensors made by allocate() that nobody else has seen yet; the caller
    // owns that discipline (graph constants are never written after construction).
    std::byte* mutable_data() const noexcept { return const_cast<std::byte*>(m_bytes.data()); }
    template <class T>
    const T* data() const noexcept {
        return reinterpret_cast<const T*>(m_bytes.data());
    }
    // The largest power of two (up to 4096) dividing the data address.
    std::size_t alignment() const noexcept;
    const std::shared_ptr<const void>& owner() const noexcept { return m_owner; }
    // Same bytes, another shape of the same element count.
    Tensor reshaped(Shape shape) const;
    // Values as i64 (integral types) — for shape-like constants; invalid_argument otherwise.
    std::vector<std::int64_t> to_i64() const;
    std::vector<double> to_f64() const;
    // Byte-wise equality of type, shape and contents.
    bool same_as(const Tensor& other) const noexcept;

private:
    ElementType m_type = ElementType::UNDEFINED;
    Shape m_shape;
    std::int64_t m_elements = 0;
    std::span<const std::byte> m_bytes;
    std::shared_ptr<const void> m_owner;
};

// A read-only memory-mapped file; Tensors viewing it share ownership of the mapping.
class MappedFile {
public:
    // not_found / invalid_argument naming the path when it cannot be opened or mapped.
    static std::shared_ptr<const MappedFile> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const std::byte> bytes() const noexcept { return {m_data, m_size}; }
    const std::string& path() const noexcept { return m_path; }

private:
    MappedFile() = default;
    const std::byte* m_data = nullptr;
    std::size_t m_size = 0;
    std::string m_path;
};

// f16 / bf16 conversions used by readers, passes and tests.
float f16_to_f32(std::uint16_t bits) noexcept;
std::uint16_t f32_to_f16(float value) noexcept;
float bf16_to_f32(std::uint16_t bits) noexcept;
std::uint16_t f32_to_bf16(float value) noexcept;

} // namespace loom::model
