// The template extension, loaded the way the extension loader loads it (dlopen + entry), without
// the loader: names and versions, the op list, shape inference through a model, evaluate against
// a double-precision reference, the CPU kernel against evaluate, refusals, the MulAdd conversion
// and the ABI check.

#include <dlfcn.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "extensions/sdk/extension.hpp"

namespace {

namespace sdk = loom::extensions::sdk;
namespace model = loom::model;
using loom::ElementType;
using loom::ErrorKind;
using model::Tensor;

// One library, opened privately, and what its entry returned. The result holds code of the
// library (std::function objects), so it is destroyed before the library is closed.
class Library {
public:
    explicit Library(const char* path, std::uint32_t abi_version = LOOM_EXTENSION_ABI_VERSION) {
        m_handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!m_handle) throw std::runtime_error(std::string("dlopen: ") + ::dlerror());
        auto entry =
            reinterpret_cast<sdk::ExtensionEntry>(::dlsym(m_handle, sdk::k_extension_entry_symbol));
        if (!entry) {
            ::dlclose(m_handle);
            throw std::runtime_error(std::string(path) + " does not export the entry");
        }
        sdk::ExtensionArgs args;
        args.abi_version = abi_version;
        entry(args, m_result);
    }
    ~Library() {
        m_result = {};
        ::dlclose(m_handle);
    }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;

    const sdk::ExtensionResult& result() const { return m_result; }
    const sdk::OpEntry& op(std::string_view type) const {
        for (const auto& e : m_result.ops)
            if (e.type == type) return e;
        throw std::runtime_error("no op " + std::string(type));
    }
    const sdk::ConversionEntry& conversion(std::string_view framework) const {
        for (const auto& c : m_result.conversions)
            if (c.framework == framework && c.type == "MulAdd") return c;
        throw std::runtime_error("no MulAdd conversion for " + std::string(framework));
    }

private:
    void* m_handle = nullptr;
    sdk::ExtensionResult m_result;
};

// Rethrows a failed Status as the host does.
void check(const sdk::Status& status) {
    if (!status.ok) throw loom::Error(status.kind, status.message);
}

// The native op set plus the library's ops, as the loader would register them.
std::shared_ptr<model::OpRegistry> registry_with(const Library& lib) {
    auto registry = model::make_native_registry();
    for (const auto& e : lib.result().ops) {
        model::OpSpec spec;
        spec.type = e.type;
        spec.version = e.domain;
        spec.attrs = e.attrs;
        spec.min_inputs = e.min_inputs;
        spec.max_inputs = e.max_inputs;
        spec.infer = [&e](model::InferContext& ctx) { check(e.infer(ctx)); };
        spec.evaluate = [&e](const model::Node& node, std::span<const Tensor> in) {
            std::vector<Tensor> out;
            check(e.evaluate(node, in, out));
            return out;
        };
        spec.origin = lib.result().name;
        registry->add(std::move(spec));
    }
    return registry;
}

Tensor f32_tensor(const model::Shape& shape, const std::vector<float>& values) {
    Tensor t = Tensor::allocate(ElementType::F32, shape);
    EXPECT_EQ(static_cast<std::size_t>(t.size()), values.size());
    std::memcpy(t.mutable_data(), values.data(), t.byte_size());
    return t;
}

Tensor f16_tensor(const model::Shape& shape, const std::vector<float>& values) {
    Tensor t = Tensor::allocate(ElementType::F16, shape);
    auto* p = reinterpret_cast<std::uint16_t*>(t.mutable_data());
    for (std::size_t i = 0; i < values.size(); ++i)
        p[i] = model::f32_to_f16(values[i]);
    return t;
}

std::vector<float> floats(const Tensor& t) {
    std::vector<float> out(static_cast<std::size_t>(t.size()));
    if (t.element_type() == ElementType::F16) {
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = model::f16_to_f32(t.data<std::uint16_t>()[i]);
    } else {
        std::memcpy(out.data(), t.data<float>(), t.byte_size());
    }
    return out;
}

std::vector<float> ramp(std::size_t n) { // -6 … 6, with 0 in the middle for odd n
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = -6.0f + 12.0f * static_cast<float>(i) / static_cast<float>(n - 1);
    return v;
}

double reference(double x, double alpha, double beta, double offset) {
    return alpha * x / (1.0 + std::exp(-beta * x)) + offset;
}

