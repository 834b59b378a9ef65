#pragma once
// Test support: builds small ONNX models in memory (no checked-in binaries) and reads them.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "components/model/graph.hpp"

namespace loom::reader::onnx_fe::test {

struct ValueSpec {
    std::string name;
    std::int32_t elem_type = onnx::TensorProto::FLOAT;
    std::vector<std::int64_t> dims; // -1: a dynamic dimension
};

// A model whose graph has one node `op_type` (default domain) reading `inputs` (graph inputs
// unless an initializer of that name exists) and producing `outputs` (graph outputs, untyped).
onnx::ModelProto single_node_model(const std::string& op_type, const std::vector<ValueSpec>& inputs,
                                   const std::vector<std::string>& outputs,
                                   const std::function<void(onnx::NodeProto&)>& configure = {},
                                   std::int64_t opset = 17,
                                   const std::vector<onnx::TensorProto>& initializers = {});

onnx::TensorProto int64_tensor(const std::string& name, const std::vector<std::int64_t>& values,
                               std::vector<std::int64_t> dims = {-2});
onnx::TensorProto float_tensor(const std::string& name, const std::vector<float>& values,
                               std::vector<std::int64_t> dims = {-2});
void set_attr(onnx::NodeProto& node, const std::string& name, std::int64_t value);
void set_attr(onnx::NodeProto& node, const std::string& name, float value);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::string& value);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& v);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<float>& v);

// Reads the serialized model with the native registry.
std::shared_ptr<model::Model> read(const onnx::ModelProto& model);
// The node of the converted model that produces graph output `name`.
const model::Node* producer_of(const model::Model& m, const std::string& output_name);

} // namespace loom::reader::onnx_fe::test
