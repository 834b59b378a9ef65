#include "components/model/graph.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "schemas/error.hpp"

namespace loom::model {

Node& Model::adopt(std::unique_ptr<Node> node) {
    node->m_id = m_next_id++;
    m_nodes.push_back(std::move(node));
    return *m_nodes.back();
}

Node& Model::add(std::string type, std::string version, std::vector<Output> inputs,
                 Attributes attrs, std::size_t output_count, std::string node_name) {
    auto node = std::make_unique<Node>();
    node->type = std::move(type);
    node->version = std::move(version);
    node->inputs = std::move(inputs);
    node->attrs = std::move(attrs);
    node->outputs.resize(output_count);
    node->name = std::move(node_name);
    return adopt(std::move(node));
}

Node& Model::add_parameter(ElementType type, PartialShape shape, std::string node_name) {
    Attributes attrs;
    attrs.set("shape", shape);
    attrs.set("element_type", type);
    auto& node = add("Parameter", "opset1", {}, std::move(attrs), 1, node_name);
    node.outputs[0].type = type;
    node.outputs[0].shape = std::move(shape);
    if (!node_name.empty()) node.outputs[0].names.push_back(std::move(node_name));
    m_parameters.push_back(&node);
    return node;
}

Node& Model::add_constant(Tensor value, std::string node_name) {
    Attributes attrs;
    attrs.set("element_type", value.element_type());
    attrs.set("shape", PartialShape(value.shape()));
    auto& node = add("Constant", "opset1", {}, std::move(attrs), 1, std::move(node_name));
    node.outputs[0].type = value.element_type();
    node.outputs[0].shape = PartialShape(value.shape());
    node.value = std::move(value);
    return node;
}

Node& Model::add_result(Output value, std::string node_name) {
    auto& node = add("Result", "opset1", {value}, {}, 0, std::move(node_name));
    m_results.push_back(&node);
    return node;
}

void Model::add_sink(Node& node) {
    if (std::find(m_sinks.begin(), m_sinks.end(), &node) == m_sinks.end()) m_sinks.push_back(&node);
}

std::vector<Node*> Model::nodes() const {
    std::vector<Node*> out;
    out.reserve(m_nodes.size());
    for (const auto& n : m_nodes)
        out.push_back(n.get());
    return out;
}

Node* Model::find(std::uint64_t id) const noexcept {
    for (const auto& n : m_nodes)
        if (n->m_id == id) return n.get();
    return nullptr;
}

bool Model::contains(const Node* node) const noexcept {
    for (const auto& n : m_nodes)
        if (n.get() == node) return true;
    return false;
}

void Model::replace_uses(Output from, Output to) {
    for (auto& n : m_nodes)
        for (auto& in : n->inputs)
            if (in == from) in = to;
}

std::vector<std::pair<Node*, std::uint32_t>> Model::consumers(Output value) const {
    std::vector<std::pair<Node*, std::uint32_t>> out;
    for (const auto& n : m_nodes)
        for (std::uint32_t i = 0; i < n->inputs.size(); ++i)
            if (n->inputs[i] == value) out.emplace_back(n.get(), i);
    return out;
}

std::unordered_set<const Node*> Model::needed(bool with_parameters) const {
    std::unordered_set<const Node*> live;
    std::vector<const Node*> stack;
    auto mark = [&](const Node* n) {
        if (n && live.insert(n).second) stack.push_back(n);
    };
    for (auto* n : m_results)
        mark(n);
    for (auto* n : m_sinks)
        mark(n);
    if (with_parameters)
        for (auto* n : m_parameters)
            mark(n);
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        for (const auto& in : n->inputs)
            mark(in.node);
    }
    return live;
}

std::size_t Model::remove_unused() {
    auto live = needed(true);
    auto before = m_nodes.size();
    std::erase_if(m_nodes, [&](const auto& n) { return !live.count(n.get()); });
    return before - m_nodes.size();
}

