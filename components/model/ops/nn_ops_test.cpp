// Shape inference of the nn family; expected shapes are computed by hand from OpenVINO's specs.
#include <gtest/gtest.h>

#include <functional>
#include <span>

#include "components/model/op_registry.hpp"
#include "components/model/ops/ops_test_util.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using namespace loom::model::op_test;
using loom::ElementType;
using Ints = std::vector<std::int64_t>;

namespace {

PartialShape ps(std::string_view text) {
    auto s = PartialShape::parse(text);
    EXPECT_TRUE(s.has_value()) << text;
    return s.value_or(PartialShape::dynamic());
}

Attributes conv_attrs(Ints strides, Ints pb, Ints pe, Ints dil, std::string auto_pad = {}) {
    auto a =
        attrs({{"strides", strides}, {"pads_begin", pb}, {"pads_end", pe}, {"dilations", dil}});
    if (!auto_pad.empty()) a.set("auto_pad", auto_pad);
    return a;
}

Attributes pool_attrs(Ints kernel, Ints strides, Ints pb, Ints pe, std::string rounding) {
    return attrs({{"kernel", kernel},
                  {"strides", strides},
                  {"pads_begin", pb},
                  {"pads_end", pe},
                  {"rounding_type", rounding}});
}

class NnOps : public OpsTest {
protected:
    Output param(std::string_view shape, ElementType t = ElementType::F32) {
        return m.add_parameter(t, ps(shape), "p").output();
    }
    Output floats(const std::vector<float>& v) {
        auto& c = m.add_constant(Tensor::copy_of(
            ElementType::F32, {static_cast<std::int64_t>(v.size())}, std::as_bytes(std::span(v))));
        return c.output(); // add_constant types the output
    }
    // Inference must fail with invalid_argument and a message containing `needle`.
    void expect_error(std::string type, std::string version, std::vector<Output> inputs,
                      Attributes a, std::string_view needle) {
        try {
            run(std::move(type), std::move(version), std::move(inputs), std::move(a));
            ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
        } catch (const loom::Error& e) {
            EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT) << e.message();
            EXPECT_NE(e.message().find(needle), std::string::npos) << e.message();
        }
    }
};

} // namespace

TEST(NnOpsRegistry, EveryNnOpIsRegistered) {
    auto r = make_native_registry();
    struct Want {
        const char* type;
        const char* version;
    };
    for (auto [type, version] :
         std::initializer_list<Want>{{"Convolution", "opset1"},
                                     {"GroupConvolution", "opset1"},
                                     {"ConvolutionBackpropData", "opset1"},
                                     {"GroupConvolutionBackpropData", "opset1"},
                                     {"DeformableConvolution", "opset1"},
                                     {"DeformableConvolution", "opset8"},
                                     {"MaxPool", "opset1"},
                                     {"MaxPool", "opset8"},
                                     {"MaxPool", "opset14"},
                                     {"AvgPool", "opset1"},
                                     {"AvgPool", "opset14"},
                                     {"AdaptiveAvgPool", "opset8"},
                                     {"AdaptiveMaxPool", "opset8"},
                                     {"MatMul", "opset1"},
                                     {"Interpolate", "opset1"},
                                     {"Interpolate", "opset4"},
                                     {"Interpolate", "opset11"},
                                     {"DepthToSpace", "opset1"},
                                     {"SpaceToDepth", "opset1"},
                                     {"ShuffleChannels", "opset1"},
                                     {"BatchToSpace", "opset2"},
                                     {"SpaceToBatch", "opset2"},
                                     {"RNNCell", "opset1"},
                                     {"GRUCell", "opset3"},
                                     {"LSTMCell", "opset1"},
                                     {"LSTMCell", "opset4"},
                                     {"RNNSequence", "opset5"},
                                     {"GRUSequence", "opset5"},
                                     {"LSTMSequence", "opset1"},
                                     {"LSTMSequence", "opset5"},
                                     {"ROIAlign", "opset3"},
                                     {"ROIAlign", "opset9"},
                                     {"ROIPooling", "opset2"},
                                     {"GridSample", "opset9"},
                                     {"DFT", "opset7"},
                                     {"IDFT", "opset7"},
                                     {"RDFT", "opset9"},
                                     {"IRDFT", "opset9"}}) {
        const OpSpec* s = r->find(type, version);
        ASSERT_NE(s, nullptr) << type << "-" << version;
        EXPECT_EQ(s->version, version) << type;
        EXPECT_NE(s->infer, nullptr) << type;
    }
    // Later opsets find the newest version not newer than themselves.
    EXPECT_EQ(r->find("MaxPool", "opset13")->version, "opset8");
    EXPECT_EQ(r->find("Interpolate", "opset10")->version, "opset4");
    EXPECT_EQ(r->find("Convolution", "opset13")->version, "opset1");
}

