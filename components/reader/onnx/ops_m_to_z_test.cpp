// Structural tests of the ONNX converters MatMul … Xor: the native ops each ONNX node becomes,
// their key attributes, and the output types and shapes (computed by hand from the ONNX spec).
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/onnx_test_builder.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

using Histogram = std::map<std::string, std::size_t>;
using I64s = std::vector<std::int64_t>;
constexpr auto F32 = onnx::TensorProto::FLOAT;
constexpr auto I64 = onnx::TensorProto::INT64;
constexpr auto U8 = onnx::TensorProto::UINT8;
constexpr auto BOOL = onnx::TensorProto::BOOL;

// Node counts per type, without the interface and constants.
Histogram ops_of(const model::Model& m) {
    Histogram h;
    for (const auto& [type, n] : m.histogram())
        if (type != "Parameter" && type != "Result" && type != "Constant") h[type] = n;
    return h;
}

const model::OutputInfo& out(const model::Model& m, std::size_t i = 0) {
    const auto& v = m.results().at(i)->inputs.at(0);
    return v.node->outputs.at(v.index);
}

void expect_output(const model::Model& m, std::size_t i, ElementType type, const char* shape) {
    EXPECT_EQ(out(m, i).type, type) << "output " << i;
    EXPECT_EQ(out(m, i).shape.to_string(), shape) << "output " << i;
}

void expect_error(const onnx::ModelProto& proto, ErrorKind kind, const std::string& needle) {
    try {
        read(proto);
        FAIL() << "expected an error mentioning '" << needle << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(e.message().find(needle), std::string::npos) << e.what();
    }
}

const model::Node& only(const model::Model& m, const std::string& type) {
    const model::Node* found = nullptr;
    for (auto* n : m.nodes())
        if (n->type == type) {
            EXPECT_EQ(found, nullptr) << "more than one " << type;
            found = n;
        }
    if (!found) throw std::runtime_error("no node of type " + type);
    return *found;
}

onnx::TensorProto u8_tensor(const std::string& name, const std::vector<std::uint8_t>& values,
                            I64s dims) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(U8);
    for (auto d : dims)
        t.add_dims(d);
    t.set_raw_data(std::string(values.begin(), values.end()));
    return t;
}

void set_strings(onnx::NodeProto& node, const std::string& name,
                 const std::vector<std::string>& values) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& v : values)
        a->add_strings(v);
}

TEST(OnnxOpsMZ, MatMulBatchBroadcast) {
    // [2,1,3,4] x [5,4,6]: batch dims broadcast to [2,5], matrix [3,6].
    auto m = read(single_node_model("MatMul", {{"a", F32, {2, 1, 3, 4}}, {"b", F32, {5, 4, 6}}},
                                    {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MatMul", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,5,3,6]");
}

TEST(OnnxOpsMZ, MulOpset6LegacyBroadcastWithAxis) {
    auto m = read(single_node_model(
        "Mul", {{"a", F32, {2, 3, 4, 5}}, {"b", F32, {3}}}, {"y"},
        [](auto& n) {
            set_attr(n, "broadcast", std::int64_t{1});
            set_attr(n, "axis", std::int64_t{1});
        },
        6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Multiply", 1}, {"Unsqueeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4,5]");
}

TEST(OnnxOpsMZ, MaxPoolWithIndices) {
    auto m = read(single_node_model(
        "MaxPool", {{"x", F32, {1, 2, 5, 5}}}, {"y", "i"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2, 2});
            set_attr(n, "strides", I64s{2, 2});
            set_attr(n, "ceil_mode", std::int64_t{1});
        },
        12));
    EXPECT_EQ(ops_of(*m), (Histogram{{"MaxPool", 1}}));
    const auto& pool = only(*m, "MaxPool");
    EXPECT_EQ(pool.version, "opset8");
    EXPECT_EQ(pool.attrs.get<std::string>("rounding_type"), "ceil");
    EXPECT_EQ(pool.attrs.get<I64s>("kernel"), (I64s{2, 2}));
    EXPECT_EQ(pool.attrs.get<std::int64_t>("axis"), 0);
    // ceil((5 - 2) / 2) + 1 = 3
    expect_output(*m, 0, ElementType::F32, "[1,2,3,3]");
    expect_output(*m, 1, ElementType::I64, "[1,2,3,3]");
}

TEST(OnnxOpsMZ, MaxPool2dColumnMajorIndicesAreRemapped) {
    auto m = read(single_node_model(
        "MaxPool", {{"x", F32, {1, 1, 4, 4}}}, {"y", "i"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2, 2});
            set_attr(n, "storage_order", std::int64_t{1});
        },
        12));
    // index - in_plane + (in_plane mod W) * H + in_plane / W, in_plane = index mod (H * W)
    EXPECT_EQ(ops_of(*m), (Histogram{{"MaxPool", 1},
                                     {"FloorMod", 2},
                                     {"Multiply", 2},
                                     {"Divide", 1},
                                     {"Subtract", 1},
                                     {"Add", 2}}));
    expect_output(*m, 1, ElementType::I64, "[1,1,3,3]");
}

