#pragma once
// Ports (DESIGN.md §6): one input or output of a model, as the public API, the client side of the
// device protocol and a device all see it — and the one set of checks a tensor bound to a port
// goes through, wherever it is bound (the Core checks at set_tensor, the device again when the
// request arrives: the network is not trusted).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/tensor.hpp"

namespace loom::protocol {

struct Port {
    std::size_t index = 0;          // position among the model's inputs (or outputs)
    std::string name;               // the first tensor name, else the node's friendly name
    std::vector<std::string> names; // every tensor name
    ElementType type = ElementType::UNDEFINED;
    model::PartialShape shape;
};

// The ports of a model's parameters / results, in order.
std::vector<Port> input_ports(const model::Model& model);
std::vector<Port> output_ports(const model::Model& model);

// Whether a static shape fits a partial one (rank and every dimension).
bool fits(const model::PartialShape& port, const model::Shape& shape) noexcept;

// invalid_argument naming the port (`what` is "input" or "output") when `tensor` is empty, of
// another element type, or of a shape that does not fit.
void check_tensor(std::string_view what, const Port& port, const model::Tensor& tensor);

// The index of the port called `name` (its name or any of its tensor names); not_found naming
// what the model has otherwise.
std::size_t port_index(const std::vector<Port>& ports, std::string_view name,
                       std::string_view what);

} // namespace loom::protocol
