// Twice@loom.test like loom_ext_test_good, but its shape function always fails (swap tests:
// a new version that cannot replace the old one).
#include <span>
#include <vector>

#include "extensions/sdk/extension.hpp"

namespace {

using loom::ElementType;
using loom::model::Tensor;

void define(loom::extensions::sdk::Extension& ext) {
    ext.name("loom_test").version("2.0.0-badshape");
    ext.op("Twice", "loom.test")
        .inputs(1, 1)
        .infer([](loom::extensions::sdk::InferContext&) {
            throw loom::Error(loom::ErrorKind::INVALID_ARGUMENT, "bad shape function");
        })
        .evaluate([](const loom::extensions::sdk::Node&, std::span<const Tensor> in) {
            auto y = Tensor::allocate(ElementType::F32, in[0].shape());
            const float* x = in[0].data<float>();
            auto* out = reinterpret_cast<float*>(y.mutable_data());
            for (std::int64_t i = 0; i < in[0].size(); ++i)
                out[i] = 2.0f * x[i];
            return std::vector<Tensor>{y};
        });
}

} // namespace

LOOM_EXTENSION(define)
