#pragma once
// ONNX reader (private to components/reader): protobuf → native op set.

#include <memory>
#include <span>
#include <string>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"

namespace loom::reader::onnx_fe {

// `base_dir` resolves external data files; `source` names the model in errors.
std::shared_ptr<model::Model> read_onnx(std::span<const std::byte> bytes,
                                        const std::string& base_dir,
                                        const model::OpRegistry& registry,
                                        const std::string& source);

} // namespace loom::reader::onnx_fe
