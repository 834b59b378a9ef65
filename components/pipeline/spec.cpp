#include "components/pipeline/spec.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kernel/toml_reader.hpp"
#include "schemas/error.hpp"

namespace loom::pipeline {
namespace {

using kernel::TomlReader;

// Names wires can use: letters, digits, '_', '-' (no '.', which splits NODE.OUTPUT).
void check_name(const std::string& name, const std::string& where) {
    LOOM_REQUIRE(!name.empty(), "{}: `name` is required", where);
    for (char c : name)
        LOOM_REQUIRE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-',
                     "{}: name '{}' may hold only letters, digits, '_' and '-'", where, name);
}

model::PartialShape read_shape(const TomlReader& r) {
    const auto* node = r.table().get("shape");
    if (!node) return model::PartialShape::dynamic();
    const auto* array = node->as_array();
    LOOM_REQUIRE(array != nullptr, "{}: `shape` must be an array of integers (-1: any)", r.where());
    std::vector<model::Dimension> dims;
    for (const auto& d : *array) {
        auto v = d.value<std::int64_t>();
        LOOM_REQUIRE(v.has_value() && *v >= -1, "{}: `shape` must hold integers >= -1", r.where());
        dims.push_back(*v < 0 ? model::Dimension::dynamic() : model::Dimension(*v));
    }
    return model::PartialShape(std::move(dims));
}

// A TOML value as an op attribute (its kind checked against the op's spec at compile time).
model::AttrValue attr_value(const toml::node& node, const std::string& where) {
    if (auto b = node.value_exact<bool>()) return *b;
    if (auto i = node.value_exact<std::int64_t>()) return *i;
    if (auto f = node.value_exact<double>()) return *f;
    if (auto s = node.value_exact<std::string>()) return kernel::expand_env(*s, where);
    const auto* array = node.as_array();
    LOOM_REQUIRE(array != nullptr, "{}: an attribute is a bool, number, string or array of them",
                 where);
    if (array->empty()) return std::vector<std::int64_t>{};
    if (array->is_homogeneous<std::int64_t>()) {
        std::vector<std::int64_t> out;
        for (const auto& v : *array)
            out.push_back(*v.value<std::int64_t>());
        return out;
    }
    if (array->is_homogeneous<std::string>()) {
        std::vector<std::string> out;
        for (const auto& v : *array)
            out.push_back(*v.value<std::string>());
        return out;
    }
    std::vector<double> out;
    for (const auto& v : *array) {
        auto d = v.value<double>();
        LOOM_REQUIRE(d.has_value(), "{}: an attribute array holds numbers or strings, not both",
                     where);
        out.push_back(*d);
    }
    return out;
}

// What the reader collects before the wires can be resolved.
struct RawNode {
    NodeSpec spec;
    std::vector<std::string> wires;
    std::string gather_from;
};

std::vector<const toml::table*> tables(const toml::table& root, const char* key,
                                       const std::string& where) {
    std::vector<const toml::table*> out;
    const auto* node = root.get(key);
    if (!node) return out;
    const auto* array = node->as_array();
    LOOM_REQUIRE(array != nullptr, "{}: `{}` must be an array of tables ([[{}]])", where, key, key);
    for (const auto& item : *array) {
        LOOM_REQUIRE(item.as_table() != nullptr, "{}: each [[{}]] must be a table", where, key);
        out.push_back(item.as_table());
    }
    return out;
}

RawNode read_node(const toml::table& t, const std::string& where,
                  const std::filesystem::path& base) {
    TomlReader r(t, where);
    r.only({"name", "model", "op", "component", "domain", "device", "attributes", "inputs",
            "outputs", "demultiply", "gather_from"});
    RawNode raw;
    auto& n = raw.spec;
    n.name = r.text("name");
    check_name(n.name, where);
    const std::string w = fmt::format("{} '{}'", where, n.name);
    const int kinds = r.has("model") + r.has("op") + r.has("component");
    LOOM_REQUIRE(kinds == 1,
                 "{}: give exactly one of `model` (a model file), `op` (an extension's "
                 "operation) or `component` (a pipeline-node component)",
                 w);
    if (r.has("model")) {
        n.kind = NodeKind::Model;
        n.target = kernel::resolve_path(r.text("model"), base);
        n.device = r.text("device", "CPU");
    } else if (r.has("op")) {
        n.kind = NodeKind::Op;
        n.target = r.text("op");
        n.domain = r.text("domain");
        LOOM_REQUIRE(!n.domain.empty(),
                     "{}: `domain` names the op's extension domain "
                     "(\"loom.ocr\") or opset (\"opset8\")",
                     w);
    } else {
        n.kind = NodeKind::Component;
        n.target = r.text("component");
    }
    LOOM_REQUIRE(n.kind == NodeKind::Model || !r.has("device"), "{}: `device` is for model nodes",
                 w);
    LOOM_REQUIRE(n.kind == NodeKind::Op || (!r.has("domain") && !r.has("attributes")),
                 "{}: `domain` and `attributes` are for op nodes", w);
    if (const auto* attrs = t.get("attributes")) {
        LOOM_REQUIRE(attrs->as_table() != nullptr, "{}: `attributes` must be a table", w);
        for (const auto& [key, value] : *attrs->as_table())
            n.attrs.set(std::string(key.str()),
                        attr_value(value, fmt::format("{}.attributes.{}", w, key.str())));
    }
    const auto* inputs = t.get("inputs");
    LOOM_REQUIRE(inputs != nullptr, "{}: `inputs` is required", w);
    if (const auto* named = inputs->as_table()) {
        LOOM_REQUIRE(n.kind != NodeKind::Op,
                     "{}: an op's inputs are positional: write inputs = [\"a\", \"b\"]", w);
        for (const auto& [port, wire] : *named) {
            auto text = wire.value<std::string>();
            LOOM_REQUIRE(text.has_value(), "{}: inputs.{} must be a string (\"node.output\")", w,
                         port.str());
            n.input_names.emplace_back(port.str());
            raw.wires.push_back(*text);
        }
    } else {
        TomlReader list(t, w);
        raw.wires = list.texts("inputs");
    }
    n.output_names = r.texts("outputs");
    LOOM_REQUIRE(n.kind == NodeKind::Op || n.output_names.empty(),
                 "{}: `outputs` names an op's outputs; a model's or component's have names", w);
    n.demultiply = r.flag("demultiply");
    raw.gather_from = r.text("gather_from");
    return raw;
}

class Builder {
public:
    Builder(const toml::table& root, std::string where, std::filesystem::path base)
        : m_root(root)
        , m_where(std::move(where))
        , m_base(std::move(base)) {}