std::size_t Model::remove(const std::vector<const Node*>& nodes) {
    const std::unordered_set<const Node*> gone(nodes.begin(), nodes.end());
    for (const auto& n : m_nodes)
        for (const auto& in : n->inputs)
            LOOM_REQUIRE(!gone.contains(in.node) || gone.contains(n.get()),
                         "node '{}' cannot be removed: '{}' still reads it", in.node->name,
                         n->name);
    for (const auto* list : {&m_parameters, &m_results, &m_sinks})
        for (const auto* n : *list)
            LOOM_REQUIRE(!gone.contains(n), "node '{}' is part of the model's interface", n->name);
    const auto before = m_nodes.size();
    std::erase_if(m_nodes, [&](const auto& n) { return gone.contains(n.get()); });
    return before - m_nodes.size();
}

std::vector<Node*> Model::topological_order() const {
    std::unordered_map<const Node*, std::size_t> index;
    index.reserve(m_nodes.size());
    for (std::size_t i = 0; i < m_nodes.size(); ++i)
        index.emplace(m_nodes[i].get(), i);
    // Iterative DFS in insertion order: 0 = new, 1 = on stack, 2 = done.
    std::vector<std::uint8_t> state(m_nodes.size(), 0);
    std::vector<Node*> order;
    order.reserve(m_nodes.size());
    std::vector<std::pair<std::size_t, std::size_t>> stack; // (node, next input)
    for (std::size_t root = 0; root < m_nodes.size(); ++root) {
        if (state[root]) continue;
        stack.emplace_back(root, 0);
        state[root] = 1;
        while (!stack.empty()) {
            auto& [ni, next] = stack.back();
            Node* n = m_nodes[ni].get();
            if (next < n->inputs.size()) {
                const Output& in = n->inputs[next++];
                auto it = index.find(in.node);
                if (it == index.end())
                    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                               "node '{}' ({}) input {} comes from a node that is not in the model",
                               n->name, n->type, next - 1);
                if (in.index >= in.node->outputs.size())
                    LOOM_THROW(
                        ErrorKind::INVALID_ARGUMENT,
                        "node '{}' ({}) input {} reads output {} of '{}', which has {} outputs",
                        n->name, n->type, next - 1, in.index, in.node->name,
                        in.node->outputs.size());
                if (state[it->second] == 1)
                    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                               "the graph has a cycle through node '{}' ({})", in.node->name,
                               in.node->type);
                if (state[it->second] == 0) {
                    state[it->second] = 1;
                    stack.emplace_back(it->second, 0);
                }
                continue;
            }
            state[ni] = 2;
            order.push_back(n);
            stack.pop_back();
        }
    }
    return order;
}

std::shared_ptr<Model> Model::clone() const {
    auto copy = std::make_shared<Model>();
    copy->name = name;
    copy->rt_info = rt_info;
    std::unordered_map<const Node*, Node*> map;
    for (const auto& n : m_nodes) {
        auto c = std::make_unique<Node>(*n);
        for (auto& b : c->bodies)
            if (b.model) b.model = b.model->clone();
        auto& added = copy->adopt(std::move(c));
        added.m_id = n->m_id;
        map.emplace(n.get(), &added);
    }
    copy->m_next_id = m_next_id;
    for (const auto& n : copy->m_nodes)
        for (auto& in : n->inputs) {
            auto it = map.find(in.node);
            in.node = it == map.end() ? nullptr : it->second;
        }
    auto remap = [&](const std::vector<Node*>& from) {
        std::vector<Node*> to;
        for (auto* n : from)
            to.push_back(map.at(n));
        return to;
    };
    copy->m_parameters = remap(m_parameters);
    copy->m_results = remap(m_results);
    copy->m_sinks = remap(m_sinks);
    return copy;
}

std::vector<std::pair<std::string, std::size_t>> Model::histogram() const {
    std::map<std::string, std::size_t> counts;
    for (const auto& n : m_nodes)
        ++counts[n->type];
    return {counts.begin(), counts.end()};
}

