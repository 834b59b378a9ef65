// OpenVINO IR v10/v11 → model::Model. Layers become nodes in layer id order; Parameters and
// Results keep document order (as OpenVINO's reader does); Assign layers become sinks.
// Attributes are typed through the op registry; Constants view the weights through `owner`.
// Layers of a version that is no opset are an extension's (DESIGN.md §6): a conversion
// registered as ("ir", version, type) replaces the layer by the native nodes it builds (it gets
// the <data> attributes as strings); otherwise the extension's op spec types them like a native
// op's. The IR writer writes extension nodes back as type/version=<domain> with their attributes.
#include "components/reader/ir/ir_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <exception>
#include <map>
#include <unordered_map>

#include <pugixml.hpp>

#include "schemas/error.hpp"

namespace loom::reader::ir {
namespace {

using model::AttrKind;
using model::AttrValue;
using model::Dimension;
using model::Node;
using model::OutputInfo;
using model::PartialShape;
using model::RtNode;

constexpr std::int64_t k_max_dim = std::int64_t{1} << 40;

struct Port {
    std::int64_t id = -1;
    ElementType type = ElementType::UNDEFINED;
    PartialShape shape;
    bool has_dims = false;
    std::vector<std::string> names;
    RtNode rt_info;
};

struct Layer {
    std::int64_t id = -1;
    std::string name, type, version;
    pugi::xml_node xml;
    std::vector<Port> inputs, outputs;
    Node* node = nullptr;
    std::vector<bool> connected;
    // Set when an extension's conversion replaces the layer: `node` is then a placeholder that
    // carries the inputs until infer() converts it.
    const model::ConversionSpec* conversion = nullptr;
};

// One <net> or <body>: its model and the layer ids of its Parameters and Results in order.
struct Graph {
    std::shared_ptr<model::Model> model;
    std::vector<std::int64_t> parameter_ids, result_ids;
};

struct Context {
    std::span<const std::byte> weights;
    std::shared_ptr<const void> owner;
    const model::OpRegistry& registry;
    int depth = 0; // of bodies
};

std::string describe(const Layer& l) {
    return fmt::format("layer '{}' (id {}, {} {})", l.name, l.id, l.type, l.version);
}

// An integer, or why the text is not one: "not an integer" or "out of range".
struct ParsedInt {
    std::optional<std::int64_t> value;
    const char* problem = "not an integer";
};

ParsedInt parse_int(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || p != text.data() + text.size()) return {};
    if (ec == std::errc::result_out_of_range)
        return {std::nullopt, "out of range (a signed 64-bit integer)"};
    if (ec != std::errc()) return {};
    return {v};
}

std::optional<std::int64_t> to_int(std::string_view text) {
    return parse_int(text).value;
}

// A required integer attribute; invalid_argument naming `where` when missing or malformed.
std::int64_t int_attr(pugi::xml_node node, const char* attr, std::string_view where) {
    auto a = node.attribute(attr);
    LOOM_REQUIRE(!a.empty(), "{}: attribute '{}' is missing", where, attr);
    auto parsed = parse_int(a.value());
    LOOM_REQUIRE(parsed.value.has_value(), "{}: attribute {}='{}' is {}", where, attr, a.value(),
                 parsed.problem);
    return *parsed.value;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Element types OpenVINO knows but Loom cannot carry.
bool known_unsupported_type(std::string_view name) {
    static constexpr std::string_view k_names[] = {
        "string", "STRING", "u1",  "U1",  "u2",     "u3",     "u4",     "U4",     "u6",
        "i4",     "I4",     "nf4", "NF4", "f8e4m3", "f8e5m2", "f4e2m1", "f8e8m0", "BIN"};
    for (auto n : k_names)
        if (n == name) return true;
    return false;
}

// An IR element type name ("f32", "FP32", ...); unsupported for string and other types Loom
// cannot carry, invalid_argument for unknown names. "undefined"/"dynamic" → UNDEFINED.
ElementType element_type(std::string_view text, std::string_view where) {
    if (text.empty() || text == "undefined" || text == "dynamic" || text == "UNSPECIFIED")
        return ElementType::UNDEFINED;
    auto type = model::element_type_from_ir(text);
    if (known_unsupported_type(text) || (type && *type == ElementType::STRING))
        LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: element type '{}' is not supported", where,
                   lower(text));
    LOOM_REQUIRE(type.has_value(), "{}: unknown element type '{}'", where, text);
    return *type;
}

void check_dims(const PartialShape& shape, std::string_view where) {
    if (shape.rank_is_dynamic()) return;
    for (const auto& d : shape.dims()) {
        LOOM_REQUIRE(d.min() <= k_max_dim && d.max() <= k_max_dim,
                     "{}: dimension {} is larger than 2^40", where, d.to_string());
    }
}

// Deeper rt_info trees are refused (the graph ⇄ schema conversion carries 64 levels).
constexpr int k_max_rt_depth = 64;
constexpr int k_max_body_depth = 32;

RtNode read_rt_tree(pugi::xml_node xml, int depth = 1) {
    LOOM_REQUIRE(depth <= k_max_rt_depth, "rt_info is nested deeper than {} levels",
                 k_max_rt_depth);
    RtNode out;
    out.tag = xml.name();
    for (auto a : xml.attributes())
        out.attributes.emplace_back(a.name(), a.value());
    for (auto child : xml.children())
        if (child.type() == pugi::node_element)
            out.children.push_back(read_rt_tree(child, depth + 1));
    return out;
}

// An <rt_info> element as a tree tagged "rt_info"; absent or empty elements give an empty node.
RtNode read_rt(pugi::xml_node parent) {
    auto xml = parent.child("rt_info");
    if (!xml) return {};
    RtNode out = read_rt_tree(xml);
    if (out.empty()) return {};
    return out;
}

// OpenVINO escapes commas inside a tensor name as "\,".
std::vector<std::string> split_names(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    auto flush = [&] {
        auto b = current.find_first_not_of(" \t");
        auto e = current.find_last_not_of(" \t");
        if (b != std::string::npos) out.push_back(current.substr(b, e - b + 1));
        current.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == ',') {
            current += ',';
            ++i;
        } else if (text[i] == ',') {
            flush();
        } else {
            current += text[i];
        }
    }
    flush();
    return out;
}

