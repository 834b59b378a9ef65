// .npy and TensorProto .pb files (tensor_io.hpp). Both decoders treat their bytes as untrusted:
// every length and count is checked against what is present before it is used.

#include "components/runtime/tensor_io.hpp"

#include <bit>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "schemas/error.hpp"

namespace loom::runtime {

static_assert(std::endian::native == std::endian::little, "tensor files are little-endian");

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) LOOM_THROW(ErrorKind::NOT_FOUND, "cannot open tensor file {}", path.string());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot read {}", path.string());
    return bytes;
}

std::span<const std::byte> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Bytes of `type` × `shape`, or invalid_argument naming `what` (negative or overflowing dims).
std::size_t byte_size_of(ElementType type, const Shape& shape, const std::string& what) {
    auto bytes = dense_byte_size(type, shape, std::uint64_t{1} << 48);
    LOOM_REQUIRE(bytes.has_value(), "{}: shape {} of {} is invalid or too large", what,
                 model::to_string(shape), loom::to_string(type));
    return static_cast<std::size_t>(*bytes);
}

// ---- .npy -------------------------------------------------------------------------------------

constexpr std::string_view k_npy_magic = "\x93NUMPY";

// A Python literal dict as NumPy writes it: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), }. Only str, bool and tuple-of-int values.
class NpyHeader {
public:
    NpyHeader(std::string_view text, const std::string& what)
        : m_text(text)
        , m_what(what) {}

    std::string descr;
    std::optional<bool> fortran_order;
    std::optional<Shape> shape;

    void parse() {
        expect('{');
        while (!peek('}')) {
            auto key = string();
            expect(':');
            if (key == "descr")
                descr = string();
            else if (key == "fortran_order")
                fortran_order = boolean();
            else if (key == "shape")
                shape = tuple();
            else
                fail(fmt::format("unknown key '{}'", key));
            if (!peek('}')) expect(',');
        }
        expect('}');
        LOOM_REQUIRE(!descr.empty() && fortran_order && shape,
                     "{}: the .npy header lacks descr, fortran_order or shape", m_what);
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}: bad .npy header ({} at offset {})", m_what,
                   why, m_pos);
    }
    void skip_space() {
        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t'))
            ++m_pos;
    }
    bool peek(char c) {
        skip_space();
        return m_pos < m_text.size() && m_text[m_pos] == c;
    }
    void expect(char c) {
        if (!peek(c)) fail(fmt::format("expected '{}'", c));
        ++m_pos;
    }
    std::string string() {
        skip_space();
        if (m_pos >= m_text.size() || (m_text[m_pos] != '\'' && m_text[m_pos] != '"'))
            fail("expected a string");
        const char quote = m_text[m_pos++];
        auto end = m_text.find(quote, m_pos);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string s(m_text.substr(m_pos, end - m_pos));
        m_pos = end + 1;
        return s;
    }
    bool boolean() {
        skip_space();
        for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
            if (m_text.substr(m_pos, std::strlen(word)) == word) {
                m_pos += std::strlen(word);
                return value;
            }
        }
        fail("expected True or False");
    }
    Shape tuple() {
        expect('(');
        Shape dims;
        while (!peek(')')) {
            skip_space();
            std::int64_t v = 0;
            std::size_t digits = 0;
            while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
                if (v > (std::int64_t{1} << 55)) fail("dimension too large");
                v = v * 10 + (m_text[m_pos++] - '0');
                ++digits;
            }
            if (m_pos < m_text.size() && m_text[m_pos] == 'L') ++m_pos; // Python 2 longs
            if (digits == 0) fail("expected a dimension");
            dims.push_back(v);
            if (!peek(')')) expect(',');
        }
        expect(')');
        return dims;
    }

    std::string_view m_text;
    const std::string& m_what;
    std::size_t m_pos = 0;
};

struct NpyType {
    std::string_view code; // without byte order
    ElementType type;
};
constexpr NpyType k_npy_types[] = {
    {"f2", ElementType::F16}, {"f4", ElementType::F32}, {"f8", ElementType::F64},
    {"i1", ElementType::I8},  {"u1", ElementType::U8},  {"i2", ElementType::I16},
    {"u2", ElementType::U16}, {"i4", ElementType::I32}, {"u4", ElementType::U32},
    {"i8", ElementType::I64}, {"u8", ElementType::U64}, {"b1", ElementType::BOOLEAN},
};

