// tensor_io: .npy and TensorProto .pb files. TensorProtos are built with the real protobuf
// library here, to check the hand-written decoder against it.

#include "components/runtime/tensor_io.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include <onnx/onnx_pb.h>

#include "schemas/error.hpp"

namespace loom::runtime {
namespace {

namespace fs = std::filesystem;

std::span<const std::byte> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

template <class T>
Tensor make(ElementType type, const Shape& shape, const std::vector<T>& values) {
    Tensor t(type, shape);
    EXPECT_EQ(t.byte_size(), values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.data(), values.data(), t.byte_size());
    return t;
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
    std::vector<T> v(t.byte_size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), t.data(), t.byte_size());
    return v;
}

ErrorKind kind_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (message) *message = e.message();
        return e.kind();
    }
    ADD_FAILURE() << "no loom::Error thrown";
    return ErrorKind::INTERNAL;
}

fs::path temp_file(const std::string& name, const std::string& contents) {
    auto path = fs::path(testing::TempDir()) / name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
}

// The header NumPy 1.x writes for np.save(f, np.zeros((2, 3), np.float32)).
std::string numpy_header(const std::string& dict) {
    std::string h = dict;
    h.append((10 + dict.size() + 1 + 63) / 64 * 64 - 10 - dict.size() - 1, ' ');
    h += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\0';
    out += static_cast<char>(h.size());
    out += '\0';
    return out + h;
}

TEST(Npy, ReadsWhatNumpyWrites) {
    std::vector<float> v = {1, 2, 3, 4, 5, 6.5f};
    auto file = numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") +
                std::string(reinterpret_cast<const char*>(v.data()), 24);
    auto t = parse_npy(bytes_of(file), "x.npy");
    EXPECT_EQ(t.element_type(), ElementType::F32);
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(values_of<float>(t), v);
}

TEST(Npy, WritesNumpysHeaderExactly) {
    auto bytes = npy_bytes(make<float>(ElementType::F32, {2, 3}, {0, 0, 0, 0, 0, 0}));
    auto header = numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    ASSERT_EQ(header.size(), 128u);
    ASSERT_EQ(bytes.size(), 128u + 24u);
    EXPECT_EQ(bytes.substr(0, 128), header);
    auto one = npy_bytes(make<std::int64_t>(ElementType::I64, {3}, {1, 2, 3}));
    EXPECT_NE(one.find("'shape': (3,)"), std::string::npos);
    auto scalar = npy_bytes(make<std::uint8_t>(ElementType::U8, {}, {7}));
    EXPECT_NE(scalar.find("'descr': '|u1'"), std::string::npos);
    EXPECT_NE(scalar.find("'shape': ()"), std::string::npos);
    EXPECT_EQ(scalar.size(), 129u);
}

template <class T>
void round_trip(ElementType type, const Shape& shape, const std::vector<T>& values) {
    auto path = fs::path(testing::TempDir()) / "round_trip.npy";
    write_npy(path, make<T>(type, shape, values));
    auto back = read_npy(path);
    EXPECT_EQ(back.element_type(), type) << to_string(type);
    EXPECT_EQ(back.shape(), shape) << to_string(type);
    EXPECT_EQ(values_of<T>(back), values) << to_string(type);
    auto via = read_tensor_file(path);
    EXPECT_TRUE(via.name.empty());
    EXPECT_TRUE(via.tensor.impl().same_as(back.impl()));
}

TEST(Npy, RoundTripsEveryType) {
    round_trip<float>(ElementType::F32, {2, 2}, {1.5f, -2, 0, 1e30f});
    round_trip<double>(ElementType::F64, {3}, {1e-300, -2, 3});
    round_trip<std::uint16_t>(ElementType::F16, {2}, {0x3c00, 0xc000});
    round_trip<std::int8_t>(ElementType::I8, {2}, {-128, 127});
    round_trip<std::uint8_t>(ElementType::U8, {1, 1, 2}, {0, 255});
    round_trip<std::int16_t>(ElementType::I16, {2}, {-32768, 5});
    round_trip<std::uint16_t>(ElementType::U16, {2}, {65535, 5});
    round_trip<std::int32_t>(ElementType::I32, {2, 1}, {-7, 1 << 30});
    round_trip<std::uint32_t>(ElementType::U32, {1}, {4000000000u});
    round_trip<std::int64_t>(ElementType::I64, {}, {-(std::int64_t{1} << 60)});
    round_trip<std::uint64_t>(ElementType::U64, {2}, {~std::uint64_t{0}, 1});
    round_trip<std::uint8_t>(ElementType::BOOLEAN, {3}, {1, 0, 1});
    round_trip<float>(ElementType::F32, {2, 0, 3}, {});
}

