#include "components/model/tensor.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schemas/error.hpp"

namespace loom::model {

namespace {
std::size_t checked_bytes(ElementType type, const Shape& shape) {
    require_supported(type, "tensor");
    auto bytes = dense_byte_size(type, shape, std::uint64_t{1} << 46);
    LOOM_REQUIRE(bytes.has_value(), "tensor of {} {} is invalid or larger than 64 TiB",
                 loom::to_string(type), to_string(shape));
    return static_cast<std::size_t>(*bytes);
}

struct AlignedFree {
    void operator()(void* p) const noexcept { std::free(p); }
};
} // namespace

namespace {
// 64-byte aligned storage for `bytes` (rounded up); zero-filled when `zero`.
std::shared_ptr<void> aligned_storage(std::size_t bytes, bool zero) {
    const auto rounded = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) LOOM_THROW(ErrorKind::OVERLOADED, "cannot allocate {} bytes for a tensor", bytes);
    if (zero)
        std::memset(p, 0, rounded);
    else if (rounded > bytes)
        std::memset(static_cast<char*>(p) + bytes, 0, rounded - bytes);
    return std::shared_ptr<void>(p, AlignedFree{});
}
} // namespace

Tensor Tensor::allocate(ElementType type, Shape shape) {
    auto bytes = checked_bytes(type, shape);
    auto owner = aligned_storage(bytes, true);
    void* p = owner.get();
    Tensor t;
    t.m_type = type;
    t.m_elements = shape_size(shape);
    t.m_shape = std::move(shape);
    t.m_bytes = {static_cast<const std::byte*>(p), bytes};
    t.m_owner = std::move(owner);
    return t;
}

namespace {
// The elements of the length-prefixed string encoding (invalid_argument unless `bytes` holds
// exactly `count` of them).
std::vector<std::string_view> split_strings(std::span<const std::byte> bytes, std::int64_t count) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    while (at < bytes.size()) {
        LOOM_REQUIRE(bytes.size() - at >= 4, "string tensor: a length prefix is cut at byte {}",
                     at);
        std::uint32_t n = 0;
        std::memcpy(&n, bytes.data() + at, 4);
        at += 4;
        LOOM_REQUIRE(n <= bytes.size() - at,
                     "string tensor: element {} claims {} bytes but {} remain", out.size(), n,
                     bytes.size() - at);
        out.emplace_back(reinterpret_cast<const char*>(bytes.data() + at), n);
        at += n;
    }
    LOOM_REQUIRE(static_cast<std::int64_t>(out.size()) == count,
                 "string tensor: its shape holds {} elements but its bytes hold {}", count,
                 out.size());
    return out;
}

Tensor string_view_tensor(Shape shape, std::span<const std::byte> bytes,
                          std::shared_ptr<const void> owner) {
    LOOM_REQUIRE(shape_size(shape) >= 0, "string tensor of shape {} is invalid", to_string(shape));
    split_strings(bytes, shape_size(shape));
    return Tensor::view(ElementType::U8, {static_cast<std::int64_t>(bytes.size())}, bytes,
                        std::move(owner));
}
} // namespace

Tensor Tensor::strings(Shape shape, const std::vector<std::string>& values) {
    LOOM_REQUIRE(shape_size(shape) == static_cast<std::int64_t>(values.size()),
                 "string tensor of shape {} needs {} elements, got {}", to_string(shape),
                 shape_size(shape), values.size());
    std::size_t total = 0;
    for (const auto& v : values) {
        LOOM_REQUIRE(v.size() <= UINT32_MAX, "a string element of {} bytes is too long", v.size());
        total += 4 + v.size();
    }
    auto bytes = allocate(ElementType::U8, {static_cast<std::int64_t>(total)});
    std::byte* p = bytes.mutable_data();
    for (const auto& v : values) {
        const auto n = static_cast<std::uint32_t>(v.size());
        std::memcpy(p, &n, 4);
        if (n) std::memcpy(p + 4, v.data(), n);
        p += 4 + n;
    }
    Tensor t = std::move(bytes);
    t.m_type = ElementType::STRING;
    t.m_elements = shape_size(shape);
    t.m_shape = std::move(shape);
    return t;
}

