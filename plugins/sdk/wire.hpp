#pragma once
// The device protocol's encodings (schemas/plugin.capnp), shared by the device service and its
// client (the Core): tensors as side frames (no copy), properties and ports.

#include <string_view>
#include <vector>

#include "bus/message.hpp"
#include "components/model/properties.hpp"
#include "plugins/sdk/plugin.hpp"
#include "schemas/plugin.capnp.h"

namespace loom::sdk::wire {

// Adds `tensor` as a side frame sharing its bytes.
void put_tensor(bus::OutMessage& message, schema::TensorDesc::Builder desc, const Tensor& tensor,
                std::string_view name = {});
// A Tensor viewing the frame (copied only when the frame is less aligned than its element
// type needs); invalid_argument when the descriptor does not match the frame.
Tensor take_tensor(const bus::InMessage& message, schema::TensorDesc::Reader desc);

void put_properties(capnp::List<schema::Property>::Builder list, const Properties& props);
capnp::List<schema::Property>::Builder init_properties(schema::PropertyList::Builder b,
                                                       const Properties& props);
Properties take_properties(capnp::List<schema::Property>::Reader list);

void put_ports(capnp::List<schema::Port>::Builder list, const std::vector<PortInfo>& ports);
std::vector<PortInfo> take_ports(capnp::List<schema::Port>::Reader list);

} // namespace loom::sdk::wire