TEST(Npy, ReadsVersions2And3AndBoolSpellings) {
    for (char major : {'\x02', '\x03'}) {
        std::string dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }\n";
        std::string file = "\x93NUMPY";
        file += major;
        file += '\0';
        auto len = static_cast<std::uint32_t>(dict.size());
        file.append(reinterpret_cast<const char*>(&len), 4);
        file += dict + std::string("\x01\x00", 2);
        auto t = parse_npy(bytes_of(file), "b.npy");
        EXPECT_EQ(t.element_type(), ElementType::BOOLEAN);
        EXPECT_EQ(values_of<std::uint8_t>(t), (std::vector<std::uint8_t>{1, 0}));
    }
    auto q = numpy_header("{\"descr\": \"?\", \"shape\": (1,), \"fortran_order\": False}") + "\x01";
    EXPECT_EQ(parse_npy(bytes_of(q), "q.npy").element_type(), ElementType::BOOLEAN);
    auto big1 = numpy_header("{'descr': '>i1', 'fortran_order': False, 'shape': (1,), }") + "\x05";
    EXPECT_EQ(parse_npy(bytes_of(big1), "i.npy").element_type(), ElementType::I8);
}

TEST(Npy, RefusesWhatItCannotRepresentNamingTheFile) {
    auto refuse = [](const std::string& dict, const std::string& data, const char* needle) {
        auto path = temp_file("refused.npy", numpy_header(dict) + data);
        std::string message;
        EXPECT_EQ(kind_of([&] { read_npy(path); }, &message), ErrorKind::INVALID_ARGUMENT) << dict;
        EXPECT_NE(message.find("refused.npy"), std::string::npos) << message;
        EXPECT_NE(message.find(needle), std::string::npos) << message;
    };
    refuse("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", std::string(16, '\0'),
           "Fortran");
    refuse("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", std::string(8, '\0'),
           "big-endian");
    refuse("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", std::string(16, '\0'),
           "object");
    refuse("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'), "c8");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(20, '\0'),
           "truncated");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'),
           "needs 4");
    refuse("{'descr': '<f4', 'shape': (1,), }", std::string(4, '\0'), "lacks");
    refuse("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", "", "True or False");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }", "", "dimension");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999999999999,), }", "",
           "too large");
    refuse("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "",
           "too large");
}

TEST(Npy, RefusesCorruptHeaders) {
    auto good = npy_bytes(make<float>(ElementType::F32, {2}, {1, 2}));
    for (std::size_t n = 0; n < good.size(); ++n)
        EXPECT_EQ(kind_of([&] { parse_npy(bytes_of(good.substr(0, n)), "cut.npy"); }),
                  ErrorKind::INVALID_ARGUMENT)
            << n;
    auto bad_magic = good;
    bad_magic[1] = 'X';
    EXPECT_EQ(kind_of([&] { parse_npy(bytes_of(bad_magic), "m.npy"); }),
              ErrorKind::INVALID_ARGUMENT);
    auto v9 = good;
    v9[6] = 9;
    EXPECT_EQ(kind_of([&] { parse_npy(bytes_of(v9), "v.npy"); }), ErrorKind::INVALID_ARGUMENT);
    auto huge_len = good;
    huge_len[8] = '\xff';
    huge_len[9] = '\xff';
    EXPECT_EQ(kind_of([&] { parse_npy(bytes_of(huge_len), "h.npy"); }),
              ErrorKind::INVALID_ARGUMENT);
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) { // flipped bytes: a tensor or a loom::Error, nothing else
        auto copy = good;
        copy[rng() % copy.size()] = static_cast<char>(rng());
        try {
            parse_npy(bytes_of(copy), "f.npy");
        } catch (const Error&) {
        }
    }
}

