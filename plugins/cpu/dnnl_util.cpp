#include "plugins/cpu/dnnl_util.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace loom::plugins::cpu {

std::string exec_type_name(std::string impl, dnnl::memory::data_type type) {
    std::replace(impl.begin(), impl.end(), ':', '_');
    return impl + (type == dnnl::memory::data_type::bf16 ? ":bf16" : ":f32");
}

dnnl::memory::desc retyped(dnnl::memory::desc desc, dnnl::memory::data_type type) {
    if (!desc.is_zero()) desc.data.data_type = static_cast<dnnl_data_type_t>(type);
    return desc;
}

const model::OutputInfo& input_info(const model::Node& node, std::size_t i) {
    const auto& in = node.inputs[i];
    return in.node->outputs[in.index];
}

const model::Node* constant_input(const model::Node& node, std::size_t i) {
    if (i >= node.inputs.size()) return nullptr;
    const auto* producer = node.inputs[i].node;
    return producer && producer->type == "Constant" ? producer : nullptr;
}

dnnl::memory::dims dims_of(const model::Shape& shape) {
    return {shape.begin(), shape.end()};
}

dnnl::memory::format_tag plain_data(std::size_t rank) {
    using Tag = dnnl::memory::format_tag;
    return rank == 3 ? Tag::ncw : rank == 4 ? Tag::nchw : Tag::ncdhw;
}

dnnl::memory::desc dense_desc(const model::Shape& shape, std::size_t rank, bool transposed) {
    using dnnl::memory;
    memory::dims dims(rank - shape.size(), 1);
    dims.insert(dims.end(), shape.begin(), shape.end());
    memory::dims strides(rank);
    memory::dim step = 1;
    for (std::size_t i = rank; i-- > 0;) {
        strides[i] = step;
        step *= dims[i];
    }
    if (transposed) {
        std::swap(dims[rank - 1], dims[rank - 2]);
        std::swap(strides[rank - 1], strides[rank - 2]);
    }
    return memory::desc(dims, memory::data_type::f32, strides);
}

std::optional<dnnl::memory::format_tag> tag_of(const dnnl::memory::desc& desc) {
    using Tag = dnnl::memory::format_tag;
    const auto dims = desc.dims();
    std::vector<Tag> candidates;
    switch (dims.size()) {
    case 3:
        candidates = {Tag::abc, Tag::acb, Tag::aBc8b, Tag::aBc16b};
        break;
    case 4:
        candidates = {Tag::abcd, Tag::acdb, Tag::aBcd8b, Tag::aBcd16b};
        break;
    case 5:
        candidates = {Tag::abcde, Tag::acdeb, Tag::aBcde8b, Tag::aBcde16b};
        break;
    default:
        return std::nullopt;
    }
    for (auto tag : candidates)
        if (dnnl::memory::desc(dims, desc.data_type(), tag) == desc) return tag;
    return std::nullopt;
}

void execute_with_scratchpad(const dnnl::primitive& primitive, dnnl::stream& stream,
                             std::unordered_map<int, dnnl::memory>& args,
                             const dnnl::memory::desc& scratchpad, const dnnl::engine& engine) {
    if (scratchpad.get_size() > 0)
        args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratchpad, engine));
    primitive.execute(stream, args);
    stream.wait();
}

namespace {
bool denormal(float v) {
    return v != 0.0f && std::fabs(v) < std::numeric_limits<float>::min();
}
} // namespace

std::size_t flush_denormals(std::span<float> values) {
    std::size_t changed = 0;
    for (auto& v : values)
        if (denormal(v)) {
            v = 0.0f;
            ++changed;
        }
    return changed;
}

model::Tensor without_denormals(const model::Tensor& t) {
    if (t.element_type() != model::ElementType::F32) return t;
    const std::span<const float> values(t.data<float>(), static_cast<std::size_t>(t.size()));
    if (std::none_of(values.begin(), values.end(), denormal)) return t;
    auto copy = model::Tensor::allocate(model::ElementType::F32, t.shape());
    auto* out = reinterpret_cast<float*>(copy.mutable_data());
    std::copy(values.begin(), values.end(), out);
    flush_denormals({out, values.size()});
    return copy;
}

std::vector<std::int64_t> spatial(const model::Node& node, const char* name, std::size_t count,
                                  std::int64_t fallback) {
    auto values = node.attrs.get_or<std::vector<std::int64_t>>(name, {});
    values.resize(count, fallback);
    return values;
}

bool append_activation(const model::Node& node, dnnl::post_ops& ops) {
    const auto act = node.attrs.get_or<std::string>("activation", "none");
    const auto alpha = static_cast<float>(node.attrs.get_or<double>("activation_alpha", 0.0));
    const auto beta = static_cast<float>(node.attrs.get_or<double>("activation_beta", 0.0));
    using A = dnnl::algorithm;
    struct Entry {
        const char* name;
        A algorithm;
        float alpha, beta;
    };
    // hswish: oneDNN's hardswish is x·relu6(x+3)/6, Loom's; it ignores alpha and beta.
    const Entry table[] = {
        {"relu", A::eltwise_relu, 0, 0},         {"sigmoid", A::eltwise_logistic, 0, 0},
        {"tanh", A::eltwise_tanh, 0, 0},         {"hswish", A::eltwise_hardswish, 0, 0},
        {"gelu_erf", A::eltwise_gelu_erf, 0, 0}, {"gelu_tanh", A::eltwise_gelu_tanh, 0, 0},
        {"clamp", A::eltwise_clip, alpha, beta}, {"swish", A::eltwise_swish, alpha, 0},
        {"elu", A::eltwise_elu, alpha, 0}};
    if (act == "none") return true;
    for (const auto& e : table)
        if (act == e.name) {
            ops.append_eltwise(1.0f, e.algorithm, e.alpha, e.beta);
            return true;
        }
    return false;
}

} // namespace loom::plugins::cpu
