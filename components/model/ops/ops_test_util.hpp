#pragma once
// Helpers shared by the op shape-inference tests (components/model/ops/*_test.cpp); private to
// those tests. Table-driven tests build Parameter/Constant → op → Result models from `In`s and
// run infer_and_validate on them; fixture tests use OpsTest.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/op_registry.hpp"
#include "schemas/error.hpp"

namespace loom::model::op_test {

inline constexpr auto F32 = ElementType::F32;
inline constexpr auto F16 = ElementType::F16;
inline constexpr auto I32 = ElementType::I32;
inline constexpr auto I64 = ElementType::I64;
inline constexpr auto U8 = ElementType::U8;
inline constexpr auto BOOL = ElementType::BOOLEAN;
inline const Dimension dyn = Dimension::dynamic();
inline const PartialShape scalar = PartialShape(std::vector<Dimension>{});

inline Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
    Attributes a;
    for (const auto& [name, value] : list)
        a.set(name, value);
    return a;
}

// A String attribute value (a bare literal would become a bool).
inline std::string str(const char* s) {
    return s;
}

// One input of the op under test: a Parameter, or an i64 Constant when `values` is set.
struct In {
    ElementType type;
    PartialShape shape;
    std::optional<std::vector<std::int64_t>> values;
};
inline In param(ElementType type, PartialShape shape) {
    return {type, std::move(shape), std::nullopt};
}
inline In ints(std::vector<std::int64_t> values) { // 1-D i64 constant
    auto n = static_cast<std::int64_t>(values.size());
    return {ElementType::I64, PartialShape{n}, std::move(values)};
}
inline In int_scalar(std::int64_t value) {
    return {I64, scalar, std::vector<std::int64_t>{value}};
}

// A Constant node whose "shape" attribute is Dims, as the Constant spec declares (built by
// hand: Model::add_constant currently stores the shape as Ints).
inline Node& add_constant(Model& m, Tensor t, std::string node_name) {
    Attributes a;
    a.set("element_type", t.element_type());
    a.set("shape", PartialShape(t.shape()));
    auto& node = m.add("Constant", "opset1", {}, std::move(a), 1, std::move(node_name));
    node.outputs[0].type = t.element_type();
    node.outputs[0].shape = PartialShape(t.shape());
    node.value = std::move(t);
    return node;
}

// Parameter(s)/Constant(s) → op (named "op") → Result(s); returns the op node.
inline Node& build(Model& m, const std::string& type, const std::string& version,
                   const std::vector<In>& inputs, Attributes a, std::size_t output_count = 1) {
    std::vector<Output> outs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto& in = inputs[i];
        if (in.values) {
            auto t = Tensor::copy_of(ElementType::I64, in.shape.to_shape(),
                                     std::as_bytes(std::span(*in.values)));
            outs.push_back(add_constant(m, t, "c" + std::to_string(i)).output());
        } else {
            outs.push_back(m.add_parameter(in.type, in.shape, "p" + std::to_string(i)).output());
        }
    }
    auto& op = m.add(type, version, outs, std::move(a), output_count, "op");
    if (output_count == 1) {
        m.add_result(op.output(), "y");
    } else {
        for (std::uint32_t i = 0; i < output_count; ++i)
            m.add_result(op.output(i), "y" + std::to_string(i));
    }
    return op;
}

// A single-output op whose inference must give `out_type` and `out_shape`.
struct Case {
    const char* label;
    const char* type;
    const char* version;
    std::vector<In> inputs;
    Attributes attrs;
    ElementType out_type;
    PartialShape out_shape;
};

// An op whose inference must fail with a message containing `message_part`.
struct ErrorCase {
    const char* label;
    const char* type;
    const char* version;
    std::vector<In> inputs;
    Attributes attrs;
    const char* message_part; // the problem the message must name
};

inline Case ok(const char* label, const char* type, const char* version, std::vector<In> inputs,
               Attributes a, ElementType out_type, PartialShape out_shape) {
    return {label, type, version, std::move(inputs), std::move(a), out_type, std::move(out_shape)};
}