// A model Parameter(type, shape) → type-op(attrs) → Result, inferred with `registry`.
struct OneOp {
    model::Model model;
    model::Node* node = nullptr;
    OneOp(const std::string& type, ElementType et, model::PartialShape shape,
          model::Attributes attrs) {
        auto& p = model.add_parameter(et, std::move(shape), "x");
        node = &model.add(type, "loom.template", {p.output(0)}, std::move(attrs), 1, "op");
        model.add_result(node->output(0), "y");
    }
};

model::Attributes alpha_beta(double alpha, std::optional<double> beta = std::nullopt) {
    model::Attributes a;
    a.set("alpha", alpha);
    if (beta) a.set("beta", *beta);
    return a;
}

std::vector<Tensor> evaluate(const sdk::OpEntry& op, const model::Node& node, const Tensor& x) {
    std::vector<Tensor> out;
    check(op.evaluate(node, std::span<const Tensor>(&x, 1), out));
    return out;
}

// parallel_for flavours the host might hand a kernel.
const model::ParallelFor serial = [](std::size_t n, const auto& body) {
    if (n > 0) body(0, n);
};
// Chunks of 7, backwards, each on a thread of its own (all at once).
const model::ParallelFor chunked_threads = [](std::size_t n, const auto& body) {
    std::vector<std::thread> threads;
    for (std::size_t end = n; end > 0;) {
        std::size_t begin = end > 7 ? end - 7 : 0;
        threads.emplace_back([&body, begin, end] { body(begin, end); });
        end = begin;
    }
    for (auto& t : threads)
        t.join();
};

Tensor run_cpu(const sdk::OpEntry& op, const model::Node& node, const Tensor& x,
               const model::ParallelFor& parallel_for) {
    Tensor y = Tensor::allocate(x.element_type(), x.shape()); // the host allocates outputs
    model::CpuKernelContext ctx{node, std::span<const Tensor>(&x, 1), std::span<Tensor>(&y, 1),
                                parallel_for};
    check(op.cpu_kernel(ctx));
    return y;
}

template <class F>
void expect_error(ErrorKind kind, std::string_view needle, F&& f) {
    try {
        f();
        ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
    } catch (const loom::Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(e.message().find(needle), std::string::npos) << e.what();
    }
}

TEST(TemplateExtension, NamesVersionsAndOps) {
    Library v1(LOOM_TEMPLATE_V1_PATH);
    Library v2(LOOM_TEMPLATE_V2_PATH); // both at once: RTLD_LOCAL keeps them apart
    for (const Library* lib : {&v1, &v2}) {
        const auto& r = lib->result();
        EXPECT_TRUE(r.error.empty()) << r.error;
        EXPECT_EQ(r.name, "template");
        ASSERT_EQ(r.ops.size(), 2u);
        EXPECT_EQ(r.ops[0].type, "Identity");
        EXPECT_EQ(r.ops[1].type, "Activation");
        for (const auto& op : r.ops) {
            EXPECT_EQ(op.domain, "loom.template");
            EXPECT_EQ(op.min_inputs, 1u);
            EXPECT_EQ(op.max_inputs, 1u);
            EXPECT_TRUE(op.infer && op.evaluate && op.cpu_kernel);
            EXPECT_EQ(op.cuda_kernel, nullptr);
        }
        EXPECT_TRUE(r.ops[0].attrs.empty());
        ASSERT_EQ(r.ops[1].attrs.size(), 2u);
        EXPECT_EQ(r.ops[1].attrs[0].name, "alpha");
        EXPECT_EQ(r.ops[1].attrs[0].kind, model::AttrKind::Float);
        EXPECT_TRUE(r.ops[1].attrs[0].required);
        EXPECT_EQ(r.ops[1].attrs[1].name, "beta");
        EXPECT_EQ(r.ops[1].attrs[1].kind, model::AttrKind::Float);
        EXPECT_FALSE(r.ops[1].attrs[1].required);
        ASSERT_EQ(r.conversions.size(), 2u);
        for (const auto& c : r.conversions) {
            EXPECT_EQ(c.domain, "loom.template");
            EXPECT_EQ(c.type, "MulAdd");
        }
        EXPECT_EQ(r.conversions[0].framework, "onnx");
        EXPECT_EQ(r.conversions[1].framework, "ir");
    }
    EXPECT_EQ(v1.result().version, "1.0.0");
    EXPECT_EQ(v2.result().version, "2.0.0");
}

TEST(TemplateExtension, AbiMismatchIsUnsupported) {
    Library lib(LOOM_TEMPLATE_V1_PATH, 999);
    EXPECT_EQ(lib.result().error_kind, ErrorKind::UNSUPPORTED);
    EXPECT_NE(lib.result().error.find("999"), std::string::npos) << lib.result().error;
    EXPECT_TRUE(lib.result().ops.empty());
    EXPECT_TRUE(lib.result().conversions.empty());
}

