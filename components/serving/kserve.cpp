#include "components/serving/kserve.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "schemas/error.hpp"

namespace loom::serving {
namespace {

using json = nlohmann::json;

struct Datatype {
    const char* name;
    ElementType type;
};
constexpr Datatype k_datatypes[] = {
    {"BOOL", ElementType::BOOLEAN}, {"UINT8", ElementType::U8},    {"UINT16", ElementType::U16},
    {"UINT32", ElementType::U32},   {"UINT64", ElementType::U64},  {"INT8", ElementType::I8},
    {"INT16", ElementType::I16},    {"INT32", ElementType::I32},   {"INT64", ElementType::I64},
    {"FP16", ElementType::F16},     {"FP32", ElementType::F32},    {"FP64", ElementType::F64},
    {"BF16", ElementType::BF16},    {"BYTES", ElementType::STRING}};

constexpr std::size_t k_max_rank = 32;

Shape read_shape(const json& j, const std::string& where, std::size_t max_elements) {
    LOOM_REQUIRE(j.is_array() && j.size() <= k_max_rank,
                 "{}: `shape` must be an array of at most {} non-negative integers", where,
                 k_max_rank);
    Shape shape;
    std::size_t elements = 1;
    for (const auto& d : j) {
        LOOM_REQUIRE(d.is_number_integer() && d.get<std::int64_t>() >= 0,
                     "{}: `shape` must hold non-negative integers", where);
        const auto n = d.get<std::int64_t>();
        LOOM_REQUIRE(n == 0 || elements <= max_elements / static_cast<std::size_t>(n),
                     "{}: shape {} holds more than the {} elements a tensor may have", where,
                     j.dump(), max_elements);
        elements *= static_cast<std::size_t>(n);
        shape.push_back(n);
    }
    return shape;
}

// The scalars of a JSON `data` array, flattened row-major (nested arrays allowed).
void flatten(const json& j, std::vector<const json*>& out, std::size_t depth, std::size_t limit,
             const std::string& where) {
    LOOM_REQUIRE(depth <= k_max_rank, "{}: `data` nests deeper than {} arrays", where, k_max_rank);
    if (!j.is_array()) {
        LOOM_REQUIRE(out.size() < limit, "{}: `data` holds more elements than its shape", where);
        out.push_back(&j);
        return;
    }
    for (const auto& item : j)
        flatten(item, out, depth + 1, limit, where);
}

template <class T>
void store_numbers(const std::vector<const json*>& values, std::byte* dst,
                   const std::string& where) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        const json& v = *values[i];
        T x{};
        if constexpr (std::is_same_v<T, bool>) {
            LOOM_REQUIRE(v.is_boolean(), "{}: element {} is not true/false", where, i);
            x = v.get<bool>();
        } else if constexpr (std::is_floating_point_v<T>) {
            LOOM_REQUIRE(v.is_number(), "{}: element {} is not a number", where, i);
            x = static_cast<T>(v.get<double>());
        } else {
            LOOM_REQUIRE(v.is_number_integer(), "{}: element {} is not an integer", where, i);
            const bool fits =
                v.is_number_unsigned()
                    ? std::cmp_less_equal(v.get<std::uint64_t>(), std::numeric_limits<T>::max())
                    : std::cmp_greater_equal(v.get<std::int64_t>(),
                                             std::numeric_limits<T>::min()) &&
                          std::cmp_less_equal(v.get<std::int64_t>(), std::numeric_limits<T>::max());
            LOOM_REQUIRE(fits, "{}: element {} ({}) is out of range for the datatype", where, i,
                         v.dump());
            x = v.is_number_unsigned() ? static_cast<T>(v.get<std::uint64_t>())
                                       : static_cast<T>(v.get<std::int64_t>());
        }
        std::memcpy(dst + i * sizeof(T), &x, sizeof(T));
    }
}