ElementType npy_element_type(std::string descr, const std::string& what) {
    char order = '|';
    if (!descr.empty() && std::string_view("<>|=").find(descr[0]) != std::string_view::npos) {
        order = descr[0];
        descr.erase(0, 1);
    }
    if (descr == "?") descr = "b1";
    for (const auto& t : k_npy_types) {
        if (t.code != descr) continue;
        LOOM_REQUIRE(order != '>' || element_size(t.type) == 1,
                     "{}: big-endian .npy data ('>{}') is not supported; save it little-endian "
                     "(array.astype('<{}'))",
                     what, descr, descr);
        return t.type;
    }
    LOOM_REQUIRE(descr.empty() || descr[0] != 'O',
                 "{}: object arrays (dtype 'O') cannot be read; save a numeric array", what);
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
               "{}: .npy dtype '{}' is not supported (use f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1)",
               what, descr);
}

std::string_view npy_code(ElementType type) {
    for (const auto& t : k_npy_types)
        if (t.type == type) return t.code;
    LOOM_THROW(ErrorKind::UNSUPPORTED, "a {} tensor cannot be written as .npy (NumPy has no {})",
               loom::to_string(type), loom::to_string(type));
}

} // namespace

Tensor parse_npy(std::span<const std::byte> bytes, const std::string& what) {
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    LOOM_REQUIRE(text.size() >= 10 && text.substr(0, 6) == k_npy_magic,
                 "{}: not a .npy file (no \\x93NUMPY magic)", what);
    const auto major = static_cast<unsigned char>(text[6]);
    LOOM_REQUIRE(major >= 1 && major <= 3, "{}: .npy format version {}.{} is not supported", what,
                 unsigned{major}, unsigned{static_cast<unsigned char>(text[7])});
    std::size_t header_len = 0, start = 0;
    if (major == 1) {
        header_len = static_cast<unsigned char>(text[8]) |
                     (static_cast<std::size_t>(static_cast<unsigned char>(text[9])) << 8);
        start = 10;
    } else {
        LOOM_REQUIRE(text.size() >= 12, "{}: truncated .npy header", what);
        std::uint32_t len = 0;
        std::memcpy(&len, text.data() + 8, 4);
        header_len = len;
        start = 12;
    }
    LOOM_REQUIRE(header_len <= text.size() - start, "{}: truncated .npy header", what);
    NpyHeader header(text.substr(start, header_len), what);
    header.parse();
    const auto type = npy_element_type(header.descr, what);
    LOOM_REQUIRE(!*header.fortran_order,
                 "{}: Fortran-order .npy arrays are not supported; save a C-order array "
                 "(numpy.ascontiguousarray)",
                 what);
    const auto data = bytes.subspan(start + header_len);
    const auto need = byte_size_of(type, *header.shape, what);
    LOOM_REQUIRE(data.size() == need, "{}: {} bytes of data, shape {} of {} needs {}{}", what,
                 data.size(), model::to_string(*header.shape), loom::to_string(type), need,
                 data.size() < need ? " (truncated file)" : "");
    return Tensor(model::Tensor::copy_of(type, *header.shape, data));
}