TEST(TemplateExtension, IdentityInfersAnyTypeThroughAModel) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    auto registry = registry_with(lib);
    for (auto type : {ElementType::I32, ElementType::F32, ElementType::BOOLEAN}) {
        OneOp m("Identity", type, model::PartialShape{2, model::Dimension::dynamic()}, {});
        model::infer_and_validate(m.model, *registry);
        EXPECT_EQ(m.node->outputs[0].type, type);
        EXPECT_EQ(m.node->outputs[0].shape.to_string(), "[2,?]");
    }
}

TEST(TemplateExtension, IdentityEvaluateAndCpuKernelCopy) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    OneOp m("Identity", ElementType::F32, model::Shape{3, 5}, {});
    Tensor x = f32_tensor({3, 5}, ramp(15));
    auto out = evaluate(lib.op("Identity"), *m.node, x);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].same_as(x));
    EXPECT_TRUE(run_cpu(lib.op("Identity"), *m.node, x, serial).same_as(x));
    EXPECT_TRUE(run_cpu(lib.op("Identity"), *m.node, x, chunked_threads).same_as(x));
}

TEST(TemplateExtension, ActivationInfersF32AndF16KeepingDynamicDims) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    auto registry = registry_with(lib);
    for (auto type : {ElementType::F32, ElementType::F16}) {
        OneOp m("Activation", type, model::PartialShape{model::Dimension::dynamic(), 3, {1, 8}},
                alpha_beta(0.5));
        model::infer_and_validate(m.model, *registry);
        EXPECT_EQ(m.node->outputs[0].type, type);
        EXPECT_EQ(m.node->outputs[0].shape.to_string(), "[?,3,1..8]");
    }
    OneOp dyn_rank("Activation", ElementType::F32, model::PartialShape::dynamic(), alpha_beta(1.0));
    model::infer_and_validate(dyn_rank.model, *registry);
    EXPECT_TRUE(dyn_rank.node->outputs[0].shape.rank_is_dynamic());
}

TEST(TemplateExtension, ActivationRefusesOtherElementTypes) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    auto registry = registry_with(lib);
    OneOp m("Activation", ElementType::I32, model::Shape{4}, alpha_beta(1.0));
    expect_error(ErrorKind::INVALID_ARGUMENT, "i32",
                 [&] { model::infer_and_validate(m.model, *registry); });

    // Directly through the library's callbacks: a Status, never an exception.
    model::InferContext ctx(*m.node, *registry);
    auto status = lib.op("Activation").infer(ctx);
    EXPECT_FALSE(status.ok);
    EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(status.message.find("i32"), std::string::npos) << status.message;

    Tensor x = Tensor::allocate(ElementType::I32, {4});
    std::vector<Tensor> out;
    status = lib.op("Activation").evaluate(*m.node, std::span<const Tensor>(&x, 1), out);
    EXPECT_FALSE(status.ok);
    EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
    EXPECT_NE(status.message.find("i32"), std::string::npos) << status.message;

    Tensor y = Tensor::allocate(ElementType::I32, {4});
    model::CpuKernelContext kc{*m.node, std::span<const Tensor>(&x, 1), std::span<Tensor>(&y, 1),
                               serial};
    status = lib.op("Activation").cpu_kernel(kc);
    EXPECT_FALSE(status.ok);
    EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
}

TEST(TemplateExtension, ActivationEvaluateMatchesDoubleReference) {
    struct Case {
        const char* path;
        double offset;
    };
    const auto xs = ramp(101);
    for (auto [path, offset] :
         {Case{LOOM_TEMPLATE_V1_PATH, 0.0}, Case{LOOM_TEMPLATE_V2_PATH, 1.0}}) {
        Library lib(path);
        for (auto [alpha, beta] : {std::pair{0.5, std::optional<double>(2.0)},
                                   std::pair{1.5, std::optional<double>()}}) { // beta defaults to 1
            OneOp m("Activation", ElementType::F32, model::Shape{101}, alpha_beta(alpha, beta));
            auto out = evaluate(lib.op("Activation"), *m.node, f32_tensor({101}, xs));
            ASSERT_EQ(out.size(), 1u);
            EXPECT_EQ(out[0].element_type(), ElementType::F32);
            EXPECT_EQ(out[0].shape(), (model::Shape{101}));
            auto ys = floats(out[0]);
            for (std::size_t i = 0; i < xs.size(); ++i) {
                double want = reference(xs[i], alpha, beta.value_or(1.0), offset);
                EXPECT_NEAR(ys[i], want, 1e-5 * (1.0 + std::fabs(want)))
                    << path << " x=" << xs[i] << " alpha=" << alpha;
            }
        }
    }
}

