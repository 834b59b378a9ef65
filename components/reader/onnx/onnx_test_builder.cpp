#include "components/reader/onnx/onnx_test_builder.hpp"

#include "components/model/op_registry.hpp"
#include "components/reader/reader.hpp"

namespace loom::reader::onnx_fe::test {

onnx::ModelProto single_node_model(const std::string& op_type, const std::vector<ValueSpec>& inputs,
                                   const std::vector<std::string>& outputs,
                                   const std::function<void(onnx::NodeProto&)>& configure,
                                   std::int64_t opset,
                                   const std::vector<onnx::TensorProto>& initializers) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    auto* import = model.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    auto* graph = model.mutable_graph();
    graph->set_name("test_" + op_type);
    for (const auto& init : initializers)
        *graph->add_initializer() = init;
    for (const auto& in : inputs) {
        if (in.name.empty()) continue;
        bool is_init = false;
        for (const auto& init : initializers)
            is_init = is_init || init.name() == in.name;
        if (is_init) continue;
        auto* vi = graph->add_input();
        vi->set_name(in.name);
        auto* tt = vi->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(in.elem_type);
        auto* shape = tt->mutable_shape();
        for (auto d : in.dims) {
            auto* dim = shape->add_dim();
            if (d >= 0)
                dim->set_dim_value(d);
            else
                dim->set_dim_param("d" + std::to_string(shape->dim_size()));
        }
    }
    auto* node = graph->add_node();
    node->set_op_type(op_type);
    node->set_name(op_type + "_node");
    for (const auto& in : inputs)
        node->add_input(in.name);
    for (const auto& out : outputs) {
        node->add_output(out);
        if (!out.empty()) graph->add_output()->set_name(out);
    }
    if (configure) configure(*node);
    return model;
}

namespace {
std::vector<std::int64_t> dims_or_1d(std::vector<std::int64_t> dims, std::size_t n) {
    if (dims.size() == 1 && dims[0] == -2) return {static_cast<std::int64_t>(n)};
    return dims;
}
} // namespace

onnx::TensorProto int64_tensor(const std::string& name, const std::vector<std::int64_t>& values,
                               std::vector<std::int64_t> dims) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::INT64);
    for (auto d : dims_or_1d(dims, values.size()))
        t.add_dims(d);
    for (auto v : values)
        t.add_int64_data(v);
    return t;
}

onnx::TensorProto float_tensor(const std::string& name, const std::vector<float>& values,
                               std::vector<std::int64_t> dims) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims_or_1d(dims, values.size()))
        t.add_dims(d);
    for (auto v : values)
        t.add_float_data(v);
    return t;
}

void set_attr(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
}

void set_attr(onnx::NodeProto& node, const std::string& name, float value) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
}

void set_attr(onnx::NodeProto& node, const std::string& name, const std::string& value) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
}

void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& v) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v)
        a->add_ints(x);
}

void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<float>& v) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (auto x : v)
        a->add_floats(x);
}

std::shared_ptr<model::Model> read(const onnx::ModelProto& model) {
    static const auto registry = model::make_native_registry(); // test-only cache
    auto bytes = model.SerializeAsString();
    return read_model_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), {}, nullptr,
                            *registry, Format::Onnx);
}

const model::Node* producer_of(const model::Model& m, const std::string& output_name) {
    for (auto* r : m.results())
        for (const auto& name : r->inputs[0].node->outputs[r->inputs[0].index].names)
            if (name == output_name) return r->inputs[0].node;
    return nullptr;
}

} // namespace loom::reader::onnx_fe::test