inline ErrorCase bad(const char* label, const char* type, const char* version,
                     std::vector<In> inputs, Attributes a, const char* message_part) {
    return {label, type, version, std::move(inputs), std::move(a), message_part};
}

// Runs every case through infer_and_validate and checks the op's one output.
inline void expect_outputs(const OpRegistry& registry, const std::vector<Case>& cases) {
    for (const auto& c : cases) {
        SCOPED_TRACE(c.label);
        Model m;
        auto& op = build(m, c.type, c.version, c.inputs, c.attrs);
        ASSERT_NO_THROW(infer_and_validate(m, registry));
        ASSERT_EQ(op.outputs.size(), 1u);
        EXPECT_EQ(op.outputs[0].type, c.out_type) << loom::to_string(op.outputs[0].type);
        EXPECT_EQ(op.outputs[0].shape, c.out_shape) << op.outputs[0].shape.to_string();
    }
}

// Runs every case through infer_and_validate and checks the error: NOT_FOUND when the case
// expects "unknown operation", INVALID_ARGUMENT otherwise; the message must name the problem
// and the node. TopK is built with its two outputs.
inline void expect_errors(const OpRegistry& registry, const std::vector<ErrorCase>& cases) {
    for (const auto& c : cases) {
        SCOPED_TRACE(c.label);
        Model m;
        build(m, c.type, c.version, c.inputs, c.attrs, std::string_view(c.type) == "TopK" ? 2 : 1);
        try {
            infer_and_validate(m, registry);
            ADD_FAILURE() << "no error";
        } catch (const loom::Error& e) {
            auto expected = std::string_view(c.message_part) == "unknown operation"
                                ? ErrorKind::NOT_FOUND
                                : ErrorKind::INVALID_ARGUMENT;
            EXPECT_EQ(e.kind(), expected) << e.message();
            EXPECT_NE(e.message().find(c.message_part), std::string::npos) << e.message();
            EXPECT_NE(e.message().find("'op'"), std::string::npos) << e.message();
        }
    }
}

// Fixture for tests that build one op at a time on a shared model.
class OpsTest : public ::testing::Test {
protected:
    Model m;
    std::shared_ptr<OpRegistry> reg = make_native_registry();

    Output ints(std::vector<std::int64_t> v) {
        return m
            .add_constant(Tensor::copy_of(ElementType::I64, {static_cast<std::int64_t>(v.size())},
                                          std::as_bytes(std::span(v))))
            .output();
    }
    Output scalar(std::int64_t v) {
        return m
            .add_constant(Tensor::copy_of(ElementType::I64, {}, std::as_bytes(std::span(&v, 1))))
            .output();
    }
    // Adds the op (named "n") and infers it.
    Node& run(std::string type, std::string version, std::vector<Output> inputs,
              Attributes a = {}) {
        auto& n =
            m.add(std::move(type), std::move(version), std::move(inputs), std::move(a), 1, "n");
        infer_node(n, *reg);
        return n;
    }
    // The shape of output `out` of the inferred op.
    std::string shape_of(std::string type, std::string version, std::vector<Output> inputs,
                         Attributes a = {}, std::size_t out = 0) {
        auto& n = run(std::move(type), std::move(version), std::move(inputs), std::move(a));
        return n.outputs.at(out).shape.to_string();
    }
    // Runs the op and returns the error's message, checking its kind.
    std::string error_of(std::string type, std::string version, std::vector<Output> inputs,
                         Attributes a = {}, ErrorKind kind = ErrorKind::INVALID_ARGUMENT) {
        try {
            run(std::move(type), std::move(version), std::move(inputs), std::move(a));
        } catch (const loom::Error& e) {
            EXPECT_EQ(e.kind(), kind) << e.message();
            return e.message();
        }
        ADD_FAILURE() << "no error";
        return {};
    }
};

} // namespace loom::model::op_test