TEST(Npy, MissingFileIsNotFoundAndBf16IsUnsupported) {
    std::string message;
    EXPECT_EQ(kind_of([&] { read_npy("/nonexistent/x.npy"); }, &message), ErrorKind::NOT_FOUND);
    EXPECT_NE(message.find("/nonexistent/x.npy"), std::string::npos);
    EXPECT_EQ(kind_of([&] { npy_bytes(Tensor(ElementType::BF16, {2})); }), ErrorKind::UNSUPPORTED);
    EXPECT_EQ(kind_of([&] { write_npy("/nonexistent/dir/y.npy", Tensor(ElementType::F32, {1})); }),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(kind_of([&] { read_tensor_file(temp_file("x.txt", "1 2 3")); }),
              ErrorKind::INVALID_ARGUMENT);
}

// ---- TensorProto ----------------------------------------------------------------------------

NamedTensor decode(const onnx::TensorProto& proto) {
    auto bytes = proto.SerializeAsString();
    return parse_tensor_pb(bytes_of(bytes), "t.pb");
}

onnx::TensorProto proto(int type, const Shape& dims, const std::string& name = "t") {
    onnx::TensorProto p;
    p.set_data_type(type);
    p.set_name(name);
    for (auto d : dims)
        p.add_dims(d);
    return p;
}

TEST(TensorPb, ReadsTypedFields) {
    auto f = proto(onnx::TensorProto::FLOAT, {2, 2}, "input:0");
    for (float v : {1.f, -2.f, 3.5f, 0.f})
        f.add_float_data(v);
    auto t = decode(f);
    EXPECT_EQ(t.name, "input:0");
    EXPECT_EQ(t.tensor.shape(), (Shape{2, 2}));
    EXPECT_EQ(values_of<float>(t.tensor), (std::vector<float>{1, -2, 3.5f, 0}));

    auto d = proto(onnx::TensorProto::DOUBLE, {2});
    d.add_double_data(1e-300);
    d.add_double_data(-4);
    EXPECT_EQ(values_of<double>(decode(d).tensor), (std::vector<double>{1e-300, -4}));

    auto i64 = proto(onnx::TensorProto::INT64, {3});
    for (std::int64_t v : {std::int64_t{-1}, std::int64_t{1} << 62, std::int64_t{0}})
        i64.add_int64_data(v);
    EXPECT_EQ(values_of<std::int64_t>(decode(i64).tensor),
              (std::vector<std::int64_t>{-1, std::int64_t{1} << 62, 0}));

    auto u64 = proto(onnx::TensorProto::UINT64, {1});
    u64.add_uint64_data(~std::uint64_t{0});
    EXPECT_EQ(values_of<std::uint64_t>(decode(u64).tensor),
              (std::vector<std::uint64_t>{~std::uint64_t{0}}));
    auto u32 = proto(onnx::TensorProto::UINT32, {1});
    u32.add_uint64_data(4000000000u);
    EXPECT_EQ(values_of<std::uint32_t>(decode(u32).tensor),
              (std::vector<std::uint32_t>{4000000000u}));
}

TEST(TensorPb, ReadsNarrowTypesFromInt32Data) {
    auto i32 = proto(onnx::TensorProto::INT32, {2});
    i32.add_int32_data(-5);
    i32.add_int32_data(1 << 30);
    EXPECT_EQ(values_of<std::int32_t>(decode(i32).tensor),
              (std::vector<std::int32_t>{-5, 1 << 30}));
    auto i8 = proto(onnx::TensorProto::INT8, {2});
    i8.add_int32_data(-128);
    i8.add_int32_data(127);
    EXPECT_EQ(values_of<std::int8_t>(decode(i8).tensor), (std::vector<std::int8_t>{-128, 127}));
    auto u8 = proto(onnx::TensorProto::UINT8, {1});
    u8.add_int32_data(255);
    EXPECT_EQ(values_of<std::uint8_t>(decode(u8).tensor), (std::vector<std::uint8_t>{255}));
    auto i16 = proto(onnx::TensorProto::INT16, {1});
    i16.add_int32_data(-300);
    EXPECT_EQ(values_of<std::int16_t>(decode(i16).tensor), (std::vector<std::int16_t>{-300}));
    auto u16 = proto(onnx::TensorProto::UINT16, {1});
    u16.add_int32_data(65535);
    EXPECT_EQ(values_of<std::uint16_t>(decode(u16).tensor), (std::vector<std::uint16_t>{65535}));
    auto b = proto(onnx::TensorProto::BOOL, {3});
    for (int v : {1, 0, 1})
        b.add_int32_data(v);
    auto bt = decode(b).tensor;
    EXPECT_EQ(bt.element_type(), ElementType::BOOLEAN);
    EXPECT_EQ(values_of<std::uint8_t>(bt), (std::vector<std::uint8_t>{1, 0, 1}));
    auto h = proto(onnx::TensorProto::FLOAT16, {2});
    h.add_int32_data(0x3c00);
    h.add_int32_data(0xc000);
    auto ht = decode(h).tensor;
    EXPECT_EQ(ht.element_type(), ElementType::F16);
    EXPECT_EQ(values_of<std::uint16_t>(ht), (std::vector<std::uint16_t>{0x3c00, 0xc000}));
    auto bf = proto(onnx::TensorProto::BFLOAT16, {1});
    bf.add_int32_data(0x3f80);
    EXPECT_EQ(decode(bf).tensor.element_type(), ElementType::BF16);
}

TEST(TensorPb, ReadsRawDataScalarsAndEmptyTensors) {
    auto r = proto(onnx::TensorProto::INT16, {3});
    std::vector<std::int16_t> v = {-1, 2, 300};
    r.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), 6));
    EXPECT_EQ(values_of<std::int16_t>(decode(r).tensor), v);
    auto s = proto(onnx::TensorProto::FLOAT, {});
    s.add_float_data(42);
    auto st = decode(s).tensor;
    EXPECT_TRUE(st.shape().empty());
    EXPECT_EQ(values_of<float>(st), (std::vector<float>{42}));
    auto e = proto(onnx::TensorProto::FLOAT, {0, 3});
    EXPECT_EQ(decode(e).tensor.size(), 0);
    e.set_raw_data("");
    EXPECT_EQ(decode(e).tensor.shape(), (Shape{0, 3}));
}

