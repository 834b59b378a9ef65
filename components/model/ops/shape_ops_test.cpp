// Shape inference of the shape ops; expected shapes are worked out by hand from OpenVINO's
// operation specification.
#include <gtest/gtest.h>

#include <limits>

#include "components/model/op_registry.hpp"
#include "components/model/ops/ops_test_util.hpp"
#include "schemas/error.hpp"

using namespace loom::model;
using namespace loom::model::op_test;
using loom::ElementType;

namespace {

using Ints = std::vector<std::int64_t>;

class ShapeOps : public OpsTest {
protected:
    Output param(std::string_view shape, ElementType type = ElementType::F32) {
        auto s = PartialShape::parse(shape);
        EXPECT_TRUE(s) << shape;
        return m.add_parameter(type, *s, "p" + std::to_string(m.size())).output();
    }
    Output scalar_f32(float v) {
        return m
            .add_constant(Tensor::copy_of(ElementType::F32, {}, std::as_bytes(std::span(&v, 1))))
            .output();
    }
};

bool has(const std::string& text, std::string_view needle) {
    return text.find(needle) != std::string::npos;
}

constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k_min = std::numeric_limits<std::int64_t>::min();

} // namespace

TEST(NativeOps, ShapeOpsAreRegistered) {
    auto r = make_native_registry();
    for (auto [type, version] : std::initializer_list<std::pair<const char*, const char*>>{
             {"Reshape", "opset1"},
             {"Squeeze", "opset1"},
             {"Unsqueeze", "opset1"},
             {"Transpose", "opset1"},
             {"Concat", "opset1"},
             {"Split", "opset1"},
             {"VariadicSplit", "opset1"},
             {"Gather", "opset1"},
             {"Gather", "opset7"},
             {"Gather", "opset8"},
             {"GatherElements", "opset6"},
             {"GatherND", "opset5"},
             {"GatherND", "opset8"},
             {"GatherTree", "opset1"},
             {"ScatterUpdate", "opset3"},
             {"ScatterElementsUpdate", "opset3"},
             {"ScatterElementsUpdate", "opset12"},
             {"ScatterNDUpdate", "opset3"},
             {"ScatterNDUpdate", "opset15"},
             {"Broadcast", "opset1"},
             {"Broadcast", "opset3"},
             {"Tile", "opset1"},
             {"Pad", "opset1"},
             {"Pad", "opset12"},
             {"Slice", "opset8"},
             {"StridedSlice", "opset1"},
             {"Range", "opset1"},
             {"Range", "opset4"},
             {"OneHot", "opset1"},
             {"ReverseSequence", "opset1"},
             {"Reverse", "opset1"},
             {"Roll", "opset7"},
             {"Einsum", "opset7"},
             {"Eye", "opset9"},
             {"Bucketize", "opset3"},
             {"ExtractImagePatches", "opset3"},
             {"CTCGreedyDecoder", "opset1"},
             {"CTCGreedyDecoderSeqLen", "opset6"}}) {
        const OpSpec* spec = r->find(type, "opset13");
        ASSERT_NE(spec, nullptr) << type;
        bool found = false;
        for (const auto* s : r->versions(type))
            found |= s->version == version;
        EXPECT_TRUE(found) << type << " " << version;
    }
    EXPECT_EQ(r->find("Gather", "opset7")->version, "opset7");
    EXPECT_EQ(r->find("Pad", "opset11")->version, "opset1");
    EXPECT_EQ(r->find("StridedSlice", "opset1")->find_attr("begin_mask")->kind, AttrKind::Ints);
    EXPECT_EQ(r->find("Range", "opset4")->find_attr("output_type")->kind, AttrKind::Type);
}

