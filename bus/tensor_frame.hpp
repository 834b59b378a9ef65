#pragma once
// Tensors on the bus: a TensorDesc (schemas/tensor.capnp) in the payload, its bytes in a side
// frame of the same message. Reading checks the descriptor against what the message carries.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bus/message.hpp"
#include "schemas/element_type.hpp"

namespace loom::bus {

struct TensorFrame {
    ElementType type = ElementType::UNDEFINED;
    std::vector<std::int64_t> shape;
    Frame data;
    std::string name;
};

// Adds `data` as a side frame of `message` and describes it in `desc` (no copy).
void write_tensor(OutMessage& message, schema::TensorDesc::Builder desc, ElementType type,
                  std::span<const std::int64_t> shape, Frame data, std::string_view name = {});

// The tensor `desc` describes, checked: known fixed-size element type, non-negative dims, frame
// index present, byte size = element size × shape = frame size, at most `max_bytes`.
// invalid_argument naming the tensor otherwise.
TensorFrame read_tensor(const InMessage& message, schema::TensorDesc::Reader desc,
                        std::uint64_t max_bytes = UINT64_MAX);

} // namespace loom::bus