TEST(TemplateExtension, ActivationV2IsV1PlusOne) {
    Library v1(LOOM_TEMPLATE_V1_PATH);
    Library v2(LOOM_TEMPLATE_V2_PATH);
    OneOp m("Activation", ElementType::F32, model::Shape{2, 8}, alpha_beta(0.75, 0.5));
    Tensor x = f32_tensor({2, 8}, ramp(16));
    auto a = floats(evaluate(v1.op("Activation"), *m.node, x)[0]);
    auto b = floats(evaluate(v2.op("Activation"), *m.node, x)[0]);
    for (std::size_t i = 0; i < a.size(); ++i)
        EXPECT_NEAR(b[i] - a[i], 1.0, 1e-6);
}

TEST(TemplateExtension, ActivationF16IsComputedInF32) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    const auto xs = ramp(33);
    OneOp m("Activation", ElementType::F16, model::Shape{3, 11}, alpha_beta(2.0, 0.5));
    auto out = evaluate(lib.op("Activation"), *m.node, f16_tensor({3, 11}, xs));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].element_type(), ElementType::F16);
    auto ys = floats(out[0]);
    for (std::size_t i = 0; i < xs.size(); ++i) {
        double x = model::f16_to_f32(model::f32_to_f16(xs[i]));
        double want = reference(x, 2.0, 0.5, 0.0);
        EXPECT_NEAR(ys[i], want, 2e-3 * (1.0 + std::fabs(want))) << "x=" << x;
    }
}

TEST(TemplateExtension, CpuKernelEqualsEvaluate) {
    for (const char* path : {LOOM_TEMPLATE_V1_PATH, LOOM_TEMPLATE_V2_PATH}) {
        Library lib(path);
        const auto& op = lib.op("Activation");
        const auto xs = ramp(4 * 25);
        for (const Tensor& x : {f32_tensor({4, 25}, xs), f16_tensor({4, 25}, xs)}) {
            OneOp m("Activation", x.element_type(), x.shape(), alpha_beta(0.3, 1.7));
            Tensor want = evaluate(op, *m.node, x)[0];
            EXPECT_TRUE(run_cpu(op, *m.node, x, serial).same_as(want)) << path;
            EXPECT_TRUE(run_cpu(op, *m.node, x, chunked_threads).same_as(want)) << path;
        }
    }
}

TEST(TemplateExtension, CpuKernelRefusesAMismatchedOutput) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    OneOp m("Activation", ElementType::F32, model::Shape{4}, alpha_beta(1.0));
    Tensor x = f32_tensor({4}, ramp(4));
    Tensor y = Tensor::allocate(ElementType::F32, {5});
    model::CpuKernelContext ctx{*m.node, std::span<const Tensor>(&x, 1), std::span<Tensor>(&y, 1),
                                serial};
    auto status = lib.op("Activation").cpu_kernel(ctx);
    EXPECT_FALSE(status.ok);
    EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
}

TEST(TemplateExtension, AttributeMissingOrMistypedIsInvalidArgument) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    auto registry = registry_with(lib);
    const auto& op = lib.op("Activation");
    model::Attributes no_alpha;
    no_alpha.set("beta", 1.0);
    model::Attributes alpha_text;
    alpha_text.set("alpha", std::string("0.5"));
    model::Attributes beta_int = alpha_beta(1.0);
    beta_int.set("beta", std::int64_t{2});
    struct Case {
        model::Attributes attrs;
        const char* name;
    };
    for (const auto& [attrs, name] :
         {Case{no_alpha, "alpha"}, Case{alpha_text, "alpha"}, Case{beta_int, "beta"}}) {
        OneOp m("Activation", ElementType::F32, model::Shape{4}, attrs);
        // Through the registry (the host checks the declared schema first) ...
        expect_error(ErrorKind::INVALID_ARGUMENT, name,
                     [&] { model::infer_and_validate(m.model, *registry); });
        // ... and each callback on its own.
        model::InferContext ctx(*m.node, *registry);
        auto status = op.infer(ctx);
        EXPECT_FALSE(status.ok) << name;
        EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(status.message.find(name), std::string::npos) << status.message;

        Tensor x = f32_tensor({4}, ramp(4));
        std::vector<Tensor> out;
        status = op.evaluate(*m.node, std::span<const Tensor>(&x, 1), out);
        EXPECT_FALSE(status.ok) << name;
        EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);

        Tensor y = Tensor::allocate(ElementType::F32, {4});
        model::CpuKernelContext kc{*m.node, std::span<const Tensor>(&x, 1),
                                   std::span<Tensor>(&y, 1), serial};
        status = op.cpu_kernel(kc);
        EXPECT_FALSE(status.ok) << name;
        EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
    }
}

