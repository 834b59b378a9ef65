// A minimal extension linked against libgomp (DT_NEEDED only): the loader pre-loads such
// runtimes with RTLD_NODELETE, so they stay loaded after the extension is unloaded.
#include <span>
#include <vector>

#include "extensions/sdk/extension.hpp"

namespace {

void define(loom::extensions::sdk::Extension& ext) {
    ext.name("loom_test_needs_gomp").version("1.0.0");
    ext.op("Same", "loom.test_gomp")
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