    PipelineSpec build() {
        TomlReader r(m_root, m_where);
        r.only({"name", "extensions", "input", "constant", "node", "output"});
        m_spec.name = r.text("name");
        m_spec.base_dir = m_base;
        check_name(m_spec.name, m_where);
        for (const auto& e : r.texts("extensions"))
            m_spec.extensions.push_back(e.find("://") != std::string::npos ||
                                                e.find('/') == std::string::npos
                                            ? e // an endpoint, or a library looked up later
                                            : kernel::resolve_path(e, m_base));
        read_interface();
        read_nodes();
        order_nodes();
        assign_scopes();
        read_outputs();
        return std::move(m_spec);
    }

private:
    void claim(const std::string& name, const std::string& where) {
        LOOM_REQUIRE(m_names.insert(name).second,
                     "{}: the name '{}' is used twice (inputs, constants and nodes share names)",
                     where, name);
    }

    void read_interface() {
        int i = 0;
        for (const auto* t : tables(m_root, "input", m_where)) {
            const auto where = fmt::format("{}: [[input]] #{}", m_where, ++i);
            TomlReader r(*t, where);
            r.only({"name", "type", "shape"});
            InputSpec in;
            in.name = r.text("name");
            check_name(in.name, where);
            claim(in.name, where);
            const auto type = r.text("type");
            LOOM_REQUIRE(!type.empty(), "{}: `type` is required (f32, u8, string …)", where);
            auto parsed = element_type_from_string(type);
            LOOM_REQUIRE(parsed && *parsed != ElementType::UNDEFINED,
                         "{}: unknown `type` '{}' (f32, f16, i64, i32, u8, boolean, string …)",
                         where, type);
            in.type = *parsed;
            in.shape = read_shape(r);
            m_spec.inputs.push_back(std::move(in));
        }
        LOOM_REQUIRE(!m_spec.inputs.empty(), "{}: a pipeline needs at least one [[input]]",
                     m_where);
        i = 0;
        for (const auto* t : tables(m_root, "constant", m_where)) {
            const auto where = fmt::format("{}: [[constant]] #{}", m_where, ++i);
            TomlReader r(*t, where);
            r.only({"name", "file"});
            ConstantSpec c;
            c.name = r.text("name");
            check_name(c.name, where);
            claim(c.name, where);
            c.file = kernel::resolve_path(r.text("file"), m_base);
            LOOM_REQUIRE(!c.file.empty(), "{}: `file` is required (.npy, or text lines)", where);
            m_spec.constants.push_back(std::move(c));
        }
    }

