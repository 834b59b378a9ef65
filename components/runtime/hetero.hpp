#pragma once
// HETERO (DESIGN.md §6, OpenVINO's HETERO): one model split across devices, "HETERO:CPU@nodeb,
// CPU" in priority order. Each node goes to the first member whose query_model supports it; the
// nodes, in topological order, are cut into stages wherever the device changes, each stage a
// graph of its own compiled on its device; tensors cross devices only between stages (a stage's
// outputs go to the later stages reading them as they came back from the device, no copy).
// An inference runs the stages in order. Models with variables are refused (their state would
// be split across devices). Private to components/runtime.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "components/model/graph.hpp"
#include "components/runtime/core_internal.hpp"

namespace loom::runtime {

struct HeteroPlan {
    // Where a stage's input or the model's output comes from: model input `index` (stage -1),
    // output `index` of an earlier stage, or constant `index` of `constants` (stage -2).
    struct Source {
        int stage = -1;
        std::size_t index = 0;
    };
    struct Stage {
        std::string device;
        std::shared_ptr<model::Model> graph;
        std::vector<Source> inputs; // per parameter of `graph`
    };
    std::vector<Stage> stages;
    std::vector<Source> outputs; // per result of the model
    std::vector<model::Tensor> constants;
    std::map<std::string, std::string> affinity; // node name → device
};

// Gives every node a name no other node has (unnamed and repeated ones get "<type>_<id>"), so
// that query_model's answers name nodes unambiguously. Parameters and Results keep theirs.
void make_names_unique(model::Model& graph);

// Splits `graph` (names unique) given `supported[i]`, the node names member i supports:
// unsupported (naming the first node no member supports), or invalid_argument for a model
// with variables.
HeteroPlan plan_hetero(const model::Model& graph, const std::vector<std::string>& members,
                       const std::vector<std::set<std::string>>& supported);

class HeteroModel {
public:
    HeteroModel(std::string name, HeteroPlan plan,
                std::vector<std::shared_ptr<CompiledModelState>> stages,
                std::shared_ptr<model::Model> graph);

    const std::string& name() const noexcept { return m_name; }
    // One request per stage, for a new HETERO request.
    std::vector<std::shared_ptr<RequestState>> new_requests() const;
    void infer(RequestState& request, std::uint64_t sequence) const;
    // The whole graph, each node's rt_info carrying its stage device's exec info and
    // "affinity" (the device that runs it).
    std::shared_ptr<model::Model> runtime_model() const;
    std::optional<std::string> property(const std::string& name) const;
    const std::vector<std::shared_ptr<CompiledModelState>>& stages() const noexcept {
        return m_stages;
    }

private:
    std::string m_name;
    HeteroPlan m_plan;
    std::vector<std::shared_ptr<CompiledModelState>> m_stages;
    std::shared_ptr<model::Model> m_graph; // the transformed model, names unique
};

} // namespace loom::runtime
