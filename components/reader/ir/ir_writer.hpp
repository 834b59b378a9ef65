#pragma once
// OpenVINO IR v11 writer (private to components/reader).

#include <cstddef>
#include <string>
#include <vector>

#include "components/model/graph.hpp"

namespace loom::reader::ir {

struct IrDocument {
    std::string xml;
    std::vector<std::byte> weights;
};

// Serialises `model` (bodies included); constants with identical bytes share one .bin region.
IrDocument write_ir_document(const model::Model& model);

} // namespace loom::reader::ir
