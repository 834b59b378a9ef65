#include "components/runtime/hetero.hpp"

#include <cstring>
#include <map>
#include <unordered_map>

#include "components/model/properties.hpp"
#include "components/protocol/port.hpp"
#include "schemas/error.hpp"

namespace loom::runtime {

namespace {

using model::Node;
using model::Output;
using Key = std::pair<const Node*, std::uint32_t>;

bool is_interface(const Node& n) {
    return n.is("Parameter") || n.is("Result");
}

// The name a value crossing between stages has in both stages' graphs.
std::string boundary_name(const Node& producer, std::uint32_t index) {
    if (producer.is("Parameter") && !producer.outputs[0].names.empty())
        return producer.outputs[0].names.front();
    return producer.name + ":" + std::to_string(index);
}

} // namespace

void make_names_unique(model::Model& graph) {
    std::map<std::string, int> seen;
    for (const auto* n : graph.nodes())
        ++seen[n->name];
    for (auto* n : graph.nodes())
        if (!is_interface(*n) && (n->name.empty() || seen[n->name] > 1))
            n->name = n->type + "_" + std::to_string(n->id());
}

namespace {

// Which stage runs each computing node: in topological order, a new stage wherever the device
// changes.
struct Assignment {
    std::vector<std::string> devices;            // per stage
    std::vector<std::vector<const Node*>> nodes; // per stage, in order
    std::unordered_map<const Node*, std::size_t> stage_of;
};

Assignment assign(const model::Model& graph, const std::vector<std::string>& members,
                  const std::vector<std::set<std::string>>& supported, HeteroPlan& plan) {
    Assignment a;
    for (const auto* n : graph.topological_order()) {
        if (is_interface(*n) || n->is("Constant")) continue;
        std::size_t member = 0;
        while (member < members.size() && !supported[member].contains(n->name))
            ++member;
        if (member == members.size())
            LOOM_THROW(ErrorKind::UNSUPPORTED, "no member of HETERO:{} supports node '{}' ({} {})",
                       fmt::join(members, ","), n->name, n->type, n->version);
        if (a.devices.empty() || a.devices.back() != members[member]) {
            a.devices.push_back(members[member]);
            a.nodes.emplace_back();
        }
        a.stage_of[n] = a.devices.size() - 1;
        a.nodes.back().push_back(n);
        plan.affinity[n->name] = members[member];
    }
    return a;
}

} // namespace

HeteroPlan plan_hetero(const model::Model& graph, const std::vector<std::string>& members,
                       const std::vector<std::set<std::string>>& supported) {
    for (const auto* n : graph.nodes())
        if (n->is("ReadValue") || n->is("Assign"))
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                       "HETERO cannot split a model with variables (node '{}'): its state would "
                       "be spread over devices; compile it on one device",
                       n->name);
    HeteroPlan plan;
    const auto a = assign(graph, members, supported, plan);
    std::map<const Node*, std::size_t> parameter_index;
    for (std::size_t i = 0; i < graph.parameters().size(); ++i)
        parameter_index[graph.parameters()[i]] = i;
    std::map<Key, HeteroPlan::Source> produced; // a stage output later stages or results read
    for (std::size_t s = 0; s < a.devices.size(); ++s) {
        HeteroPlan::Stage stage;
        stage.device = a.devices[s];
        stage.graph = std::make_shared<model::Model>();
        stage.graph->name = graph.name + "/" + std::to_string(s);
        auto& sub = *stage.graph;
        std::map<Key, Output> local;
        for (const auto* n : a.nodes[s]) {
            std::vector<Output> inputs;
            for (const auto& in : n->inputs) {
                const Key key{in.node, in.index};
                auto it = local.find(key);
                if (it == local.end()) {
                    const auto& info = in.node->outputs[in.index];
                    Output value;
                    if (in.node->is("Constant")) {
                        auto& c = sub.add_constant(in.node->value, in.node->name);
                        c.outputs[0] = info;
                        value = c.output();
                    } else { // a model input, or a value an earlier stage made
                        auto& p = sub.add_parameter(info.type, info.shape,
                                                    boundary_name(*in.node, in.index));
                        p.outputs[0].names = {boundary_name(*in.node, in.index)};
                        stage.inputs.push_back(
                            in.node->is("Parameter")
                                ? HeteroPlan::Source{-1, parameter_index.at(in.node)}
                                : produced.at(key));
                        value = p.output();
                    }
                    it = local.emplace(key, value).first;
                }
                inputs.push_back(it->second);
            }
            auto& copy = sub.add(n->type, n->version, std::move(inputs), n->attrs,
                                 n->outputs.size(), n->name);
            copy.outputs = n->outputs;
            copy.rt_info = n->rt_info;
            copy.input_rt_info = n->input_rt_info;
            copy.bodies = n->bodies;
            copy.value = n->value;
            for (std::uint32_t i = 0; i < n->outputs.size(); ++i)
                local[{n, i}] = copy.output(i);
        }
        // Its outputs: the values a later stage or a model output reads.
        for (const auto* n : a.nodes[s])
            for (std::uint32_t i = 0; i < n->outputs.size(); ++i) {
                bool needed = false;
                for (const auto& [consumer, port] : graph.consumers({const_cast<Node*>(n), i}))
                    needed = needed || consumer->is("Result") || a.stage_of.at(consumer) != s;
                if (!needed) continue;
                sub.add_result(local.at({n, i}), boundary_name(*n, i));
                produced[{n, i}] = {static_cast<int>(s), sub.results().size() - 1};
            }
        plan.stages.push_back(std::move(stage));
    }
    for (const auto* r : graph.results()) {
        const auto& in = r->inputs.at(0);
        if (in.node->is("Parameter")) {
            plan.outputs.push_back({-1, parameter_index.at(in.node)});
        } else if (in.node->is("Constant")) {
            plan.constants.push_back(in.node->value);
            plan.outputs.push_back({-2, plan.constants.size() - 1});
        } else {
            plan.outputs.push_back(produced.at({in.node, in.index}));
        }
    }
    return plan;
}

