// Reference kernels: core ops — Convert, ConvertLike, ShapeOf, Identity and the stateful
// ReadValue/Assign pair (see kernel.hpp). Control flow (If, Loop, TensorIterator) is in
// kernels_control.cpp.

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

// Into the caller's planned output (the CPU graph's arena): no allocation per run.
void convert(KernelContext& ctx, std::span<Tensor> outputs) {
    convert_into(ctx.input(0), outputs[0]);
}

std::vector<Tensor> convert_like(KernelContext& ctx) {
    return {convert_tensor(ctx.input(0), ctx.input(1).element_type())};
}

std::vector<Tensor> shape_of(KernelContext& ctx) {
    const auto& shape = ctx.input(0).shape();
    auto out = make_i64_tensor({static_cast<std::int64_t>(shape.size())}, shape);
    return {convert_tensor(out, ctx.output_type(0))};
}

std::vector<Tensor> identity(KernelContext& ctx) {
    return {ctx.input(0)};
}

// The variable's current value, else its initial value: input 0 when given, else zeros of
// variable_type/variable_shape (opset6 without an init input).
std::vector<Tensor> read_value(KernelContext& ctx) {
    const auto& id = ctx.attr<std::string>("variable_id");
    if (auto* vars = ctx.run().variables) {
        auto it = vars->values.find(id);
        if (it != vars->values.end()) return {it->second};
    }
    if (ctx.has_input(0)) return {ctx.input(0)};
    return {ctx.allocate_output(0)};
}

std::vector<Tensor> assign(KernelContext& ctx) {
    const auto& id = ctx.attr<std::string>("variable_id");
    if (auto* vars = ctx.run().variables) vars->values[id] = ctx.input(0);
    return {ctx.input(0)};
}

} // namespace

void add_control_kernels(KernelTable& table); // kernels_control.cpp

void add_core_kernels(KernelTable& table) {
    const KernelOptions bytes{.half_via_f32 = false, .foldable = true};
    const KernelOptions state{.half_via_f32 = false, .foldable = false};
    table.add("Convert", "opset1", {.name = "ref", .into = convert, .options = bytes});
    table.add("ConvertLike", "opset1", convert_like, bytes);
    table.add("ShapeOf", "opset1", shape_of, bytes);
    table.add("ShapeOf", "opset3", shape_of, bytes);
    table.add("Identity", "opset16", identity, bytes);
    table.add("ReadValue", "opset3", read_value, state);
    table.add("ReadValue", "opset6", read_value, state);
    table.add("Assign", "opset3", assign, state);
    table.add("Assign", "opset6", assign, state);
    add_control_kernels(table);
}

} // namespace loom::reference
