#pragma once
// Graph ⇄ Cap'n Proto (schemas/model.capnp). Constant data travels beside the message: writing
// appends each constant's tensor to `frames` and records its index; reading makes the constants
// views on the given frames (no copy), kept alive by each frame's owner.

#include <span>
#include <vector>

#include "components/model/graph.hpp"
#include "schemas/model.capnp.h"

namespace loom::model {

// Constants are appended to `frames`; TensorDesc.frame is relative to the size of `frames`
// when the call began (so several models may share one message).
void write_graph(const Model& model, schema::Graph::Builder out, std::vector<Tensor>& frames);

struct FrameView {
    std::span<const std::byte> bytes;
    std::shared_ptr<const void> owner;
};

// invalid_argument naming what is wrong for any inconsistency: a frame index out of range, a
// byte size that does not match type × shape, an input that is not an earlier node, …
std::shared_ptr<Model> read_graph(schema::Graph::Reader in, std::span<const FrameView> frames);

} // namespace loom::model