Port read_port(pugi::xml_node xml, const std::string& layer, bool output) {
    Port p;
    auto where = fmt::format("{} {} port", layer, output ? "output" : "input");
    p.id = int_attr(xml, "id", where);
    where += " " + std::to_string(p.id);
    if (auto a = xml.attribute("precision")) p.type = element_type(a.value(), where);
    std::vector<Dimension> dims;
    for (auto dim : xml.children("dim")) {
        auto d = Dimension::parse(dim.child_value());
        LOOM_REQUIRE(d.has_value(), "{}: dimension '{}' is not a size, -1, ? or a range like 1..10",
                     where, dim.child_value());
        dims.push_back(*d);
        p.has_dims = true;
    }
    p.shape = PartialShape(std::move(dims));
    check_dims(p.shape, where);
    if (auto a = xml.attribute("names")) p.names = split_names(a.value());
    p.rt_info = read_rt(xml);
    return p;
}

std::string native_type(std::string_view ir_type) {
    static const std::pair<std::string_view, std::string_view> k_aliases[] = {
        {"Const", "Constant"}, {"ReLU", "Relu"}, {"SoftMax", "Softmax"}, {"PReLU", "PRelu"}};
    for (auto [ir, native] : k_aliases)
        if (ir == ir_type) return std::string(native);
    return std::string(ir_type);
}