std::string npy_bytes(const Tensor& tensor) {
    LOOM_REQUIRE(!tensor.empty(), "write_npy: the tensor is empty");
    std::string shape = "(";
    for (std::size_t i = 0; i < tensor.shape().size(); ++i)
        shape += fmt::format("{}{}", i ? ", " : "", tensor.shape()[i]);
    shape += tensor.shape().size() == 1 ? ",)" : ")";
    // Strings are written as NumPy bytes ('|S<longest>', zero-padded UTF-8).
    const bool strings = tensor.element_type() == ElementType::STRING;
    std::string data;
    std::string dict;
    if (strings) {
        const auto values = tensor.impl().string_values();
        std::size_t width = 1;
        for (auto v : values)
            width = std::max(width, v.size());
        for (auto v : values) {
            data += v;
            data.append(width - v.size(), '\0');
        }
        dict =
            fmt::format("{{'descr': '|S{}', 'fortran_order': False, 'shape': {}, }}", width, shape);
    } else {
        dict = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': {}, }}",
                           element_size(tensor.element_type()) == 1 ? '|' : '<',
                           npy_code(tensor.element_type()), shape);
    }
    // Data starts 64-byte aligned; the header ends with '\n'.
    const bool v2 = dict.size() + 1 + 10 > 65535;
    const std::size_t prefix = v2 ? 12 : 10;
    const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';
    std::string out(k_npy_magic);
    out += static_cast<char>(v2 ? 2 : 1);
    out += '\0';
    const auto len = static_cast<std::uint32_t>(dict.size());
    out.append(reinterpret_cast<const char*>(&len), v2 ? 4 : 2);
    out += dict;
    if (strings) return out + data;
    const auto bytes = tensor.impl().bytes();
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return out;
}

Tensor read_npy(const std::filesystem::path& path) {
    return parse_npy(as_bytes(read_file(path)), path.string());
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
    const auto bytes = npy_bytes(tensor);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot write {}", path.string());
}

// ---- TensorProto ------------------------------------------------------------------------------

namespace {

// A protobuf wire-format reader over untrusted bytes.
class Wire {
public:
    Wire(std::span<const std::byte> bytes, const std::string& what)
        : m_bytes(bytes)
        , m_what(what) {}

    bool done() const noexcept { return m_pos >= m_bytes.size(); }
    [[noreturn]] void fail(const std::string& why) const {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}: not a valid TensorProto ({} at byte {})",
                   m_what, why, m_pos);
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (done()) fail("truncated varint");
            const auto b = std::to_integer<std::uint64_t>(m_bytes[m_pos++]);
            if (shift == 63 && b > 1) fail("varint too long");
            v |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
        fail("varint too long");
    }
    std::span<const std::byte> take(std::size_t n) {
        if (n > m_bytes.size() - m_pos) fail(fmt::format("{} bytes announced, fewer left", n));
        auto s = m_bytes.subspan(m_pos, n);
        m_pos += n;
        return s;
    }
    std::span<const std::byte> length_delimited() { return take(checked_size(varint())); }
    template <class T>
    T fixed() {
        T v;
        std::memcpy(&v, take(sizeof(T)).data(), sizeof(T));
        return v;
    }
    void skip(unsigned wire_type) {
        switch (wire_type) {
        case 0:
            varint();
            break;
        case 1:
            take(8);
            break;
        case 2:
            length_delimited();
            break;
        case 5:
            take(4);
            break;
        default:
            fail(fmt::format("wire type {}", wire_type));
        }
    }
    const std::string& what() const noexcept { return m_what; }

private:
    std::size_t checked_size(std::uint64_t n) const {
        if (n > m_bytes.size()) fail(fmt::format("length {} beyond the file", n));
        return static_cast<std::size_t>(n);
    }
    std::span<const std::byte> m_bytes;
    const std::string& m_what;
    std::size_t m_pos = 0;
};

// The fields of a TensorProto we read; repeated numeric fields accept packed and unpacked.
struct Proto {
    Shape dims;
    std::int64_t data_type = 0;
    std::vector<float> floats;
    std::vector<std::uint64_t> int32s; // raw varints (sign-extended int32 or zero-extended)
    std::vector<std::uint64_t> int64s; // int64_data and uint64_data, as varints
    std::vector<double> doubles;
    std::span<const std::byte> raw;
    bool has_raw = false;
    bool has_strings = false;
    bool external = false;
    bool segment = false;
    std::string name;
};

void varints(Wire& w, unsigned wire_type, std::vector<std::uint64_t>& out) {
    if (wire_type == 0) {
        out.push_back(w.varint());
        return;
    }
    if (wire_type != 2) w.fail("a repeated integer field with a bad wire type");
    Wire packed(w.length_delimited(), w.what());
    while (!packed.done())
        out.push_back(packed.varint());
}