    void read_nodes() {
        int i = 0;
        for (const auto* t : tables(m_root, "node", m_where)) {
            const auto where = fmt::format("{}: [[node]] #{}", m_where, ++i);
            m_raw.push_back(read_node(*t, where, m_base));
            claim(m_raw.back().spec.name, where);
        }
        LOOM_REQUIRE(!m_raw.empty(), "{}: a pipeline needs at least one [[node]]", m_where);
        for (auto& raw : m_raw) {
            const auto where = fmt::format("{}: node '{}'", m_where, raw.spec.name);
            for (const auto& w : raw.wires)
                raw.spec.inputs.push_back(wire(w, where));
            LOOM_REQUIRE(!raw.spec.inputs.empty(), "{}: `inputs` is empty", where);
            if (!raw.gather_from.empty()) raw.spec.gather_from = node_index(raw.gather_from, where);
        }
    }

    std::size_t node_index(const std::string& name, const std::string& where) const {
        for (std::size_t i = 0; i < m_raw.size(); ++i)
            if (m_raw[i].spec.name == name) return i;
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}: no node '{}'", where, name);
    }

    Wire wire(const std::string& text, const std::string& where) const {
        Wire w;
        w.text = text;
        const auto dot = text.find('.');
        const std::string head = text.substr(0, dot);
        for (std::size_t i = 0; i < m_spec.inputs.size(); ++i)
            if (m_spec.inputs[i].name == head) {
                LOOM_REQUIRE(dot == std::string::npos, "{}: '{}': input '{}' has no outputs", where,
                             text, head);
                return {Wire::From::Input, i, {}, text};
            }
        for (std::size_t i = 0; i < m_spec.constants.size(); ++i)
            if (m_spec.constants[i].name == head) {
                LOOM_REQUIRE(dot == std::string::npos, "{}: '{}': constant '{}' has no outputs",
                             where, text, head);
                return {Wire::From::Constant, i, {}, text};
            }
        for (std::size_t i = 0; i < m_raw.size(); ++i)
            if (m_raw[i].spec.name == head) {
                w.from = Wire::From::Node;
                w.index = i;
                if (dot != std::string::npos) w.output = text.substr(dot + 1);
                LOOM_REQUIRE(dot == std::string::npos || !w.output.empty(),
                             "{}: '{}': name the output after the '.'", where, text);
                return w;
            }
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{}: '{}' names no input, constant or node (write INPUT, NODE or "
                   "NODE.OUTPUT)",
                   where, text);
    }

