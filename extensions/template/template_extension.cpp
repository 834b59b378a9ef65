// The template extension (DESIGN.md §5, §6): the sample every new extension starts from, like
// OpenVINO's template extension. Built twice from this file (extensions/template/CMakeLists.txt):
//
//   libloom_template_extension.so     "template" 1.0.0
//   libloom_template_extension_v2.so  "template" 2.0.0 (LOOM_TEMPLATE_V2): Activation adds 1.0,
//                                     the visible difference the swap tests look for.
//
// Ops, domain "loom.template":
//   Identity   1 input of any type; y = x.
//   Activation 1 input, f32 or f16 (f16 computed in f32); attributes alpha (float, required) and
//              beta (float, default 1.0); y = alpha * x * sigmoid(beta * x)  [v2: + 1.0].
// Conversions (framework op → existing ops, no kernel):
//   onnx, domain "loom.template", MulAdd(x; scale = 1.0, bias = 0.0) → Add(Multiply(x, scale),
//   bias) ir,   version "loom.template", the same (IR attributes may arrive as strings).
//
// Threading: every callback is stateless and may run on many threads at once.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "extensions/sdk/extension.hpp"

namespace {

using loom::ElementType;
using loom::ErrorKind;
using loom::extensions::sdk::Attributes;
using loom::extensions::sdk::ConversionContext;
using loom::extensions::sdk::CpuKernelContext;
using loom::extensions::sdk::InferContext;
using loom::extensions::sdk::Node;
using loom::extensions::sdk::Output;
using loom::extensions::sdk::Tensor;

constexpr const char* k_domain = "loom.template";
#ifdef LOOM_TEMPLATE_V2
constexpr const char* k_version = "2.0.0";
constexpr float k_offset = 1.0f; // v2's visible difference
#else
constexpr const char* k_version = "1.0.0";
constexpr float k_offset = 0.0f;
#endif

// ---- Identity ------------------------------------------------------------------------------

void identity_infer(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

std::vector<Tensor> identity_evaluate(const Node&, std::span<const Tensor> inputs) {
    LOOM_REQUIRE(inputs.size() == 1, "Identity takes 1 input, got {}", inputs.size());
    return {inputs[0]}; // shares the input's bytes: tensors are immutable once seen
}

void identity_cpu(CpuKernelContext& ctx) {
    LOOM_REQUIRE(ctx.inputs.size() == 1 && ctx.outputs.size() == 1,
                 "Identity takes 1 input and 1 output, got {} and {}", ctx.inputs.size(),
                 ctx.outputs.size());
    const Tensor& x = ctx.inputs[0];
    Tensor& y = ctx.outputs[0];
    LOOM_REQUIRE(x.element_type() == y.element_type() && x.byte_size() == y.byte_size(),
                 "Identity: the output ({}, {} bytes) does not match the input ({}, {} bytes)",
                 loom::to_string(y.element_type()), y.byte_size(),
                 loom::to_string(x.element_type()), x.byte_size());
    const std::byte* src = x.bytes().data();
    std::byte* dst = y.mutable_data();
    ctx.parallel_for(x.byte_size(), [&](std::size_t begin, std::size_t end) {
        std::memcpy(dst + begin, src + begin, end - begin);
    });
}

// ---- Activation ----------------------------------------------------------------------------

struct ActivationParams {
    float alpha;
    float beta;
};

// invalid_argument naming the attribute when alpha is missing or either is not a float.
ActivationParams activation_params(const Attributes& attrs) {
    return {static_cast<float>(attrs.get<double>("alpha")),
            static_cast<float>(attrs.get_or<double>("beta", 1.0))};
}

void require_activation_type(ElementType type) {
    if (type != ElementType::F32 && type != ElementType::F16)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "Activation ({}) takes an f32 or f16 input, not {}; convert the input first",
                   k_domain, loom::to_string(type));
}

// The one place the math lives: evaluate and the CPU kernel both call it, so they agree bit for
// bit. Elements [begin, end) of x → y; f16 is computed in f32.
float activation(float x, ActivationParams p) {
    const float sigmoid = 1.0f / (1.0f + std::exp(-p.beta * x));
    return p.alpha * x * sigmoid + k_offset;
}

void activation_range(const Tensor& x, std::byte* y, std::size_t begin, std::size_t end,
                      ActivationParams p) {
    if (x.element_type() == ElementType::F32) {
        const float* in = x.data<float>();
        float* out = reinterpret_cast<float*>(y);
        for (std::size_t i = begin; i < end; ++i)
            out[i] = activation(in[i], p);
    } else {
        const std::uint16_t* in = x.data<std::uint16_t>();
        std::uint16_t* out = reinterpret_cast<std::uint16_t*>(y);
        for (std::size_t i = begin; i < end; ++i)
            out[i] = loom::model::f32_to_f16(activation(loom::model::f16_to_f32(in[i]), p));
    }
}

void activation_infer(InferContext& ctx) {
    activation_params(ctx.node().attrs); // refuse a missing or mistyped attribute here already
    require_activation_type(ctx.input_type(0));
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0)); // dynamic dims stay dynamic
}

