#pragma once
// The model readers (DESIGN.md §6): OpenVINO IR v10/v11 and ONNX into one graph. Every read
// returns a validated, shape-inferred model or throws loom::Error naming what is wrong (file,
// layer/node, op type and version). Weights are memory-mapped, not copied, where the format
// allows (IR .bin, ONNX external data); ONNX initializers are copied out of the protobuf.

#include <memory>
#include <span>
#include <string>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"

namespace loom::reader {

enum class Format { Auto, Ir, Onnx };

// IR: `path` is the .xml, its weights the .bin of the same stem. ONNX: the .onnx file, external
// data resolved relative to its folder. Auto chooses by extension, then by content.
std::shared_ptr<model::Model> read_model(const std::string& path, const model::OpRegistry& registry,
                                         Format format = Format::Auto);

// From memory: ONNX protobuf bytes, or IR XML with `weights` as the .bin contents. `owner`
// keeps `weights` alive for the constants that view them (may be null: weights are copied).
std::shared_ptr<model::Model> read_model_bytes(std::span<const std::byte> model_bytes,
                                               std::span<const std::byte> weights,
                                               std::shared_ptr<const void> owner,
                                               const model::OpRegistry& registry,
                                               Format format = Format::Auto);

// Writes OpenVINO IR v11: `xml_path` and the .bin beside it. Reading it back gives the same
// graph (compare_models).
struct WrittenIr {
    std::string bin_path;
    std::uint64_t bin_bytes = 0;
};
WrittenIr write_ir(const model::Model& model, const std::string& xml_path);

} // namespace loom::reader
