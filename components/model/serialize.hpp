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

// Message helpers, generic over the transport's message and frame types (bus::OutMessage /
// bus::InMessage and bus::Frame) so that the model library does not depend on the bus.
// `params` is a payload with `model :Graph` and `firstFrame :UInt32` fields.
template <class Message, class Params>
void put_graph(Message& message, Params params, const Model& model) {
    std::vector<Tensor> constants;
    write_graph(model, params.initModel(), constants);
    params.setFirstFrame(static_cast<std::uint32_t>(message.frames().size()));
    using FrameT = std::decay_t<decltype(message.frames().front())>;
    for (auto& t : constants) // no copy: the frame shares the tensor's owner
        message.add_frame(FrameT::wrap(t.mutable_data(), t.byte_size(),
                                       std::const_pointer_cast<void>(t.owner())));
}

template <class Message, class Params>
std::shared_ptr<Model> take_graph(const Message& message, Params params) {
    const auto& frames = message.frames();
    std::size_t first = params.getFirstFrame();
    if (first > frames.size())
        first = frames.size() + 1; // read_graph reports any frame reference as missing
    std::vector<FrameView> views;
    for (std::size_t i = first; i < frames.size(); ++i)
        views.push_back({frames[i].bytes(), frames[i].owner()});
    return read_graph(params.getModel(), views);
}

} // namespace loom::model