TEST_F(ShapeOps, ReshapeSpecialZeroAndMinusOne) {
    auto sz = [](bool v) { return attrs({{"special_zero", v}}); };
    EXPECT_EQ(shape_of("Reshape", "opset1", {param("2,3,4"), ints({0, -1})}, sz(true)), "[2,12]");
    EXPECT_EQ(shape_of("Reshape", "opset1", {param("2,3,4"), ints({-1, 4})}, sz(false)), "[6,4]");
    EXPECT_EQ(shape_of("Reshape", "opset1", {param("?,3,4"), ints({0, -1})}, sz(true)), "[?,12]");
    EXPECT_EQ(shape_of("Reshape", "opset1", {param("?,3,4"), ints({0, 0, 2, 2})}, sz(true)),
              "[?,3,2,2]");
    // Without special_zero a 0 is a zero-length dimension.
    EXPECT_EQ(shape_of("Reshape", "opset1", {param("0,3"), ints({0, 5})}, sz(false)), "[0,5]");
    // A target that is not constant gives the rank from its length.
    EXPECT_EQ(
        shape_of("Reshape", "opset1", {param("2,3,4"), param("3", ElementType::I64)}, sz(false)),
        "[?,?,?]");
}

TEST_F(ShapeOps, ReshapeErrors) {
    auto msg = error_of("Reshape", "opset1", {param("2,3,4"), ints({5, -1})},
                        attrs({{"special_zero", false}}));
    EXPECT_TRUE(has(msg, "cannot reshape [2,3,4]")) << msg;
    msg = error_of("Reshape", "opset1", {param("2,3,4"), ints({5, 5})},
                   attrs({{"special_zero", false}}));
    EXPECT_TRUE(has(msg, "element counts differ")) << msg;
    msg = error_of("Reshape", "opset1", {param("2,3"), ints({-1, -1})},
                   attrs({{"special_zero", false}}));
    EXPECT_TRUE(has(msg, "more than one -1")) << msg;
    msg =
        error_of("Reshape", "opset1", {param("6"), ints({6, 0})}, attrs({{"special_zero", true}}));
    EXPECT_TRUE(has(msg, "special_zero")) << msg;
    msg = error_of("Reshape", "opset1", {param("6"), ints({6})});
    EXPECT_TRUE(has(msg, "special_zero")) << msg; // required attribute missing
    // Found by fuzz_onnx: a target whose element count overflows 64 bits.
    msg = error_of("Reshape", "opset1", {param("6"), ints({648518346341351433, 262148, -1})},
                   attrs({{"special_zero", false}}));
    EXPECT_TRUE(has(msg, "more elements than 64 bits")) << msg;
}

TEST_F(ShapeOps, SqueezeAndUnsqueeze) {
    EXPECT_EQ(shape_of("Squeeze", "opset1", {param("1,3,1,2")}), "[3,2]");
    EXPECT_EQ(shape_of("Squeeze", "opset1", {param("1,3,1,2"), ints({0})}), "[3,1,2]");
    EXPECT_EQ(shape_of("Squeeze", "opset1", {param("1,3,1,2"), ints({-2})}), "[1,3,2]");
    EXPECT_EQ(shape_of("Squeeze", "opset1", {param("?,3,1"), ints({2})}), "[?,3]");
    // A dynamic dim might be 1: without axes the rank is unknown.
    EXPECT_EQ(shape_of("Squeeze", "opset1", {param("?,3")}), "[...]");
    auto msg = error_of("Squeeze", "opset1", {param("1,3"), ints({1})});
    EXPECT_TRUE(has(msg, "only dimensions of 1")) << msg;
    EXPECT_EQ(shape_of("Unsqueeze", "opset1", {param("3,4"), ints({0, 3})}), "[1,3,4,1]");
    EXPECT_EQ(shape_of("Unsqueeze", "opset1", {param("3,4"), ints({-1})}), "[3,4,1]");
    EXPECT_EQ(shape_of("Unsqueeze", "opset1", {param("3,?"), ints({1})}), "[3,1,?]");
    msg = error_of("Unsqueeze", "opset1", {param("3,4"), ints({5})});
    EXPECT_TRUE(has(msg, "out of range")) << msg;
}

TEST_F(ShapeOps, Transpose) {
    EXPECT_EQ(shape_of("Transpose", "opset1", {param("2,3,4"), ints({2, 0, 1})}), "[4,2,3]");
    EXPECT_EQ(shape_of("Transpose", "opset1", {param("2,?,4"), ints({})}), "[4,?,2]");
    EXPECT_EQ(shape_of("Transpose", "opset1", {param("2,3"), param("2", ElementType::I64)}),
              "[?,?]");
    auto msg = error_of("Transpose", "opset1", {param("2,3,4"), ints({0, 0, 1})});
    EXPECT_TRUE(has(msg, "not a permutation")) << msg;
}

