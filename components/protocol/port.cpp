#include "components/protocol/port.hpp"

#include <algorithm>

#include "schemas/error.hpp"

namespace loom::protocol {

namespace {

Port port_of(std::size_t index, const model::Node& node, const model::OutputInfo& out) {
    Port p;
    p.index = index;
    p.names = out.names;
    p.name = out.names.empty() ? node.name : out.names.front();
    p.type = out.type;
    p.shape = out.shape;
    return p;
}

} // namespace

std::vector<Port> input_ports(const model::Model& model) {
    std::vector<Port> out;
    for (const auto* p : model.parameters())
        out.push_back(port_of(out.size(), *p, p->outputs.at(0)));
    return out;
}

std::vector<Port> output_ports(const model::Model& model) {
    std::vector<Port> out;
    for (const auto* r : model.results()) {
        const auto& src = r->inputs.at(0);
        auto p = port_of(out.size(), *src.node, src.node->outputs.at(src.index));
        if (p.names.empty()) p.name = r->name.empty() ? src.node->name : r->name;
        out.push_back(std::move(p));
    }
    return out;
}

bool fits(const model::PartialShape& port, const model::Shape& shape) noexcept {
    if (port.rank_is_dynamic()) return true;
    if (port.rank() != static_cast<std::int64_t>(shape.size())) return false;
    for (std::size_t i = 0; i < shape.size(); ++i)
        if (!port.dims()[i].compatible(model::Dimension(shape[i]))) return false;
    return true;
}

void check_tensor(std::string_view what, const Port& port, const model::Tensor& t) {
    LOOM_REQUIRE(!t.empty(), "{} '{}': the tensor is empty", what, port.name);
    LOOM_REQUIRE(t.element_type() == port.type, "{} '{}' expects {}, got a {} tensor", what,
                 port.name, loom::to_string(port.type), loom::to_string(t.element_type()));
    LOOM_REQUIRE(fits(port.shape, t.shape()), "{} '{}' expects shape {}, got {}", what, port.name,
                 port.shape.to_string(), model::to_string(t.shape()));
}

std::size_t port_index(const std::vector<Port>& ports, std::string_view name,
                       std::string_view what) {
    for (std::size_t i = 0; i < ports.size(); ++i)
        if (ports[i].name == name ||
            std::find(ports[i].names.begin(), ports[i].names.end(), name) != ports[i].names.end())
            return i;
    std::string known;
    for (const auto& p : ports)
        known += (known.empty() ? "" : ", ") + p.name;
    LOOM_THROW(ErrorKind::NOT_FOUND, "the model has no {} named '{}' (it has: {})", what, name,
               known.empty() ? "none" : known);
}

} // namespace loom::protocol
