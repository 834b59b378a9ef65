// model::Model → OpenVINO IR v11. Layers get fresh ids (0, 1, ...) in the model's topological
// order (see layout()); each layer's input ports are numbered 0..n-1 and its output ports
// n..n+m-1, as OpenVINO does. Constants go into one weights buffer, 64-byte aligned, identical
// bytes stored once.
#include "components/reader/ir/ir_writer.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include <pugixml.hpp>

#include "schemas/error.hpp"

namespace loom::reader::ir {
namespace {

using model::Model;
using model::Node;
using model::RtNode;

constexpr std::size_t k_weight_alignment = 64;

class WeightsWriter {
public:
    // The offset of `bytes` in the buffer; identical byte ranges are stored once.
    std::size_t add(std::span<const std::byte> bytes) {
        std::string_view key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        auto hash = std::hash<std::string_view>{}(key);
        auto range = m_by_hash.equal_range(hash);
        for (auto it = range.first; it != range.second; ++it)
            if (it->second.second == bytes.size() &&
                (bytes.empty() ||
                 std::memcmp(m_buffer.data() + it->second.first, bytes.data(), bytes.size()) == 0))
                return it->second.first;
        auto offset =
            (m_buffer.size() + k_weight_alignment - 1) / k_weight_alignment * k_weight_alignment;
        m_buffer.resize(offset + bytes.size());
        if (!bytes.empty()) std::memcpy(m_buffer.data() + offset, bytes.data(), bytes.size());
        m_by_hash.emplace(hash, std::make_pair(offset, bytes.size()));
        return offset;
    }
    std::vector<std::byte> take() { return std::move(m_buffer); }

private:
    std::vector<std::byte> m_buffer;
    std::unordered_multimap<std::size_t, std::pair<std::size_t, std::size_t>> m_by_hash;
};

std::string ir_type_name(const std::string& native) {
    static const std::pair<std::string_view, std::string_view> k_aliases[] = {
        {"Constant", "Const"}, {"Relu", "ReLU"}, {"Softmax", "SoftMax"}, {"PRelu", "PReLU"}};
    for (auto [from, to] : k_aliases)
        if (from == native) return std::string(to);
    return native;
}

std::string escape_names(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i) out += ',';
        for (char c : names[i]) {
            if (c == ',') out += '\\';
            out += c;
        }
    }
    return out;
}

void write_rt_tree(pugi::xml_node parent, const RtNode& rt, std::string_view tag) {
    auto xml = parent.append_child(std::string(tag).c_str());
    for (const auto& [k, v] : rt.attributes)
        xml.append_attribute(k.c_str()).set_value(v.c_str());
    for (const auto& child : rt.children)
        write_rt_tree(xml, child, child.tag.empty() ? std::string_view("item") : child.tag);
}

void write_rt(pugi::xml_node parent, const RtNode& rt) {
    if (!rt.empty()) write_rt_tree(parent, rt, "rt_info");
}

// One <port> with the type and shape of `info`; input ports carry no tensor names.
void write_port(pugi::xml_node ports, std::size_t id, const model::OutputInfo& info,
                bool with_names, const RtNode& rt) {
    auto port = ports.append_child("port");
    port.append_attribute("id").set_value(static_cast<unsigned long long>(id));
    port.append_attribute("precision").set_value(std::string(model::ir_name(info.type)).c_str());
    if (with_names && !info.names.empty())
        port.append_attribute("names").set_value(escape_names(info.names).c_str());
    if (info.shape.rank_is_static())
        for (const auto& d : info.shape.dims()) {
            auto text = d.min() == 0 && d.max() == model::Dimension::k_unbounded ? std::string("-1")
                                                                                 : d.to_string();
            port.append_child("dim").text().set(text.c_str());
        }
    write_rt(port, rt);
}

// Layer ids number the topological order; the document lists layers in that order too, unless
// it would list Parameters or Results in another order than the model's interface: then
// Parameters come first and Results last, in interface order.
struct Layout {
    std::vector<Node*> document;
    std::unordered_map<const Node*, std::size_t> ids;
};

