// A valid extension built WITHOUT -fno-gnu-unique whose exported inline variable g++ emits as
// an STB_GNU_UNIQUE symbol: the loader must refuse it (such a library can never be unloaded).
#include <span>
#include <vector>

#include "extensions/sdk/extension.hpp"

namespace loom_test_unique {
// Default visibility: hidden symbols are never made unique.
__attribute__((visibility("default"))) inline int g_loads = 0;
} // namespace loom_test_unique

namespace {

void define(loom::extensions::sdk::Extension& ext) {
    ++loom_test_unique::g_loads;
    ext.name("loom_test_unique");
    ext.op("Same", "loom.test_unique")
        .inputs(1, 1)
        .infer([](loom::extensions::sdk::InferContext& c) {
            c.set_output(0, c.input_type(0), c.input_shape(0));
        })
        .evaluate([](const loom::extensions::sdk::Node&,
                     std::span<const loom::extensions::sdk::Tensor> in) {
            return std::vector<loom::extensions::sdk::Tensor>{in[0]};
        });
}

} // namespace

LOOM_EXTENSION(define)
