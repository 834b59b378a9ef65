#pragma once
// OpenVINO IR v10/v11 reader (private to components/reader).

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"

namespace loom::reader::ir {

// `xml` is the document; `weights` the .bin bytes kept alive by `owner` (Constants view them;
// a null owner makes them copies). `source` names the model in errors.
std::shared_ptr<model::Model> read_ir(std::string_view xml, std::span<const std::byte> weights,
                                      std::shared_ptr<const void> owner,
                                      const model::OpRegistry& registry, std::string_view source);

} // namespace loom::reader::ir
