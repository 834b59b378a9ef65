#include "components/protocol/codec.hpp"

#include "schemas/capnp_lists.hpp"

#include <algorithm>

#include "bus/tensor_frame.hpp"
#include "schemas/error.hpp"
#include "schemas/schema_enums.hpp"

namespace loom::protocol {

void put_tensor(bus::OutMessage& message, schema::TensorDesc::Builder desc,
                const model::Tensor& tensor, std::string_view name) {
    auto frame = bus::Frame::wrap(tensor.mutable_data(), tensor.byte_size(),
                                  std::const_pointer_cast<void>(tensor.owner()));
    bus::write_tensor(message, desc, tensor.element_type(), tensor.shape(), std::move(frame), name);
}

model::Tensor take_tensor(const bus::InMessage& message, schema::TensorDesc::Reader desc) {
    auto tf = bus::read_tensor(message, desc);
    const auto need = std::max<std::size_t>(element_size(tf.type), 1);
    if (tf.data.alignment() < need || tf.data.empty())
        return model::Tensor::copy_of(tf.type, tf.shape, tf.data.bytes());
    return model::Tensor::view(tf.type, tf.shape, tf.data.bytes(), tf.data.owner());
}

void put_properties(capnp::List<schema::Property>::Builder list, const Properties& props) {
    unsigned i = 0;
    for (const auto& [k, v] : props.values()) {
        list[i].setName(k);
        list[i].setValue(v);
        ++i;
    }
}

capnp::List<schema::Property>::Builder init_properties(schema::PropertyList::Builder b,
                                                       const Properties& props) {
    auto list = b.initProperties(static_cast<unsigned>(props.values().size()));
    put_properties(list, props);
    return list;
}

Properties take_properties(capnp::List<schema::Property>::Reader list) {
    Properties p;
    for (auto item : carried(list, "properties"))
        p.set_text(item.getName(), item.getValue());
    return p;
}

void put_ports(capnp::List<schema::Port>::Builder list, const std::vector<Port>& ports) {
    for (unsigned i = 0; i < ports.size(); ++i) {
        const auto& p = ports[i];
        list[i].setName(p.name);
        auto names = list[i].initNames(static_cast<unsigned>(p.names.size()));
        for (unsigned j = 0; j < p.names.size(); ++j)
            names.set(j, p.names[j]);
        list[i].setElementType(to_schema(p.type));
        list[i].setShape(p.shape.to_string());
    }
}

std::vector<Port> take_ports(capnp::List<schema::Port>::Reader list) {
    std::vector<Port> out;
    for (auto item : carried(list, "ports")) {
        Port p;
        p.index = out.size();
        p.name = item.getName();
        for (auto n : item.getNames())
            p.names.emplace_back(n);
        p.type = from_schema(item.getElementType());
        auto shape = model::PartialShape::parse(std::string(item.getShape()));
        LOOM_REQUIRE(shape.has_value(), "port '{}' has an unreadable shape '{}'", p.name,
                     std::string(item.getShape()));
        p.shape = *shape;
        out.push_back(std::move(p));
    }
    return out;
}

} // namespace loom::protocol
