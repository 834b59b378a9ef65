// Reduction reference kernels: expected values worked out by hand from OpenVINO's spec.

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "components/reference/kernel_test_util.hpp"

namespace loom::reference {
namespace {

using test::eval;
using test::f32;
using test::i32;
using test::i64;
using test::to_f32;
using test::to_i64;

model::Attributes keep(bool k) {
    model::Attributes a;
    a.set("keep_dims", k);
    return a;
}

// x = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]] of shape [2, 2, 2].
Tensor cube() {
    return f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
}

Tensor reduce(const char* type, const Tensor& x, std::vector<std::int64_t> axes, bool k = false,
              const char* version = "opset1") {
    auto n = static_cast<std::int64_t>(axes.size());
    return eval(type, version, {x, i64({n}, axes)}, keep(k)).at(0);
}

TEST(ReductionKernels, SumOverEachAxis) {
    auto x = cube();
    auto r0 = reduce("ReduceSum", x, {0});
    EXPECT_EQ(r0.shape(), (Shape{2, 2}));
    EXPECT_EQ(to_f32(r0), (std::vector<float>{6, 8, 10, 12}));
    EXPECT_EQ(to_f32(reduce("ReduceSum", x, {1})), (std::vector<float>{4, 6, 12, 14}));
    EXPECT_EQ(to_f32(reduce("ReduceSum", x, {-1})), (std::vector<float>{3, 7, 11, 15}));
    auto r02 = reduce("ReduceSum", x, {0, 2}, true);
    EXPECT_EQ(r02.shape(), (Shape{1, 2, 1}));
    EXPECT_EQ(to_f32(r02), (std::vector<float>{14, 22}));
    auto all = reduce("ReduceSum", x, {0, 1, 2});
    EXPECT_EQ(all.shape(), (Shape{}));
    EXPECT_EQ(to_f32(all), (std::vector<float>{36}));
}

TEST(ReductionKernels, EmptyAxesReduceNothing) {
    auto out = eval("ReduceSum", "opset1", {cube(), i64({0}, {})}, keep(false))[0];
    EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
    EXPECT_EQ(to_f32(out), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
    auto l1 = eval("ReduceL1", "opset4", {f32({2}, {-1, 2}), i64({0}, {})}, keep(true))[0];
    EXPECT_EQ(to_f32(l1), (std::vector<float>{1, 2}));
}

TEST(ReductionKernels, MeanProdMaxMin) {
    auto x = cube();
    EXPECT_EQ(to_f32(reduce("ReduceMean", x, {1, 2})), (std::vector<float>{2.5f, 6.5f}));
    EXPECT_EQ(to_f32(reduce("ReduceProd", x, {2})), (std::vector<float>{2, 12, 30, 56}));
    EXPECT_EQ(to_f32(reduce("ReduceMax", x, {0, 1})), (std::vector<float>{7, 8}));
    EXPECT_EQ(to_f32(reduce("ReduceMin", x, {0, 1})), (std::vector<float>{1, 2}));
    auto inf = f32({2}, {-INFINITY, -INFINITY});
    EXPECT_EQ(to_f32(reduce("ReduceMax", inf, {0}))[0], -INFINITY);
    auto nan = reduce("ReduceMax", f32({3}, {1, NAN, 2}), {0});
    EXPECT_TRUE(std::isnan(to_f32(nan)[0]));
}

TEST(ReductionKernels, L1AndL2) {
    auto x = f32({2, 2}, {3, -4, -6, 8});
    EXPECT_EQ(to_f32(reduce("ReduceL1", x, {1}, false, "opset4")), (std::vector<float>{7, 14}));
    EXPECT_EQ(to_f32(reduce("ReduceL2", x, {1}, false, "opset4")), (std::vector<float>{5, 10}));
}

TEST(ReductionKernels, Integers) {
    auto x = i32({2, 3}, {1, 2, 4, -1, -2, -4});
    EXPECT_EQ(to_i64(reduce("ReduceSum", x, {1})), (std::vector<std::int64_t>{7, -7}));
    // Integer mean truncates: 7 / 3 = 2.
    EXPECT_EQ(to_i64(reduce("ReduceMean", x, {1})), (std::vector<std::int64_t>{2, -2}));
    EXPECT_EQ(to_i64(reduce("ReduceMax", x, {0})), (std::vector<std::int64_t>{1, 2, 4}));
    EXPECT_EQ(to_i64(reduce("ReduceProd", x, {1})), (std::vector<std::int64_t>{8, -8}));
    auto u8 = test::u8({3}, {200, 100, 1});
    EXPECT_EQ(to_i64(reduce("ReduceSum", u8, {0})), (std::vector<std::int64_t>{45})); // wraps
}

TEST(ReductionKernels, EmptyRangesGiveIdentity) {
    auto x = f32({2, 0}, {});
    EXPECT_EQ(to_f32(reduce("ReduceSum", x, {1})), (std::vector<float>{0, 0}));
    EXPECT_EQ(to_f32(reduce("ReduceProd", x, {1})), (std::vector<float>{1, 1}));
    EXPECT_EQ(to_f32(reduce("ReduceMax", x, {1}))[0], std::numeric_limits<float>::lowest());
    EXPECT_EQ(to_f32(reduce("ReduceMin", x, {1}))[0], std::numeric_limits<float>::max());
    EXPECT_EQ(reduce("ReduceSum", x, {0}).shape(), (Shape{0}));
}

TEST(ReductionKernels, Logical) {
    auto b = test::boolean({2, 2}, {true, false, true, true});
    EXPECT_EQ(to_i64(reduce("ReduceLogicalAnd", b, {1})), (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(to_i64(reduce("ReduceLogicalOr", b, {0})), (std::vector<std::int64_t>{1, 1}));
    auto none = test::boolean({2, 0}, {});
    EXPECT_EQ(to_i64(reduce("ReduceLogicalAnd", none, {1})), (std::vector<std::int64_t>{1, 1}));
    EXPECT_EQ(to_i64(reduce("ReduceLogicalOr", none, {1})), (std::vector<std::int64_t>{0, 0}));
}

TEST(ReductionKernels, BadAxisIsInvalidArgument) {
    try {
        reduce("ReduceSum", cube(), {3});
        ADD_FAILURE() << "axis 3 of rank 3 did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
    }
    EXPECT_THROW(reduce("ReduceLogicalAnd", cube(), {0}), Error);
}

TEST(ReductionKernels, LargeReductionMatchesClosedForm) {
    const std::int64_t rows = 64, cols = 4096;
    std::vector<float> v(static_cast<std::size_t>(rows * cols), 1.0f);
    auto x = f32({rows, cols}, v);
    auto by_row = to_f32(reduce("ReduceSum", x, {1}));
    EXPECT_EQ(by_row, std::vector<float>(static_cast<std::size_t>(rows), 4096.0f));
    auto by_col = to_f32(reduce("ReduceMean", x, {0}));
    EXPECT_EQ(by_col, std::vector<float>(static_cast<std::size_t>(cols), 1.0f));
}

} // namespace
} // namespace loom::reference