namespace {
std::optional<std::string> compare_nodes(const Node& a, const Node& b);

std::optional<std::string> compare_bodies(const Node& a, const Node& b) {
    if (a.bodies.size() != b.bodies.size())
        return fmt::format("node '{}': {} vs {} bodies", a.name, a.bodies.size(), b.bodies.size());
    for (std::size_t i = 0; i < a.bodies.size(); ++i) {
        const auto &x = a.bodies[i], &y = b.bodies[i];
        if (x.name != y.name || x.inputs != y.inputs || x.outputs != y.outputs ||
            x.back_edges != y.back_edges)
            return fmt::format("node '{}': body {} port maps differ", a.name, i);
        if (!x.model != !y.model)
            return fmt::format("node '{}': body {} missing on one side", a.name, i);
        if (x.model)
            if (auto d = compare_models(*x.model, *y.model))
                return fmt::format("node '{}' body '{}': {}", a.name, x.name, *d);
    }
    return std::nullopt;
}

std::optional<std::string> compare_nodes(const Node& a, const Node& b) {
    if (a.type != b.type || a.version != b.version)
        return fmt::format("node '{}': {}-{} vs {}-{}", a.name, a.type, a.version, b.type,
                           b.version);
    if (a.name != b.name) return fmt::format("node name '{}' vs '{}'", a.name, b.name);
    if (!(a.attrs == b.attrs)) {
        for (const auto& [k, v] : a.attrs.entries()) {
            auto* w = b.attrs.find(k);
            if (!w) return fmt::format("node '{}': attribute '{}' missing on the right", a.name, k);
            if (!(*w == v))
                return fmt::format("node '{}': attribute '{}' = '{}' vs '{}'", a.name, k,
                                   to_text(v), to_text(*w));
        }
        return fmt::format("node '{}': attributes differ ({} vs {})", a.name, a.attrs.size(),
                           b.attrs.size());
    }
    if (a.outputs.size() != b.outputs.size())
        return fmt::format("node '{}': {} vs {} outputs", a.name, a.outputs.size(),
                           b.outputs.size());
    for (std::size_t i = 0; i < a.outputs.size(); ++i) {
        const auto &x = a.outputs[i], &y = b.outputs[i];
        if (x.type != y.type || !(x.shape == y.shape))
            return fmt::format("node '{}' output {}: {} {} vs {} {}", a.name, i,
                               loom::to_string(x.type), x.shape.to_string(),
                               loom::to_string(y.type), y.shape.to_string());
        if (x.names != y.names)
            return fmt::format("node '{}' output {}: tensor names differ", a.name, i);
        if (!(x.rt_info == y.rt_info))
            return fmt::format("node '{}' output {}: rt_info differs", a.name, i);
    }
    if (!(a.rt_info == b.rt_info)) return fmt::format("node '{}': rt_info differs", a.name);
    if (!a.value.same_as(b.value)) return fmt::format("node '{}': constant values differ", a.name);
    return compare_bodies(a, b);
}
} // namespace

std::optional<std::string> compare_models(const Model& a, const Model& b) {
    if (a.name != b.name) return fmt::format("model name '{}' vs '{}'", a.name, b.name);
    if (!(a.rt_info == b.rt_info)) return std::string("model rt_info differs");
    auto oa = a.topological_order(), ob = b.topological_order();
    if (oa.size() != ob.size()) return fmt::format("{} vs {} nodes", oa.size(), ob.size());
    std::unordered_map<const Node*, std::size_t> pa, pb;
    for (std::size_t i = 0; i < oa.size(); ++i) {
        pa[oa[i]] = i;
        pb[ob[i]] = i;
    }
    for (std::size_t i = 0; i < oa.size(); ++i) {
        if (auto d = compare_nodes(*oa[i], *ob[i])) return d;
        const auto &ia = oa[i]->inputs, &ib = ob[i]->inputs;
        if (ia.size() != ib.size())
            return fmt::format("node '{}': {} vs {} inputs", oa[i]->name, ia.size(), ib.size());
        for (std::size_t k = 0; k < ia.size(); ++k)
            if (pa[ia[k].node] != pb[ib[k].node] || ia[k].index != ib[k].index)
                return fmt::format("node '{}': input {} wired differently", oa[i]->name, k);
    }
    auto positions = [](const std::vector<Node*>& v, auto& p) {
        std::vector<std::size_t> out;
        for (auto* n : v)
            out.push_back(p[n]);
        return out;
    };
    if (positions(a.parameters(), pa) != positions(b.parameters(), pb))
        return std::string("parameters differ");
    if (positions(a.results(), pa) != positions(b.results(), pb))
        return std::string("results differ");
    if (positions(a.sinks(), pa) != positions(b.sinks(), pb)) return std::string("sinks differ");
    return std::nullopt;
}

} // namespace loom::model