TEST_F(NnOps, ConvolutionOutputShapes) {
    struct Case {
        const char *data, *filters;
        Attributes a;
        const char* want;
    };
    std::vector<Case> cases = {
        // (224 + 3 + 3 - 7) / 2 + 1 = 112
        {"[1,3,224,224]", "[64,3,7,7]", conv_attrs({2, 2}, {3, 3}, {3, 3}, {1, 1}),
         "[1,64,112,112]"},
        // dilated kernel 5: (10 - 5) / 1 + 1 = 6
        {"[1,3,10,10]", "[8,3,3,3]", conv_attrs({1, 1}, {0, 0}, {0, 0}, {2, 2}), "[1,8,6,6]"},
        // asymmetric pads: H (9 + 1 + 0 - 3) / 2 + 1 = 4, W (9 + 0 + 2 - 3) / 2 + 1 = 5
        {"[1,3,9,9]", "[8,3,3,3]", conv_attrs({2, 2}, {1, 0}, {0, 2}, {1, 1}), "[1,8,4,5]"},
        // same_upper: ceil(in / stride), explicit pads ignored
        {"[1,3,15,16]", "[4,3,3,3]", conv_attrs({2, 2}, {5, 5}, {5, 5}, {1, 1}, "same_upper"),
         "[1,4,8,8]"},
        {"[1,3,15,16]", "[4,3,3,3]", conv_attrs({2, 2}, {}, {}, {1, 1}, "same_lower"), "[1,4,8,8]"},
        // valid: no padding, (15 - 3) / 2 + 1 = 7, (16 - 3) / 2 + 1 = 7
        {"[2,3,15,16]", "[4,3,3,3]", conv_attrs({2, 2}, {1, 1}, {1, 1}, {1, 1}, "valid"),
         "[2,4,7,7]"},
        // 1-D: (10 - 3) / 3 + 1 = 3
        {"[1,4,10]", "[2,4,3]", conv_attrs({3}, {0}, {0}, {1}), "[1,2,3]"},
        // 3-D
        {"[1,2,4,6,8]", "[5,2,3,3,3]", conv_attrs({1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
         "[1,5,4,6,8]"},
        // dynamic batch and spatial dim
        {"[?,3,?,32]", "[16,3,3,3]", conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1}), "[?,16,?,32]"},
        // dynamic data rank: rank from the filters
        {"...", "[16,3,3,3]", conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1}), "[?,16,?,?]"},
        // neither rank known: the strides still give it
        {"...", "...", conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1}), "[?,?,?,?]"},
        {"...", "...", conv_attrs({}, {}, {}, {}), "[...]"},
    };
    for (auto& c : cases)
        EXPECT_EQ(shape_of("Convolution", "opset1", {param(c.data), param(c.filters)}, c.a), c.want)
            << c.data << " * " << c.filters;
}

TEST_F(NnOps, GroupConvolution) {
    // G = 2, C_out/G = 6, C_in/G = 4; (10 + 2 - 3) / 1 + 1 = 10
    EXPECT_EQ(shape_of("GroupConvolution", "opset1", {param("[1,8,10,10]"), param("[2,6,4,3,3]")},
                       conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1})),
              "[1,12,10,10]");
    // depthwise: G = 32, 1 in, 1 out per group; stride 2 → (112 + 2 - 3) / 2 + 1 = 56
    EXPECT_EQ(shape_of("GroupConvolution", "opset1",
                       {param("[1,32,112,112]"), param("[32,1,1,3,3]")},
                       conv_attrs({2, 2}, {1, 1}, {1, 1}, {1, 1})),
              "[1,32,56,56]");
    expect_error("GroupConvolution", "opset1", {param("[1,6,10,10]"), param("[2,6,4,3,3]")},
                 conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1}), "input channels");
    expect_error("GroupConvolution", "opset1", {param("[1,8,10,10]"), param("[2,6,4,3]")},
                 conv_attrs({1}, {1}, {1}, {1}), "mismatching ranks");
}

