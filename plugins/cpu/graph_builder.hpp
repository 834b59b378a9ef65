#pragma once
// GraphBuilder — how compile_graph (graph_compiler.hpp) makes a CpuGraph: the values and their
// layouts, reorders where a consumer needs another layout, fused chains of post-ops
// (graph_compiler.cpp), the primitive of each op oneDNN has (graph_ops.cpp), and the memory plan.
// Internal to plugins/cpu.

#include <functional>
#include <map>
#include <string_view>
#include <unordered_set>

#include <dnnl.hpp>

#include "plugins/cpu/graph.hpp"
#include "plugins/cpu/post_ops.hpp"

namespace loom::plugins::cpu {

using memory = dnnl::memory;
using ValueId = CpuGraph::ValueId;
using Value = CpuGraph::Value;
using Home = Value::Home;
using Arg = CpuGraph::Arg;
using Step = CpuGraph::Step;

inline constexpr std::size_t k_none = static_cast<std::size_t>(-1);
inline constexpr ValueId k_no_value = static_cast<ValueId>(-1);
inline constexpr std::size_t k_max_own_args = 16; // what CpuGraph::run_step passes

// Whether oneDNN's implementation `impl` is one of its optimised ones (jit, brgemm, gemm): the
// only ones post-ops are given to (see graph_compiler.cpp).
bool optimised(std::string_view impl);

// The dense (plain) layout of an f32 value oneDNN can describe; empty otherwise.
memory::desc plain_desc(model::ElementType type, const model::Shape& shape);

// What a primitive maker returns: the primitive's descriptor and the memories it owns (packed
// weights, bias).
struct Made {
    dnnl::primitive_desc_base pd;
    std::vector<std::pair<int, memory>> fixed;
};
// Makes the primitive with post-ops `ops` writing `dst` (format_tag::any: its choice), with
// `affine` folded into its weights (convolutions; null for the others).
using Maker =
    std::function<Made(const dnnl::post_ops& ops, const memory::desc& dst, const Affine* affine)>;

class GraphBuilder {
public:
    GraphBuilder(const model::Model& model, const model::OpRegistry& registry,
                 const loom::reference::KernelTable& kernels,
                 const loom::reference::NodePreparer& prepare, const dnnl::engine& engine,
                 bool bf16)
        : m_model(model)
        , m_registry(registry)
        , m_kernels(kernels)
        , m_prepare(prepare)
        , m_bf16(bf16) {
        m_parts.engine = engine;
    }

    CpuGraph::Parts build();

private:
    static std::size_t bytes_of(model::ElementType type, const model::Shape& shape);

    ValueId add(Value v);

    ValueId add_arena(model::ElementType type, const model::Shape& shape, memory::desc desc);

    ValueId add_constant(const model::Tensor& t);

    ValueId value_of(const model::Output& o) const;

    bool dnnl_value(ValueId v) const;
    // Input 0 of `node` where it is a value oneDNN reads and output 0 a static f32 value — what
    // the single-input emitters start from; k_no_value otherwise.
    ValueId f32_source(const model::Node& node) const;

    // `v` in layout `desc`: itself, or a reordered copy (made once per layout).
    ValueId in_layout(ValueId v, const memory::desc& desc);

    ValueId plain(ValueId v);
    // The same in the value's own precision (a bf16 value stays bf16).
    ValueId plain_keeping_type(ValueId v);
    // The bytes of `v` seen as another value: `shape`, layout `desc` (lives as long as `v`).
    ValueId view_of(ValueId v, const model::Shape& shape, const memory::desc& desc);
    // A reorder step from `from` to `to` (same dims), reported as `name` (`type`); its execType.
    const std::string& emit_reorder(std::string name, std::string type, ValueId from, ValueId to);

    // The anchor's primitive with the fusible chain after it folded in (as much of it as oneDNN
    // takes: on refusal the chain is shortened, down to none).
    // The output is of `type` (undef: the first input's type).
    bool emit_fused(const model::Node& anchor, std::vector<Arg> inputs, const Maker& make,
                    const std::function<void(dnnl::post_ops&)>& own_ops, bool fold = false,
                    memory::data_type type = memory::data_type::undef);

    std::vector<ValueId> chain_operands(const std::vector<PostOp>& chain, std::size_t rank);
    void emit_chain(const model::Node& anchor, std::vector<Arg> args,
                    const std::vector<PostOp>& whole, const Maker& make,
                    const std::function<void(dnnl::post_ops&)>& own_ops, bool fold,
                    memory::data_type type);

    void emit(const model::Node& node, const Made& made, std::vector<Arg> args,
              std::vector<const model::Node*> fused);

    static dnnl::primitive_attr user_scratchpad(const dnnl::post_ops& ops);

