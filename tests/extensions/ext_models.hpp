#pragma once
// Models with custom ops, written by the tests (never checked-in binaries): ONNX (protobuf) and
// OpenVINO IR (XML text) chains over one f32 input.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <loom/core.hpp>

namespace loom::test {

struct CustomNode {
    std::string type;
    std::string domain; // ONNX domain / IR version ("" = the default domain, "opset1" in IR)
    std::map<std::string, float> attrs;
};

// x (f32, dims) → nodes in series → y, serialized ONNX.
std::string onnx_chain(const std::vector<CustomNode>& nodes, const std::vector<std::int64_t>& dims);
// The same as IR v11 XML (no weights needed).
std::string ir_chain(const std::vector<CustomNode>& nodes, const std::vector<std::int64_t>& dims);

// HETERO's case (IR): x (f32, 2×8) → Relu → the template extension's Activation (alpha 2, beta
// 0.5) → Sigmoid → y; the nodes are named n0, n1, n2.
std::string hetero_chain();
// hetero_chain()'s input x (2×8): x[i] = (i − 8) · 0.75.
Tensor hetero_chain_input();
// What REFERENCE computes for `model` on the single input `x` (the oracle).
Tensor reference_output(Core& core, const Model& model, const Tensor& x);

// The template extension's Activation: alpha·x·sigmoid(beta·x), plus 1 in version 2.
double activation(double x, double alpha, double beta, int version);

// Paths of the private copies of a library (by file stem) mapped in process `pid` (0 = self).
std::vector<std::string> mapped_copies(const std::string& stem, int pid = 0);
// Pids of this process's children.
std::vector<int> child_pids();

} // namespace loom::test
