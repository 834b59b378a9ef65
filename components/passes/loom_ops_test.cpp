// Shape inference of Loom's fused ops (components/model/ops/loom_ops.cpp).
#include <gtest/gtest.h>

#include "components/passes/test_util.hpp"
#include "schemas/error.hpp"

using namespace loom::passes::test;

namespace {

struct Fixture {
    std::shared_ptr<OpRegistry> reg = make_native_registry();
    Model m;
    Output param(PartialShape shape, std::string name = "p") {
        return m.add_parameter(ElementType::F32, std::move(shape), std::move(name)).output();
    }
};

Attributes conv(std::vector<std::int64_t> strides, std::vector<std::int64_t> pads,
                std::string auto_pad = "explicit") {
    Attributes a;
    a.set("strides", strides);
    a.set("pads_begin", pads);
    a.set("pads_end", pads);
    a.set("dilations", std::vector<std::int64_t>(strides.size(), 1));
    a.set("auto_pad", auto_pad);
    a.set("activation", std::string("relu"));
    return a;
}

void expect_invalid(Node& n, const OpRegistry& reg, const std::string& what) {
    try {
        infer_node(n, reg);
        FAIL() << "expected an error mentioning " << what;
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), loom::ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find(what), std::string::npos) << e.message();
    }
}

} // namespace

TEST(LoomOps, FusedConvolutionShapes) {
    Fixture f;
    auto x = f.param({1, 3, 10, 10}), w = f.param({8, 3, 3, 3}), b = f.param({8});
    auto& n = f.m.add("FusedConvolution", "loom1", {x, w, b}, conv({2, 2}, {1, 1}));
    infer_node(n, *f.reg);
    EXPECT_EQ(n.outputs[0].shape, PartialShape({1, 8, 5, 5})); // (10 + 2 − 3) / 2 + 1
    EXPECT_EQ(n.outputs[0].type, ElementType::F32);
    auto& same =
        f.m.add("FusedConvolution", "loom1", {x, w, b}, conv({2, 2}, {0, 0}, "same_upper"));
    infer_node(same, *f.reg);
    EXPECT_EQ(same.outputs[0].shape, PartialShape({1, 8, 5, 5}));
    auto xd = f.param({Dimension(), 3, Dimension(), 7});
    auto& dyn = f.m.add("FusedConvolution", "loom1", {xd, w, b}, conv({1, 1}, {0, 0}));
    infer_node(dyn, *f.reg);
    EXPECT_EQ(dyn.outputs[0].shape, PartialShape({Dimension(), 8, Dimension(), 5}));
}

TEST(LoomOps, FusedConvolutionRejectsBadInputs) {
    Fixture f;
    auto x = f.param({1, 3, 10, 10}), w = f.param({8, 3, 3, 3});
    auto& bad_bias =
        f.m.add("FusedConvolution", "loom1", {x, w, f.param({4})}, conv({1, 1}, {0, 0}));
    expect_invalid(bad_bias, *f.reg, "bias");
    auto attrs = conv({1, 1}, {0, 0});
    attrs.set("activation", std::string("softplus"));
    auto& bad_act = f.m.add("FusedConvolution", "loom1", {x, w, f.param({8})}, attrs);
    expect_invalid(bad_act, *f.reg, "softplus");
    auto& bad_ch = f.m.add("FusedConvolution", "loom1", {x, f.param({8, 4, 3, 3}), f.param({8})},
                           conv({1, 1}, {0, 0}));
    expect_invalid(bad_ch, *f.reg, "channels");
    auto clamp = conv({1, 1}, {0, 0});
    clamp.set("activation", std::string("clamp"));
    auto& no_bounds = f.m.add("FusedConvolution", "loom1", {x, w, f.param({8})}, clamp);
    expect_invalid(no_bounds, *f.reg, "activation_alpha");
}

TEST(LoomOps, FusedMatMulShapes) {
    Fixture f;
    Attributes tb;
    tb.set("transpose_b", true);
    tb.set("activation", std::string("gelu_erf"));
    auto& n =
        f.m.add("FusedMatMul", "loom1", {f.param({2, 5, 3}), f.param({4, 3}), f.param({4})}, tb);
    infer_node(n, *f.reg);
    EXPECT_EQ(n.outputs[0].shape, PartialShape({2, 5, 4}));
    auto& batch = f.m.add("FusedMatMul", "loom1",
                          {f.param({3, 1, 5, 3}), f.param({2, 3, 6}), f.param({6})}, {});
    infer_node(batch, *f.reg);
    EXPECT_EQ(batch.outputs[0].shape, PartialShape({3, 2, 5, 6}));
    auto& vec = f.m.add("FusedMatMul", "loom1", {f.param({3}), f.param({3, 6}), f.param({6})}, {});
    infer_node(vec, *f.reg);
    EXPECT_EQ(vec.outputs[0].shape, PartialShape({6}));
    auto& bad =
        f.m.add("FusedMatMul", "loom1", {f.param({2, 3}), f.param({4, 6}), f.param({6})}, {});
    expect_invalid(bad, *f.reg, "inner dimensions");
}
