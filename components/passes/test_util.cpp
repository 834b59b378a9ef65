#include "components/passes/test_util.hpp"

#include <cstring>

#include "components/passes/passes.hpp"

namespace loom::passes::test {

std::shared_ptr<OpRegistry> registry() {
    return make_native_registry();
}

Tensor f32(Shape shape, std::vector<float> values) {
    return Tensor::copy_of(ElementType::F32, std::move(shape), std::as_bytes(std::span(values)));
}

Tensor i64(Shape shape, std::vector<std::int64_t> values) {
    return Tensor::copy_of(ElementType::I64, std::move(shape), std::as_bytes(std::span(values)));
}

std::vector<float> values_f32(const Tensor& t) {
    std::vector<float> out(static_cast<std::size_t>(t.size()));
    std::memcpy(out.data(), t.bytes().data(), t.byte_size());
    return out;
}

Output scalar(Model& m, float v) {
    return m.add_constant(f32({}, {v})).output();
}

Output ints(Model& m, std::vector<std::int64_t> values) {
    auto n = static_cast<std::int64_t>(values.size());
    return m.add_constant(i64({n}, std::move(values))).output();
}

Attributes conv_attrs() {
    Attributes a;
    a.set("strides", std::vector<std::int64_t>{1, 1});
    a.set("pads_begin", std::vector<std::int64_t>{0, 0});
    a.set("pads_end", std::vector<std::int64_t>{0, 0});
    a.set("dilations", std::vector<std::int64_t>{1, 1});
    a.set("auto_pad", std::string("explicit"));
    return a;
}

Output binary(Model& m, const std::string& type, Output a, Output b) {
    Attributes attrs;
    attrs.set("auto_broadcast", std::string("numpy"));
    return m.add(type, "opset1", {a, b}, attrs, 1, type).output();
}

Output unary(Model& m, const std::string& type, Output a, std::string version) {
    return m.add(type, std::move(version), {a}, {}, 1, type).output();
}

std::size_t count(const Model& m, const std::string& type) {
    std::size_t n = 0;
    for (const Node* node : m.nodes())
        n += node->type == type;
    return n;
}

Node* result_input(const Model& m, std::size_t i) {
    return m.results().at(i)->inputs.at(0).node;
}

} // namespace loom::passes::test

namespace loom::passes::test {

std::size_t run_pass(Model& m, std::unique_ptr<loom::passes::Pass> pass, const OpRegistry& reg) {
    PassManager pm;
    pm.add(make_validate_pass()).add(std::move(pass)).add(make_dce_pass());
    auto report = pm.run(m, reg);
    return report.passes.at(1).rewrites;
}

} // namespace loom::passes::test