TEST_F(NnOps, ConvolutionBackpropData) {
    auto a = conv_attrs({2, 2}, {1, 1}, {1, 1}, {1, 1});
    a.set("output_padding", Ints{0, 0});
    // 2 * (224 - 1) + 3 - 1 - 1 = 447 (spec example 1)
    EXPECT_EQ(shape_of("ConvolutionBackpropData", "opset1",
                       {param("[1,20,224,224]"), param("[20,10,3,3]")}, a),
              "[1,10,447,447]");
    // output_padding: 3 * (2 - 1) + 3 + 2 = 8 (spec example 2)
    auto b = conv_attrs({3, 3}, {0, 0}, {0, 0}, {1, 1});
    b.set("output_padding", Ints{2, 2});
    EXPECT_EQ(shape_of("ConvolutionBackpropData", "opset1",
                       {param("[1,20,2,2]"), param("[20,10,3,3]")}, b),
              "[1,10,8,8]");
    // auto_pad valid ignores pads: 2 * 3 + 3 = 9
    EXPECT_EQ(shape_of("ConvolutionBackpropData", "opset1",
                       {param("[1,4,4,4]"), param("[4,2,3,3]")},
                       conv_attrs({2, 2}, {1, 1}, {1, 1}, {1, 1}, "valid")),
              "[1,2,9,9]");
    // output_shape input: taken as is (spec example 3)
    auto c = conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1}, "valid");
    EXPECT_EQ(shape_of("ConvolutionBackpropData", "opset1",
                       {param("[1,20,224,224]"), param("[20,10,3,3]"), ints({450, 450})}, c),
              "[1,10,450,450]");
    // output_shape not constant: spatial dims dynamic
    EXPECT_EQ(
        shape_of("ConvolutionBackpropData", "opset1",
                 {param("[1,20,224,224]"), param("[20,10,3,3]"), param("[2]", ElementType::I64)},
                 c),
        "[1,10,?,?]");
    expect_error("ConvolutionBackpropData", "opset1",
                 {param("[1,20,224,224]"), param("[20,10,3,3]"), ints({450, 450, 450})}, c,
                 "output_shape");
    expect_error("ConvolutionBackpropData", "opset1",
                 {param("[1,16,224,224]"), param("[20,10,3,3]")}, a, "input channels");
    // group: G = 2, C_in/G = 2, C_out/G = 3; 2 * (5 - 1) + 3 = 11
    EXPECT_EQ(shape_of("GroupConvolutionBackpropData", "opset1",
                       {param("[1,4,5,5]"), param("[2,2,3,3,3]")},
                       conv_attrs({2, 2}, {0, 0}, {0, 0}, {1, 1})),
              "[1,6,11,11]");
}

TEST_F(NnOps, DeformableConvolution) {
    auto a = conv_attrs({1, 1}, {1, 1}, {1, 1}, {1, 1});
    a.set("group", std::int64_t{2});
    a.set("deformable_group", std::int64_t{1});
    // filters [C_out, C_in / group, kH, kW]; offsets carry 2 * 1 * 3 * 3 = 18 channels
    EXPECT_EQ(
        shape_of("DeformableConvolution", "opset8",
                 {param("[1,4,8,8]"), param("[1,18,8,8]"), param("[6,2,3,3]"), param("[1,9,8,8]")},
                 a),
        "[1,6,8,8]");
    expect_error("DeformableConvolution", "opset1",
                 {param("[1,4,8,8]"), param("[1,16,8,8]"), param("[6,2,3,3]")}, a, "offsets");
}

