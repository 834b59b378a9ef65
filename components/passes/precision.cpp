// convert_f16_to_f32: runs an f16 model in f32, as OpenVINO's CPU device does for
// INFERENCE_PRECISION_HINT f32. The model's interface keeps its types.
#include "components/passes/graph_util.hpp"
#include "components/passes/passes.hpp"

namespace loom::passes {
namespace {

using namespace detail;
using model::ElementType;

// Attributes that name an element type an op produces.
constexpr const char* k_type_attrs[] = {"destination_type", "output_type", "element_type"};

class F16ToF32Pass final : public GraphPass {
public:
    std::string_view name() const override { return "convert_f16_to_f32"; }

protected:
    bool run_graph(Model& model, PassContext& ctx) override {
        // Results of f16 values: they get a Convert back to f16 once the graph is f32.
        std::vector<Node*> f16_results;
        for (Node* r : model.results())
            if (info(r->inputs.at(0)).type == ElementType::F16) f16_results.push_back(r);
        bool changed = false;
        for (Node* node : model.nodes()) {
            if (node->type == "Constant" && node->value.element_type() == ElementType::F16) {
                auto values = to_f32(node->value);
                node->value = from_f32(ElementType::F32, node->value.shape(), values);
                node->outputs[0].type = ElementType::F32;
                if (node->attrs.has("element_type"))
                    node->attrs.set("element_type", ElementType::F32);
                changed = true;
            } else if (node->type == "Parameter" && node->outputs[0].type == ElementType::F16) {
                changed |= widen_parameter(model, *node);
            } else if (node->type != "Parameter") {
                for (const char* a : k_type_attrs)
                    if (node->attrs.has(a) && node->attrs.get<ElementType>(a) == ElementType::F16) {
                        node->attrs.set(a, ElementType::F32);
                        changed = true;
                    }
            }
        }
        if (!changed) return false;
        model::infer_and_validate(model, ctx.registry);
        for (Node* r : f16_results) {
            Output value = r->inputs[0];
            if (info(value).type == ElementType::F16) continue;
            model::Attributes a;
            a.set("destination_type", ElementType::F16);
            Node& back = model.add("Convert", "opset1", {value}, std::move(a), 1,
                                   value.node->name + "/to_f16");
            back.outputs[0].names = std::move(value.node->outputs[value.index].names);
            value.node->outputs[value.index].names.clear();
            r->inputs[0] = back.output();
        }
        ctx.count();
        ctx.note("f16 constants, parameters and types widened to f32");
        return true;
    }

private:
    // Consumers read Convert(parameter, f32); the parameter (and its names) stay f16.
    static bool widen_parameter(Model& model, Node& param) {
        auto uses = model.consumers(param.output());
        if (uses.empty()) return false;
        model::Attributes a;
        a.set("destination_type", ElementType::F32);
        Node& up = model.add("Convert", "opset1", {param.output()}, std::move(a), 1,
                             param.name + "/to_f32");
        for (auto [consumer, index] : uses)
            consumer->inputs[index] = up.output();
        return true;
    }
};

} // namespace

std::unique_ptr<Pass> make_f16_to_f32_pass() {
    return std::make_unique<F16ToF32Pass>();
}

} // namespace loom::passes