Layout layout(const Model& m) {
    Layout out;
    auto order = m.topological_order();
    std::vector<Node*> params, results, middle;
    for (std::size_t i = 0; i < order.size(); ++i) {
        Node* n = order[i];
        out.ids.emplace(n, i);
        if (n->type == "Parameter")
            params.push_back(n);
        else if (n->type == "Result")
            results.push_back(n);
        else
            middle.push_back(n);
    }
    if (params == m.parameters() && results == m.results()) {
        out.document = std::move(order);
        return out;
    }
    auto listed = [](const std::vector<Node*>& v, Node* n) {
        return std::find(v.begin(), v.end(), n) != v.end();
    };
    out.document = m.parameters();
    for (Node* n : params)
        if (!listed(m.parameters(), n)) out.document.push_back(n);
    out.document.insert(out.document.end(), middle.begin(), middle.end());
    for (Node* n : m.results())
        out.document.push_back(n);
    for (Node* n : results)
        if (!listed(m.results(), n)) out.document.push_back(n);
    return out;
}

void write_graph(pugi::xml_node root, const Model& m, WeightsWriter& weights);

void write_data(pugi::xml_node layer, const Node& n, WeightsWriter& weights) {
    if (n.type == "Constant") {
        LOOM_REQUIRE(!n.value.empty(), "constant '{}' has no data", n.name);
        auto data = layer.append_child("data");
        auto offset = weights.add(n.value.bytes());
        data.append_attribute("element_type")
            .set_value(std::string(model::ir_name(n.value.element_type())).c_str());
        data.append_attribute("shape").set_value(
            model::to_text(model::PartialShape(n.value.shape())).c_str());
        data.append_attribute("offset").set_value(static_cast<unsigned long long>(offset));
        data.append_attribute("size").set_value(
            static_cast<unsigned long long>(n.value.byte_size()));
        return;
    }
    if (n.attrs.size() == 0) return;
    auto data = layer.append_child("data");
    for (const auto& [key, value] : n.attrs.entries())
        data.append_attribute(key.c_str()).set_value(model::to_text(value).c_str());
}

std::vector<std::size_t> interface_ids(const std::vector<Node*>& nodes,
                                       const std::unordered_map<const Node*, std::size_t>& ids,
                                       const std::string& what) {
    std::vector<std::size_t> out;
    for (const Node* n : nodes) {
        auto it = ids.find(n);
        LOOM_REQUIRE(it != ids.end(), "body {} '{}' is not in the body", what, n->name);
        out.push_back(it->second);
    }
    return out;
}

void write_port_map(pugi::xml_node xml, const model::Body& body, std::size_t input_count,
                    const std::vector<std::size_t>& param_ids,
                    const std::vector<std::size_t>& result_ids) {
    auto entry = [&](const model::PortMap& p, bool input) {
        const auto& ids = input ? param_ids : result_ids;
        LOOM_REQUIRE(p.body_index >= 0 && static_cast<std::size_t>(p.body_index) < ids.size(),
                     "body '{}' port map refers to {} {}, which does not exist", body.name,
                     input ? "parameter" : "result", p.body_index);
        auto e = xml.append_child(input ? "input" : "output");
        auto external = p.external_port < 0
                            ? -1
                            : p.external_port + static_cast<std::int64_t>(input ? 0 : input_count);
        e.append_attribute("external_port_id").set_value(static_cast<long long>(external));
        e.append_attribute("internal_layer_id")
            .set_value(
                static_cast<unsigned long long>(ids[static_cast<std::size_t>(p.body_index)]));
        std::pair<const char*, const std::optional<std::int64_t>*> fields[] = {
            {"axis", &p.axis},
            {"start", &p.start},
            {"end", &p.end},
            {"stride", &p.stride},
            {"part_size", &p.part_size}};
        for (auto [key, field] : fields)
            if (*field) e.append_attribute(key).set_value(static_cast<long long>(**field));
        if (!p.purpose.empty()) e.append_attribute("purpose").set_value(p.purpose.c_str());
    };
    for (const auto& p : body.inputs)
        entry(p, true);
    for (const auto& p : body.outputs)
        entry(p, false);
}

std::string map_name(const std::string& body_name) {
    if (body_name == "then_body") return "then_port_map";
    if (body_name == "else_body") return "else_port_map";
    return "port_map";
}