TEST_F(NnOps, ConvolutionErrors) {
    auto a = conv_attrs({1, 1}, {0, 0}, {0, 0}, {1, 1});
    expect_error("Convolution", "opset1", {param("[1,3,8,8]"), param("[4,5,3,3]")}, a,
                 "input channels");
    expect_error("Convolution", "opset1", {param("[1,3,8,8]"), param("[4,3,3]")}, a,
                 "mismatching ranks");
    expect_error("Convolution", "opset1", {param("[3,8]"), param("[4,3,3]")}, a, "rank 3");
    expect_error("Convolution", "opset1", {param("[1,3,8,8]"), param("[4,3,3,3]")},
                 conv_attrs({1, 1}, {0, 0}, {0, 0}, {1, 1}, "same"), "auto_pad");
    expect_error("Convolution", "opset1", {param("[1,3,8,8]"), param("[4,3,3,3]")},
                 conv_attrs({1}, {0, 0}, {0, 0}, {1, 1}), "strides");
    expect_error("Convolution", "opset1", {param("[1,3,8,8]"), param("[4,3,3,3]")},
                 conv_attrs({0, 1}, {0, 0}, {0, 0}, {1, 1}), "positive");
    expect_error("Convolution", "opset1", {param("[1,3,2,8]"), param("[4,3,3,3]")}, a,
                 "smaller than the dilated kernel");
    // a kernel whose dilated size overflows is refused, not wrapped
    expect_error("Convolution", "opset1", {param("[1,3,8,8]"), param("[4,3,1099511627776,3]")},
                 conv_attrs({1, 1}, {0, 0}, {0, 0}, {std::int64_t{1} << 39, 1}), "out of range");
    expect_error("Convolution", "opset1",
                 {param("[1,3,8,8]"), param("[4,3,3,3]", ElementType::F16)}, a, "element types");
}

TEST_F(NnOps, Pooling) {
    // floor: (32 - 3) / 2 + 1 = 15; ceil: ceil(29 / 2) + 1 = 16
    EXPECT_EQ(shape_of("MaxPool", "opset1", {param("[1,3,32,32]")},
                       pool_attrs({3, 3}, {2, 2}, {0, 0}, {0, 0}, "floor")),
              "[1,3,15,15]");
    EXPECT_EQ(shape_of("MaxPool", "opset1", {param("[1,3,32,32]")},
                       pool_attrs({3, 3}, {2, 2}, {0, 0}, {0, 0}, "ceil")),
              "[1,3,16,16]");
    // opset8: dilation 2 → window 5: (32 - 5) / 2 + 1 = 14; indices of index_element_type
    auto a8 = pool_attrs({3, 3}, {2, 2}, {0, 0}, {0, 0}, "floor");
    a8.set("dilations", Ints{2, 2});
    a8.set("index_element_type", ElementType::I32);
    auto& n = run("MaxPool", "opset8", {param("[1,3,32,?]")}, a8);
    ASSERT_EQ(n.outputs.size(), 2u);
    EXPECT_EQ(n.outputs[0].shape.to_string(), "[1,3,14,?]");
    EXPECT_EQ(n.outputs[1].shape.to_string(), "[1,3,14,?]");
    EXPECT_EQ(n.outputs[1].type, ElementType::I32);
    // ceil_torch drops a last window starting in the end padding:
    // ceil: ceil((5 + 2 - 2) / 2) + 1 = 4; ceil_torch: (4 - 1) * 2 = 6 ≥ 5 + 1 → 3
    auto t = pool_attrs({2, 2}, {2, 2}, {1, 1}, {1, 1}, "ceil");
    EXPECT_EQ(shape_of("MaxPool", "opset14", {param("[1,1,5,5]")}, t), "[1,1,4,4]");
    t.set("rounding_type", std::string("ceil_torch"));
    EXPECT_EQ(shape_of("MaxPool", "opset14", {param("[1,1,5,5]")}, t), "[1,1,3,3]");
    expect_error("MaxPool", "opset8", {param("[1,1,5,5]")}, t, "rounding_type");
    // AvgPool: (7 + 2 - 3) / 2 + 1 = 4; same_upper: ceil(7 / 2) = 4, ceil(8 / 2) = 4
    auto avg = pool_attrs({3, 3}, {2, 2}, {1, 1}, {1, 1}, "floor");
    avg.set("exclude-pad", true);
    EXPECT_EQ(shape_of("AvgPool", "opset1", {param("[1,3,7,7]")}, avg), "[1,3,4,4]");
    avg.set("auto_pad", std::string("same_upper"));
    EXPECT_EQ(shape_of("AvgPool", "opset1", {param("[2,3,7,8]")}, avg), "[2,3,4,4]");
    avg.set("auto_pad", std::string("valid")); // (7 - 3) / 2 + 1 = 3
    EXPECT_EQ(shape_of("AvgPool", "opset1", {param("[2,3,7,8]")}, avg), "[2,3,3,3]");
    EXPECT_EQ(shape_of("AvgPool", "opset1", {param("...")}, avg), "[?,?,?,?]");
    expect_error("AvgPool", "opset1", {param("[1,3,7]")}, avg, "rank 4");
    avg.set("rounding_type", std::string("ceil_torch"));
    expect_error("AvgPool", "opset1", {param("[1,3,7,7]")}, avg, "rounding_type");
    // Adaptive pools take the spatial dims from output_shape
    EXPECT_EQ(shape_of("AdaptiveAvgPool", "opset8", {param("[2,3,17,9]"), ints({4, 5})}),
              "[2,3,4,5]");
    auto& amp = run("AdaptiveMaxPool", "opset8", {param("[2,3,17]"), ints({4})});
    EXPECT_EQ(amp.outputs[1].shape.to_string(), "[2,3,4]");
    EXPECT_EQ(amp.outputs[1].type, ElementType::I64);
}

