// The KServe v2 bodies (kserve.hpp): JSON and binary requests parsed into tensors, responses
// built, and every malformed or inconsistent body refused with invalid_argument naming what.

#include <cstring>

#include <gtest/gtest.h>

#include "components/serving/kserve.hpp"
#include "schemas/error.hpp"

namespace {

using loom::ElementType;
using loom::serving::parse_infer_request;

std::string message_of(std::string_view body, std::optional<std::size_t> header = {}) {
    try {
        parse_infer_request(body, header, 1 << 20);
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT) << e.message();
        return e.message();
    }
    ADD_FAILURE() << "accepted: " << body;
    return {};
}

TEST(KServe, DatatypesMapBothWays) {
    EXPECT_EQ(loom::serving::element_type_of("FP32"), ElementType::F32);
    EXPECT_EQ(loom::serving::element_type_of("BYTES"), ElementType::STRING);
    EXPECT_EQ(loom::serving::element_type_of("fp32"), std::nullopt);
    EXPECT_EQ(loom::serving::datatype_of(ElementType::I64), "INT64");
    EXPECT_EQ(loom::serving::datatype_of(ElementType::BOOLEAN), "BOOL");
}

TEST(KServe, JsonRequestsGiveTensorsNestedOrFlat) {
    const auto body = parse_infer_request(
        R"({"id": "r1", "inputs": [
            {"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2.5], [3, -4]]},
            {"name": "n", "datatype": "INT64", "shape": [3], "data": [1, -2, 9007199254740993]},
            {"name": "b", "datatype": "BOOL", "shape": [2], "data": [true, false]},
            {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["héllo", ""]}],
            "outputs": [{"name": "y", "parameters": {"binary_data": true}}, {"name": "z"}]})",
        std::nullopt, 1 << 20);
    EXPECT_EQ(body.id, "r1");
    ASSERT_EQ(body.inputs.size(), 4u);
    const auto& x = body.inputs[0].tensor;
    EXPECT_EQ(x.shape(), (loom::Shape{2, 2}));
    EXPECT_EQ(x.data<float>()[1], 2.5f);
    EXPECT_EQ(x.data<float>()[3], -4.0f);
    EXPECT_EQ(body.inputs[1].tensor.data<std::int64_t>()[2], 9007199254740993);
    EXPECT_EQ(body.inputs[2].tensor.data<std::uint8_t>()[0], 1);
    EXPECT_EQ(body.inputs[3].tensor.impl().string_values()[0], "héllo");
    ASSERT_EQ(body.outputs.size(), 2u);
    EXPECT_TRUE(body.outputs[0].binary);
    EXPECT_FALSE(body.outputs[1].binary);
}

TEST(KServe, BinaryTensorDataFollowsTheJsonHeader) {
    const std::string header =
        R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 12}},
                       {"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 7}}],
            "parameters": {"binary_data_output": true}})";
    const float x[3] = {1.5f, -2, 8};
    std::string body = header;
    body.append(reinterpret_cast<const char*>(x), sizeof x);
    const std::uint32_t len = 3;
    body.append(reinterpret_cast<const char*>(&len), 4);
    body += "abc";
    const auto parsed = parse_infer_request(body, header.size(), 1 << 20);
    EXPECT_TRUE(parsed.binary_outputs);
    EXPECT_EQ(parsed.inputs[0].tensor.data<float>()[2], 8.0f);
    EXPECT_EQ(parsed.inputs[1].tensor.impl().string_values()[0], "abc");
    // Truncated binary data, extra bytes, a header length past the body: each refused.
    EXPECT_NE(message_of(body.substr(0, body.size() - 2), header.size()).find("truncated"),
              std::string::npos);
    EXPECT_NE(message_of(body + "zz", header.size()).find("follow the JSON"), std::string::npos);
    EXPECT_NE(message_of(body, body.size() + 1).find("Inference-Header-Content-Length"),
              std::string::npos);
}

TEST(KServe, MalformedRequestsAreRefusedNamingWhatIsWrong) {
    EXPECT_NE(message_of("{not json").find("malformed JSON"), std::string::npos);
    EXPECT_NE(message_of("[1, 2]").find("not a JSON object"), std::string::npos);
    EXPECT_NE(message_of(R"({"inputs": 3})").find("`inputs`"), std::string::npos);
    EXPECT_NE(message_of(R"({"inputs": [{"name": "x", "datatype": "FP99", "shape": [1],
                                         "data": [1]}]})")
                  .find("unknown datatype 'FP99'"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3],
                                         "data": [1, 2]}]})")
                  .find("holds 2 elements"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"inputs": [{"name": "x", "datatype": "INT8", "shape": [1],
                                         "data": [300]}]})")
                  .find("out of range"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1],
                                         "data": []}]})")
                  .find("non-negative"),
              std::string::npos);
    // A shape claiming more elements than allowed is refused before anything is allocated.
    EXPECT_NE(message_of(R"({"inputs": [{"name": "x", "datatype": "FP32",
                                         "shape": [100000, 100000, 100000], "data": []}]})")
                  .find("more than"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"inputs": [{"name": "x", "datatype": "FP16", "shape": [1],
                                         "data": [1]}]})")
                  .find("binary data"),
              std::string::npos);
    // Deep nesting does not recurse without bound.
    EXPECT_NE(message_of(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1],
                                         "data": )" +
                         std::string(100, '[') + "1" + std::string(100, ']') + "}]}")
                  .find("deeper"),
              std::string::npos);
}

TEST(KServe, ResponsesCarryJsonOrBinaryOutputs) {
    loom::Tensor y(ElementType::F32, {2});
    y.data<float>()[0] = 0.5f;
    y.data<float>()[1] = -1;
    auto s = loom::Tensor(loom::model::Tensor::strings({1}, {"ok"}));
    auto json_only =
        loom::serving::infer_response("m", "1", "id7", {{"y", y, false}, {"s", s, false}});
    EXPECT_FALSE(json_only.header_length.has_value());
    const auto j = nlohmann::json::parse(json_only.body);
    EXPECT_EQ(j["model_name"], "m");
    EXPECT_EQ(j["id"], "id7");
    EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
    EXPECT_EQ(j["outputs"][0]["data"][1], -1.0);
    EXPECT_EQ(j["outputs"][1]["data"][0], "ok");
    auto binary = loom::serving::infer_response("m", "1", "", {{"y", y, true}});
    ASSERT_TRUE(binary.header_length.has_value());
    const auto header = nlohmann::json::parse(binary.body.substr(0, *binary.header_length));
    EXPECT_EQ(header["outputs"][0]["parameters"]["binary_data_size"], 8);
    float back[2];
    std::memcpy(back, binary.body.data() + *binary.header_length, 8);
    EXPECT_EQ(back[0], 0.5f);
}

} // namespace
