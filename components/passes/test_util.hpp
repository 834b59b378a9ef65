#pragma once
// Graph-building helpers for the passes tests.

#include <memory>
#include <string>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"
#include "components/passes/pass_manager.hpp"

namespace loom::passes::test {

using namespace loom::model;

// A fresh native registry (tests may install evaluate functions on it).
std::shared_ptr<OpRegistry> registry();

Tensor f32(Shape shape, std::vector<float> values);
Tensor i64(Shape shape, std::vector<std::int64_t> values);
std::vector<float> values_f32(const Tensor& t);

Output scalar(Model& m, float v);
Output ints(Model& m, std::vector<std::int64_t> values); // 1-D i64 constant

// Convolution attributes for 2-D: unit strides and dilations, no padding, explicit auto_pad.
Attributes conv_attrs();

// Binary elementwise node (numpy broadcast).
Output binary(Model& m, const std::string& type, Output a, Output b);
Output unary(Model& m, const std::string& type, Output a, std::string version = "opset1");

// Runs validate → `pass` → dce on `m`; returns the rewrites `pass` made.
std::size_t run_pass(Model& m, std::unique_ptr<loom::passes::Pass> pass, const OpRegistry& reg);

// Count of nodes of `type` in `m` (bodies not included).
std::size_t count(const Model& m, const std::string& type);
// The node feeding result `i`.
Node* result_input(const Model& m, std::size_t i = 0);

} // namespace loom::passes::test