std::vector<Tensor> activation_evaluate(const Node& node, std::span<const Tensor> inputs) {
    LOOM_REQUIRE(inputs.size() == 1, "Activation takes 1 input, got {}", inputs.size());
    const auto params = activation_params(node.attrs);
    const Tensor& x = inputs[0];
    require_activation_type(x.element_type());
    Tensor y = Tensor::allocate(x.element_type(), x.shape());
    activation_range(x, y.mutable_data(), 0, static_cast<std::size_t>(x.size()), params);
    return {std::move(y)};
}

void activation_cpu(CpuKernelContext& ctx) {
    LOOM_REQUIRE(ctx.inputs.size() == 1 && ctx.outputs.size() == 1,
                 "Activation takes 1 input and 1 output, got {} and {}", ctx.inputs.size(),
                 ctx.outputs.size());
    const auto params = activation_params(ctx.node.attrs);
    const Tensor& x = ctx.inputs[0];
    Tensor& y = ctx.outputs[0];
    require_activation_type(x.element_type());
    LOOM_REQUIRE(y.element_type() == x.element_type() && y.shape() == x.shape(),
                 "Activation: the output ({} {}) does not match the input ({} {})",
                 loom::to_string(y.element_type()), loom::model::to_string(y.shape()),
                 loom::to_string(x.element_type()), loom::model::to_string(x.shape()));
    std::byte* out = y.mutable_data();
    ctx.parallel_for(static_cast<std::size_t>(x.size()), [&](std::size_t begin, std::size_t end) {
        activation_range(x, out, begin, end, params);
    });
}

// ---- MulAdd conversion ---------------------------------------------------------------------

// A float attribute as ONNX (float) or IR (text, or an int when a reader typed it so) gives it;
// `fallback` when absent, invalid_argument naming it when it is not a number.
double number_attr(const Attributes& attrs, std::string_view name, double fallback) {
    const loom::model::AttrValue* v = attrs.find(name);
    if (!v) return fallback;
    if (const auto* d = std::get_if<double>(v)) return *d;
    if (const auto* i = std::get_if<std::int64_t>(v)) return static_cast<double>(*i);
    if (const auto* s = std::get_if<std::string>(v)) {
        if (auto parsed = loom::model::parse_attr(*s, loom::model::AttrKind::Float))
            return std::get<double>(*parsed);
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "MulAdd: attribute '{}' is '{}', not a number",
                   name, *s);
    }
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "MulAdd: attribute '{}' is {}, not a float", name,
               loom::model::to_string(loom::model::kind_of(*v)));
}

// A scalar of `value` in the input's floating type (f32 when the input is not typed yet or not
// floating: Multiply then reports the mismatch).
Tensor scalar(ElementType type, double value) {
    switch (type) {
    case ElementType::F16: {
        Tensor t = Tensor::allocate(type, {});
        auto bits = loom::model::f32_to_f16(static_cast<float>(value));
        std::memcpy(t.mutable_data(), &bits, sizeof bits);
        return t;
    }
    case ElementType::F64: {
        Tensor t = Tensor::allocate(type, {});
        std::memcpy(t.mutable_data(), &value, sizeof value);
        return t;
    }
    default: {
        Tensor t = Tensor::allocate(ElementType::F32, {});
        auto f = static_cast<float>(value);
        std::memcpy(t.mutable_data(), &f, sizeof f);
        return t;
    }
    }
}

std::vector<Output> muladd_convert(ConversionContext& ctx) {
    LOOM_REQUIRE(ctx.input_count() == 1, "MulAdd takes 1 input, got {}", ctx.input_count());
    const double scale = number_attr(ctx.attrs(), "scale", 1.0);
    const double bias = number_attr(ctx.attrs(), "bias", 0.0);
    Output x = ctx.input(0);
    const ElementType type =
        x.node->outputs.size() > x.index ? x.node->outputs[x.index].type : ElementType::UNDEFINED;
    Output scaled = ctx.add("Multiply", "opset1", {x, ctx.constant(scalar(type, scale))}).output(0);
    return {ctx.add("Add", "opset1", {scaled, ctx.constant(scalar(type, bias))}).output(0)};
}

// ---- the library ---------------------------------------------------------------------------

void define(loom::extensions::sdk::Extension& ext) {
    ext.name("template").version(k_version);
    ext.op("Identity", k_domain)
        .inputs(1, 1)
        .infer(identity_infer)
        .evaluate(identity_evaluate)
        .cpu_kernel(identity_cpu);
    ext.op("Activation", k_domain)
        .attr("alpha", loom::extensions::sdk::AttrKind::Float)
        .attr("beta", loom::extensions::sdk::AttrKind::Float, /*required=*/false)
        .inputs(1, 1)
        .infer(activation_infer)
        .evaluate(activation_evaluate)
        .cpu_kernel(activation_cpu);
    ext.conversion("onnx", k_domain, "MulAdd", muladd_convert);
    ext.conversion("ir", k_domain, "MulAdd", muladd_convert);
}

} // namespace

LOOM_EXTENSION(define)
