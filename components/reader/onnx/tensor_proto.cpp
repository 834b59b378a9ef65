// ONNX TensorProto → Tensor. Raw data is little-endian (as on every host Loom supports); typed
// fields are converted per element; external data is mapped, never copied.

#include <bit>
#include <cstring>
#include <limits>

#include "components/reader/onnx/graph_converter.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian");

namespace {
using TP = onnx::TensorProto;

std::string tensor_label(const TP& proto) {
    return proto.name().empty() ? std::string("<unnamed tensor>") : "'" + proto.name() + "'";
}

template <class To, class Field>
void fill_from(const Field& field, std::byte* out) {
    auto* dst = reinterpret_cast<To*>(out);
    std::size_t i = 0;
    for (auto v : field)
        dst[i++] = static_cast<To>(v);
}

// Copies the typed field that holds `type` into `out`; returns the number of values present.
std::size_t typed_count(const TP& p, ElementType type) {
    switch (type) {
    case ElementType::F32:
        return static_cast<std::size_t>(p.float_data_size());
    case ElementType::F64:
        return static_cast<std::size_t>(p.double_data_size());
    case ElementType::I64:
        return static_cast<std::size_t>(p.int64_data_size());
    case ElementType::U32:
    case ElementType::U64:
        return static_cast<std::size_t>(p.uint64_data_size());
    default:
        return static_cast<std::size_t>(p.int32_data_size());
    }
}

void fill_typed(const TP& p, ElementType type, std::byte* out) {
    switch (type) {
    case ElementType::F32:
        fill_from<float>(p.float_data(), out);
        break;
    case ElementType::F64:
        fill_from<double>(p.double_data(), out);
        break;
    case ElementType::I64:
        fill_from<std::int64_t>(p.int64_data(), out);
        break;
    case ElementType::U32:
        fill_from<std::uint32_t>(p.uint64_data(), out);
        break;
    case ElementType::U64:
        fill_from<std::uint64_t>(p.uint64_data(), out);
        break;
    case ElementType::I32:
        fill_from<std::int32_t>(p.int32_data(), out);
        break;
    case ElementType::I16:
        fill_from<std::int16_t>(p.int32_data(), out);
        break;
    case ElementType::I8:
        fill_from<std::int8_t>(p.int32_data(), out);
        break;
    case ElementType::U16:
    case ElementType::F16:
    case ElementType::BF16:
        fill_from<std::uint16_t>(p.int32_data(), out);
        break;
    case ElementType::U8:
        fill_from<std::uint8_t>(p.int32_data(), out);
        break;
    case ElementType::BOOLEAN: {
        auto* dst = reinterpret_cast<std::uint8_t*>(out);
        std::size_t i = 0;
        for (auto v : p.int32_data())
            dst[i++] = v != 0 ? 1 : 0;
        break;
    }
    default:
        break;
    }
}

// A relative path below the model's folder: no absolute paths, no ".." components.
void check_location(const std::string& location, const std::string& label) {
    LOOM_REQUIRE(!location.empty(), "tensor {}: external data without a 'location'", label);
    LOOM_REQUIRE(location.front() != '/' && location.front() != '\\' &&
                     location.find(':') == std::string::npos,
                 "tensor {}: external data location '{}' must be relative to the model's folder",
                 label, location);
    std::size_t start = 0;
    while (start <= location.size()) {
        auto end = location.find_first_of("/\\", start);
        if (end == std::string::npos) end = location.size();
        LOOM_REQUIRE(location.substr(start, end - start) != "..",
                     "tensor {}: external data location '{}' leaves the model's folder", label,
                     location);
        start = end + 1;
    }
}

std::int64_t parse_offset(const std::string& text, const std::string& key,
                          const std::string& label) {
    std::int64_t value = 0;
    bool ok = !text.empty() && text.size() <= 18;
    for (char c : text) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) value = value * 10 + (c - '0');
    }
    LOOM_REQUIRE(ok, "tensor {}: external data '{}' is not a byte count: '{}'", label, key, text);
    return value;
}