Tensor tensor_from_json(ElementType type, const Shape& shape, const json& data,
                        const std::string& where) {
    const auto count = static_cast<std::size_t>(model::shape_size(shape));
    std::vector<const json*> values;
    flatten(data, values, 0, count, where);
    LOOM_REQUIRE(values.size() == count, "{}: `data` holds {} elements, its shape {} needs {}",
                 where, values.size(), model::to_string(shape), count);
    if (type == ElementType::STRING) {
        std::vector<std::string> strings;
        for (std::size_t i = 0; i < count; ++i) {
            LOOM_REQUIRE(values[i]->is_string(), "{}: BYTES element {} is not a string", where, i);
            strings.push_back(values[i]->get<std::string>());
        }
        return Tensor(model::Tensor::strings(shape, strings));
    }
    Tensor t(type, shape);
    auto* dst = static_cast<std::byte*>(t.data());
    switch (type) {
    case ElementType::BOOLEAN:
        store_numbers<bool>(values, dst, where);
        break;
    case ElementType::U8:
        store_numbers<std::uint8_t>(values, dst, where);
        break;
    case ElementType::U16:
        store_numbers<std::uint16_t>(values, dst, where);
        break;
    case ElementType::U32:
        store_numbers<std::uint32_t>(values, dst, where);
        break;
    case ElementType::U64:
        store_numbers<std::uint64_t>(values, dst, where);
        break;
    case ElementType::I8:
        store_numbers<std::int8_t>(values, dst, where);
        break;
    case ElementType::I16:
        store_numbers<std::int16_t>(values, dst, where);
        break;
    case ElementType::I32:
        store_numbers<std::int32_t>(values, dst, where);
        break;
    case ElementType::I64:
        store_numbers<std::int64_t>(values, dst, where);
        break;
    case ElementType::F32:
        store_numbers<float>(values, dst, where);
        break;
    case ElementType::F64:
        store_numbers<double>(values, dst, where);
        break;
    default:
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{}: {} has no JSON form: send it as binary data (binary_data_size)", where,
                   datatype_of(type));
    }
    return t;
}

template <class T>
void append_numbers(const Tensor& t, json& out) {
    const T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.size(); ++i)
        out.push_back(p[i]);
}

json tensor_to_json(const Tensor& t) {
    json out = json::array();
    switch (t.element_type()) {
    case ElementType::BOOLEAN:
        for (std::int64_t i = 0; i < t.size(); ++i)
            out.push_back(t.data<std::uint8_t>()[i] != 0);
        break;
    case ElementType::U8:
        append_numbers<std::uint8_t>(t, out);
        break;
    case ElementType::U16:
        append_numbers<std::uint16_t>(t, out);
        break;
    case ElementType::U32:
        append_numbers<std::uint32_t>(t, out);
        break;
    case ElementType::U64:
        append_numbers<std::uint64_t>(t, out);
        break;
    case ElementType::I8:
        append_numbers<std::int8_t>(t, out);
        break;
    case ElementType::I16:
        append_numbers<std::int16_t>(t, out);
        break;
    case ElementType::I32:
        append_numbers<std::int32_t>(t, out);
        break;
    case ElementType::I64:
        append_numbers<std::int64_t>(t, out);
        break;
    case ElementType::F32:
        append_numbers<float>(t, out);
        break;
    case ElementType::F64:
        append_numbers<double>(t, out);
        break;
    case ElementType::F16:
        for (std::int64_t i = 0; i < t.size(); ++i)
            out.push_back(model::f16_to_f32(t.data<std::uint16_t>()[i]));
        break;
    case ElementType::BF16:
        for (std::int64_t i = 0; i < t.size(); ++i)
            out.push_back(model::bf16_to_f32(t.data<std::uint16_t>()[i]));
        break;
    case ElementType::STRING:
        for (auto v : t.impl().string_values())
            out.push_back(std::string(v));
        break;
    default:
        LOOM_THROW(ErrorKind::UNSUPPORTED, "a {} tensor has no KServe form",
                   loom::to_string(t.element_type()));
    }
    return out;
}

// The request's `parameters` object, or an empty one.
const json& parameters(const json& j, const std::string& where) {
    static const json empty = json::object();
    if (!j.contains("parameters")) return empty;
    LOOM_REQUIRE(j["parameters"].is_object(), "{}: `parameters` must be an object", where);
    return j["parameters"];
}

// inputs[i]: its tensor from JSON `data`, or from the binary part at `offset` (advanced).
RequestInput parse_input(const json& in, std::size_t i, std::string_view binary,
                         std::size_t& offset, std::size_t max_elements) {
    std::string where = fmt::format("inputs[{}]", i);
    LOOM_REQUIRE(in.is_object() && in.contains("name") && in["name"].is_string(),
                 "{}: needs a `name`", where);
    RequestInput r;
    r.name = in["name"].get<std::string>();
    where = fmt::format("input '{}'", r.name);
    LOOM_REQUIRE(in.contains("datatype") && in["datatype"].is_string(), "{}: needs a `datatype`",
                 where);
    const auto type = element_type_of(in["datatype"].get<std::string>());
    LOOM_REQUIRE(type.has_value(), "{}: unknown datatype '{}'", where,
                 in["datatype"].get<std::string>());
    LOOM_REQUIRE(in.contains("shape"), "{}: needs a `shape`", where);
    const Shape shape = read_shape(in["shape"], where, max_elements);
    const auto& p = parameters(in, where);
    if (!p.contains("binary_data_size")) {
        LOOM_REQUIRE(in.contains("data"), "{}: needs `data` or parameters.binary_data_size", where);
        r.tensor = tensor_from_json(*type, shape, in["data"], where);
        return r;
    }
    LOOM_REQUIRE(p["binary_data_size"].is_number_unsigned(),
                 "{}: binary_data_size must be a non-negative integer", where);
    const auto size = p["binary_data_size"].get<std::uint64_t>();
    LOOM_REQUIRE(size <= binary.size() - offset,
                 "{}: binary_data_size is {} but only {} bytes of binary data remain "
                 "(truncated body?)",
                 where, size, binary.size() - offset);
    const auto bytes = std::as_bytes(std::span(binary.data() + offset, size));
    offset += size;
    r.tensor = Tensor(model::Tensor::copy_of(*type, shape, bytes));
    return r;
}

} // namespace