// Constant: element_type/shape/offset/size → a tensor viewing (or copying) the weights.
void read_constant(Node& node, const Layer& l, const Context& ctx) {
    auto data = l.xml.child("data");
    auto where = describe(l);
    LOOM_REQUIRE(data, "{}: <data> with element_type, shape, offset and size is missing", where);
    auto type = element_type(data.attribute("element_type").value(), where);
    LOOM_REQUIRE(type != ElementType::UNDEFINED, "{}: element_type is missing", where);
    LOOM_REQUIRE(data.attribute("shape"), "{}: attribute 'shape' is missing", where);
    auto shape = PartialShape::parse(data.attribute("shape").value());
    LOOM_REQUIRE(shape && shape->is_static(), "{}: shape '{}' is not a static shape", where,
                 data.attribute("shape").value());
    check_dims(*shape, where);
    auto offset = int_attr(data, "offset", where);
    auto size = int_attr(data, "size", where);
    LOOM_REQUIRE(offset >= 0 && size >= 0, "{}: offset {} and size {} must not be negative", where,
                 offset, size);
    auto uoffset = static_cast<std::uint64_t>(offset), usize = static_cast<std::uint64_t>(size);
    LOOM_REQUIRE(uoffset <= ctx.weights.size() && usize <= ctx.weights.size() - uoffset,
                 "{}: offset {} + size {} is past the end of the weights ({} bytes)", where, offset,
                 size, ctx.weights.size());
    auto dims = shape->to_shape();
    auto expected = dense_byte_size(type, dims);
    LOOM_REQUIRE(expected && *expected == usize, "{}: size {} does not match {} {} ({} bytes)",
                 where, size, model::ir_name(type), model::to_string(dims),
                 expected ? std::to_string(*expected) : "too many");
    auto bytes = ctx.weights.subspan(uoffset, usize);
    node.value = ctx.owner ? model::Tensor::view(type, dims, bytes, ctx.owner)
                           : model::Tensor::copy_of(type, dims, bytes);
    node.attrs.set("element_type", type);
    node.attrs.set("shape", PartialShape(dims));
}

AttrValue typed_attr(const Layer& l, const model::OpSpec& spec, std::string_view name,
                     std::string_view text) {
    const auto* attr = spec.find_attr(name);
    if (!attr) return AttrValue(std::string(text));
    auto value = model::parse_attr(text, attr->kind);
    if (!value) {
        if (attr->kind == AttrKind::Type && known_unsupported_type(text))
            LOOM_THROW(ErrorKind::UNSUPPORTED,
                       "{}: attribute {}: element type '{}' is not supported", describe(l), name,
                       text);
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}: attribute {}='{}' is not a valid {}",
                   describe(l), name, text, model::to_string(attr->kind));
    }
    if (auto* t = std::get_if<ElementType>(&*value); t && *t == ElementType::STRING)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "{}: attribute {}: element type 'string' is not supported", describe(l), name);
    if (auto* s = std::get_if<PartialShape>(&*value))
        check_dims(*s, fmt::format("{}: attribute {}", describe(l), name));
    return *value;
}

void read_attributes(Node& node, const Layer& l, const model::OpSpec& spec) {
    for (auto a : l.xml.child("data").attributes())
        node.attrs.set(a.name(), typed_attr(l, spec, a.name(), a.value()));
    if (node.type == "Parameter") { // the order Model::add_parameter uses
        model::Attributes ordered;
        for (const char* key : {"shape", "element_type"})
            if (auto* v = node.attrs.find(key)) ordered.set(key, *v);
        for (const auto& [k, v] : node.attrs.entries())
            ordered.set(k, v);
        node.attrs = std::move(ordered);
        if (auto* t = node.attrs.find("element_type"); t && std::holds_alternative<ElementType>(*t))
            node.outputs.at(0).type = std::get<ElementType>(*t);
        if (auto* s = node.attrs.find("shape"); s && std::holds_alternative<PartialShape>(*s))
            node.outputs.at(0).shape = std::get<PartialShape>(*s);
    }
}

