#pragma once
// The REFERENCE device's exported model (compile-model caching, DESIGN.md §6): magic, Loom
// version (u64 length + text, zero-padded to 8 bytes), properties and graph as one Cap'n Proto
// flat message (u64 size + words, 8-byte aligned), then the constants (u64 count, then u64 size
// + bytes each, 64-byte aligned).

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/properties.hpp"

namespace loom::plugins::reference {

std::vector<std::byte> write_blob(const model::Model& model, const Properties& props);

struct ImportedBlob {
    std::shared_ptr<model::Model> model; // not yet inferred; its constants view a copy of the
                                         // blob, which they keep alive
    Properties props;                    // the properties the model was compiled with
};

// invalid_argument when `blob` was not exported by a device of these classes (`device` names
// the importing one in the message), was exported by another Loom version, or is truncated or
// corrupt.
ImportedBlob read_blob(std::span<const std::byte> blob, const std::string& device);

} // namespace loom::plugins::reference