// Runs a MulAdd conversion on Parameter(type [2,3]) and checks the nodes it built.
void check_muladd(const sdk::ConversionEntry& conversion, model::Attributes attrs, float scale,
                  float bias, ElementType type = ElementType::F32) {
    auto registry = model::make_native_registry();
    model::Model m;
    auto& x = m.add_parameter(type, model::Shape{2, 3}, "x");
    model::ConversionContext ctx(m, {x.output(0)}, std::move(attrs), "muladd");
    std::vector<model::Output> outs;
    check(conversion.convert(ctx, outs));
    ASSERT_EQ(outs.size(), 1u);

    const auto& created = ctx.created();
    ASSERT_EQ(created.size(), 4u);
    EXPECT_EQ(created[0]->type, "Constant");
    EXPECT_EQ(created[1]->type, "Multiply");
    EXPECT_EQ(created[2]->type, "Constant");
    EXPECT_EQ(created[3]->type, "Add");
    const model::Node* mul = created[1];
    const model::Node* add = created[3];
    EXPECT_EQ(mul->version, "opset1");
    EXPECT_EQ(add->version, "opset1");
    EXPECT_EQ(mul->name, "muladd");
    ASSERT_EQ(mul->inputs.size(), 2u);
    EXPECT_EQ(mul->inputs[0].node, &x);
    EXPECT_EQ(mul->inputs[1].node, created[0]);
    ASSERT_EQ(add->inputs.size(), 2u);
    EXPECT_EQ(add->inputs[0].node, mul);
    EXPECT_EQ(add->inputs[1].node, created[2]);
    EXPECT_EQ(outs[0].node, add);
    for (auto [node, value] : {std::pair{created[0], scale}, std::pair{created[2], bias}}) {
        ASSERT_EQ(node->value.element_type(), type); // the input's floating type
        EXPECT_TRUE(node->value.shape().empty());    // a scalar
        EXPECT_EQ(floats(node->value)[0], value);
    }

    m.add_result(outs[0], "y");
    model::infer_and_validate(m, *registry);
    EXPECT_EQ(add->outputs[0].type, type);
    EXPECT_EQ(add->outputs[0].shape.to_string(), "[2,3]");
}

TEST(TemplateExtension, MulAddConversionOnnx) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    model::Attributes attrs;
    attrs.set("scale", 2.5);
    attrs.set("bias", -0.5);
    check_muladd(lib.conversion("onnx"), attrs, 2.5f, -0.5f);
    check_muladd(lib.conversion("onnx"), {}, 1.0f, 0.0f); // defaults
    check_muladd(lib.conversion("onnx"), attrs, 2.5f, -0.5f, ElementType::F16);
}

TEST(TemplateExtension, MulAddConversionIrTakesTextAttributes) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    model::Attributes text;
    text.set("scale", std::string("3"));
    text.set("bias", std::string("0.25"));
    check_muladd(lib.conversion("ir"), text, 3.0f, 0.25f);
    model::Attributes typed;
    typed.set("scale", 4.0);
    typed.set("bias", std::int64_t{1});
    check_muladd(lib.conversion("ir"), typed, 4.0f, 1.0f);
}

TEST(TemplateExtension, MulAddConversionRefusesBadAttributes) {
    Library lib(LOOM_TEMPLATE_V1_PATH);
    model::Model m;
    auto& x = m.add_parameter(ElementType::F32, model::Shape{2}, "x");
    for (const char* framework : {"onnx", "ir"}) {
        model::Attributes attrs;
        attrs.set("scale", std::string("abc"));
        model::ConversionContext ctx(m, {x.output(0)}, attrs, "bad");
        std::vector<model::Output> outs;
        auto status = lib.conversion(framework).convert(ctx, outs);
        EXPECT_FALSE(status.ok);
        EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(status.message.find("scale"), std::string::npos) << status.message;

        model::ConversionContext two(m, {x.output(0), x.output(0)}, {}, "two");
        status = lib.conversion(framework).convert(two, outs);
        EXPECT_FALSE(status.ok);
        EXPECT_EQ(status.kind, ErrorKind::INVALID_ARGUMENT);
    }
}

} // namespace