Graph read_graph(pugi::xml_node root, const Context& ctx);

// The index of body layer `id` among the body's Parameters (or Results); invalid_argument
// naming `where` when it is not one of them.
std::int64_t index_of(const Graph& body, bool parameter, std::int64_t id, std::string_view where) {
    const auto& ids = parameter ? body.parameter_ids : body.result_ids;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == id) return static_cast<std::int64_t>(i);
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{} refers to layer {}, which is not a {} of the body",
               where, id, parameter ? "Parameter" : "Result");
}

std::int64_t port_index(const std::vector<Port>& ports, std::int64_t id) {
    for (std::size_t i = 0; i < ports.size(); ++i)
        if (ports[i].id == id) return static_cast<std::int64_t>(i);
    return -1;
}

std::vector<model::PortMap> read_port_map(pugi::xml_node xml, const Layer& l, const Graph& body,
                                          bool inputs) {
    std::vector<model::PortMap> out;
    for (auto entry : xml.children(inputs ? "input" : "output")) {
        auto where = fmt::format("{} port_map {}", describe(l), inputs ? "input" : "output");
        model::PortMap m;
        auto external = int_attr(entry, "external_port_id", where);
        if (external >= 0) {
            m.external_port = port_index(inputs ? l.inputs : l.outputs, external);
            LOOM_REQUIRE(m.external_port >= 0, "{}: external_port_id {} is not a port of the layer",
                         where, external);
        }
        m.body_index = index_of(body, inputs, int_attr(entry, "internal_layer_id", where), where);
        std::pair<const char*, std::optional<std::int64_t>*> fields[] = {
            {"axis", &m.axis},
            {"start", &m.start},
            {"end", &m.end},
            {"stride", &m.stride},
            {"part_size", &m.part_size}};
        for (auto& [key, field] : fields)
            if (entry.attribute(key)) *field = int_attr(entry, key, where);
        if (m.axis) { // OpenVINO's defaults for an iterated port
            if (!m.start) m.start = 0;
            if (!m.end) m.end = -1;
            if (!m.stride) m.stride = 1;
            if (!m.part_size) m.part_size = 1;
        }
        m.purpose = entry.attribute("purpose").value();
        out.push_back(std::move(m));
    }
    return out;
}

// <body>, <then_body>, <else_body> with their port maps and (for <body>) back edges.
void read_bodies(Node& node, const Layer& l, const Context& ctx) {
    static constexpr std::pair<const char*, const char*> k_bodies[] = {
        {"body", "port_map"}, {"then_body", "then_port_map"}, {"else_body", "else_port_map"}};
    for (auto [body_name, map_name] : k_bodies) {
        auto xml = l.xml.child(body_name);
        if (!xml) continue;
        model::Body body;
        body.name = body_name;
        Graph graph;
        LOOM_REQUIRE(ctx.depth < k_max_body_depth, "{}: bodies are nested deeper than {} levels",
                     describe(l), k_max_body_depth);
        Context inner{ctx.weights, ctx.owner, ctx.registry, ctx.depth + 1};
        try {
            graph = read_graph(xml, inner);
        } catch (const Error& e) {
            LOOM_THROW(e.kind(), "{} {}: {}", describe(l), body_name, e.message());
        }
        body.model = graph.model;
        body.inputs = read_port_map(l.xml.child(map_name), l, graph, true);
        body.outputs = read_port_map(l.xml.child(map_name), l, graph, false);
        if (std::string_view(body_name) == "body")
            for (auto edge : l.xml.child("back_edges").children("edge")) {
                auto where = fmt::format("{} back edge", describe(l));
                model::BackEdge b;
                b.from_result = index_of(graph, false, int_attr(edge, "from-layer", where),
                                         where + " from-layer");
                b.to_parameter =
                    index_of(graph, true, int_attr(edge, "to-layer", where), where + " to-layer");
                body.back_edges.push_back(b);
            }
        node.bodies.push_back(std::move(body));
    }
}

