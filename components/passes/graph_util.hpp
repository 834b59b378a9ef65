#pragma once
// Helpers shared by the passes (private to components/passes).

#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "components/passes/pass_manager.hpp"

namespace loom::passes::detail {

using model::Model;
using model::Node;
using model::Output;
using model::Tensor;

// A pass that rewrites one graph; run() applies it to the model and then to every body
// (recursively). The body rewrite counts toward the same pass.
class GraphPass : public Pass {
public:
    bool run(Model& model, PassContext& ctx) final;

protected:
    virtual bool run_graph(Model& model, PassContext& ctx) = 0;
};

// Consumers of every output among the live nodes (needed by a result or sink), built in one
// sweep. Stale after a rewrite: rebuild it.
class Uses {
public:
    explicit Uses(const Model& model);
    std::span<const std::pair<Node*, std::uint32_t>> of(Output value) const;
    std::size_t count(Output value) const { return of(value).size(); }
    // True when every consumer of `value` is `consumer` (at least one use).
    bool only_by(Output value, const Node* consumer) const;
    // True when value has at least one consumer, or its node is a sink.
    bool used(Output value) const { return count(value) > 0; }

private:
    std::unordered_map<const Node*, std::vector<std::vector<std::pair<Node*, std::uint32_t>>>>
        m_uses;
};

// Stateful ops, random ops and nodes without outputs: never folded, merged or duplicated.
bool has_side_effects(const Node& node) noexcept;

// The producer of `value` when it is `op_type`, else nullptr.
Node* producer_if(Output value, std::string_view op_type) noexcept;
// The data of a Constant producing `value`, else nullptr.
const Tensor* constant_of(Output value) noexcept;
// The single value of a constant whose elements are all equal (any shape, ≥1 element).
std::optional<double> splat_value(Output value);
bool near(double value, double expected, double rel_tolerance) noexcept;
// A splat constant near `expected` (relative tolerance; default suits constants written with
// few digits such as 1.4142).
bool const_near(Output value, double expected, double rel_tolerance = 1e-3);

// Element type and shape of an output.
const model::OutputInfo& info(Output value) noexcept;
bool same_type_and_shape(Output a, Output b) noexcept;

// Redirects every use of `from` to `to` and moves `from`'s tensor names onto `to`.
void replace_output(Model& model, Output from, Output to);
// Adds a node that replaces `root` (output 0): it takes root's friendly name and output 0's type
// and shape (so later matches in the same pass see a typed value).
Node& add_replacement(Model& model, const Node& root, std::string type, std::string version,
                      std::vector<Output> inputs, model::Attributes attrs = {});

// Values of a floating constant as f32 (f32, f16, bf16, f64).
std::vector<float> to_f32(const Tensor& t);
// A tensor of `type` (f32, f16, bf16 or f64) holding `values`.
Tensor from_f32(model::ElementType type, model::Shape shape, std::span<const float> values);
bool is_float_weight_type(model::ElementType type) noexcept; // f32, f16, bf16

} // namespace loom::passes::detail