TEST_F(ShapeOps, ConcatMergesDynamicDims) {
    auto ax = [](std::int64_t a) { return attrs({{"axis", a}}); };
    EXPECT_EQ(shape_of("Concat", "opset1", {param("2,?,4"), param("3,5,?")}, ax(0)), "[5,5,4]");
    EXPECT_EQ(shape_of("Concat", "opset1", {param("2,3"), param("2,4"), param("2,1")}, ax(-1)),
              "[2,8]");
    EXPECT_EQ(shape_of("Concat", "opset1", {param("2,?"), param("2,4")}, ax(1)), "[2,4..]");
    auto msg = error_of("Concat", "opset1", {param("2,3"), param("2,4")}, ax(2));
    EXPECT_TRUE(has(msg, "Concat axis 2 is out of range")) << msg;
    msg = error_of("Concat", "opset1", {param("2,3"), param("3,4")}, ax(1));
    EXPECT_TRUE(has(msg, "incompatible")) << msg;
    msg = error_of("Concat", "opset1", {param("2,3"), param("2,3", ElementType::I32)}, ax(0));
    EXPECT_TRUE(has(msg, "different element types")) << msg;
}

TEST_F(ShapeOps, SplitAndVariadicSplit) {
    auto& s =
        run("Split", "opset1", {param("6,4"), scalar(0)}, attrs({{"num_splits", std::int64_t(3)}}));
    ASSERT_EQ(s.outputs.size(), 3u);
    for (const auto& o : s.outputs)
        EXPECT_EQ(o.shape.to_string(), "[2,4]");
    auto msg = error_of("Split", "opset1", {param("6,4"), scalar(1)},
                        attrs({{"num_splits", std::int64_t(3)}}));
    EXPECT_TRUE(has(msg, "not divisible")) << msg;
    msg = error_of("Split", "opset1", {param(""), scalar(0)},
                   attrs({{"num_splits", std::int64_t(1)}}));
    EXPECT_TRUE(has(msg, "not a scalar")) << msg;
    auto& v = run("VariadicSplit", "opset1", {param("10,4"), scalar(0), ints({2, -1, 3})});
    ASSERT_EQ(v.outputs.size(), 3u);
    EXPECT_EQ(v.outputs[0].shape.to_string(), "[2,4]");
    EXPECT_EQ(v.outputs[1].shape.to_string(), "[5,4]");
    EXPECT_EQ(v.outputs[2].shape.to_string(), "[3,4]");
    msg = error_of("VariadicSplit", "opset1", {param("10,4"), scalar(-1), ints({1, 2})});
    EXPECT_TRUE(has(msg, "do not add up")) << msg;
}