    bool emit_conv(const model::Node& node);

    bool emit_unary(const model::Node& node);

    bool emit_binary(const model::Node& node);
    bool emit_scalar_arithmetic(const model::Node& node);

    // ReduceMean/Max/Min/Sum/Prod with constant axes and keep_dims (SE blocks' global pooling):
    // over all spatial axes, Mean and Max are a global pooling (jit in any layout); otherwise a
    // oneDNN reduction of a plain value.
    bool emit_reduce(const model::Node& node);

    bool emit_global_pool(const model::Node& node, ValueId src, bool mean);

    static dnnl::algorithm binary_algorithm(const std::string& type);

    bool emit_deconv(const model::Node& node);
    // A deconvolution without overlapping windows: a 1×1 convolution and a depth-to-space
    // reorder (graph_deconv.cpp).
    bool emit_deconv_as_conv(const model::Node& node);
    // Interpolate, nearest, by integer factors: oneDNN's resampling where it picks the same
    // source pixels.
    bool emit_interpolate(const model::Node& node);
    bool emit_concat(const model::Node& node);
    bool emit_batch_norm(const model::Node& node);
    bool emit_softmax(const model::Node& node);
    bool emit_pool(const model::Node& node);
    bool emit_mvn(const model::Node& node);
    bool emit_transpose(const model::Node& node);
    // MatMul/FusedMatMul (constant or runtime B) as a oneDNN matmul with its chain fused
    // (graph_matmul.cpp), and Slice with unit steps as a reorder of a sub-memory view.
    bool emit_matmul(const model::Node& node);
    bool emit_matmul_rows(const model::Node& node, std::vector<Arg> args, const Maker& make,
                          const std::function<void(dnnl::post_ops&)>& own_ops,
                          const model::Shape& rows, memory::data_type type);
    // Steps of the device's own kernels (graph_own.cpp): `node`'s output made by `kernel` from
    // `args` (the output appended), in layout `out_desc`, reported as "loom_<what>:<type>".
    // `fused`: nodes after it folded into the kernel (the output is the last one's).
    ValueId emit_own(const model::Node& node, std::shared_ptr<const OwnKernel> kernel,
                     std::vector<Arg> args, const memory::desc& out_desc, const std::string& what,
                     std::vector<const model::Node*> fused = {});
    // A depthwise 2-D GroupConvolution with the chain after it as far as the kernel's
    // epilogue goes (own_depthwise.cpp), on CPUs that have the kernel; false otherwise.
    bool emit_depthwise(const model::Node& node);
    // A nearest upsampling of `src` by integer factors (emit_interpolate's checks passed) whose
    // only consumer adds it to a channels-last value made before: one step of both.
    bool emit_upsample_add(const model::Node& node, ValueId src);
    // A concatenation along the channels of channels-last values of one type; false otherwise.
    bool emit_concat_channels_last(const model::Node& node, const std::vector<Arg>& args,
                                   std::int64_t axis);
    // A reorder from `from` to `to` by an own kernel (an RGB image to bf16 channels last);
    // false where there is none.
    bool emit_own_reorder(const std::string& name, ValueId from, ValueId to);
    // Max pooling of a bf16 NHWC value; false otherwise.
    bool emit_max_pool_nhwc(const model::Node& node, ValueId src, const Pool2d& pool);
    bool emit_slice(const model::Node& node);

    // Reshape/Squeeze/Unsqueeze of a plain value: the same bytes seen with another shape.
    bool emit_view(const model::Node& node);

    void emit_node(const model::Node& node);

    // Lifetimes by step, then offsets: a value lives from the step that writes it to the last
    // that reads it (results: to the end); views live as long as their root.
    void finish();
    void concat_in_place();

    const model::Model& m_model;
    const model::OpRegistry& m_registry;
    const loom::reference::KernelTable& m_kernels;
    const loom::reference::NodePreparer& m_prepare;
    const bool m_bf16; // convolutions compute in bf16, and what follows them stays bf16
    CpuGraph::Parts m_parts;
    std::vector<ValueId> m_root;        // per value: the value whose bytes it uses …
    std::vector<std::size_t> m_delta;   // … from this byte on
    std::vector<std::size_t> m_concats; // the concat steps, by index: perhaps in place
    std::map<std::size_t, std::int64_t> m_concat_axis;
    std::map<std::size_t, const model::Node*> m_concat_node;
    std::map<std::pair<const model::Node*, std::uint32_t>, ValueId> m_of;
    std::map<ValueId, std::vector<std::pair<memory::desc, ValueId>>> m_layouts;
    std::map<ValueId, std::string> m_names;
    std::unordered_set<const model::Node*> m_done; // fused into an earlier step
};

} // namespace loom::plugins::cpu
