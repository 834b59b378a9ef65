// The CPU graph's steps run by the device's own kernels (own_kernels.hpp), where oneDNN 2.6 is
// slow on channels-last values: concatenation along channels and bf16 max pooling.

#include "plugins/cpu/dnnl_util.hpp"
#include "plugins/cpu/graph_builder.hpp"

namespace loom::plugins::cpu {

namespace {

// The channels-last tag of a data tensor of `rank` (nwc, nhwc, ndhwc); undef for other ranks.
memory::format_tag channels_last_tag(std::size_t rank) {
    using F = memory::format_tag;
    return rank == 3 ? F::acb : rank == 4 ? F::acdb : rank == 5 ? F::acdeb : F::undef;
}

// Whether `desc` is the dense channels-last layout of its dims.
bool channels_last(const memory::desc& desc) {
    const auto tag = channels_last_tag(desc.dims().size());
    return tag != memory::format_tag::undef &&
           desc == memory::desc(desc.dims(), desc.data_type(), tag);
}

} // namespace

ValueId GraphBuilder::emit_own(const model::Node& node, std::shared_ptr<const OwnKernel> kernel,
                               std::vector<Arg> args, const memory::desc& out_desc,
                               const std::string& what) {
    const auto out = node.outputs[0].shape.to_shape();
    const auto y = add_arena(model::ElementType::F32, out, out_desc);
    args.push_back({DNNL_ARG_DST, y});
    Step step;
    step.own = std::move(kernel);
    step.args = std::move(args);
    step.name = node.name;
    step.type = node.type;
    step.exec_type = exec_type_name("loom_" + what, out_desc.data_type());
    m_parts.exec_types[&node] = step.exec_type;
    m_parts.steps.push_back(std::move(step));
    m_of[{&node, 0}] = y;
    m_names[y] = node.name;
    return y;
}

bool GraphBuilder::emit_concat_channels_last(const model::Node& node, const std::vector<Arg>& args,
                                             std::int64_t axis) {
    if (axis != 1 || args.size() + 1 > k_max_own_args) return false;
    const auto type = m_parts.values[args[0].value].desc.data_type();
    std::vector<std::int64_t> channels;
    for (const auto& a : args) {
        const auto& desc = m_parts.values[a.value].desc;
        if (!channels_last(desc) || desc.data_type() != type || desc.data.offset0 != 0)
            return false;
        channels.push_back(desc.dims()[1]);
    }
    const auto out = node.outputs[0].shape.to_shape();
    std::int64_t pixels = out[0];
    for (std::size_t i = 2; i < out.size(); ++i)
        pixels *= out[i];
    const auto tag = channels_last_tag(out.size());
    emit_own(node,
             make_concat_channels_last(pixels, std::move(channels), memory::data_type_size(type)),
             args, memory::desc(dims_of(out), type, tag), "concat_channels_last");
    return true;
}

bool GraphBuilder::emit_own_reorder(const std::string& name, ValueId from, ValueId to) {
    const auto& src = m_parts.values[from].desc;
    const auto& dst = m_parts.values[to].desc;
    const auto dims = src.dims();
    if (dims.size() != 4 || dims[1] != 3 || src.data_type() != memory::data_type::f32 ||
        src != memory::desc(dims, memory::data_type::f32, memory::format_tag::abcd) ||
        dst != memory::desc(dims, memory::data_type::bf16, memory::format_tag::acdb) ||
        !rgb_to_bf16_nhwc_available())
        return false;
    Step step;
    step.own = make_rgb_to_bf16_nhwc(dims[0], dims[2] * dims[3]);
    step.args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    step.name = name;
    step.type = "Reorder";
    step.exec_type = exec_type_name("loom_rgb_to_nhwc", memory::data_type::bf16);
    m_parts.steps.push_back(std::move(step));
    return true;
}

bool GraphBuilder::emit_max_pool_nhwc(const model::Node& node, ValueId src, const Pool2d& pool) {
    const auto& desc = m_parts.values[src].desc;
    if (desc.data_type() != memory::data_type::bf16 || desc.dims().size() != 4 ||
        !channels_last(desc) || desc.data.offset0 != 0)
        return false;
    const auto out = node.outputs[0].shape.to_shape();
    emit_own(node, make_max_pool_bf16_nhwc(pool), {{DNNL_ARG_SRC, src}},
             memory::desc(dims_of(out), memory::data_type::bf16, memory::format_tag::acdb),
             "max_pool_nhwc");
    return true;
}

} // namespace loom::plugins::cpu