TEST_F(NnOps, MatMul) {
    struct Case {
        const char *a, *b;
        bool ta, tb;
        const char* want;
    };
    std::vector<Case> cases = {
        {"[2,3]", "[3,4]", false, false, "[2,4]"},
        {"[3,2]", "[3,4]", true, false, "[2,4]"},
        {"[2,3]", "[4,3]", false, true, "[2,4]"},
        {"[3,2]", "[4,3]", true, true, "[2,4]"},
        // 1-D operands: [K] · [K, N] → [N], [M, K] · [K] → [M], [K] · [K] → scalar
        {"[3]", "[3,4]", false, false, "[4]"},
        {"[2,3]", "[3]", false, false, "[2]"},
        {"[3]", "[3]", false, false, "[]"},
        {"[3]", "[3]", true, true, "[]"}, // transposes are ignored for 1-D
        {"[5,2,3]", "[3]", false, false, "[5,2]"},
        {"[3]", "[5,3,4]", false, false, "[5,4]"},
        // batch broadcast
        {"[2,1,4,3]", "[5,3,6]", false, false, "[2,5,4,6]"},
        {"[7,4,3]", "[3,6]", false, false, "[7,4,6]"},
        {"[1,4,3]", "[7,6,3]", false, true, "[7,4,6]"},
        // dynamic dims
        {"[?,4,3]", "[3,6]", false, false, "[?,4,6]"},
        {"[?,4,3]", "[1,3,6]", false, false, "[?,4,6]"},
        {"[?,4,?]", "[2,3,?]", false, false, "[2,4,?]"},
        {"...", "[3,6]", false, false, "[...]"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(shape_of("MatMul", "opset1", {param(c.a), param(c.b)},
                           attrs({{"transpose_a", c.ta}, {"transpose_b", c.tb}})),
                  c.want)
            << c.a << " x " << c.b << " ta=" << c.ta << " tb=" << c.tb;
    expect_error("MatMul", "opset1", {param("[2,3]"), param("[4,5]")}, {}, "inner dimensions");
    expect_error("MatMul", "opset1", {param("[2,3,4]"), param("[3,4,5]")}, {}, "broadcast");
    expect_error("MatMul", "opset1", {param("[]"), param("[3]")}, {}, "rank 1");
}

TEST_F(NnOps, Interpolate4And11) {
    auto a =
        attrs({{"mode", std::string("linear")}, {"shape_calculation_mode", std::string("sizes")}});
    // sizes on axes 2, 3
    EXPECT_EQ(shape_of("Interpolate", "opset4",
                       {param("[1,3,10,20]"), ints({20, 40}), floats({2, 2}), ints({2, 3})}, a),
              "[1,3,20,40]");
    // sizes not constant: interpolated axes dynamic
    EXPECT_EQ(shape_of("Interpolate", "opset4",
                       {param("[1,3,10,20]"), param("[2]", ElementType::I64), floats({2, 2}),
                        ints({2, 3})},
                       a),
              "[1,3,?,?]");
    a.set("shape_calculation_mode", std::string("scales"));
    // floor(10 * 1.5) = 15, floor(20 * 0.3333) = 6
    EXPECT_EQ(shape_of("Interpolate", "opset4",
                       {param("[1,3,10,20]"), ints({1, 1}), floats({1.5f, 0.3333f}), ints({2, 3})},
                       a),
              "[1,3,15,6]");
    // 1/3 of 9 is 3 despite rounding in the f32 scale
    EXPECT_EQ(
        shape_of("Interpolate", "opset4",
                 {param("[1,3,9,9]"), ints({1, 1}), floats({1.0f / 3, 1.0f / 3}), ints({-2, -1})},
                 a),
        "[1,3,3,3]");
    // pads apply to every axis before scaling: (10 + 2) * 2 = 24, (20 + 2) * 2 = 44, 3 + 1 = 4
    auto p = a;
    p.set("pads_begin", Ints{0, 1, 1, 1});
    p.set("pads_end", Ints{0, 0, 1, 1});
    EXPECT_EQ(shape_of("Interpolate", "opset4",
                       {param("[1,3,10,20]"), ints({1, 1}), floats({2, 2}), ints({2, 3})}, p),
              "[1,4,24,44]");
    // no axes input: one scale per axis
    EXPECT_EQ(shape_of("Interpolate", "opset4",
                       {param("[1,3,10,20]"), ints({1, 3, 1, 1}), floats({1, 1, 2, 0.5f})}, a),
              "[1,3,20,10]");
    expect_error("Interpolate", "opset4",
                 {param("[1,3,10,20]"), ints({1}), floats({2}), ints({2, 3})}, a, "axes");
    auto pillow = a;
    pillow.set("mode", std::string("bilinear_pillow"));
    expect_error("Interpolate", "opset4",
                 {param("[1,3,10,20]"), ints({1, 1}), floats({2, 2}), ints({2, 3})}, pillow,
                 "mode");

    // opset11: one scales_or_sizes input
    EXPECT_EQ(shape_of("Interpolate", "opset11",
                       {param("[1,3,10,20]"), floats({2, 0.5f}), ints({2, 3})}, pillow),
              "[1,3,20,10]");
    auto s11 =
        attrs({{"mode", std::string("nearest")}, {"shape_calculation_mode", std::string("sizes")}});
    EXPECT_EQ(
        shape_of("Interpolate", "opset11", {param("[1,3,10,20]"), ints({5, 7}), ints({2, 3})}, s11),
        "[1,3,5,7]");
    EXPECT_EQ(shape_of("Interpolate", "opset11", {param("[?,3,10,20]"), ints({2, 3, 5, 7})}, s11),
              "[2,3,5,7]");
    EXPECT_EQ(shape_of("Interpolate", "opset11",
                       {param("[1,3,10,20]"), ints({5, 7}), param("[2]", ElementType::I64)}, s11),
              "[?,?,?,?]");
    s11.set("shape_calculation_mode", std::string("size"));
    expect_error("Interpolate", "opset11", {param("[1,3,10,20]"), ints({5, 7}), ints({2, 3})}, s11,
                 "shape_calculation_mode");
    // opset1: target_spatial_shape on the listed axes
    EXPECT_EQ(shape_of("Interpolate", "opset1", {param("[1,3,10,20]"), ints({30, 40})},
                       attrs({{"axes", Ints{2, 3}}, {"mode", std::string("nearest")}})),
              "[1,3,30,40]");
}

TEST_F(NnOps, LstmSequence) {
    // batch 2, seq 5, input 10, hidden 16, bidirectional → 4 * 16 = 64 gate rows
    auto a =
        attrs({{"hidden_size", std::int64_t{16}}, {"direction", std::string("bidirectional")}});
    auto& n = run("LSTMSequence", "opset5",
                  {param("[2,5,10]"), param("[2,2,16]"), param("[2,2,16]"),
                   param("[2]", ElementType::I32), param("[2,64,10]"), param("[2,64,16]"),
                   param("[2,64]")},
                  a);
    ASSERT_EQ(n.outputs.size(), 3u);
    EXPECT_EQ(n.outputs[0].shape.to_string(), "[2,2,5,16]");
    EXPECT_EQ(n.outputs[1].shape.to_string(), "[2,2,16]");
    EXPECT_EQ(n.outputs[2].shape.to_string(), "[2,2,16]");
    // batch found from the states when X's is dynamic
    auto f = attrs({{"hidden_size", std::int64_t{16}}, {"direction", std::string("forward")}});
    auto& d = run("LSTMSequence", "opset5",
                  {param("[?,?,10]"), param("[3,1,16]"), param("[?,1,16]"),
                   param("[?]", ElementType::I32), param("[1,64,10]"), param("[1,64,16]"),
                   param("[1,64]")},
                  f);
    EXPECT_EQ(d.outputs[0].shape.to_string(), "[3,1,?,16]");
    expect_error("LSTMSequence", "opset5",
                 {param("[2,5,10]"), param("[2,2,16]"), param("[2,2,16]"),
                  param("[2]", ElementType::I32), param("[2,60,10]"), param("[2,64,16]"),
                  param("[2,64]")},
                 a, "W [2,60,10]");
    expect_error("LSTMSequence", "opset5",
                 {param("[2,5,10]"), param("[2,1,16]"), param("[2,1,16]"),
                  param("[2]", ElementType::I32), param("[1,64,10]"), param("[1,64,16]"),
                  param("[1,64]")},
                 attrs({{"hidden_size", std::int64_t{16}}, {"direction", std::string("both")}}),
                 "direction");
    // GRU with linear_before_reset: B has 4 * hidden values
    auto g = attrs({{"hidden_size", std::int64_t{8}},
                    {"direction", std::string("reverse")},
                    {"linear_before_reset", true}});
    auto& gru = run("GRUSequence", "opset5",
                    {param("[4,6,3]"), param("[4,1,8]"), param("[4]", ElementType::I32),
                     param("[1,24,3]"), param("[1,24,8]"), param("[1,32]")},
                    g);
    EXPECT_EQ(gru.outputs[0].shape.to_string(), "[4,1,6,8]");
    EXPECT_EQ(gru.outputs[1].shape.to_string(), "[4,1,8]");
    // cells
    auto& cell = run("LSTMCell", "opset4",
                     {param("[2,10]"), param("[2,16]"), param("[2,16]"), param("[64,10]"),
                      param("[64,16]"), param("[64]")},
                     attrs({{"hidden_size", std::int64_t{16}}}));
    EXPECT_EQ(cell.outputs[1].shape.to_string(), "[2,16]");
    auto h4 = attrs({{"hidden_size", std::int64_t{4}}});
    EXPECT_EQ(
        shape_of("RNNCell", "opset1",
                 {param("[3,5]"), param("[3,4]"), param("[4,5]"), param("[4,4]"), param("[4]")},
                 h4),
        "[3,4]");
    EXPECT_EQ(
        shape_of("GRUCell", "opset3",
                 {param("[?,5]"), param("[3,4]"), param("[12,5]"), param("[12,4]"), param("[12]")},
                 h4),
        "[3,4]");
    expect_error("GRUCell", "opset3",
                 {param("[2,5]"), param("[3,4]"), param("[12,5]"), param("[12,4]")}, h4,
                 "batch size");
    h4.set("activations", std::vector<std::string>{"sigmoid", "softplus"});
    expect_error("GRUCell", "opset3",
                 {param("[3,5]"), param("[3,4]"), param("[12,5]"), param("[12,4]")}, h4,
                 "softplus");
}

TEST_F(NnOps, DepthSpaceAndBatchSpace) {
    auto a = attrs({{"mode", std::string("blocks_first")}, {"block_size", std::int64_t{2}}});
    // C / 2^2, spatial × 2
    EXPECT_EQ(shape_of("DepthToSpace", "opset1", {param("[1,8,2,3]")}, a), "[1,2,4,6]");
    EXPECT_EQ(shape_of("DepthToSpace", "opset1", {param("[1,16,2,3,?]")}, a), "[1,2,4,6,?]");
    EXPECT_EQ(shape_of("SpaceToDepth", "opset1", {param("[1,2,4,6]")}, a), "[1,8,2,3]");
    expect_error("DepthToSpace", "opset1", {param("[1,6,2,3]")}, a, "divisible");
    expect_error("SpaceToDepth", "opset1", {param("[1,2,5,6]")}, a, "divisible");
    expect_error("DepthToSpace", "opset1", {param("[1,8,2,3]")},
                 attrs({{"mode", std::string("first")}}), "mode");
    // BatchToSpace: batch 8 / (2 * 2), dims × block − crops
    EXPECT_EQ(
        shape_of("BatchToSpace", "opset2",
                 {param("[8,3,4,4]"), ints({1, 1, 2, 2}), ints({0, 0, 1, 0}), ints({0, 0, 0, 1})}),
        "[2,3,7,7]");
    EXPECT_EQ(
        shape_of("SpaceToBatch", "opset2",
                 {param("[2,3,7,7]"), ints({1, 1, 2, 2}), ints({0, 0, 1, 0}), ints({0, 0, 0, 1})}),
        "[8,3,4,4]");
    EXPECT_EQ(shape_of("ShuffleChannels", "opset1", {param("[1,12,4]")},
                       attrs({{"group", std::int64_t{3}}})),
              "[1,12,4]");
    expect_error("ShuffleChannels", "opset1", {param("[1,10,4]")},
                 attrs({{"group", std::int64_t{3}}}), "divisible");
}

TEST_F(NnOps, RoiGridAndDft) {
    auto roi = attrs({{"pooled_h", std::int64_t{7}},
                      {"pooled_w", std::int64_t{5}},
                      {"sampling_ratio", std::int64_t{2}},
                      {"spatial_scale", 0.0625},
                      {"mode", std::string("avg")}});
    EXPECT_EQ(shape_of("ROIAlign", "opset9",
                       {param("[2,256,32,32]"), param("[100,4]"), param("[?]", ElementType::I32)},
                       roi),
              "[100,256,7,5]");
    EXPECT_EQ(shape_of("ROIPooling", "opset2", {param("[2,256,32,32]"), param("[10,5]")},
                       attrs({{"pooled_h", std::int64_t{6}},
                              {"pooled_w", std::int64_t{6}},
                              {"spatial_scale", 0.0625}})),
              "[10,256,6,6]");
    expect_error("ROIAlign", "opset3",
                 {param("[2,256,32,32]"), param("[100,5]"), param("[100]", ElementType::I32)}, roi,
                 "rois");
    EXPECT_EQ(shape_of("GridSample", "opset9", {param("[2,3,32,32]"), param("[2,10,12,2]")}),
              "[2,3,10,12]");
    expect_error("GridSample", "opset9", {param("[2,3,32,32]"), param("[2,10,12,3]")}, {}, "grid");
    // DFT over axes 1, 2 with signal_size [-1, 8]
    EXPECT_EQ(shape_of("DFT", "opset7", {param("[4,6,10,2]"), ints({1, 2}), ints({-1, 8})}),
              "[4,6,8,2]");
    // RDFT: last axis n/2 + 1, complex pair appended
    EXPECT_EQ(shape_of("RDFT", "opset9", {param("[4,6,10]"), ints({1, 2})}), "[4,6,6,2]");
    // IRDFT: last axis 2 * (n - 1)
    EXPECT_EQ(shape_of("IRDFT", "opset9", {param("[4,6,6,2]"), ints({1, 2})}), "[4,6,10]");
    expect_error("DFT", "opset7", {param("[4,6,10]"), ints({1})}, {}, "last dimension 2");
}