template <class T>
void fixeds(Wire& w, unsigned wire_type, unsigned single_type, std::vector<T>& out) {
    if (wire_type == single_type) {
        out.push_back(w.fixed<T>());
        return;
    }
    if (wire_type != 2) w.fail("a repeated fixed-size field with a bad wire type");
    auto bytes = w.length_delimited();
    if (bytes.size() % sizeof(T) != 0) w.fail("packed data not a multiple of the element size");
    if (bytes.empty()) return;
    const auto start = out.size();
    out.resize(start + bytes.size() / sizeof(T));
    std::memcpy(out.data() + start, bytes.data(), bytes.size());
}

Proto decode(Wire& w) {
    Proto p;
    std::vector<std::uint64_t> dims;
    while (!w.done()) {
        const auto key = w.varint();
        const auto field = key >> 3;
        const auto wire_type = static_cast<unsigned>(key & 7);
        switch (field) {
        case 1:
            varints(w, wire_type, dims);
            break;
        case 2:
            if (wire_type != 0) w.fail("data_type is not a varint");
            p.data_type = static_cast<std::int64_t>(w.varint());
            break;
        case 3:
            p.segment = true;
            w.skip(wire_type);
            break;
        case 4:
            fixeds(w, wire_type, 5, p.floats);
            break;
        case 5:
            varints(w, wire_type, p.int32s);
            break;
        case 6:
            p.has_strings = true;
            w.skip(wire_type);
            break;
        case 7:
            varints(w, wire_type, p.int64s);
            break;
        case 8: {
            if (wire_type != 2) w.fail("name is not a string");
            auto s = w.length_delimited();
            p.name.assign(reinterpret_cast<const char*>(s.data()), s.size());
            break;
        }
        case 9:
            if (wire_type != 2) w.fail("raw_data is not bytes");
            p.raw = w.length_delimited();
            p.has_raw = true;
            break;
        case 10:
            fixeds(w, wire_type, 1, p.doubles);
            break;
        case 11:
            varints(w, wire_type, p.int64s);
            break;
        case 13:
            p.external = true;
            w.skip(wire_type);
            break;
        case 14:
            if (wire_type != 0) w.fail("data_location is not a varint");
            if (w.varint() == 1) p.external = true; // DataLocation EXTERNAL
            break;
        default:
            if (field == 0) w.fail("field number 0");
            w.skip(wire_type);
        }
    }
    for (auto d : dims)
        p.dims.push_back(static_cast<std::int64_t>(d));
    return p;
}

// ONNX TensorProto.DataType → Loom; nullopt for types Loom cannot hold.
std::optional<ElementType> onnx_type(std::int64_t t) {
    switch (t) {
    case 1:
        return ElementType::F32;
    case 2:
        return ElementType::U8;
    case 3:
        return ElementType::I8;
    case 4:
        return ElementType::U16;
    case 5:
        return ElementType::I16;
    case 6:
        return ElementType::I32;
    case 7:
        return ElementType::I64;
    case 9:
        return ElementType::BOOLEAN;
    case 10:
        return ElementType::F16;
    case 11:
        return ElementType::F64;
    case 12:
        return ElementType::U32;
    case 13:
        return ElementType::U64;
    case 16:
        return ElementType::BF16;
    default:
        return std::nullopt;
    }
}

// The typed field that holds values of `type` when there is no raw_data, and its value count.
std::pair<const char*, std::size_t> typed_field(const Proto& p, ElementType type) {
    switch (type) {
    case ElementType::F32:
        return {"float_data", p.floats.size()};
    case ElementType::F64:
        return {"double_data", p.doubles.size()};
    case ElementType::I64:
        return {"int64_data", p.int64s.size()};
    case ElementType::U32:
    case ElementType::U64:
        return {"uint64_data", p.int64s.size()};
    default:
        return {"int32_data", p.int32s.size()};
    }
}

// Copies varint values into `out` as `T` (truncating, as ONNX stores narrow types in int32_data).
template <class T>
void store_narrow(const std::vector<std::uint64_t>& values, std::byte* out) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto v = static_cast<T>(values[i]);
        std::memcpy(out + i * sizeof(T), &v, sizeof(T));
    }
}