Layer read_layer(pugi::xml_node xml) {
    Layer l;
    l.xml = xml;
    l.name = xml.attribute("name").value();
    l.type = xml.attribute("type").value();
    l.version = xml.attribute("version").value();
    l.id = int_attr(xml, "id", fmt::format("layer '{}' ({})", l.name, l.type));
    LOOM_REQUIRE(!l.type.empty(), "{}: the layer has no type", describe(l));
    for (auto p : xml.child("input").children("port"))
        l.inputs.push_back(read_port(p, describe(l), false));
    for (auto p : xml.child("output").children("port"))
        l.outputs.push_back(read_port(p, describe(l), true));
    l.connected.assign(l.inputs.size(), false);
    return l;
}

// The opset a layer's op is looked up in: the version as written, except where OpenVINO's
// reader maps it (interface ops are opset1; MVN, ROIPooling and ReorgYolo written as opset1 are
// opset2; experimental ops that joined opset6).
std::string lookup_version(const std::string& type, const std::string& version) {
    if (type == "Parameter" || type == "Result" || type == "Constant") return "opset1";
    if (version == "opset1" && (type == "MVN" || type == "ROIPooling" || type == "ReorgYolo"))
        return "opset2";
    static constexpr std::string_view k_joined_opset6[] = {
        "ExperimentalDetectronDetectionOutput",
        "ExperimentalDetectronGenerateProposalsSingleImage",
        "ExperimentalDetectronPriorGridGenerator",
        "ExperimentalDetectronROIFeatureExtractor",
        "ExperimentalDetectronTopKROIs",
        "GRUCell",
        "RNNCell",
        "Proposal"};
    if (version == "experimental" || version == "extension")
        for (auto t : k_joined_opset6)
            if (t == type) return "opset6";
    return version;
}

// A layer an extension's conversion ("ir", version, type) replaces: a placeholder node with
// the layer's inputs and its <data> attributes as strings (a conversion has no spec to type
// them by; it parses what it needs, e.g. with model::parse_attr).
Node& make_placeholder(model::Model& m, Layer& l, const model::ConversionSpec& conversion) {
    model::Attributes attrs;
    for (auto a : l.xml.child("data").attributes())
        attrs.set(a.name(), AttrValue(std::in_place_type<std::string>, a.value()));
    auto& node = m.add(l.type, l.version, std::vector<model::Output>(l.inputs.size()),
                       std::move(attrs), l.outputs.size(), l.name);
    l.conversion = &conversion;
    l.node = &node;
    return node;
}

Node& make_node(model::Model& m, Layer& l, const Context& ctx) {
    bool extension_version = !model::opset_number(l.version).has_value();
    if (extension_version)
        if (const auto* conversion = ctx.registry.find_conversion("ir", l.version, l.type))
            return make_placeholder(m, l, *conversion);
    auto type = native_type(l.type);
    auto version = lookup_version(type, l.version);
    // Other versions (extension domains) find the extension's op; its <data> is typed by its
    // spec like a native op's.
    const auto* spec = ctx.registry.find(type, version);
    if (!spec)
        LOOM_THROW(ErrorKind::NOT_FOUND,
                   "unknown operation {} (version {}) in layer '{}' (id {}){}", l.type, l.version,
                   l.name, l.id, extension_version ? " (no loaded extension provides it)" : "");
    auto& node = m.add(type, version, std::vector<model::Output>(l.inputs.size()), {},
                       l.outputs.size(), l.name);
    for (std::size_t i = 0; i < l.outputs.size(); ++i) {
        auto& out = node.outputs[i];
        out.type = l.outputs[i].type;
        out.shape = l.outputs[i].shape;
        out.names = l.outputs[i].names;
        out.rt_info = l.outputs[i].rt_info;
    }
    bool any_input_rt = false;
    for (const auto& p : l.inputs)
        any_input_rt = any_input_rt || !p.rt_info.empty();
    if (any_input_rt)
        for (const auto& p : l.inputs)
            node.input_rt_info.push_back(p.rt_info);
    node.rt_info = read_rt(l.xml);
    if (type == "Constant" || type == "Parameter")
        LOOM_REQUIRE(l.outputs.size() == 1, "{}: the layer must have exactly one output port",
                     describe(l));
    if (type == "Constant") {
        read_constant(node, l, ctx);
    } else {
        read_attributes(node, l, *spec);
    }
    read_bodies(node, l, ctx);
    l.node = &node;
    return node;
}