TEST_F(ShapeOps, GatherFamily) {
    EXPECT_EQ(
        shape_of("Gather", "opset1", {param("5,6"), param("2,3", ElementType::I64), scalar(0)}),
        "[2,3,6]");
    EXPECT_EQ(shape_of("Gather", "opset8",
                       {param("3,4,5"), param("3,2", ElementType::I64), scalar(1)},
                       attrs({{"batch_dims", std::int64_t(1)}})),
              "[3,2,5]");
    EXPECT_EQ(shape_of("Gather", "opset8",
                       {param("3,4,5"), param("3,2", ElementType::I64), scalar(-1)},
                       attrs({{"batch_dims", std::int64_t(-1)}})),
              "[3,4,2]");
    EXPECT_EQ(shape_of("Gather", "opset7", {param("3,4"), param("", ElementType::I64), scalar(1)}),
              "[3]");
    auto msg =
        error_of("Gather", "opset8", {param("3,4,5"), param("3,2", ElementType::I64), scalar(0)},
                 attrs({{"batch_dims", std::int64_t(1)}}));
    EXPECT_TRUE(has(msg, "less than batch_dims")) << msg;
    EXPECT_EQ(shape_of("GatherElements", "opset6", {param("3,4"), param("3,7", ElementType::I64)},
                       attrs({{"axis", std::int64_t(1)}})),
              "[3,7]");
    // GatherND: opset5 folds the batch dims into one, opset8 keeps them.
    EXPECT_EQ(shape_of("GatherND", "opset5", {param("2,3,4,5"), param("2,3,7,1", ElementType::I64)},
                       attrs({{"batch_dims", std::int64_t(2)}})),
              "[6,7,5]");
    EXPECT_EQ(shape_of("GatherND", "opset8", {param("2,3,4,5"), param("2,3,7,1", ElementType::I64)},
                       attrs({{"batch_dims", std::int64_t(2)}})),
              "[2,3,7,5]");
    EXPECT_EQ(shape_of("GatherND", "opset8", {param("4,5,6"), param("3,2", ElementType::I64)}),
              "[3,6]");
    EXPECT_EQ(shape_of("ScatterUpdate", "opset3",
                       {param("4,5"), param("2", ElementType::I64), param("2,5"), scalar(0)}),
              "[4,5]");
    EXPECT_EQ(shape_of("ScatterNDUpdate", "opset3",
                       {param("4,5,6"), param("3,2", ElementType::I64), param("3,6")}),
              "[4,5,6]");
    auto bad = error_of("ScatterNDUpdate", "opset3",
                        {param("4,5,6"), param("3,2", ElementType::I64), param("3,5")});
    EXPECT_TRUE(has(bad, "need [3,6]")) << bad;
    bad = error_of("ScatterUpdate", "opset3",
                   {param("4,5"), param("2", ElementType::I64), param("2,4"), scalar(0)});
    EXPECT_TRUE(has(bad, "need [2,5]")) << bad;
}

TEST_F(ShapeOps, BroadcastModes) {
    auto mode = [](const char* value) { return attrs({{"mode", std::string(value)}}); };
    EXPECT_EQ(shape_of("Broadcast", "opset3", {param("3,1"), ints({2, 3, 4})}, mode("numpy")),
              "[2,3,4]");
    EXPECT_EQ(
        shape_of("Broadcast", "opset3", {param("3,1"), ints({2, 1, 4})}, mode("bidirectional")),
        "[2,3,4]");
    EXPECT_EQ(
        shape_of("Broadcast", "opset1", {param("3"), ints({2, 3}), ints({1})}, mode("explicit")),
        "[2,3]");
    // A non-constant target gives the rank; numpy mode pins the data's trailing dim.
    EXPECT_EQ(shape_of("Broadcast", "opset1", {param("3"), param("4", ElementType::I64)}),
              "[?,?,?,3]");
    auto msg = error_of("Broadcast", "opset3", {param("3,2"), ints({2, 3, 4})}, mode("numpy"));
    EXPECT_TRUE(has(msg, "does not broadcast")) << msg;
    msg = error_of("Broadcast", "opset1", {param("3,1"), ints({2, 1, 4})}, mode("bidirectional"));
    EXPECT_TRUE(has(msg, "opset3")) << msg;
    msg = error_of("Broadcast", "opset1", {param("3"), ints({2, 3})}, mode("explicit"));
    EXPECT_TRUE(has(msg, "axes_mapping")) << msg;
}

TEST_F(ShapeOps, TilePadOneHotEye) {
    EXPECT_EQ(shape_of("Tile", "opset1", {param("2,3"), ints({2, 1, 2})}), "[2,2,6]");
    EXPECT_EQ(shape_of("Pad", "opset1", {param("1,3,4"), ints({0, 1, 2}), ints({0, 1, 0})},
                       attrs({{"pad_mode", std::string("constant")}})),
              "[1,5,6]");
    EXPECT_EQ(shape_of("Pad", "opset12", {param("1,3,?"), ints({0, -1, 1}), ints({0, 0, 1})},
                       attrs({{"pad_mode", std::string("edge")}})),
              "[1,2,2..]");
    auto msg = error_of("Pad", "opset1", {param("1,3,4"), ints({0, -1, 0}), ints({0, 0, 0})},
                        attrs({{"pad_mode", std::string("constant")}}));
    EXPECT_TRUE(has(msg, "opset12")) << msg;
    msg = error_of("Pad", "opset1", {param("1,3,4"), ints({0, 1}), ints({0, 1})});
    EXPECT_TRUE(has(msg, "pads_begin")) << msg;
    EXPECT_EQ(shape_of("OneHot", "opset1",
                       {param("2,3", ElementType::I64), scalar(5), scalar_f32(1), scalar_f32(0)},
                       attrs({{"axis", std::int64_t(-1)}})),
              "[2,3,5]");
    auto& eye = run("Eye", "opset9", {scalar(3), scalar(4), scalar(0), ints({2})},
                    attrs({{"output_type", ElementType::F32}}));
    EXPECT_EQ(eye.outputs[0].shape.to_string(), "[2,3,4]");
    EXPECT_EQ(eye.outputs[0].type, ElementType::F32);
}

