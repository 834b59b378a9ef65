#include "bus/tensor_frame.hpp"

#include "schemas/schema_enums.hpp"

namespace loom::bus {

void write_tensor(OutMessage& message, schema::TensorDesc::Builder desc, ElementType type,
                  std::span<const std::int64_t> shape, Frame data, std::string_view name) {
    auto expected = dense_byte_size(type, shape);
    LOOM_REQUIRE(expected && *expected == data.size(),
                 "tensor '{}' of {} with {} dims needs {} bytes, the frame has {}", name,
                 to_string(type), shape.size(), expected ? *expected : 0, data.size());
    desc.setElementType(to_schema(type));
    auto dims = desc.initShape(static_cast<unsigned>(shape.size()));
    for (unsigned i = 0; i < shape.size(); ++i)
        dims.set(i, shape[i]);
    desc.setByteSize(data.size());
    desc.setName(std::string(name));
    desc.setFrame(message.add_frame(std::move(data)));
}

TensorFrame read_tensor(const InMessage& message, schema::TensorDesc::Reader desc,
                        std::uint64_t max_bytes) {
    TensorFrame t;
    t.name = desc.getName().cStr();
    t.type = from_schema(desc.getElementType());
    LOOM_REQUIRE(element_size(t.type) > 0,
                 "tensor '{}' has element type {}, which has no fixed size", t.name,
                 to_string(t.type));
    auto dims = desc.getShape();
    t.shape.reserve(dims.size());
    for (auto d : dims)
        t.shape.push_back(d);
    auto bytes = dense_byte_size(t.type, t.shape, max_bytes);
    LOOM_REQUIRE(bytes.has_value(),
                 "tensor '{}' has a negative dimension or is larger than {} bytes", t.name,
                 max_bytes);
    LOOM_REQUIRE(*bytes == desc.getByteSize(),
                 "tensor '{}' declares {} bytes, but its type and shape make {}", t.name,
                 desc.getByteSize(), *bytes);
    const Frame& frame = message.frame(desc.getFrame());
    LOOM_REQUIRE(frame.size() == *bytes, "tensor '{}' needs {} bytes, but frame {} has {}", t.name,
                 *bytes, desc.getFrame(), frame.size());
    t.data = frame;
    return t;
}

} // namespace loom::bus
