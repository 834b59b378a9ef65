#pragma once
// Helpers shared by the structural tests of the ONNX converters (ops_*_test.cpp): node-type
// histograms, output type/shape checks, error checks and small proto builders.
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/onnx_test_builder.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe::test {

using Histogram = std::map<std::string, std::size_t>;
using I64s = std::vector<std::int64_t>;
inline constexpr auto F32 = onnx::TensorProto::FLOAT;
inline constexpr auto I64 = onnx::TensorProto::INT64;
inline constexpr auto U8 = onnx::TensorProto::UINT8;
inline constexpr auto BOOL = onnx::TensorProto::BOOL;

// Node counts per type, without the interface and constants.
inline Histogram ops_of(const model::Model& m) {
    Histogram h;
    for (const auto& [type, n] : m.histogram())
        if (type != "Parameter" && type != "Result" && type != "Constant") h[type] = n;
    return h;
}

inline const model::OutputInfo& out(const model::Model& m, std::size_t i = 0) {
    const auto& v = m.results().at(i)->inputs.at(0);
    return v.node->outputs.at(v.index);
}

inline void expect_output(const model::Model& m, std::size_t i, ElementType type,
                          const char* shape) {
    EXPECT_EQ(out(m, i).type, type) << "output " << i;
    EXPECT_EQ(out(m, i).shape.to_string(), shape) << "output " << i;
}

inline void expect_error(const onnx::ModelProto& proto, ErrorKind kind, const std::string& needle) {
    try {
        read(proto);
        FAIL() << "expected an error mentioning '" << needle << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(e.message().find(needle), std::string::npos) << e.what();
    }
}

inline const model::Node& only(const model::Model& m, const std::string& type) {
    const model::Node* found = nullptr;
    for (auto* n : m.nodes())
        if (n->type == type) {
            EXPECT_EQ(found, nullptr) << "more than one " << type;
            found = n;
        }
    if (!found) throw std::runtime_error("no node of type " + type);
    return *found;
}

inline onnx::TensorProto u8_tensor(const std::string& name, const std::vector<std::uint8_t>& values,
                                   I64s dims) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(U8);
    for (auto d : dims)
        t.add_dims(d);
    t.set_raw_data(std::string(values.begin(), values.end()));
    return t;
}

inline void set_strings(onnx::NodeProto& node, const std::string& name,
                        const std::vector<std::string>& values) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& v : values)
        a->add_strings(v);
}

} // namespace loom::reader::onnx_fe::test