void connect(std::map<std::int64_t, Layer>& layers, pugi::xml_node edge) {
    auto where =
        fmt::format("edge from-layer={} from-port={} to-layer={} to-port={}",
                    edge.attribute("from-layer").value(), edge.attribute("from-port").value(),
                    edge.attribute("to-layer").value(), edge.attribute("to-port").value());
    auto from = layers.find(int_attr(edge, "from-layer", where));
    auto to = layers.find(int_attr(edge, "to-layer", where));
    LOOM_REQUIRE(from != layers.end(), "{}: there is no layer with id {}", where,
                 edge.attribute("from-layer").value());
    LOOM_REQUIRE(to != layers.end(), "{}: there is no layer with id {}", where,
                 edge.attribute("to-layer").value());
    auto out = port_index(from->second.outputs, int_attr(edge, "from-port", where));
    auto in = port_index(to->second.inputs, int_attr(edge, "to-port", where));
    LOOM_REQUIRE(out >= 0, "{}: {} has no output port {}", where, describe(from->second),
                 edge.attribute("from-port").value());
    LOOM_REQUIRE(in >= 0, "{}: {} has no input port {}", where, describe(to->second),
                 edge.attribute("to-port").value());
    auto slot = static_cast<std::size_t>(in);
    LOOM_REQUIRE(!to->second.connected[slot], "{}: input port {} of {} is connected twice", where,
                 edge.attribute("to-port").value(), describe(to->second));
    to->second.connected[slot] = true;
    to->second.node->inputs[slot] = from->second.node->output(static_cast<std::uint32_t>(out));
}

// Declared port types/shapes may be more precise than inference (or be all there is when a spec
// has no infer function): keep the intersection; a contradiction is an error.
void reconcile_output(OutputInfo& out, const Port& declared, const Layer& l, bool parameter) {
    auto where = fmt::format("{} output port {}", describe(l), declared.id);
    if (out.type == ElementType::UNDEFINED) out.type = declared.type;
    if (declared.type != ElementType::UNDEFINED && declared.type != out.type)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{}: the IR declares {} but shape inference gives {}", where,
                   model::ir_name(declared.type), model::ir_name(out.type));
    // A port without <dim> is a scalar or a shape of dynamic rank (OpenVINO writes both
    // that way): it says nothing inference could contradict.
    if (!declared.has_dims) return;
    if (parameter) { // its shape attribute is what it accepts
        LOOM_REQUIRE(out.shape.compatible(declared.shape),
                     "{}: the IR declares shape {} but the shape attribute says {}", where,
                     declared.shape.to_string(), out.shape.to_string());
        return;
    }
    if (out.shape.rank_is_dynamic()) {
        out.shape = declared.shape;
        return;
    }
    const auto& d = declared.shape.dims();
    auto& s = out.shape.dims();
    bool ok = d.size() == s.size();
    for (std::size_t k = 0; ok && k < d.size(); ++k) {
        auto merged = s[k].merge(d[k]);
        ok = merged.has_value();
        if (ok) s[k] = *merged;
    }
    if (!ok)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{}: the IR declares shape {} but shape inference gives {}", where,
                   declared.shape.to_string(), out.shape.to_string());
}