TEST(OnnxOpsMZ, MaxPool1dColumnMajorIndicesAreUnsupported) {
    auto proto = single_node_model(
        "MaxPool", {{"x", F32, {1, 1, 4}}}, {"y", "i"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2});
            set_attr(n, "storage_order", std::int64_t{1});
        },
        12);
    expect_error(proto, ErrorKind::UNSUPPORTED, "storage_order");
}

TEST(OnnxOpsMZ, PadOpset2Attributes) {
    // pads [begin0, begin1, end0, end1] = [0, 1, 2, 1]: [2,3] → [4,5].
    auto m = read(single_node_model(
        "Pad", {{"x", F32, {2, 3}}}, {"y"},
        [](auto& n) {
            set_attr(n, "pads", I64s{0, 1, 2, 1});
            set_attr(n, "value", 1.5f);
        },
        2));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}}));
    const auto& pad = only(*m, "Pad");
    EXPECT_EQ(pad.inputs.size(), 4u); // the pad value is passed
    EXPECT_EQ(pad.attrs.get<std::string>("pad_mode"), "constant");
    expect_output(*m, 0, ElementType::F32, "[4,5]");
}

TEST(OnnxOpsMZ, PadOpset11InputsReflect) {
    auto m = read(single_node_model("Pad", {{"x", F32, {2, 3}}, {"pads", I64, {4}}}, {"y"},
                                    [](auto& n) { set_attr(n, "mode", std::string("reflect")); },
                                    11, {int64_tensor("pads", {0, 1, 1, 1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}}));
    const auto& pad = only(*m, "Pad");
    EXPECT_EQ(pad.inputs.size(), 3u);
    EXPECT_EQ(pad.attrs.get<std::string>("pad_mode"), "reflect");
    expect_output(*m, 0, ElementType::F32, "[3,5]");
}

TEST(OnnxOpsMZ, PadOpset11RuntimePadsAreSplit) {
    auto m =
        read(single_node_model("Pad", {{"x", F32, {2, 3}}, {"pads", I64, {4}}}, {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Pad", 1}, {"Split", 1}}));
    EXPECT_EQ(out(*m).type, ElementType::F32);
    EXPECT_EQ(out(*m).shape.rank(), 2);
}

TEST(OnnxOpsMZ, ReshapeCopiesZeroAndInfersMinusOne) {
    auto m = read(single_node_model("Reshape", {{"x", F32, {2, 3, 4}}, {"s", I64, {2}}}, {"y"}, {},
                                    13, {int64_tensor("s", {0, -1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Reshape", 1}}));
    EXPECT_TRUE(only(*m, "Reshape").attrs.get<bool>("special_zero"));
    expect_output(*m, 0, ElementType::F32, "[2,12]");
}

TEST(OnnxOpsMZ, ReshapeAllowZeroKeepsZero) {
    auto m = read(single_node_model("Reshape", {{"x", F32, {0, 3}}, {"s", I64, {2}}}, {"y"},
                                    [](auto& n) { set_attr(n, "allowzero", std::int64_t{1}); }, 14,
                                    {int64_tensor("s", {3, 0})}));
    EXPECT_FALSE(only(*m, "Reshape").attrs.get<bool>("special_zero"));
    expect_output(*m, 0, ElementType::F32, "[3,0]");
}

TEST(OnnxOpsMZ, ReshapeOpset1ShapeAttribute) {
    auto m = read(single_node_model(
        "Reshape", {{"x", F32, {2, 6}}}, {"y"},
        [](auto& n) {
            set_attr(n, "shape", I64s{3, -1});
        },
        1));
    expect_output(*m, 0, ElementType::F32, "[3,4]");
}

TEST(OnnxOpsMZ, Resize13Scales) {
    auto m = read(
        single_node_model("Resize", {{"x", F32, {1, 1, 2, 2}}, {"", F32, {}}, {"scales", F32, {4}}},
                          {"y"}, [](auto& n) { set_attr(n, "mode", std::string("linear")); }, 13,
                          {float_tensor("scales", {1, 1, 2, 3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Interpolate", 1}}));
    const auto& node = only(*m, "Interpolate");
    EXPECT_EQ(node.version, "opset11");
    EXPECT_EQ(node.attrs.get<std::string>("mode"), "linear_onnx");
    EXPECT_EQ(node.attrs.get<std::string>("shape_calculation_mode"), "scales");
    EXPECT_EQ(node.attrs.get<std::string>("coordinate_transformation_mode"), "half_pixel");
    expect_output(*m, 0, ElementType::F32, "[1,1,4,6]");
}

TEST(OnnxOpsMZ, Resize13Sizes) {
    auto m = read(single_node_model(
        "Resize", {{"x", F32, {1, 1, 4, 4}}, {"", F32, {}}, {"", F32, {}}, {"sizes", I64, {4}}},
        {"y"},
        [](auto& n) {
            set_attr(n, "mode", std::string("nearest"));
            set_attr(n, "nearest_mode", std::string("floor"));
            set_attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
        },
        13, {int64_tensor("sizes", {1, 1, 2, 3})}));
    const auto& node = only(*m, "Interpolate");
    EXPECT_EQ(node.attrs.get<std::string>("shape_calculation_mode"), "sizes");
    EXPECT_EQ(node.attrs.get<std::string>("nearest_mode"), "floor");
    EXPECT_EQ(node.attrs.get<std::string>("coordinate_transformation_mode"), "asymmetric");
    expect_output(*m, 0, ElementType::F32, "[1,1,2,3]");
}

TEST(OnnxOpsMZ, ResizeTfCropAndResizeIsUnsupported) {
    auto proto = single_node_model(
        "Resize", {{"x", F32, {1, 1, 2, 2}}, {"roi", F32, {8}}, {"scales", F32, {4}}}, {"y"},
        [](auto& n) {
            set_attr(n, "coordinate_transformation_mode", std::string("tf_crop_and_resize"));
        },
        13, {float_tensor("scales", {1, 1, 2, 2})});
    expect_error(proto, ErrorKind::UNSUPPORTED, "tf_crop_and_resize");
}

TEST(OnnxOpsMZ, Upsample9NearestIsAsymmetricSimple) {
    auto m = read(single_node_model("Upsample", {{"x", F32, {1, 1, 2, 2}}, {"s", F32, {4}}}, {"y"},
                                    {}, 9, {float_tensor("s", {1, 1, 2, 3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Interpolate", 1}}));
    const auto& node = only(*m, "Interpolate");
    EXPECT_EQ(node.attrs.get<std::string>("mode"), "nearest");
    EXPECT_EQ(node.attrs.get<std::string>("nearest_mode"), "simple");
    EXPECT_EQ(node.attrs.get<std::string>("coordinate_transformation_mode"), "asymmetric");
    expect_output(*m, 0, ElementType::F32, "[1,1,4,6]");
}

TEST(OnnxOpsMZ, Slice1Attributes) {
    auto m = read(single_node_model(
        "Slice", {{"x", F32, {5, 6}}}, {"y"},
        [](auto& n) {
            set_attr(n, "starts", I64s{1, 0});
            set_attr(n, "ends", I64s{3, -1});
        },
        1));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Slice", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,5]");
}

TEST(OnnxOpsMZ, Slice13NegativeStep) {
    // Axis 1 from the last element backwards with step -2: indices 5, 3, 1.
    auto m = read(single_node_model("Slice",
                                    {{"x", F32, {5, 6}},
                                     {"starts", I64, {1}},
                                     {"ends", I64, {1}},
                                     {"axes", I64, {1}},
                                     {"steps", I64, {1}}},
                                    {"y"}, {}, 13,
                                    {int64_tensor("starts", {-1}), int64_tensor("ends", {-1000}),
                                     int64_tensor("axes", {1}), int64_tensor("steps", {-2})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Slice", 1}}));
    EXPECT_EQ(only(*m, "Slice").inputs.size(), 5u);
    expect_output(*m, 0, ElementType::F32, "[5,3]");
}

TEST(OnnxOpsMZ, Softmax11FlattensToTwoDims) {
    auto m = read(single_node_model(
        "Softmax", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Reshape", 2}, {"Softmax", 1}}));
    EXPECT_EQ(only(*m, "Softmax").attrs.get<std::int64_t>("axis"), 1);
    EXPECT_EQ(only(*m, "Softmax").inputs[0].node->outputs[0].shape.to_string(), "[2,12]");
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsMZ, Softmax11OnLastAxisIsPlain) {
    auto m = read(single_node_model("Softmax", {{"x", F32, {2, 3}}}, {"y"}, {}, 11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Softmax", 1}}));
}

TEST(OnnxOpsMZ, Softmax13SingleAxis) {
    auto m = read(single_node_model(
        "Softmax", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Softmax", 1}}));
    const auto& sm = only(*m, "Softmax");
    EXPECT_EQ(sm.version, "opset8");
    EXPECT_EQ(sm.attrs.get<std::int64_t>("axis"), 1);
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsMZ, Split2AttributeLengths) {
    auto m = read(single_node_model(
        "Split", {{"x", F32, {3, 6}}}, {"a", "b"},
        [](auto& n) {
            set_attr(n, "axis", std::int64_t{1});
            set_attr(n, "split", I64s{2, 4});
        },
        2));
    EXPECT_EQ(ops_of(*m), (Histogram{{"VariadicSplit", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,2]");
    expect_output(*m, 1, ElementType::F32, "[3,4]");
}

TEST(OnnxOpsMZ, Split13EqualParts) {
    auto m = read(single_node_model("Split", {{"x", F32, {6, 3}}}, {"a", "b", "c"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Split", 1}}));
    EXPECT_EQ(only(*m, "Split").attrs.get<std::int64_t>("num_splits"), 3);
    for (std::size_t i = 0; i < 3; ++i)
        expect_output(*m, i, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsMZ, Split13InputLengths) {
    auto m = read(single_node_model("Split", {{"x", F32, {6, 3}}, {"s", I64, {2}}}, {"a", "b"}, {},
                                    13, {int64_tensor("s", {1, 5})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"VariadicSplit", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,3]");
    expect_output(*m, 1, ElementType::F32, "[5,3]");
}

TEST(OnnxOpsMZ, Squeeze11AxesAttribute) {
    auto m = read(single_node_model(
        "Squeeze", {{"x", F32, {1, 3, 1}}}, {"y"}, [](auto& n) { set_attr(n, "axes", I64s{0}); },
        11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Squeeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3,1]");
}

TEST(OnnxOpsMZ, Squeeze13AxesInput) {
    auto m = read(single_node_model("Squeeze", {{"x", F32, {1, 3, 1}}, {"a", I64, {1}}}, {"y"}, {},
                                    13, {int64_tensor("a", {-1})}));
    expect_output(*m, 0, ElementType::F32, "[1,3]");
}

TEST(OnnxOpsMZ, Unsqueeze13NegativeAxes) {
    // Axes refer to the output rank 4: 0 and -1 → [1,3,4,1].
    auto m = read(single_node_model("Unsqueeze", {{"x", F32, {3, 4}}, {"a", I64, {2}}}, {"y"}, {},
                                    13, {int64_tensor("a", {0, -1})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Unsqueeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,3,4,1]");
}

TEST(OnnxOpsMZ, TopK1AttributeK) {
    auto m = read(single_node_model(
        "TopK", {{"x", F32, {3, 5}}}, {"v", "i"},
        [](auto& n) { set_attr(n, "k", std::int64_t{2}); }, 1));
    EXPECT_EQ(ops_of(*m), (Histogram{{"TopK", 1}}));
    const auto& topk = only(*m, "TopK");
    EXPECT_EQ(topk.attrs.get<std::string>("mode"), "max");
    EXPECT_EQ(topk.attrs.get<std::string>("sort"), "value");
    expect_output(*m, 0, ElementType::F32, "[3,2]");
    expect_output(*m, 1, ElementType::I64, "[3,2]");
}

TEST(OnnxOpsMZ, TopK11InputKSmallest) {
    auto m = read(single_node_model("TopK", {{"x", F32, {4, 5}}, {"k", I64, {1}}}, {"v", "i"},
                                    [](auto& n) {
                                        set_attr(n, "axis", std::int64_t{0});
                                        set_attr(n, "largest", std::int64_t{0});
                                    },
                                    11, {int64_tensor("k", {3})}));
    const auto& topk = only(*m, "TopK");
    EXPECT_EQ(topk.attrs.get<std::string>("mode"), "min");
    EXPECT_EQ(topk.attrs.get<std::int64_t>("axis"), 0);
    expect_output(*m, 0, ElementType::F32, "[3,5]");
    expect_output(*m, 1, ElementType::I64, "[3,5]");
}

TEST(OnnxOpsMZ, ReduceSum1AxesAttribute) {
    auto m = read(single_node_model(
        "ReduceSum", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) {
            set_attr(n, "axes", I64s{1});
            set_attr(n, "keepdims", std::int64_t{0});
        },
        1));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceSum", 1}}));
    EXPECT_FALSE(only(*m, "ReduceSum").attrs.get<bool>("keep_dims"));
    expect_output(*m, 0, ElementType::F32, "[2,4]");
}

TEST(OnnxOpsMZ, ReduceSum13AxesInput) {
    auto m = read(single_node_model("ReduceSum", {{"x", F32, {2, 3, 4}}, {"a", I64, {1}}}, {"y"},
                                    {}, 13, {int64_tensor("a", {-2})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceSum", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,1,4]");
}

TEST(OnnxOpsMZ, ReduceSum13WithoutAxesReducesAll) {
    auto m = read(single_node_model("ReduceSum", {{"x", F32, {2, 3, 4}}}, {"y"}, {}, 13));
    expect_output(*m, 0, ElementType::F32, "[1,1,1]");
}

TEST(OnnxOpsMZ, ReduceSum13NoopWithEmptyAxesPassesThrough) {
    auto m = read(single_node_model(
        "ReduceSum", {{"x", F32, {2, 3}}}, {"y"},
        [](auto& n) { set_attr(n, "noop_with_empty_axes", std::int64_t{1}); }, 13));
    EXPECT_EQ(ops_of(*m), Histogram{});
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsMZ, ReduceLogSumExpIsStable) {
    auto m = read(single_node_model(
        "ReduceLogSumExp", {{"x", F32, {2, 3}}}, {"y"},
        [](auto& n) {
            set_attr(n, "axes", I64s{1});
            set_attr(n, "keepdims", std::int64_t{0});
        },
        13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ReduceMax", 1},
                                     {"Subtract", 1},
                                     {"Exp", 1},
                                     {"ReduceSum", 1},
                                     {"Log", 1},
                                     {"Add", 1},
                                     {"Squeeze", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2]");
}

TEST(OnnxOpsMZ, QuantizeLinear13PerAxis) {
    auto m = read(single_node_model(
        "QuantizeLinear", {{"x", F32, {2, 3, 4}}, {"s", F32, {3}}, {"zp", U8, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 13,
        {float_tensor("s", {0.5f, 1.0f, 2.0f}), u8_tensor("zp", {0, 128, 255}, {3})}));
    // scale and zero point [3] become [3,1] to broadcast along axis 1 of [2,3,4].
    EXPECT_EQ(ops_of(*m), (Histogram{{"Divide", 1},
                                     {"Round", 1},
                                     {"Add", 1},
                                     {"Clamp", 1},
                                     {"Convert", 2},
                                     {"Unsqueeze", 2}}));
    EXPECT_EQ(only(*m, "Round").attrs.get<std::string>("mode"), "half_to_even");
    const auto& clamp = only(*m, "Clamp");
    EXPECT_EQ(clamp.attrs.get<double>("min"), 0.0);
    EXPECT_EQ(clamp.attrs.get<double>("max"), 255.0);
    expect_output(*m, 0, ElementType::U8, "[2,3,4]");
}

TEST(OnnxOpsMZ, QuantizeLinear10WithoutZeroPointIsU8) {
    auto m = read(single_node_model("QuantizeLinear", {{"x", F32, {4}}, {"s", F32, {}}}, {"y"}, {},
                                    10, {float_tensor("s", {0.1f}, {})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Divide", 1}, {"Round", 1}, {"Clamp", 1}, {"Convert", 1}}));
    expect_output(*m, 0, ElementType::U8, "[4]");
}

TEST(OnnxOpsMZ, MatMulIntegerComputesInI32) {
    auto m = read(single_node_model("MatMulInteger",
                                    {{"a", U8, {2, 3}}, {"b", U8, {3, 4}}, {"azp", U8, {}}}, {"y"},
                                    {}, 10, {u8_tensor("azp", {12}, {})}));
    expect_output(*m, 0, ElementType::I32, "[2,4]");
    EXPECT_EQ(ops_of(*m)["MatMul"], 1u);
    EXPECT_EQ(ops_of(*m)["Subtract"], 1u);
}

TEST(OnnxOpsMZ, WhereIsSelect) {
    auto m = read(single_node_model(
        "Where", {{"c", BOOL, {2, 1}}, {"x", F32, {1, 3}}, {"y", F32, {2, 3}}}, {"z"}, {}, 16));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Select", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsMZ, TriluUpperMasksBelowDiagonal) {
    // Static matrix dims: the row/column index grids are constants.
    auto m = read(single_node_model("Trilu", {{"x", F32, {2, 3, 4}}}, {"y"}, {}, 14));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Add", 1}, {"GreaterEqual", 1}, {"Select", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3,4]");
}

TEST(OnnxOpsMZ, TriluDynamicDimsBuildIndexGrids) {
    auto m = read(single_node_model("Trilu", {{"x", F32, {2, -1, -1}}}, {"y"}, {}, 14));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ShapeOf", 1},
                                     {"Gather", 2},
                                     {"Range", 2},
                                     {"Unsqueeze", 1},
                                     {"Add", 1},
                                     {"GreaterEqual", 1},
                                     {"Select", 1}}));
    EXPECT_EQ(out(*m).shape.rank(), 3);
}

TEST(OnnxOpsMZ, TriluLowerWithK) {
    auto m = read(single_node_model("Trilu", {{"x", F32, {3, 3}}, {"k", I64, {}}}, {"y"},
                                    [](auto& n) { set_attr(n, "upper", std::int64_t{0}); }, 14,
                                    {int64_tensor("k", {-1}, {})}));
    EXPECT_EQ(ops_of(*m)["LessEqual"], 1u);
    expect_output(*m, 0, ElementType::F32, "[3,3]");
}

TEST(OnnxOpsMZ, ShapeWithStart) {
    auto m = read(single_node_model(
        "Shape", {{"x", F32, {2, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "start", std::int64_t{1}); }, 15));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ShapeOf", 1}, {"Slice", 1}}));
    expect_output(*m, 0, ElementType::I64, "[2]");
}

TEST(OnnxOpsMZ, ModFloorsUnlessFmod) {
    auto floor_mod = read(single_node_model(
        "Mod", {{"a", onnx::TensorProto::INT32, {3}}, {"b", onnx::TensorProto::INT32, {3}}}, {"y"},
        {}, 13));
    EXPECT_EQ(ops_of(*floor_mod), (Histogram{{"FloorMod", 1}}));
    auto fmod = read(single_node_model(
        "Mod", {{"a", F32, {3}}, {"b", F32, {3}}}, {"y"},
        [](auto& n) { set_attr(n, "fmod", std::int64_t{1}); }, 13));
    EXPECT_EQ(ops_of(*fmod), (Histogram{{"Mod", 1}}));
}

TEST(OnnxOpsMZ, NonMaxSuppressionIsTrimmedToValidRows) {
    auto m = read(single_node_model(
        "NonMaxSuppression", {{"b", F32, {1, 6, 4}}, {"s", F32, {1, 1, 6}}, {"n", I64, {1}}}, {"y"},
        [](auto& n) { set_attr(n, "center_point_box", std::int64_t{1}); }, 11,
        {int64_tensor("n", {3})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"NonMaxSuppression", 1}, {"Slice", 1}}));
    EXPECT_EQ(only(*m, "NonMaxSuppression").attrs.get<std::string>("box_encoding"), "center");
    // iou_threshold 0 and no score threshold (lowest float) are passed explicitly.
    EXPECT_EQ(only(*m, "NonMaxSuppression").inputs.size(), 5u);
    EXPECT_EQ(out(*m).type, ElementType::I64);
    ASSERT_TRUE(out(*m).shape.rank_is_static());
    EXPECT_EQ(out(*m).shape.rank(), 2);
    EXPECT_EQ(out(*m).shape[1], model::Dimension(3));
}

TEST(OnnxOpsMZ, RnnLayout0TransposesToBatchMajor) {
    // X [seq 5, batch 2, input 3]; Y [seq, dirs, batch, hidden], Y_h [dirs, batch, hidden].
    auto m = read(single_node_model(
        "RNN", {{"x", F32, {5, 2, 3}}, {"w", F32, {1, 4, 3}}, {"r", F32, {1, 4, 4}}}, {"y", "yh"},
        [](auto& n) {
            set_attr(n, "hidden_size", std::int64_t{4});
            set_strings(n, "activations", {"Relu"});
        },
        14));
    EXPECT_EQ(ops_of(*m)["RNNSequence"], 1u);
    const auto& rnn = only(*m, "RNNSequence");
    EXPECT_EQ(rnn.attrs.get<std::vector<std::string>>("activations"),
              std::vector<std::string>{"relu"});
    EXPECT_EQ(rnn.attrs.get<std::string>("direction"), "forward");
    expect_output(*m, 0, ElementType::F32, "[5,1,2,4]");
    expect_output(*m, 1, ElementType::F32, "[1,2,4]");
}

TEST(OnnxOpsMZ, OneHotSplitsValues) {
    auto m = read(single_node_model("OneHot", {{"i", I64, {2, 3}}, {"d", I64, {}}, {"v", F32, {2}}},
                                    {"y"}, {}, 11,
                                    {int64_tensor("d", {5}, {}), float_tensor("v", {0.0f, 1.0f})}));
    EXPECT_EQ(ops_of(*m)["OneHot"], 1u);
    EXPECT_EQ(ops_of(*m)["Gather"], 2u);
    expect_output(*m, 0, ElementType::F32, "[2,3,5]");
}

TEST(OnnxOpsMZ, MelWeightMatrixWithConstantInputsIsConstant) {
    auto m = read(single_node_model(
        "MelWeightMatrix",
        {{"n", I64, {}}, {"dft", I64, {}}, {"sr", I64, {}}, {"lo", F32, {}}, {"hi", F32, {}}},
        {"y"}, {}, 17,
        {int64_tensor("n", {8}, {}), int64_tensor("dft", {16}, {}), int64_tensor("sr", {8192}, {}),
         float_tensor("lo", {0.0f}, {}), float_tensor("hi", {4096.0f}, {})}));
    EXPECT_EQ(ops_of(*m), Histogram{});
    expect_output(*m, 0, ElementType::F32, "[9,8]");
}

TEST(OnnxOpsMZ, StftRealOnesidedIsFramedRdft) {
    // 128 samples, frames of 16 every 8: (128 - 16) / 8 + 1 = 15 frames, 16 / 2 + 1 = 9 bins.
    auto m = read(single_node_model(
        "STFT", {{"x", F32, {1, 128, 1}}, {"step", I64, {}}, {"", F32, {}}, {"len", I64, {}}},
        {"y"}, {}, 17, {int64_tensor("step", {8}, {}), int64_tensor("len", {16}, {})}));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Gather", 1}, {"Squeeze", 1}, {"RDFT", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,15,9,2]");
}

TEST(OnnxOpsMZ, PRelu16SlopeBroadcastsFromTrailingDims) {
    // Slope [5] applies along the last axis of [2,3,5]: it becomes [1,1,5] (OpenVINO would read a
    // bare 1-D slope as per-channel).
    auto m =
        read(single_node_model("PRelu", {{"x", F32, {2, 3, 5}}, {"s", F32, {5}}}, {"y"}, {}, 16));
    EXPECT_EQ(ops_of(*m), (Histogram{{"PRelu", 1}, {"Unsqueeze", 1}}));
    EXPECT_EQ(only(*m, "PRelu").inputs[1].node->outputs[0].shape.to_string(), "[1,1,5]");
    expect_output(*m, 0, ElementType::F32, "[2,3,5]");
}

TEST(OnnxOpsMZ, PRelu6SlopeIsPerChannel) {
    auto m =
        read(single_node_model("PRelu", {{"x", F32, {2, 3, 5}}, {"s", F32, {3}}}, {"y"}, {}, 6));
    EXPECT_EQ(ops_of(*m), (Histogram{{"PRelu", 1}}));
}

TEST(OnnxOpsMZ, MeanIsSumOverCount) {
    auto m = read(single_node_model(
        "Mean", {{"a", F32, {2, 3}}, {"b", F32, {3}}, {"c", F32, {1, 3}}}, {"y"}, {}, 13));
    EXPECT_EQ(ops_of(*m), (Histogram{{"Add", 2}, {"Divide", 1}}));
    expect_output(*m, 0, ElementType::F32, "[2,3]");
}

TEST(OnnxOpsMZ, RoiAlign16HalfPixelShiftsByHalf) {
    auto m = read(single_node_model(
        "RoiAlign", {{"x", F32, {1, 3, 8, 8}}, {"r", F32, {4, 4}}, {"b", I64, {4}}}, {"y"},
        [](auto& n) {
            set_attr(n, "output_height", std::int64_t{2});
            set_attr(n, "output_width", std::int64_t{3});
        },
        16));
    const auto& roi = only(*m, "ROIAlign");
    EXPECT_EQ(roi.attrs.get<std::string>("aligned_mode"), "half_pixel_for_nn");
    EXPECT_EQ(roi.attrs.get<std::int64_t>("sampling_ratio"), 0);
    expect_output(*m, 0, ElementType::F32, "[4,3,2,3]");
}

TEST(OnnxOpsMZ, MaxRoiPoolIsRoiPoolingMax) {
    auto m = read(single_node_model(
        "MaxRoiPool", {{"x", F32, {1, 3, 8, 8}}, {"r", F32, {4, 5}}}, {"y"},
        [](auto& n) {
            set_attr(n, "pooled_shape", I64s{2, 3});
        },
        1));
    EXPECT_EQ(only(*m, "ROIPooling").attrs.get<std::string>("method"), "max");
    expect_output(*m, 0, ElementType::F32, "[4,3,2,3]");
}

TEST(OnnxOpsMZ, MelWeightMatrixValuesMatchTheOnnxDefinition) {
    // 4 mel bins between 100 and 8000 Hz, dft_length 64 at 16 kHz: triangles over spectrogram
    // rows 1..19 (expected values from the ONNX reference implementation).
    auto m = read(single_node_model(
        "MelWeightMatrix",
        {{"n", I64, {}}, {"dft", I64, {}}, {"sr", I64, {}}, {"lo", F32, {}}, {"hi", F32, {}}},
        {"y"}, {}, 17,
        {int64_tensor("n", {4}, {}), int64_tensor("dft", {64}, {}), int64_tensor("sr", {16000}, {}),
         float_tensor("lo", {100.0f}, {}), float_tensor("hi", {8000.0f}, {})}));
    const auto* c = producer_of(*m, "y");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->type, "Constant");
    ASSERT_EQ(c->value.shape(), (model::Shape{33, 4}));
    std::vector<float> want(33 * 4, 0.0f);
    const struct {
        int row, col;
        float v;
    } nonzero[] = {{1, 0, 1.0f},      {2, 0, 2.0f / 3},  {2, 1, 1.0f / 3},  {3, 0, 1.0f / 3},
                   {3, 1, 2.0f / 3},  {4, 1, 1.0f},      {5, 1, 2.0f / 3},  {5, 2, 1.0f / 3},
                   {6, 1, 1.0f / 3},  {6, 2, 2.0f / 3},  {7, 2, 1.0f},      {8, 2, 5.0f / 6},
                   {8, 3, 1.0f / 6},  {9, 2, 4.0f / 6},  {9, 3, 2.0f / 6},  {10, 2, 0.5f},
                   {10, 3, 0.5f},     {11, 2, 2.0f / 6}, {11, 3, 4.0f / 6}, {12, 2, 1.0f / 6},
                   {12, 3, 5.0f / 6}, {13, 3, 1.0f},     {14, 3, 6.0f / 7}, {15, 3, 5.0f / 7},
                   {16, 3, 4.0f / 7}, {17, 3, 3.0f / 7}, {18, 3, 2.0f / 7}, {19, 3, 1.0f / 7}};
    for (const auto& e : nonzero)
        want[static_cast<std::size_t>(e.row * 4 + e.col)] = e.v;
    const float* got = c->value.data<float>();
    for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(got[i], want[i], 1e-6) << "row " << i / 4 << " col " << i % 4;
}

TEST(OnnxOpsMZ, Softmax11DynamicShapeFlattensWithShapeOf) {
    auto m = read(single_node_model(
        "Softmax", {{"x", F32, {-1, 3, 4}}}, {"y"},
        [](auto& n) { set_attr(n, "axis", std::int64_t{1}); }, 11));
    EXPECT_EQ(ops_of(*m), (Histogram{{"ShapeOf", 1},
                                     {"Slice", 1},
                                     {"ReduceProd", 1},
                                     {"Concat", 1},
                                     {"Reshape", 2},
                                     {"Softmax", 1}}));
    EXPECT_EQ(out(*m).type, ElementType::F32);
    EXPECT_EQ(out(*m).shape.rank(), 3);
}

TEST(OnnxOpsMZ, Split18NumOutputsLastChunkSmaller) {
    // ceil(7 / 3) = 3: parts 3, 3, 1.
    auto m = read(single_node_model(
        "Split", {{"x", F32, {7}}}, {"a", "b", "c"},
        [](auto& n) { set_attr(n, "num_outputs", std::int64_t{3}); }, 18));
    EXPECT_EQ(ops_of(*m), (Histogram{{"VariadicSplit", 1}}));
    expect_output(*m, 0, ElementType::F32, "[3]");
    expect_output(*m, 1, ElementType::F32, "[3]");
    expect_output(*m, 2, ElementType::F32, "[1]");
}

TEST(OnnxOpsMZ, MaxUnpoolScattersIntoZeros) {
    // Default output: (2 - 1) * 2 + 2 = 4 per spatial dim.
    auto m = read(single_node_model(
        "MaxUnpool", {{"x", F32, {1, 1, 2, 2}}, {"i", I64, {1, 1, 2, 2}}}, {"y"},
        [](auto& n) {
            set_attr(n, "kernel_shape", I64s{2, 2});
            set_attr(n, "strides", I64s{2, 2});
        },
        11));
    EXPECT_EQ(
        ops_of(*m),
        (Histogram{
            {"ReduceProd", 1}, {"Broadcast", 1}, {"Reshape", 3}, {"ScatterElementsUpdate", 1}}));
    expect_output(*m, 0, ElementType::F32, "[1,1,4,4]");
}

TEST(OnnxOpsMZ, QLinearConvPerChannelWeights) {
    auto m = read(single_node_model("QLinearConv",
                                    {{"x", U8, {1, 1, 5, 5}},
                                     {"xs", F32, {}},
                                     {"xz", U8, {}},
                                     {"w", U8, {2, 1, 3, 3}},
                                     {"ws", F32, {2}},
                                     {"wz", U8, {2}},
                                     {"ys", F32, {}},
                                     {"yz", U8, {}}},
                                    {"y"}, {}, 10,
                                    {float_tensor("xs", {0.5f}, {}), u8_tensor("xz", {10}, {}),
                                     float_tensor("ws", {0.1f, 0.2f}), u8_tensor("wz", {0, 3}, {2}),
                                     float_tensor("ys", {0.25f}, {}), u8_tensor("yz", {7}, {})}));
    EXPECT_EQ(ops_of(*m)["Convolution"], 1u);
    EXPECT_EQ(ops_of(*m)["Unsqueeze"], 2u); // w scale and zero point → [2,1,1,1]
    expect_output(*m, 0, ElementType::U8, "[1,2,3,3]");
}

TEST(OnnxOpsMZ, SequenceOpsAreRefused) {
    auto proto = single_node_model("SequenceEmpty", {}, {"y"}, {}, 17);
    expect_error(proto, ErrorKind::UNSUPPORTED, "sequence types are not supported");
}

} // namespace
} // namespace loom::reader::onnx_fe::test
