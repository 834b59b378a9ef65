#pragma once
// The Open Inference Protocol (KServe v2) REST bodies (DESIGN.md §6): inference requests and
// responses as JSON, with the binary tensor data extension (the JSON header's length in the
// Inference-Header-Content-Length header, tensors' bytes after it — little-endian, row-major;
// BYTES elements each a u32 length then the bytes, which is how a Loom string tensor is stored).
// Every malformed or inconsistent body is invalid_argument naming what is wrong; nothing is
// trusted (shapes, sizes, offsets are checked against what is there).

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <loom/core.hpp>

namespace loom::serving {

// "FP32" ⇄ f32 …, "BYTES" ⇄ string; nullopt for a datatype Loom has no type for.
std::optional<ElementType> element_type_of(std::string_view datatype);
std::string datatype_of(ElementType type);

struct RequestInput {
    std::string name;
    Tensor tensor;
};

struct RequestedOutput {
    std::string name;
    bool binary = false;
};

struct InferBody {
    std::string id;
    std::vector<RequestInput> inputs;
    std::vector<RequestedOutput> outputs; // empty: every output
    bool binary_outputs = false;          // the request's binary_data_output parameter
};

// Parses a request body; `header_length` is Inference-Header-Content-Length when present.
// `max_elements` bounds each tensor (a JSON body cannot claim a huge tensor it does not hold).
InferBody parse_infer_request(std::string_view body, std::optional<std::size_t> header_length,
                              std::size_t max_elements);

struct ResponseOutput {
    std::string name;
    Tensor tensor;
    bool binary = false;
};

struct InferResponse {
    std::string body;
    std::optional<std::size_t> header_length; // set when binary data follows the JSON
};

InferResponse infer_response(const std::string& model, const std::string& version,
                             const std::string& id, const std::vector<ResponseOutput>& outputs);

// {"name", "datatype", "shape"} of a port (dynamic dimensions as -1).
nlohmann::json tensor_metadata(const Port& port);

} // namespace loom::serving