std::vector<std::string_view> Tensor::string_values() const {
    LOOM_REQUIRE(m_type == ElementType::STRING, "a {} tensor has no string elements",
                 loom::to_string(m_type));
    return split_strings(m_bytes, m_elements);
}

Tensor Tensor::view(ElementType type, Shape shape, std::span<const std::byte> bytes,
                    std::shared_ptr<const void> owner) {
    if (type == ElementType::STRING) {
        Tensor t = string_view_tensor(shape, bytes, std::move(owner));
        t.m_type = type;
        t.m_elements = shape_size(shape);
        t.m_shape = std::move(shape);
        return t;
    }
    auto expected = checked_bytes(type, shape);
    LOOM_REQUIRE(expected == bytes.size(), "tensor of {} {} needs {} bytes but {} were given",
                 loom::to_string(type), to_string(shape), expected, bytes.size());
    Tensor t;
    t.m_type = type;
    t.m_elements = shape_size(shape);
    t.m_shape = std::move(shape);
    t.m_bytes = bytes;
    t.m_owner = std::move(owner);
    return t;
}

Tensor Tensor::copy_of(ElementType type, Shape shape, std::span<const std::byte> bytes) {
    if (type == ElementType::STRING) {
        auto copy = allocate(ElementType::U8, {static_cast<std::int64_t>(bytes.size())});
        if (!bytes.empty()) std::memcpy(copy.mutable_data(), bytes.data(), bytes.size());
        return view(type, std::move(shape), copy.bytes(), copy.owner());
    }
    auto expected = checked_bytes(type, shape);
    LOOM_REQUIRE(expected == bytes.size(), "tensor of {} {} needs {} bytes but {} were given",
                 loom::to_string(type), to_string(shape), expected, bytes.size());
    auto owner = aligned_storage(expected, false); // every byte is written below
    if (!bytes.empty()) std::memcpy(owner.get(), bytes.data(), bytes.size());
    Tensor t;
    t.m_type = type;
    t.m_elements = shape_size(shape);
    t.m_shape = std::move(shape);
    t.m_bytes = {static_cast<const std::byte*>(owner.get()), expected};
    t.m_owner = std::move(owner);
    return t;
}

std::size_t Tensor::alignment() const noexcept {
    auto address = reinterpret_cast<std::uintptr_t>(m_bytes.data());
    std::size_t a = 1;
    while (a < 4096 && (address & a) == 0)
        a <<= 1;
    return a;
}

Tensor Tensor::reshaped(Shape shape) const {
    LOOM_REQUIRE(shape_size(shape) == m_elements, "cannot reshape {} to {}", to_string(m_shape),
                 to_string(shape));
    Tensor t = *this;
    t.m_shape = std::move(shape);
    return t;
}

namespace {
template <class T>
void append_as(const Tensor& t, std::vector<std::int64_t>& out) {
    const T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.size(); ++i) {
        T v;
        std::memcpy(&v, p + i, sizeof(T)); // views may be unaligned
        out.push_back(static_cast<std::int64_t>(v));
    }
}
template <class T>
void append_f(const Tensor& t, std::vector<double>& out) {
    const T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.size(); ++i) {
        T v;
        std::memcpy(&v, p + i, sizeof(T));
        out.push_back(static_cast<double>(v));
    }
}
} // namespace