void write_bodies(pugi::xml_node layer, const Node& n, WeightsWriter& weights) {
    for (const auto& body : n.bodies) {
        LOOM_REQUIRE(body.model != nullptr, "node '{}': body '{}' is missing", n.name, body.name);
        auto name = body.name.empty() ? std::string("body") : body.name;
        auto xml = layer.append_child(name.c_str());
        write_graph(xml, *body.model, weights);
        auto ids = layout(*body.model).ids;
        auto params = interface_ids(body.model->parameters(), ids, "parameter");
        auto results = interface_ids(body.model->results(), ids, "result");
        write_port_map(layer.insert_child_before(map_name(name).c_str(), xml), body,
                       n.inputs.size(), params, results);
        if (body.back_edges.empty()) continue;
        auto edges = layer.insert_child_before("back_edges", xml);
        for (const auto& b : body.back_edges) {
            LOOM_REQUIRE(
                b.from_result >= 0 && static_cast<std::size_t>(b.from_result) < results.size() &&
                    b.to_parameter >= 0 && static_cast<std::size_t>(b.to_parameter) < params.size(),
                "node '{}': back edge {} → {} is out of range", n.name, b.from_result,
                b.to_parameter);
            auto e = edges.append_child("edge");
            e.append_attribute("from-layer")
                .set_value(static_cast<unsigned long long>(
                    results[static_cast<std::size_t>(b.from_result)]));
            e.append_attribute("from-port").set_value(0);
            e.append_attribute("to-layer")
                .set_value(static_cast<unsigned long long>(
                    params[static_cast<std::size_t>(b.to_parameter)]));
            e.append_attribute("to-port").set_value(0);
        }
    }
}

void write_layer(pugi::xml_node layers, const Node& n, std::size_t id, WeightsWriter& weights) {
    auto layer = layers.append_child("layer");
    layer.append_attribute("id").set_value(static_cast<unsigned long long>(id));
    layer.append_attribute("name").set_value(n.name.c_str());
    layer.append_attribute("type").set_value(ir_type_name(n.type).c_str());
    layer.append_attribute("version").set_value(n.version.c_str());
    write_data(layer, n, weights);
    write_rt(layer, n.rt_info);
    if (!n.inputs.empty()) {
        auto ports = layer.append_child("input");
        const RtNode none;
        for (std::size_t i = 0; i < n.inputs.size(); ++i) {
            const auto& in = n.inputs[i]; // checked by topological_order()
            write_port(ports, i, in.node->outputs[in.index], false,
                       i < n.input_rt_info.size() ? n.input_rt_info[i] : none);
        }
    }
    if (!n.outputs.empty()) {
        auto ports = layer.append_child("output");
        for (std::size_t i = 0; i < n.outputs.size(); ++i)
            write_port(ports, n.inputs.size() + i, n.outputs[i], true, n.outputs[i].rt_info);
    }
    write_bodies(layer, n, weights);
}

void write_graph(pugi::xml_node root, const Model& m, WeightsWriter& weights) {
    auto [document, ids] = layout(m);
    auto layers = root.append_child("layers");
    for (const Node* n : document)
        write_layer(layers, *n, ids.at(n), weights);
    auto edges = root.append_child("edges");
    for (const Node* n : document) {
        for (std::size_t k = 0; k < n->inputs.size(); ++k) {
            const auto& in = n->inputs[k];
            auto e = edges.append_child("edge");
            e.append_attribute("from-layer")
                .set_value(static_cast<unsigned long long>(ids.at(in.node)));
            e.append_attribute("from-port")
                .set_value(static_cast<unsigned long long>(in.node->inputs.size() + in.index));
            e.append_attribute("to-layer").set_value(static_cast<unsigned long long>(ids.at(n)));
            e.append_attribute("to-port").set_value(static_cast<unsigned long long>(k));
        }
    }
    write_rt(root, m.rt_info);
}

} // namespace

IrDocument write_ir_document(const model::Model& model) {
    WeightsWriter weights;
    pugi::xml_document doc;
    auto decl = doc.append_child(pugi::node_declaration);
    decl.append_attribute("version").set_value("1.0");
    auto net = doc.append_child("net");
    net.append_attribute("name").set_value(model.name.c_str());
    net.append_attribute("version").set_value(11);
    write_graph(net, model, weights);
    std::ostringstream out;
    doc.save(out, "\t", pugi::format_default, pugi::encoding_utf8);
    return {out.str(), weights.take()};
}

} // namespace loom::reader::ir