// Fills `out` from the typed field (its count already checked against the shape, non-zero).
void fill_typed(const Proto& p, ElementType type, std::byte* out) {
    switch (type) {
    case ElementType::F32:
        std::memcpy(out, p.floats.data(), p.floats.size() * 4);
        return;
    case ElementType::F64:
        std::memcpy(out, p.doubles.data(), p.doubles.size() * 8);
        return;
    case ElementType::I64:
    case ElementType::U64:
        std::memcpy(out, p.int64s.data(), p.int64s.size() * 8);
        return;
    case ElementType::U32:
        store_narrow<std::uint32_t>(p.int64s, out);
        return;
    case ElementType::BOOLEAN:
        for (std::size_t i = 0; i < p.int32s.size(); ++i)
            out[i] = static_cast<std::byte>(p.int32s[i] != 0 ? 1 : 0);
        return;
    default:
        break;
    }
    switch (element_size(type)) {
    case 1:
        store_narrow<std::uint8_t>(p.int32s, out);
        return;
    case 2:
        store_narrow<std::uint16_t>(p.int32s, out);
        return;
    default:
        store_narrow<std::uint32_t>(p.int32s, out);
        return;
    }
}

} // namespace

NamedTensor parse_tensor_pb(std::span<const std::byte> bytes, const std::string& what) {
    Wire wire(bytes, what);
    const auto p = decode(wire);
    if (p.data_type == 8 || p.has_strings)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: string tensors are not supported", what);
    if (p.external)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "{}: the tensor's data is in an external file, which a standalone .pb "
                   "cannot refer to",
                   what);
    if (p.segment)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: segmented TensorProtos are not supported", what);
    LOOM_REQUIRE(p.data_type != 0, "{}: the TensorProto has no data_type", what);
    const auto type = onnx_type(p.data_type);
    if (!type)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: ONNX data type {} is not supported", what,
                   p.data_type);
    for (auto d : p.dims)
        LOOM_REQUIRE(d >= 0, "{}: negative dimension {}", what, d);
    // Counts are checked before allocating: the file's own size bounds the allocation.
    const auto need = byte_size_of(*type, p.dims, what);
    if (p.has_raw) {
        LOOM_REQUIRE(p.raw.size() == need, "{}: raw_data has {} bytes, shape {} of {} needs {}",
                     what, p.raw.size(), model::to_string(p.dims), loom::to_string(*type), need);
    } else {
        const auto [field, count] = typed_field(p, *type);
        const auto given = p.floats.size() + p.doubles.size() + p.int64s.size() + p.int32s.size();
        LOOM_REQUIRE(count * element_size(*type) == need && given == count,
                     "{}: {} holds {} values (and other fields {}), shape {} of {} needs {}", what,
                     field, count, given - count, model::to_string(p.dims), loom::to_string(*type),
                     need / element_size(*type));
    }
    auto t = model::Tensor::allocate(*type, p.dims);
    if (need == 0) return {p.name, Tensor(std::move(t))};
    if (p.has_raw)
        std::memcpy(t.mutable_data(), p.raw.data(), need);
    else
        fill_typed(p, *type, t.mutable_data());
    return {p.name, Tensor(std::move(t))};
}

NamedTensor read_tensor_pb(const std::filesystem::path& path) {
    return parse_tensor_pb(as_bytes(read_file(path)), path.string());
}

Tensor bf16_from_bits(const Tensor& t, ElementType want) {
    if (want != ElementType::BF16 || t.element_type() != ElementType::U16) return t;
    return Tensor(
        model::Tensor::view(ElementType::BF16, t.shape(), t.impl().bytes(), t.impl().owner()));
}

NamedTensor read_tensor_file(const std::filesystem::path& path) {
    const auto ext = path.extension().string();
    if (ext == ".npy") return {{}, read_npy(path)};
    if (ext == ".pb") return read_tensor_pb(path);
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
               "{}: unknown tensor file type (expected .npy or ONNX TensorProto .pb)",
               path.string());
}

} // namespace loom::runtime
