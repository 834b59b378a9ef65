// A well-formed test extension: Twice@loom.test (y = 2x, f32) with infer, evaluate and a CPU
// kernel, and an ONNX conversion loom.test:AddOne → Add(x, 1.0f).
#include <span>
#include <vector>

#include "extensions/sdk/extension.hpp"

namespace {

using loom::ElementType;
using loom::model::Tensor;

void require_f32(loom::ElementType type) {
    LOOM_REQUIRE(type == ElementType::F32, "Twice takes f32, not {}", loom::to_string(type));
}

void twice(const float* x, float* y, std::size_t begin, std::size_t end) {
    for (auto i = begin; i < end; ++i)
        y[i] = 2.0f * x[i];
}

void define(loom::extensions::sdk::Extension& ext) {
    ext.name("loom_test").version("1.0.0");
    ext.op("Twice", "loom.test")
        .inputs(1, 1)
        .infer([](loom::extensions::sdk::InferContext& c) {
            require_f32(c.input_type(0));
            c.set_output(0, c.input_type(0), c.input_shape(0));
        })
        .evaluate([](const loom::extensions::sdk::Node&, std::span<const Tensor> in) {
            require_f32(in[0].element_type());
            auto y = Tensor::allocate(ElementType::F32, in[0].shape());
            twice(in[0].data<float>(), reinterpret_cast<float*>(y.mutable_data()), 0,
                  static_cast<std::size_t>(in[0].size()));
            return std::vector<Tensor>{y};
        })
        .cpu_kernel([](loom::extensions::sdk::CpuKernelContext& c) {
            require_f32(c.inputs[0].element_type());
            const float* x = c.inputs[0].data<float>();
            auto* y = reinterpret_cast<float*>(c.outputs[0].mutable_data());
            c.parallel_for(static_cast<std::size_t>(c.inputs[0].size()),
                           [&](std::size_t begin, std::size_t end) { twice(x, y, begin, end); });
        });
    ext.conversion("onnx", "loom.test", "AddOne",
                   [](loom::extensions::sdk::ConversionContext& ctx) {
                       const float one = 1.0f;
                       auto c = ctx.constant(Tensor::copy_of(
                           ElementType::F32, {}, std::as_bytes(std::span<const float>(&one, 1))));
                       auto& add = ctx.add("Add", "opset1", {ctx.input(0), c});
                       return std::vector<loom::extensions::sdk::Output>{add.output(0)};
                   });
}

} // namespace

LOOM_EXTENSION(define)