TEST_F(ShapeOps, SliceWithNegativeSteps) {
    // dim 10: 8,5,2 → 3; dim 5: 1,3 → 2.
    EXPECT_EQ(shape_of("Slice", "opset8",
                       {param("10,5"), ints({8, 1}), ints({1, 100}), ints({-3, 2}), ints({0, 1})}),
              "[3,2]");
    // Reverse with step -2 from the end: 9,7,5,3,1.
    EXPECT_EQ(shape_of("Slice", "opset8", {param("10"), ints({-1}), ints({k_min}), ints({-2})}),
              "[5]");
    EXPECT_EQ(shape_of("Slice", "opset8",
                       {param("4,6"), ints({-2}), ints({k_max}), ints({1}), ints({-1})}),
              "[4,2]");
    EXPECT_EQ(shape_of("Slice", "opset8", {param("?,6"), ints({0}), ints({k_max}), ints({1})}),
              "[?,6]");
    EXPECT_EQ(shape_of("Slice", "opset8", {param("?,6"), ints({0}), ints({3}), ints({1})}),
              "[0..3,6]");
    EXPECT_EQ(
        shape_of("Slice", "opset8",
                 {param("8,6"), param("1", ElementType::I64), ints({3}), ints({1}), ints({0})}),
        "[0..8,6]");
    auto msg = error_of("Slice", "opset8", {param("8"), ints({0}), ints({3}), ints({0})});
    EXPECT_TRUE(has(msg, "step is zero")) << msg;
}

TEST_F(ShapeOps, StridedSliceMasks) {
    auto masks = [](Ints b, Ints e, Ints n = {}, Ints s = {}, Ints el = {}) {
        return attrs({{"begin_mask", b},
                      {"end_mask", e},
                      {"new_axis_mask", n},
                      {"shrink_axis_mask", s},
                      {"ellipsis_mask", el}});
    };
    EXPECT_EQ(shape_of("StridedSlice", "opset1",
                       {param("4,5,6"), ints({1, 0, 0}), ints({3, 0, 0}), ints({1, 1, 1})},
                       masks({0, 1, 1}, {0, 1, 1})),
              "[2,5,6]");
    // shrink axis 0, new axis, then axis 1 (5) from 0 (masked) to 4 by 2 → 2; axis 2 kept.
    EXPECT_EQ(shape_of("StridedSlice", "opset1",
                       {param("4,5,6"), ints({2, 0, 0}), ints({3, 0, 4}), ints({1, 1, 2})},
                       masks({0, 0, 1}, {0, 0, 0}, {0, 1, 0}, {1, 0, 0})),
              "[1,2,6]");
    // The ellipsis covers the first three axes.
    EXPECT_EQ(shape_of("StridedSlice", "opset1",
                       {param("2,3,4,5"), ints({0, 1}), ints({0, 3}), ints({1, 1})},
                       masks({0, 0}, {0, 0}, {}, {}, {1, 0})),
              "[2,3,4,2]");
    // Negative stride over the whole axis (end masked).
    EXPECT_EQ(shape_of("StridedSlice", "opset1", {param("10,?"), ints({-1}), ints({0}), ints({-1})},
                       masks({0}, {1})),
              "[10,?]");
    EXPECT_EQ(shape_of("StridedSlice", "opset1",
                       {param("?,3"), ints({0, 0}), ints({0, 0}), ints({-1, 1})},
                       masks({1, 1}, {1, 1})),
              "[?,3]");
    auto msg = error_of("StridedSlice", "opset1", {param("4"), ints({5}), ints({6}), ints({1})},
                        masks({0}, {0}, {}, {1}));
    EXPECT_TRUE(has(msg, "shrinks axis 0")) << msg;
}