TEST(TensorPb, ReadsPackedDimsAndUnpackedData) {
    // Hand-encoded: dims packed [2, 1] (field 1, wire 2), data_type FLOAT, float_data as two
    // unpacked fixed32s (field 4, wire 5), name "p".
    std::string b = {0x0a, 0x02, 0x02, 0x01, 0x10, 0x01};
    float one = 1, two = 2;
    b += '\x25';
    b.append(reinterpret_cast<const char*>(&one), 4);
    b += '\x25';
    b.append(reinterpret_cast<const char*>(&two), 4);
    b += std::string{0x42, 0x01, 'p'};
    auto t = parse_tensor_pb(bytes_of(b), "hand.pb");
    EXPECT_EQ(t.name, "p");
    EXPECT_EQ(t.tensor.shape(), (Shape{2, 1}));
    EXPECT_EQ(values_of<float>(t.tensor), (std::vector<float>{1, 2}));
}

TEST(TensorPb, RefusesUnsupportedData) {
    auto s = proto(onnx::TensorProto::STRING, {1});
    s.add_string_data("a");
    EXPECT_EQ(kind_of([&] { decode(s); }), ErrorKind::UNSUPPORTED);
    auto x = proto(onnx::TensorProto::FLOAT, {1});
    x.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* entry = x.add_external_data();
    entry->set_key("location");
    entry->set_value("weights.bin");
    std::string message;
    EXPECT_EQ(kind_of([&] { decode(x); }, &message), ErrorKind::UNSUPPORTED) << message;
    EXPECT_NE(message.find("external"), std::string::npos);
    EXPECT_EQ(kind_of([&] { decode(proto(onnx::TensorProto::COMPLEX64, {1})); }),
              ErrorKind::UNSUPPORTED);
    EXPECT_EQ(kind_of([&] { decode(proto(onnx::TensorProto::UNDEFINED, {1})); }),
              ErrorKind::INVALID_ARGUMENT);
}

