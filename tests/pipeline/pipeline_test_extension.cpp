// Ops for the pipeline tests (test code, never installed), domain "loom.pipetest":
//   Rows(x: f32[K]) → f32[N, K]: N = x[0] rounded (data-dependent; 0 allowed), row r = x + r.
//   Check(x: f32[...]; limit: float) → 2·x; invalid_argument naming the value when any x > limit.
// Stateless: callbacks may run on many threads at once.

#include <cmath>
#include <span>
#include <vector>

#include "extensions/sdk/extension.hpp"

namespace {

namespace sdk = loom::extensions::sdk;
using loom::ElementType;

void rows_infer(sdk::InferContext& c) {
    LOOM_REQUIRE(c.input_type(0) == ElementType::F32, "Rows takes f32");
    const auto& s = c.input_shape(0);
    LOOM_REQUIRE(!s.rank_is_static() || s.rank() == 1, "Rows takes a vector");
    const auto k = s.rank_is_static() ? s[0] : loom::model::Dimension::dynamic();
    c.set_output(0, ElementType::F32,
                 loom::model::PartialShape{loom::model::Dimension::dynamic(), k});
}

std::vector<sdk::Tensor> rows_evaluate(const sdk::Node&, std::span<const sdk::Tensor> in) {
    const auto k = in[0].shape()[0];
    LOOM_REQUIRE(k >= 1, "Rows needs at least one value (the row count)");
    const float* x = in[0].data<float>();
    const auto n = static_cast<std::int64_t>(std::lround(x[0]));
    LOOM_REQUIRE(n >= 0 && n <= 1000, "Rows: row count {} is out of [0, 1000]", n);
    auto out = sdk::Tensor::allocate(ElementType::F32, {n, k});
    auto* y = reinterpret_cast<float*>(out.mutable_data());
    for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t i = 0; i < k; ++i)
            y[r * k + i] = x[i] + static_cast<float>(r);
    return {out};
}

void check_infer(sdk::InferContext& c) {
    LOOM_REQUIRE(c.input_type(0) == ElementType::F32, "Check takes f32");
    c.set_output(0, ElementType::F32, c.input_shape(0));
}

std::vector<sdk::Tensor> check_evaluate(const sdk::Node& node, std::span<const sdk::Tensor> in) {
    const auto limit = node.attrs.get<double>("limit");
    auto out = sdk::Tensor::allocate(ElementType::F32, in[0].shape());
    const float* x = in[0].data<float>();
    auto* y = reinterpret_cast<float*>(out.mutable_data());
    for (std::int64_t i = 0; i < in[0].size(); ++i) {
        LOOM_REQUIRE(x[i] <= limit, "value {} is above the limit {}", x[i], limit);
        y[i] = 2 * x[i];
    }
    return {out};
}

void build(sdk::Extension& ext) {
    ext.name("pipetest").version("1.0.0");
    ext.op("Rows", "loom.pipetest").inputs(1, 1).infer(rows_infer).evaluate(rows_evaluate);
    ext.op("Check", "loom.pipetest")
        .inputs(1, 1)
        .attr("limit", sdk::AttrKind::Float)
        .infer(check_infer)
        .evaluate(check_evaluate);
}

} // namespace

LOOM_EXTENSION(build)
