#include <gtest/gtest.h>

#include "components/model/op_registry.hpp"

using namespace loom::model;

TEST(NativeOps, CoreOpsAreRegistered) {
    auto r = make_native_registry();
    for (auto type :
         {"Parameter", "Constant", "Result", "Convert", "ShapeOf", "ReadValue", "Assign"})
        EXPECT_FALSE(r->versions(type).empty()) << type;
}
