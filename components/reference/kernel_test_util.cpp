#include "components/reference/kernel_test_util.hpp"

#include <cstring>

namespace loom::reference::test {

namespace {
template <class T, class V>
Tensor make(ElementType type, const Shape& shape, const std::vector<V>& values) {
    auto t = Tensor::allocate(type, shape);
    LOOM_REQUIRE(static_cast<std::size_t>(t.size()) == values.size(), "{} values for shape {}",
                 values.size(), model::to_string(shape));
    auto* dst = reinterpret_cast<T*>(t.mutable_data());
    for (std::size_t i = 0; i < values.size(); ++i)
        dst[i] = static_cast<T>(values[i]);
    return t;
}
} // namespace

OpRun run_op(const std::string& type, const std::string& version, std::vector<Tensor> inputs,
             model::Attributes attrs, std::size_t output_count, std::vector<bool> constant_inputs) {
    static const auto registry = [] {
        auto r = model::make_native_registry();
        return std::shared_ptr<const model::OpRegistry>(r);
    }();
    static const auto kernels = make_reference_kernels();
    Model m;
    std::vector<model::Output> ins;
    std::vector<Tensor> params;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto& t = inputs[i];
        const bool as_const =
            i < constant_inputs.size() ? constant_inputs[i] : !model::is_floating(t.element_type());
        if (as_const) {
            ins.push_back(m.add_constant(t, "in" + std::to_string(i)).output(0));
        } else {
            model::PartialShape ps(
                std::vector<model::Dimension>(t.shape().begin(), t.shape().end()));
            ins.push_back(
                m.add_parameter(t.element_type(), ps, "in" + std::to_string(i)).output(0));
            params.push_back(t);
        }
    }
    auto& node = m.add(type, version, ins, std::move(attrs), output_count, "op");
    for (std::uint32_t o = 0; o < output_count; ++o)
        m.add_result(node.output(o), "out" + std::to_string(o));
    model::infer_and_validate(m, *registry);
    Plan plan(m, *registry, *kernels);
    RunState run;
    run.registry = registry.get();
    run.kernels = kernels.get();
    VariableStore vars;
    run.variables = &vars;
    OpRun out;
    out.outputs = plan.run(params, run, nullptr);
    out.inferred = node.outputs;
    return out;
}

std::vector<Tensor> eval(const std::string& type, const std::string& version,
                         std::vector<Tensor> inputs, model::Attributes attrs,
                         std::size_t output_count) {
    return run_op(type, version, std::move(inputs), std::move(attrs), output_count).outputs;
}

model::Attributes attrs(std::initializer_list<std::pair<const char*, model::AttrValue>> list) {
    model::Attributes a;
    for (const auto& [k, v] : list)
        a.set(k, v);
    return a;
}

Tensor f32(const Shape& s, const std::vector<float>& v) {
    return make<float>(ElementType::F32, s, v);
}
Tensor f64(const Shape& s, const std::vector<double>& v) {
    return make<double>(ElementType::F64, s, v);
}
Tensor i32(const Shape& s, const std::vector<std::int32_t>& v) {
    return make<std::int32_t>(ElementType::I32, s, v);
}
Tensor i64(const Shape& s, const std::vector<std::int64_t>& v) {
    return make<std::int64_t>(ElementType::I64, s, v);
}
Tensor u8(const Shape& s, const std::vector<std::uint8_t>& v) {
    return make<std::uint8_t>(ElementType::U8, s, v);
}
Tensor boolean(const Shape& s, const std::vector<bool>& v) {
    return make<bool>(ElementType::BOOLEAN, s, v);
}
Tensor typed(ElementType type, const Shape& shape, const std::vector<double>& values) {
    return make_tensor(type, shape, values);
}

std::vector<float> to_f32(const Tensor& t) {
    auto c = convert_tensor(t, ElementType::F32);
    return {c.data<float>(), c.data<float>() + c.size()};
}

std::vector<std::int64_t> to_i64(const Tensor& t) {
    return read_indices(t);
}

} // namespace loom::reference::test
