#pragma once
// The wire encodings of the client ⇄ device / extension-host protocol (schemas/plugin.capnp,
// schemas/extensions.capnp): tensors as side frames, ports, properties. Both sides use these and
// only these, so a tensor, port or property reads back exactly as it was written.

#include <string_view>
#include <vector>

#include "bus/message.hpp"
#include "components/model/properties.hpp"
#include "components/model/tensor.hpp"
#include "components/protocol/port.hpp"
#include "schemas/plugin.capnp.h"
#include "schemas/tensor.capnp.h"

namespace loom::protocol {

// Adds `tensor` as a side frame sharing its bytes (no copy; the frame keeps them alive).
void put_tensor(bus::OutMessage& message, schema::TensorDesc::Builder desc,
                const model::Tensor& tensor, std::string_view name = {});
// A Tensor viewing the frame — copied only when the frame is less aligned than its element type
// needs (ZeroMQ delivers frames at any address, DESIGN.md §3); invalid_argument when the
// descriptor does not match the frame.
model::Tensor take_tensor(const bus::InMessage& message, schema::TensorDesc::Reader desc);

void put_properties(capnp::List<schema::Property>::Builder list, const Properties& props);
capnp::List<schema::Property>::Builder init_properties(schema::PropertyList::Builder b,
                                                       const Properties& props);
Properties take_properties(capnp::List<schema::Property>::Reader list);

void put_ports(capnp::List<schema::Port>::Builder list, const std::vector<Port>& ports);
// invalid_argument when a port's shape does not parse.
std::vector<Port> take_ports(capnp::List<schema::Port>::Reader list);

} // namespace loom::protocol
