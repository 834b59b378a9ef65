// The minimal extension of extensions/README.md, verbatim: built against the installed package
// by package_test.sh, which checks that it exports loom_create_extensions.
#include <cstring>
#include <span>
#include <vector>

#include "extensions/sdk/extension.hpp"

namespace {

using loom::extensions::sdk::CpuKernelContext;
using loom::extensions::sdk::InferContext;
using loom::extensions::sdk::Node;
using loom::extensions::sdk::Tensor;

// Shape and type inference: the output is the input.
void infer(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

// The host evaluation: what the devices are checked against.
std::vector<Tensor> evaluate(const Node&, std::span<const Tensor> inputs) {
    return {inputs[0]}; // tensors are immutable once seen: sharing the bytes is a copy
}

// The CPU kernel: the output is already allocated; fill it, in chunks, with the host's threads.
void cpu(CpuKernelContext& ctx) {
    const std::byte* src = ctx.inputs[0].bytes().data();
    std::byte* dst = ctx.outputs[0].mutable_data();
    ctx.parallel_for(ctx.inputs[0].byte_size(), [&](std::size_t begin, std::size_t end) {
        std::memcpy(dst + begin, src + begin, end - begin);
    });
}

void define(loom::extensions::sdk::Extension& ext) {
    ext.name("my_ops").version("1.0.0");
    ext.op("Identity", "my.ops").inputs(1, 1).infer(infer).evaluate(evaluate).cpu_kernel(cpu);
}

} // namespace

LOOM_EXTENSION(define)