void reconcile(Node& node, const Layer& l) {
    LOOM_REQUIRE(node.outputs.size() >= l.outputs.size(),
                 "{}: the IR declares {} output ports but the operation has {} outputs",
                 describe(l), l.outputs.size(), node.outputs.size());
    for (std::size_t i = 0; i < l.outputs.size() && i < node.outputs.size(); ++i)
        reconcile_output(node.outputs[i], l.outputs[i], l, node.type == "Parameter");
}

// Runs the layer's conversion on its (typed) inputs, types the nodes it built in creation
// order, and makes the values it returns — one per output port, checked against the declared
// ports and taking their tensor names — replace the placeholder's outputs.
void convert_layer(model::Model& m, Node& placeholder, const Layer& l,
                   const model::OpRegistry& registry) {
    std::vector<model::Output> outs;
    try {
        model::ConversionContext ctx(m, placeholder.inputs, placeholder.attrs, l.name);
        try {
            outs = l.conversion->convert(ctx);
        } catch (const Error& e) {
            LOOM_THROW(e.kind(), "the conversion failed: {}", e.message());
        } catch (const std::exception& e) {
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "the conversion failed: {}", e.what());
        }
        for (Node* created : ctx.created()) {
            for (std::size_t i = 0; i < created->inputs.size(); ++i)
                LOOM_REQUIRE(created->inputs[i].node != nullptr,
                             "the conversion's {} node reads nothing at input {}", created->type,
                             i);
            if (created->is("Constant") && !created->value.empty()) { // as read_constant types it
                if (!created->attrs.has("element_type"))
                    created->attrs.set("element_type", created->value.element_type());
                if (!created->attrs.has("shape"))
                    created->attrs.set("shape", PartialShape(created->value.shape()));
            }
            model::infer_node(*created, registry);
        }
        LOOM_REQUIRE(outs.size() == l.outputs.size(),
                     "the conversion returned {} outputs but the layer has {} output ports",
                     outs.size(), l.outputs.size());
        for (std::size_t k = 0; k < outs.size(); ++k)
            LOOM_REQUIRE(
                outs[k].node && outs[k].node != &placeholder &&
                    outs[k].index < outs[k].node->outputs.size() && m.contains(outs[k].node),
                "the conversion gives no value of the model for output port {}", l.outputs[k].id);
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "{}: {}", describe(l), e.message());
    }
    for (std::size_t k = 0; k < outs.size(); ++k) {
        auto& info = outs[k].node->outputs[outs[k].index];
        reconcile_output(info, l.outputs[k], l, false);
        for (const auto& name : l.outputs[k].names)
            if (std::find(info.names.begin(), info.names.end(), name) == info.names.end())
                info.names.push_back(name);
        if (info.rt_info.empty()) info.rt_info = l.outputs[k].rt_info;
        m.replace_uses(placeholder.output(static_cast<std::uint32_t>(k)), outs[k]);
    }
}

void infer(model::Model& m, const std::map<std::int64_t, Layer>& layers,
           const model::OpRegistry& registry) {
    std::unordered_map<const Node*, const Layer*> by_node;
    for (const auto& [id, l] : layers)
        by_node.emplace(l.node, &l);
    std::vector<const Node*> converted;
    for (Node* node : m.topological_order()) {
        const Layer& l = *by_node.at(node);
        if (l.conversion) {
            convert_layer(m, *node, l, registry);
            converted.push_back(node);
            continue;
        }
        try {
            model::infer_node(*node, registry);
        } catch (const Error& e) {
            LOOM_THROW(e.kind(), "layer id {}: {}", l.id, e.message());
        }
        reconcile(*node, l);
    }
    if (!converted.empty()) m.remove(converted);
}