model::Tensor external_tensor(const TP& proto, ElementType type, model::Shape shape,
                              std::uint64_t bytes, const std::string& base_dir,
                              ExternalFiles* files) {
    auto label = tensor_label(proto);
    std::string location;
    std::int64_t offset = 0;
    std::optional<std::int64_t> length;
    for (const auto& kv : proto.external_data()) {
        if (kv.key() == "location")
            location = kv.value();
        else if (kv.key() == "offset")
            offset = parse_offset(kv.value(), "offset", label);
        else if (kv.key() == "length")
            length = parse_offset(kv.value(), "length", label);
    }
    check_location(location, label);
    auto path = (base_dir.empty() ? std::string(".") : base_dir) + "/" + location;
    std::shared_ptr<const model::MappedFile> file;
    if (files) {
        auto& slot = files->files[path];
        if (!slot) slot = model::MappedFile::open(path);
        file = slot;
    } else {
        file = model::MappedFile::open(path);
    }
    LOOM_REQUIRE(!length || static_cast<std::uint64_t>(*length) == bytes,
                 "tensor {}: external data length {} does not match its {} bytes", label, *length,
                 bytes);
    auto size = file->bytes().size();
    LOOM_REQUIRE(static_cast<std::uint64_t>(offset) <= size &&
                     bytes <= size - static_cast<std::uint64_t>(offset),
                 "tensor {}: external data [{}, +{}) lies outside '{}' ({} bytes)", label, offset,
                 bytes, location, size);
    auto view = file->bytes().subspan(static_cast<std::size_t>(offset), bytes);
    return model::Tensor::view(type, std::move(shape), view, file);
}
} // namespace

void check_extent(std::int64_t value, const std::string& what) {
    LOOM_REQUIRE(value <= k_max_extent, "{}: absurd dimension or element count {} (limit 2^40)",
                 what, value);
}

std::int64_t extent_product(std::int64_t elements, std::int64_t dim, const std::string& what) {
    if (elements == 0 || dim == 0) return 0;
    LOOM_REQUIRE(elements <= k_max_extent / dim, "{}: absurd element count (over 2^40: {} × {})",
                 what, elements, dim);
    return elements * dim;
}

ElementType element_type_from_onnx(std::int32_t onnx_type) {
    switch (onnx_type) {
    case TP::FLOAT:
        return ElementType::F32;
    case TP::FLOAT16:
        return ElementType::F16;
    case TP::BFLOAT16:
        return ElementType::BF16;
    case TP::DOUBLE:
        return ElementType::F64;
    case TP::INT8:
        return ElementType::I8;
    case TP::UINT8:
        return ElementType::U8;
    case TP::INT16:
        return ElementType::I16;
    case TP::UINT16:
        return ElementType::U16;
    case TP::INT32:
        return ElementType::I32;
    case TP::UINT32:
        return ElementType::U32;
    case TP::INT64:
        return ElementType::I64;
    case TP::UINT64:
        return ElementType::U64;
    case TP::BOOL:
        return ElementType::BOOLEAN;
    default:
        return ElementType::UNDEFINED;
    }
}

std::int32_t onnx_type_from_element(ElementType type) noexcept {
    for (std::int32_t t = TP::FLOAT; t <= TP::BFLOAT16; ++t)
        if (t != TP::STRING && element_type_from_onnx(t) == type) return t;
    return TP::UNDEFINED;
}

model::Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir) {
    return tensor_from_proto(proto, base_dir, nullptr);
}

model::Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir,
                                ExternalFiles* files) {
    auto label = tensor_label(proto);
    if (proto.data_type() == TP::STRING)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "tensor {}: string tensors are not supported", label);
    auto type = element_type_from_onnx(proto.data_type());
    if (type == ElementType::UNDEFINED)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "tensor {}: ONNX data type {} is not supported", label,
                   proto.data_type());
    LOOM_REQUIRE(!proto.has_segment(), "tensor {}: segmented tensors are not supported", label);
    model::Shape shape;
    std::int64_t elements = 1;
    for (auto d : proto.dims()) {
        LOOM_REQUIRE(d >= 0, "tensor {}: negative dimension {}", label, d);
        check_extent(d, "tensor " + label);
        shape.push_back(d);
        elements = extent_product(elements, d, "tensor " + label);
    }
    auto bytes = static_cast<std::uint64_t>(elements) * element_size(type);
    if (proto.data_location() == TP::EXTERNAL)
        return external_tensor(proto, type, std::move(shape), bytes, base_dir, files);
    if (proto.has_raw_data()) {
        const auto& raw = proto.raw_data();
        LOOM_REQUIRE(raw.size() == bytes,
                     "tensor {}: raw_data has {} bytes, its type {} and dims {} need {}", label,
                     raw.size(), loom::to_string(type), model::to_string(shape), bytes);
        return model::Tensor::copy_of(type, std::move(shape),
                                      std::as_bytes(std::span(raw.data(), raw.size())));
    }
    auto count = typed_count(proto, type);
    LOOM_REQUIRE(count == static_cast<std::uint64_t>(elements),
                 "tensor {}: holds {} values, its dims {} need {}", label, count,
                 model::to_string(shape), elements);
    auto tensor = model::Tensor::allocate(type, std::move(shape));
    fill_typed(proto, type, tensor.mutable_data());
    return tensor;
}

} // namespace loom::reader::onnx_fe