std::optional<ElementType> element_type_of(std::string_view datatype) {
    for (const auto& d : k_datatypes)
        if (datatype == d.name) return d.type;
    return std::nullopt;
}

std::string datatype_of(ElementType type) {
    for (const auto& d : k_datatypes)
        if (type == d.type) return d.name;
    LOOM_THROW(ErrorKind::UNSUPPORTED, "element type {} has no KServe datatype",
               loom::to_string(type));
}

InferBody parse_infer_request(std::string_view body, std::optional<std::size_t> header_length,
                              std::size_t max_elements) {
    const std::size_t json_size = header_length ? *header_length : body.size();
    LOOM_REQUIRE(json_size <= body.size(),
                 "Inference-Header-Content-Length is {} but the body has only {} bytes", json_size,
                 body.size());
    const auto j = json::parse(body.substr(0, json_size), nullptr, false);
    LOOM_REQUIRE(!j.is_discarded() && j.is_object(),
                 "the request is not a JSON object (malformed JSON{})",
                 header_length ? " in the header part" : "");
    InferBody out;
    if (j.contains("id")) {
        LOOM_REQUIRE(j["id"].is_string(), "`id` must be a string");
        out.id = j["id"].get<std::string>();
    }
    const auto& params = parameters(j, "the request");
    if (params.contains("binary_data_output")) {
        LOOM_REQUIRE(params["binary_data_output"].is_boolean(),
                     "parameters.binary_data_output must be true or false");
        out.binary_outputs = params["binary_data_output"].get<bool>();
    }
    LOOM_REQUIRE(j.contains("inputs") && j["inputs"].is_array(),
                 "the request needs `inputs`, an array");
    std::string_view binary = body.substr(json_size);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < j["inputs"].size(); ++i)
        out.inputs.push_back(parse_input(j["inputs"][i], i, binary, offset, max_elements));
    LOOM_REQUIRE(offset == binary.size(),
                 "{} bytes of binary data follow the JSON but the inputs claim {}", binary.size(),
                 offset);
    if (j.contains("outputs")) {
        LOOM_REQUIRE(j["outputs"].is_array(), "`outputs` must be an array");
        for (const auto& o : j["outputs"]) {
            LOOM_REQUIRE(o.is_object() && o.contains("name") && o["name"].is_string(),
                         "each of `outputs` needs a `name`");
            RequestedOutput r{o["name"].get<std::string>(), out.binary_outputs};
            const auto& p = parameters(o, "output '" + r.name + "'");
            if (p.contains("binary_data")) {
                LOOM_REQUIRE(p["binary_data"].is_boolean(),
                             "output '{}': binary_data must be true or false", r.name);
                r.binary = p["binary_data"].get<bool>();
            }
            out.outputs.push_back(std::move(r));
        }
    }
    return out;
}

InferResponse infer_response(const std::string& model, const std::string& version,
                             const std::string& id, const std::vector<ResponseOutput>& outputs) {
    json j;
    j["model_name"] = model;
    j["model_version"] = version;
    if (!id.empty()) j["id"] = id;
    j["outputs"] = json::array();
    std::size_t binary = 0;
    bool any_binary = false;
    for (const auto& o : outputs) {
        json out;
        out["name"] = o.name;
        out["datatype"] = datatype_of(o.tensor.element_type());
        out["shape"] = o.tensor.shape();
        if (o.binary) {
            out["parameters"]["binary_data_size"] = o.tensor.impl().byte_size();
            binary += o.tensor.impl().byte_size();
            any_binary = true;
        } else {
            out["data"] = tensor_to_json(o.tensor);
        }
        j["outputs"].push_back(std::move(out));
    }
    InferResponse r;
    r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (!any_binary) return r;
    // The tensors' bytes follow the JSON, copied once.
    r.header_length = r.body.size();
    r.body.reserve(r.body.size() + binary);
    for (const auto& o : outputs)
        if (o.binary) {
            const auto bytes = o.tensor.impl().bytes();
            r.body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }
    return r;
}

nlohmann::json tensor_metadata(const Port& port) {
    json shape = json::array();
    if (port.shape.rank_is_static())
        for (const auto& d : port.shape.dims())
            shape.push_back(d.is_static() ? d.length() : -1);
    else
        shape.push_back(-1);
    return {{"name", port.name}, {"datatype", datatype_of(port.type)}, {"shape", shape}};
}

} // namespace loom::serving