TEST(TensorPb, RefusesValuesThatDoNotMatchTheShape) {
    auto few = proto(onnx::TensorProto::FLOAT, {3});
    few.add_float_data(1);
    std::string message;
    EXPECT_EQ(kind_of([&] { decode(few); }, &message), ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(message.find("t.pb"), std::string::npos) << message;
    auto wrong_field = proto(onnx::TensorProto::INT64, {1});
    wrong_field.add_float_data(1);
    EXPECT_EQ(kind_of([&] { decode(wrong_field); }), ErrorKind::INVALID_ARGUMENT);
    auto raw = proto(onnx::TensorProto::FLOAT, {2});
    raw.set_raw_data("abc");
    EXPECT_EQ(kind_of([&] { decode(raw); }), ErrorKind::INVALID_ARGUMENT);
    auto negative = proto(onnx::TensorProto::FLOAT, {-1});
    EXPECT_EQ(kind_of([&] { decode(negative); }), ErrorKind::INVALID_ARGUMENT);
    auto huge = proto(onnx::TensorProto::FLOAT, {std::int64_t{1} << 40, std::int64_t{1} << 40});
    EXPECT_EQ(kind_of([&] { decode(huge); }), ErrorKind::INVALID_ARGUMENT);
}

TEST(TensorPb, TruncatedAndCorruptBytesGiveTypedErrors) {
    auto p = proto(onnx::TensorProto::FLOAT, {2, 3}, "");
    std::vector<float> v(6, 1.5f);
    p.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), 24));
    auto good = p.SerializeAsString();
    ASSERT_EQ(values_of<float>(parse_tensor_pb(bytes_of(good), "g.pb").tensor), v);
    for (std::size_t n = 0; n < good.size(); ++n)
        EXPECT_EQ(kind_of([&] { parse_tensor_pb(bytes_of(good.substr(0, n)), "cut.pb"); }),
                  ErrorKind::INVALID_ARGUMENT)
            << n;
    auto bad = [](const std::string& b) {
        return kind_of([&] { parse_tensor_pb(bytes_of(b), "bad.pb"); });
    };
    EXPECT_EQ(bad(std::string(11, '\xff')), ErrorKind::INVALID_ARGUMENT); // endless varint
    EXPECT_EQ(bad("\x0b"), ErrorKind::INVALID_ARGUMENT);                  // group start
    EXPECT_EQ(bad(std::string("\x4a\xff\xff\xff\x0f", 5)), ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(bad(std::string("\x00\x01", 2)), ErrorKind::INVALID_ARGUMENT); // field 0
    EXPECT_EQ(bad(std::string("\x22\x03\x00\x00\x00", 5)), ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(bad("\x12\x01\x01"), ErrorKind::INVALID_ARGUMENT); // data_type as bytes
    std::mt19937 rng(11);
    for (int i = 0; i < 5000; ++i) { // flipped bytes: a tensor or a loom::Error, nothing else
        auto copy = good;
        for (int k = 0; k < 3; ++k)
            copy[rng() % copy.size()] = static_cast<char>(rng());
        try {
            parse_tensor_pb(bytes_of(copy), "f.pb");
        } catch (const Error&) {
        }
    }
}

TEST(TensorPb, Bf16BitsStoredAsUint16AreReinterpreted) {
    auto bits = make<std::uint16_t>(ElementType::U16, {2}, {0x3f80, 0xc000});
    auto bf = bf16_from_bits(bits, ElementType::BF16);
    EXPECT_EQ(bf.element_type(), ElementType::BF16);
    EXPECT_EQ(bf.shape(), (Shape{2}));
    EXPECT_EQ(bf.impl().to_f64(), (std::vector<double>{1.0, -2.0}));
    EXPECT_EQ(bf16_from_bits(bits, ElementType::F16).element_type(), ElementType::U16);
    auto f = make<float>(ElementType::F32, {1}, {1});
    EXPECT_EQ(bf16_from_bits(f, ElementType::BF16).element_type(), ElementType::F32);
}

TEST(TensorPb, ReadsOnnxBackendTestData) {
    const fs::path dir = "/usr/share/libonnx-testdata/data/node/test_add/test_data_set_0";
    if (!fs::exists(dir)) GTEST_SKIP() << dir << " is missing (Debian package libonnx-testdata)";
    auto x = read_tensor_file(dir / "input_0.pb");
    EXPECT_EQ(x.name, "x");
    EXPECT_EQ(x.tensor.element_type(), ElementType::F32);
    EXPECT_EQ(x.tensor.shape(), (Shape{3, 4, 5}));
    auto y = read_tensor_pb(dir / "output_0.pb");
    EXPECT_EQ(y.tensor.shape(), (Shape{3, 4, 5}));
    std::string message;
    EXPECT_EQ(kind_of([&] { read_tensor_pb(dir / "missing.pb"); }, &message), ErrorKind::NOT_FOUND);
    EXPECT_NE(message.find("missing.pb"), std::string::npos);
}

} // namespace
} // namespace loom::runtime