TEST_F(ShapeOps, RangeConstants) {
    auto& r4 = run("Range", "opset4", {scalar(0), scalar(10), scalar(3)},
                   attrs({{"output_type", ElementType::I32}}));
    EXPECT_EQ(r4.outputs[0].shape.to_string(), "[4]");
    EXPECT_EQ(r4.outputs[0].type, ElementType::I32);
    auto& r1 = run("Range", "opset1", {scalar_f32(0.5f), scalar_f32(2.0f), scalar_f32(0.5f)});
    EXPECT_EQ(r1.outputs[0].shape.to_string(), "[3]");
    EXPECT_EQ(r1.outputs[0].type, ElementType::F32);
    EXPECT_EQ(shape_of("Range", "opset1", {scalar(5), scalar(0), scalar(1)}), "[0]");
    EXPECT_EQ(shape_of("Range", "opset1", {scalar(5), param("", ElementType::I64), scalar(1)}),
              "[?]");
    auto msg = error_of("Range", "opset1", {scalar(0), scalar(5), scalar(0)});
    EXPECT_TRUE(has(msg, "step is zero")) << msg;
}

TEST_F(ShapeOps, Einsum) {
    auto eq = [](const char* e) { return attrs({{"equation", std::string(e)}}); };
    EXPECT_EQ(shape_of("Einsum", "opset7", {param("2,3"), param("3,4")}, eq("ij,jk->ik")), "[2,4]");
    EXPECT_EQ(shape_of("Einsum", "opset7", {param("2,3"), param("3,4")}, eq("ij,jk")), "[2,4]");
    EXPECT_EQ(
        shape_of("Einsum", "opset7", {param("5,1,2,3"), param("4,3,6")}, eq("...ij,...jk->...ik")),
        "[5,4,2,6]");
    EXPECT_EQ(shape_of("Einsum", "opset7", {param("3,3")}, eq("ii->i")), "[3]");
    EXPECT_EQ(shape_of("Einsum", "opset7", {param("..."), param("3,4")}, eq("...j,jk->...k")),
              "[...]");
    EXPECT_EQ(shape_of("Einsum", "opset7", {param("..."), param("3,4")}, eq("ij,jk->ik")), "[?,4]");
    auto msg = error_of("Einsum", "opset7", {param("2,3"), param("4,5")}, eq("ij,jk->ik"));
    EXPECT_TRUE(has(msg, "label 'j'")) << msg;
    msg = error_of("Einsum", "opset7", {param("2,3")}, eq("ij,jk->ik"));
    EXPECT_TRUE(has(msg, "operands")) << msg;
}

TEST_F(ShapeOps, DataShapedOps) {
    EXPECT_EQ(shape_of("ReverseSequence", "opset1", {param("4,?,3"), param("4", ElementType::I64)},
                       attrs({{"batch_axis", std::int64_t(0)}, {"seq_axis", std::int64_t(1)}})),
              "[4,?,3]");
    auto& b = run("Bucketize", "opset3", {param("2,3"), param("5")},
                  attrs({{"output_type", ElementType::I32}}));
    EXPECT_EQ(b.outputs[0].type, ElementType::I32);
    EXPECT_EQ(b.outputs[0].shape.to_string(), "[2,3]");
    EXPECT_EQ(shape_of("ExtractImagePatches", "opset3", {param("1,3,10,10")},
                       attrs({{"sizes", Ints{3, 3}},
                              {"strides", Ints{5, 5}},
                              {"rates", Ints{1, 1}},
                              {"auto_pad", std::string("valid")}})),
              "[1,27,2,2]");
    EXPECT_EQ(shape_of("Roll", "opset7", {param("2,3"), ints({1}), ints({0})}), "[2,3]");
}