    // Kahn's algorithm over the wires (and gather_from); the nodes left over form a cycle.
    void order_nodes() {
        const std::size_t n = m_raw.size();
        std::vector<std::set<std::size_t>> after(n);
        std::vector<std::size_t> waiting(n, 0);
        for (std::size_t i = 0; i < n; ++i) {
            std::set<std::size_t> before;
            for (const auto& w : m_raw[i].spec.inputs)
                if (w.from == Wire::From::Node) before.insert(w.index);
            if (m_raw[i].spec.gather_from) before.insert(*m_raw[i].spec.gather_from);
            LOOM_REQUIRE(!before.contains(i), "{}: node '{}' takes its own output", m_where,
                         m_raw[i].spec.name);
            waiting[i] = before.size();
            for (auto b : before)
                after[b].insert(i);
        }
        std::vector<std::size_t> order, ready;
        for (std::size_t i = n; i-- > 0;)
            if (waiting[i] == 0) ready.push_back(i);
        while (!ready.empty()) {
            auto i = ready.back();
            ready.pop_back();
            order.push_back(i);
            for (auto a : after[i])
                if (--waiting[a] == 0) ready.push_back(a);
        }
        if (order.size() != n) {
            std::vector<std::string> cycle;
            for (std::size_t i = 0; i < n; ++i)
                if (waiting[i] != 0) cycle.push_back(m_raw[i].spec.name);
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}: the nodes {} form a cycle", m_where,
                       fmt::join(cycle, ", "));
        }
        std::vector<std::size_t> position(n);
        for (std::size_t k = 0; k < n; ++k)
            position[order[k]] = k;
        m_position = position;
        for (auto i : order) {
            NodeSpec node = m_raw[i].spec; // m_raw stays whole: outputs are wired after
            for (auto& w : node.inputs)
                if (w.from == Wire::From::Node) w.index = position[w.index];
            if (node.gather_from) node.gather_from = position[*node.gather_from];
            m_spec.nodes.push_back(std::move(node));
        }
    }

    // One level of demultiplexing: a node runs per item of the demultiply its inputs come from.
    void assign_scopes() {
        for (auto& node : m_spec.nodes) {
            const auto where = fmt::format("{}: node '{}'", m_where, node.name);
            std::set<std::size_t> scopes;
            for (const auto& w : node.inputs)
                if (auto s = scope_of(m_spec, w)) scopes.insert(*s);
            if (node.gather_from) {
                const auto g = *node.gather_from;
                LOOM_REQUIRE(m_spec.nodes[g].demultiply,
                             "{}: gather_from names '{}', which does not demultiply", where,
                             m_spec.nodes[g].name);
                LOOM_REQUIRE(scopes.contains(g),
                             "{}: gathers from '{}' but none of its inputs comes from its items",
                             where, m_spec.nodes[g].name);
                LOOM_REQUIRE(scopes.size() == 1, "{}: takes items of two demultiplies", where);
                node.scope.reset();
            } else {
                LOOM_REQUIRE(scopes.size() <= 1,
                             "{}: takes items of two demultiplies ({}): gather one first", where,
                             scopes.size());
                if (!scopes.empty()) node.scope = *scopes.begin();
            }
            if (node.demultiply && node.scope)
                LOOM_THROW(ErrorKind::UNSUPPORTED,
                           "{}: demultiplies inside the items of '{}': one level of "
                           "demultiplexing is supported (gather first)",
                           where, m_spec.nodes[*node.scope].name);
        }
    }

    void read_outputs() {
        int i = 0;
        std::set<std::string> names;
        for (const auto* t : tables(m_root, "output", m_where)) {
            const auto where = fmt::format("{}: [[output]] #{}", m_where, ++i);
            TomlReader r(*t, where);
            r.only({"name", "from"});
            OutputSpec out;
            out.name = r.text("name");
            check_name(out.name, where);
            LOOM_REQUIRE(names.insert(out.name).second, "{}: output '{}' is named twice", where,
                         out.name);
            out.from = wire(r.text("from"), where);
            if (out.from.from == Wire::From::Node) out.from.index = m_position[out.from.index];
            m_spec.outputs.push_back(std::move(out));
        }
        LOOM_REQUIRE(!m_spec.outputs.empty(), "{}: a pipeline needs at least one [[output]]",
                     m_where);
    }

    const toml::table& m_root;
    std::string m_where;
    std::filesystem::path m_base;
    PipelineSpec m_spec;
    std::vector<RawNode> m_raw;
    std::set<std::string> m_names;
    std::vector<std::size_t> m_position; // original node index → topological position
};

} // namespace

std::optional<std::size_t> scope_of(const PipelineSpec& spec, const Wire& wire) {
    if (wire.from != Wire::From::Node) return std::nullopt;
    const auto& node = spec.nodes[wire.index];
    if (node.demultiply) return wire.index;
    return node.scope;
}

PipelineSpec read_pipeline_text(std::string_view text, const std::filesystem::path& base_dir,
                                const std::string& where) {
    const toml::table root = kernel::parse_toml(text, where);
    return Builder(root, where, base_dir).build();
}

PipelineSpec read_pipeline_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) LOOM_THROW(ErrorKind::NOT_FOUND, "cannot open pipeline file {}", file.string());
    std::stringstream text;
    text << in.rdbuf();
    auto spec = read_pipeline_text(text.str(), std::filesystem::absolute(file).parent_path(),
                                   file.string());
    spec.source = file;
    return spec;
}

} // namespace loom::pipeline