std::vector<std::int64_t> Tensor::to_i64() const {
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(m_elements));
    switch (m_type) {
    case ElementType::I8:
        append_as<std::int8_t>(*this, out);
        break;
    case ElementType::U8:
        append_as<std::uint8_t>(*this, out);
        break;
    case ElementType::BOOLEAN:
        append_as<std::uint8_t>(*this, out);
        break;
    case ElementType::I16:
        append_as<std::int16_t>(*this, out);
        break;
    case ElementType::U16:
        append_as<std::uint16_t>(*this, out);
        break;
    case ElementType::I32:
        append_as<std::int32_t>(*this, out);
        break;
    case ElementType::U32:
        append_as<std::uint32_t>(*this, out);
        break;
    case ElementType::I64:
        append_as<std::int64_t>(*this, out);
        break;
    case ElementType::U64:
        append_as<std::uint64_t>(*this, out);
        break;
    default:
        for (double v : to_f64())
            out.push_back(static_cast<std::int64_t>(v));
    }
    return out;
}

std::vector<double> Tensor::to_f64() const {
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(m_elements));
    switch (m_type) {
    case ElementType::F32:
        append_f<float>(*this, out);
        break;
    case ElementType::F64:
        append_f<double>(*this, out);
        break;
    case ElementType::F16:
    case ElementType::BF16: {
        for (std::int64_t i = 0; i < m_elements; ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, m_bytes.data() + 2 * i, 2);
            out.push_back(m_type == ElementType::F16 ? f16_to_f32(bits) : bf16_to_f32(bits));
        }
        break;
    }
    default:
        LOOM_REQUIRE(is_integral(m_type), "tensor of {} has no numeric values",
                     loom::to_string(m_type));
        for (auto v : to_i64())
            out.push_back(static_cast<double>(v));
    }
    return out;
}

bool Tensor::same_as(const Tensor& other) const noexcept {
    return m_type == other.m_type && m_shape == other.m_shape &&
           m_bytes.size() == other.m_bytes.size() &&
           (m_bytes.empty() ||
            std::memcmp(m_bytes.data(), other.m_bytes.data(), m_bytes.size()) == 0);
}

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        LOOM_THROW(errno == ENOENT ? ErrorKind::NOT_FOUND : ErrorKind::INVALID_ARGUMENT,
                   "cannot open '{}': {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "'{}' is not a regular file", path);
    }
    std::shared_ptr<MappedFile> file(new MappedFile());
    file->m_path = path;
    file->m_size = static_cast<std::size_t>(st.st_size);
    if (file->m_size > 0) {
        void* p = ::mmap(nullptr, file->m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            ::close(fd);
            file->m_size = 0;
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot map '{}': {}", path,
                       std::strerror(err));
        }
        file->m_data = static_cast<const std::byte*>(p);
    }
    ::close(fd);
    return file;
}

MappedFile::~MappedFile() {
    if (m_data) ::munmap(const_cast<std::byte*>(m_data), m_size);
}

float f16_to_f32(std::uint16_t h) noexcept {
    std::uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ffu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

std::uint16_t f32_to_f16(float value) noexcept {
    std::uint32_t x;
    std::memcpy(&x, &value, 4);
    std::uint32_t sign = (x >> 16) & 0x8000u;
    std::int32_t exp = static_cast<std::int32_t>((x >> 23) & 0xff);
    std::uint32_t mant = x & 0x7fffffu;
    if (exp == 255) return static_cast<std::uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
    std::int32_t e = exp - 127 + 15;
    if (e >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return static_cast<std::uint16_t>(sign);
        mant |= 0x800000u;
        auto shift = static_cast<std::uint32_t>(14 - e);
        std::uint32_t half = mant >> shift;
        std::uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) ++half;
        return static_cast<std::uint16_t>(sign | half);
    }
    std::uint32_t half = sign | (static_cast<std::uint32_t>(e) << 10) | (mant >> 13);
    std::uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))
        ++half; // may carry into the exponent, which is the correct rounding
    return static_cast<std::uint16_t>(half);
}

float bf16_to_f32(std::uint16_t bits) noexcept {
    std::uint32_t x = static_cast<std::uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

std::uint16_t f32_to_bf16(float value) noexcept {
    std::uint32_t x;
    std::memcpy(&x, &value, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return static_cast<std::uint16_t>((x >> 16) | 0x40u); // quiet NaN
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<std::uint16_t>(x >> 16);
}

} // namespace loom::model