HeteroModel::HeteroModel(std::string name, HeteroPlan plan,
                         std::vector<std::shared_ptr<CompiledModelState>> stages,
                         std::shared_ptr<model::Model> graph)
    : m_name(std::move(name))
    , m_plan(std::move(plan))
    , m_stages(std::move(stages))
    , m_graph(std::move(graph)) {}

std::vector<std::shared_ptr<RequestState>> HeteroModel::new_requests() const {
    std::vector<std::shared_ptr<RequestState>> out;
    for (const auto& s : m_stages)
        out.push_back(new_device_request(s));
    return out;
}

void HeteroModel::infer(RequestState& request, std::uint64_t sequence) const {
    std::vector<std::vector<Tensor>> produced(m_stages.size());
    const auto value = [&](const HeteroPlan::Source& src) -> Tensor {
        if (src.stage == -1) {
            const auto& t = request.inputs.at(src.index);
            LOOM_REQUIRE(!t.empty(), "input '{}' has no tensor (set_tensor it first)",
                         request.compiled->inputs.at(src.index).name);
            return t;
        }
        if (src.stage == -2) return Tensor(m_plan.constants.at(src.index));
        return produced.at(static_cast<std::size_t>(src.stage)).at(src.index);
    };
    request.profile.clear();
    for (std::size_t s = 0; s < m_stages.size(); ++s) {
        auto& stage = *request.stage_requests.at(s);
        const auto& plan = m_plan.stages[s];
        for (std::size_t i = 0; i < plan.inputs.size(); ++i)
            stage.inputs[i] = value(plan.inputs[i]);
        {
            std::lock_guard lock(request.member_mutex);
            request.member = request.stage_requests[s];
        }
        stage.infer_now(sequence);
        produced[s] = stage.outputs;
        for (auto& p : stage.profile)
            request.profile.push_back(std::move(p));
    }
    {
        std::lock_guard lock(request.member_mutex);
        request.member.reset();
    }
    for (std::size_t k = 0; k < m_plan.outputs.size(); ++k) {
        auto t = value(m_plan.outputs[k]);
        auto& slot = request.outputs[k];
        if (request.output_bound[k] && slot.element_type() == t.element_type() &&
            slot.shape() == t.shape()) {
            if (slot.data() != t.data()) std::memcpy(slot.data(), t.data(), t.byte_size());
        } else {
            slot = t;
        }
    }
}

std::shared_ptr<model::Model> HeteroModel::runtime_model() const {
    // Each stage's runtime graph says how its device runs each node; the nodes keep their names.
    std::map<std::string, model::RtNode> exec;
    for (const auto& s : m_stages) {
        auto m = runtime_graph(*s);
        for (const auto* n : m->nodes())
            for (const auto& child : n->rt_info.children)
                if (child.tag == "exec" && !is_interface(*n)) exec[n->name] = child;
    }
    auto out = m_graph->clone();
    for (auto* n : out->nodes()) {
        if (is_interface(*n) || n->is("Constant")) continue;
        auto it = exec.find(n->name);
        model::RtNode info = it != exec.end() ? it->second : model::RtNode{.tag = "exec"};
        if (auto a = m_plan.affinity.find(n->name); a != m_plan.affinity.end())
            info.attributes.emplace_back("affinity", a->second);
        n->rt_info.children.push_back(std::move(info));
    }
    return out;
}

std::optional<std::string> HeteroModel::property(const std::string& name) const {
    if (name == "EXECUTION_DEVICES" || name == "MULTI_DEVICE_PRIORITIES") {
        std::string list;
        for (const auto& s : m_plan.stages)
            if (list.find(s.device) == std::string::npos)
                list += (list.empty() ? "" : ",") + s.device;
        return list;
    }
    if (name == props::optimal_number_of_infer_requests.name) return "1";
    if (name == "LOOM_HETERO_STAGES") { // a line per stage: device and node count
        std::string lines;
        for (const auto& s : m_plan.stages)
            lines += s.device + " " + std::to_string(s.graph->size()) + "\n";
        return lines;
    }
    return std::nullopt;
}

} // namespace loom::runtime
