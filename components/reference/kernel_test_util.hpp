#pragma once
// Test helpers for reference kernels: run one op on given tensors through shape inference and
// the interpreter, and build/read small tensors.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "components/model/op_registry.hpp"
#include "components/reference/interpreter.hpp"
#include "components/reference/kernel_util.hpp"

namespace loom::reference::test {

struct OpRun {
    std::vector<Tensor> outputs;
    std::vector<model::OutputInfo> inferred; // the node's outputs after static inference
};

// Builds Parameter/Constant → node → Results, runs infer_and_validate and the reference Plan.
// Input i is a Constant when constant_inputs[i] (default: integer and boolean inputs are
// Constants, floating ones Parameters, so value-dependent inference sees shape-like inputs).
OpRun run_op(const std::string& type, const std::string& version, std::vector<Tensor> inputs,
             model::Attributes attrs = {}, std::size_t output_count = 1,
             std::vector<bool> constant_inputs = {});
// run_op(...).outputs.
std::vector<Tensor> eval(const std::string& type, const std::string& version,
                         std::vector<Tensor> inputs, model::Attributes attrs = {},
                         std::size_t output_count = 1);

// Attributes from {name, value} pairs.
model::Attributes attrs(std::initializer_list<std::pair<const char*, model::AttrValue>> list);

Tensor f32(const Shape& shape, const std::vector<float>& values);
Tensor f64(const Shape& shape, const std::vector<double>& values);
Tensor i32(const Shape& shape, const std::vector<std::int32_t>& values);
Tensor i64(const Shape& shape, const std::vector<std::int64_t>& values);
Tensor u8(const Shape& shape, const std::vector<std::uint8_t>& values);
Tensor boolean(const Shape& shape, const std::vector<bool>& values);
// Any type, from doubles (converted as Convert does).
Tensor typed(ElementType type, const Shape& shape, const std::vector<double>& values);

std::vector<float> to_f32(const Tensor& t); // any numeric type
std::vector<std::int64_t> to_i64(const Tensor& t);

} // namespace loom::reference::test