Graph read_graph(pugi::xml_node root, const Context& ctx) {
    Graph g;
    g.model = std::make_shared<model::Model>();
    auto& m = *g.model;
    std::map<std::int64_t, Layer> layers;
    std::vector<std::int64_t> order;
    for (auto xml : root.child("layers").children("layer")) {
        Layer l = read_layer(xml);
        LOOM_REQUIRE(!layers.count(l.id), "{}: another layer has id {}", describe(l), l.id);
        order.push_back(l.id);
        layers.emplace(l.id, std::move(l));
    }
    // Nodes are added in layer id order: the writer numbers layers in topological order, so a
    // written model reads back with the same topological order even when its document lists
    // Parameters and Results in interface order.
    for (auto& [id, l] : layers)
        make_node(m, l, ctx);
    for (auto edge : root.child("edges").children("edge"))
        connect(layers, edge);
    std::vector<Node*> parameters, results;
    for (auto id : order) {
        Layer& l = layers.at(id);
        for (std::size_t i = 0; i < l.inputs.size(); ++i)
            LOOM_REQUIRE(l.connected[i], "{}: input port {} is not connected", describe(l),
                         l.inputs[i].id);
        if (l.node->type == "Parameter") {
            g.parameter_ids.push_back(id);
            parameters.push_back(l.node);
        } else if (l.node->type == "Result") {
            g.result_ids.push_back(id);
            results.push_back(l.node);
        } else if (l.node->type == "Assign") {
            m.add_sink(*l.node);
        }
    }
    m.set_parameters(std::move(parameters));
    m.set_results(std::move(results));
    m.name = root.attribute("name").value();
    m.rt_info = read_rt(root);
    infer(m, layers, ctx.registry);
    return g;
}

int ir_version(const pugi::xml_node& net) {
    auto text = net.attribute("version");
    if (!text)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "the IR has no version; only OpenVINO IR v10 and v11 are supported");
    auto v = to_int(text.value());
    if (!v || *v < 10 || *v > 11)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "IR v{} is not supported; only OpenVINO IR v10 and v11 are supported",
                   text.value());
    return static_cast<int>(*v);
}

// Model Optimizer's <meta_data> (IRs without <rt_info>) as the rt_info OpenVINO makes of it:
// its entries at the top level, <cli_parameters> renamed <conversion_parameters>.
RtNode legacy_meta_data(pugi::xml_node net) {
    auto meta = net.child("meta_data");
    if (!meta) return {};
    RtNode out{"rt_info", {}, {}};
    for (auto child : meta.children()) {
        if (child.type() != pugi::node_element) continue;
        out.children.push_back(read_rt_tree(child, 2));
        if (out.children.back().tag == "cli_parameters")
            out.children.back().tag = "conversion_parameters";
    }
    if (out.empty()) return {};
    return out;
}

std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::ptrdiff_t offset) {
    std::size_t line = 1, column = 1;
    for (std::ptrdiff_t i = 0; i < offset && static_cast<std::size_t>(i) < text.size(); ++i) {
        if (text[static_cast<std::size_t>(i)] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return {line, column};
}

std::shared_ptr<model::Model> read_document(std::string_view xml, const Context& ctx) {
    pugi::xml_document doc;
    auto parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!parsed) {
        auto [line, column] = line_column(xml, parsed.offset);
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "XML syntax error at line {}, column {}: {}", line,
                   column, parsed.description());
    }
    auto net = doc.child("net");
    LOOM_REQUIRE(net, "the document has no <net> element (not an OpenVINO IR)");
    (void)ir_version(net);
    auto m = read_graph(net, ctx).model;
    if (!net.child("rt_info")) m->rt_info = legacy_meta_data(net);
    return m;
}

} // namespace

std::shared_ptr<model::Model> read_ir(std::string_view xml, std::span<const std::byte> weights,
                                      std::shared_ptr<const void> owner,
                                      const model::OpRegistry& registry, std::string_view source) {
    Context ctx{weights, std::move(owner), registry};
    try {
        return read_document(xml, ctx);
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "{}: {}", source, e.message());
    }
}

} // namespace loom::reader::ir
