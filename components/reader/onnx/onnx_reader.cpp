// The ONNX reader: protobuf parsing, opset imports, graph traversal, ONNX functions (libonnx's
// schema bodies and model-local functions, inlined), bodies with captured outer values.

#include "components/reader/onnx/onnx_reader.hpp"

#include <algorithm>
#include <climits>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <onnx/defs/schema.h>

#include "components/reader/onnx/converters.hpp"
#include "components/reader/onnx/graph_converter.hpp"
#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {

namespace {
bool is_default_domain(const std::string& domain) {
    return domain.empty() || domain == "ai.onnx";
}

std::string normalized_domain(const std::string& domain) {
    return is_default_domain(domain) ? std::string() : domain;
}

bool is_refused_domain(const std::string& domain) {
    return domain == "ai.onnx.ml" || domain == "ai.onnx.training" ||
           domain == "ai.onnx.preview.training";
}

const ConverterEntry* find_converter(const ReadState& state, const std::string& op,
                                     std::int64_t opset) {
    auto it = state.converters.find(op);
    if (it == state.converters.end()) return nullptr;
    const ConverterEntry* best = nullptr;
    for (const auto& e : it->second)
        if (e.since_version <= opset) best = &e;
    return best;
}

// The ONNX TypeProto of a converted value (for context-dependent function builders).
onnx::TypeProto type_proto_of(Output value) {
    onnx::TypeProto t;
    const auto& info = value.node->outputs[value.index];
    auto* tt = t.mutable_tensor_type();
    tt->set_elem_type(onnx_type_from_element(info.type));
    if (info.shape.rank_is_static()) {
        auto* shape = tt->mutable_shape();
        for (const auto& d : info.shape.dims()) {
            auto* dim = shape->add_dim();
            if (d.is_static()) dim->set_dim_value(d.length());
        }
    }
    return t;
}

// Caller attribute `ref`, else the schema's default, renamed to `name`; nullopt when neither.
std::optional<onnx::AttributeProto> referenced_attr(const onnx::NodeProto& caller,
                                                    const std::string& ref, const std::string& name,
                                                    const onnx::OpSchema* schema) {
    for (const auto& a : caller.attribute())
        if (a.name() == ref) {
            auto copy = a;
            copy.set_name(name);
            return copy;
        }
    if (schema) {
        auto it = schema->attributes().find(ref);
        if (it != schema->attributes().end() && it->second.default_value.type() != 0) {
            auto copy = it->second.default_value;
            copy.set_name(name);
            return copy;
        }
    }
    return std::nullopt;
}
} // namespace

std::map<std::string, std::vector<ConverterEntry>, std::less<>> build_converter_table() {
    std::vector<ConverterEntry> all;
    add_converters_elementwise(all);
    add_converters_nn(all);
    add_converters_rnn(all);
    add_converters_tensor(all);
    add_converters_reduce(all);
    add_converters_quant(all);
    add_converters_misc(all);
    add_converters_control(all);
    std::map<std::string, std::vector<ConverterEntry>, std::less<>> table;
    for (const auto& e : all)
        table[std::string(e.op_type)].push_back(e);
    for (auto& [op, entries] : table)
        std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            return a.since_version < b.since_version;
        });
    return table;
}

std::optional<std::pair<ElementType, PartialShape>>
value_info_type(const onnx::ValueInfoProto& info) {
    const auto& t = info.type();
    const auto& name = info.name();
    switch (t.value_case()) {
    case onnx::TypeProto::kTensorType:
        break;
    case onnx::TypeProto::VALUE_NOT_SET:
        return std::nullopt;
    case onnx::TypeProto::kSequenceType:
        LOOM_THROW(ErrorKind::UNSUPPORTED, "value '{}' is a sequence; sequences are not supported",
                   name);
    case onnx::TypeProto::kOptionalType:
        LOOM_THROW(ErrorKind::UNSUPPORTED, "value '{}' is an optional; optionals are not supported",
                   name);
    default:
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "value '{}' is not a dense tensor (map, sparse or opaque types are not "
                   "supported)",
                   name);
    }
    const auto& tt = t.tensor_type();
    if (tt.elem_type() == onnx::TensorProto::STRING)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "value '{}' is a string tensor; strings are not supported", name);
    if (tt.elem_type() == onnx::TensorProto::UNDEFINED) return std::nullopt;
    auto type = element_type_from_onnx(tt.elem_type());
    if (type == ElementType::UNDEFINED)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "value '{}' has ONNX element type {}, not supported",
                   name, tt.elem_type());
    if (!tt.has_shape()) return std::pair{type, PartialShape::dynamic()};
    std::vector<model::Dimension> dims;
    std::int64_t elements = 1;
    for (const auto& d : tt.shape().dim()) {
        if (d.has_dim_value()) {
            LOOM_REQUIRE(d.dim_value() >= 0, "value '{}' has a negative dimension {}", name,
                         d.dim_value());
            check_extent(d.dim_value(), "value '" + name + "'");
            dims.emplace_back(d.dim_value());
            elements = extent_product(elements, d.dim_value(), "value '" + name + "'");
        } else {
            dims.emplace_back(model::Dimension::dynamic());
        }
    }
    return std::pair{type, PartialShape(std::move(dims))};
}

// ---- GraphConverter: graphs and nodes ----

std::shared_ptr<model::Model> GraphConverter::convert_main(const onnx::GraphProto& graph) {
    m_model->name = graph.name();
    add_initializers(graph);
    std::set<std::string> initializers;
    for (const auto& init : graph.initializer())
        initializers.insert(init.name());
    for (const auto& in : graph.input()) {
        if (initializers.count(in.name())) continue;
        std::optional<std::pair<ElementType, PartialShape>> t;
        try {
            t = value_info_type(in);
        } catch (const Error& e) {
            LOOM_THROW(e.kind(), "graph input '{}': {}", in.name(), e.message());
        }
        LOOM_REQUIRE(t.has_value(), "graph input '{}' has no element type", in.name());
        auto& param = m_model->add_parameter(t->first, t->second, in.name());
        define(in.name(), param.output(0));
    }
    convert_nodes(graph);
    for (const auto& out : graph.output()) {
        auto value = find(out.name());
        LOOM_REQUIRE(value.has_value(), "graph output '{}' is not produced by any node",
                     out.name());
        define(out.name(), *value);
        m_model->add_result(*value, out.name());
    }
    return m_model;
}

Subgraph
GraphConverter::convert_subgraph(const onnx::GraphProto& graph,
                                 const std::vector<std::pair<ElementType, PartialShape>>& hints) {
    LOOM_REQUIRE(m_depth + 1 <= k_max_nesting,
                 "body '{}' of node '{}' is nested deeper than {} levels", graph.name(),
                 m_current_name, k_max_nesting);
    GraphConverter child(m_state, this, m_depth + 1);
    return child.convert_body(graph, hints);
}

Subgraph
GraphConverter::convert_body(const onnx::GraphProto& graph,
                             const std::vector<std::pair<ElementType, PartialShape>>& hints) {
    std::size_t explicit_inputs = 0;
    for (const auto& in : graph.input()) {
        std::optional<std::pair<ElementType, PartialShape>> t;
        if (explicit_inputs < hints.size() &&
            hints[explicit_inputs].first != ElementType::UNDEFINED)
            t = hints[explicit_inputs];
        else
            t = value_info_type(in);
        LOOM_REQUIRE(t.has_value(), "input '{}' of body '{}' has no element type", in.name(),
                     graph.name());
        auto& param = m_model->add_parameter(t->first, t->second, in.name());
        define(in.name(), param.output(0));
        ++explicit_inputs;
    }
    add_initializers(graph);
    convert_nodes(graph);
    for (const auto& out : graph.output()) {
        auto value = find(out.name());
        LOOM_REQUIRE(value.has_value(), "output '{}' of body '{}' is not produced by any node",
                     out.name(), graph.name());
        define(out.name(), *value);
        m_model->add_result(*value, out.name());
    }
    return {m_model, explicit_inputs, m_captured};
}

void GraphConverter::add_initializers(const onnx::GraphProto& graph) {
    if (graph.sparse_initializer_size() > 0)
        LOOM_THROW(ErrorKind::UNSUPPORTED, "sparse initializer '{}' is not supported",
                   graph.sparse_initializer(0).values().name());
    for (const auto& init : graph.initializer()) {
        auto t = tensor_from_proto(init, m_state.base_dir, &m_state.external);
        auto& node = add_constant_node(*m_model, std::move(t), init.name());
        define(init.name(), node.output(0));
    }
}

void GraphConverter::convert_nodes(const onnx::GraphProto& graph) {
    int index = 0;
    for (const auto& node : graph.node()) {
        auto friendly =
            node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
        convert_node(node, *m_opsets, friendly);
        ++index;
    }
}

void GraphConverter::convert_node(const onnx::NodeProto& node, const OpsetMap& opsets,
                                  const std::string& friendly) {
    m_current_opsets = &opsets;
    auto domain = normalized_domain(node.domain());
    auto it = opsets.find(domain);
    if (domain.empty()) {
        auto opset = it == opsets.end() ? std::int64_t{0} : it->second;
        if (auto* entry = find_converter(m_state, node.op_type(), opset)) {
            run_converter(*entry, node, opset, friendly);
            return;
        }
        if (try_schema_function(node, opsets, opset, friendly)) return;
    }
    if (is_refused_domain(domain))
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "node '{}': operator {} of domain '{}' is not supported (the {} domain is "
                   "not supported)",
                   friendly, node.op_type(), domain, domain);
    auto fn = m_state.functions.find({domain, node.op_type()});
    if (fn != m_state.functions.end()) {
        expand_function(*fn->second, node, opsets, friendly, nullptr);
        return;
    }
    // Hook (later issue): operators registered by extensions for `domain` are consulted here.
    LOOM_THROW(
        ErrorKind::NOT_FOUND, "unknown ONNX operator {} (domain {}, version {}) in node '{}'",
        node.op_type(), domain.empty() ? std::string("ai.onnx") : domain,
        it == opsets.end() ? std::string("not imported") : std::to_string(it->second), friendly);
}

void GraphConverter::run_converter(const ConverterEntry& entry, const onnx::NodeProto& node,
                                   std::int64_t opset, const std::string& friendly) {
    m_current_name = friendly;
    m_current_origin = fmt::format("{}{}-{}", node.domain().empty() ? "" : node.domain() + ":",
                                   node.op_type(), opset);
    m_created.clear();
    std::vector<Output> outs;
    try {
        ConvertContext ctx(*this, node, opset);
        outs = entry.convert(ctx);
    } catch (const Error& e) {
        if (e.message().find("node '" + friendly) != std::string::npos) throw;
        LOOM_THROW(e.kind(), "node '{}' ({}, opset {}): {}", friendly, node.op_type(), opset,
                   e.message());
    }
    // The node producing the first output carries the ONNX node's name (nodes a converter
    // builds directly in the model, e.g. with bodies, are unnamed until here).
    if (!outs.empty() && outs[0].node &&
        (outs[0].node->name.empty() ||
         std::find(m_created.begin(), m_created.end(), outs[0].node) != m_created.end()))
        outs[0].node->name = friendly;
    for (int i = 0; i < node.output_size(); ++i) {
        const auto& name = node.output(i);
        auto k = static_cast<std::size_t>(i);
        if (!name.empty() && k < outs.size() && outs[k].node)
            define(name, outs[k]);
        else if (!name.empty())
            m_unproduced[name] = friendly;
    }
}

bool GraphConverter::try_schema_function(const onnx::NodeProto& node, const OpsetMap& opsets,
                                         std::int64_t opset, const std::string& friendly) {
    const auto* schema =
        onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opset), "");
    if (!schema) return false;
    onnx::FunctionProto fn;
    if (schema->HasContextDependentFunction()) {
        m_current_name = friendly;
        std::vector<onnx::TypeProto> types;
        for (int i = 0; i < node.input_size(); ++i)
            types.push_back(node.input(i).empty() ? onnx::TypeProto()
                                                  : type_proto_of(lookup(node.input(i), node)));
        onnx::FunctionBodyBuildContextImpl ctx(node, types);
        if (!schema->BuildContextDependentFunction(ctx, fn)) return false;
    } else if (schema->HasFunction()) {
        fn = *schema->GetFunction();
    } else {
        return false;
    }
    expand_function(fn, node, opsets, friendly, schema);
    return true;
}

namespace {
// One call's view of a function body: formal inputs and outputs become the caller's values,
// every other name (subgraphs' included) a name private to this call; attribute references
// take the caller's attributes (or the schema's defaults).
struct FunctionInstance {
    std::string prefix;
    std::map<std::string, std::string> rename;
    const onnx::NodeProto* caller = nullptr;
    const onnx::OpSchema* schema = nullptr;

    std::string map_name(const std::string& n) const {
        if (n.empty()) return n;
        auto it = rename.find(n);
        return it != rename.end() ? it->second : prefix + n;
    }

    void instantiate(onnx::NodeProto& node) const {
        for (int k = 0; k < node.input_size(); ++k)
            node.set_input(k, map_name(node.input(k)));
        for (int k = 0; k < node.output_size(); ++k)
            node.set_output(k, map_name(node.output(k)));
        google::protobuf::RepeatedPtrField<onnx::AttributeProto> attrs;
        for (const auto& a : node.attribute()) {
            if (a.ref_attr_name().empty())
                *attrs.Add() = a;
            else if (auto r = referenced_attr(*caller, a.ref_attr_name(), a.name(), schema))
                *attrs.Add() = *r;
        }
        for (auto& a : attrs) {
            if (a.has_g()) instantiate_graph(*a.mutable_g());
            for (auto& g : *a.mutable_graphs())
                instantiate_graph(g);
        }
        node.mutable_attribute()->Swap(&attrs);
    }

    void instantiate_graph(onnx::GraphProto& g) const {
        for (auto* list : {g.mutable_input(), g.mutable_output(), g.mutable_value_info()})
            for (auto& vi : *list)
                vi.set_name(map_name(vi.name()));
        for (auto& init : *g.mutable_initializer())
            init.set_name(map_name(init.name()));
        for (auto& n : *g.mutable_node())
            instantiate(n);
    }
};
} // namespace

void GraphConverter::expand_function(const onnx::FunctionProto& fn, const onnx::NodeProto& caller,
                                     const OpsetMap& caller_opsets, const std::string& friendly,
                                     const void* schema_ptr) {
    LOOM_REQUIRE(m_depth + 1 <= k_max_nesting,
                 "node '{}': function {} is nested deeper than {} levels", friendly, fn.name(),
                 k_max_nesting);
    FunctionInstance call;
    call.schema = static_cast<const onnx::OpSchema*>(schema_ptr);
    call.caller = &caller;
    call.prefix = fmt::format("$fn{}_{}/", ++m_state.next_unique, fn.name());
    for (int i = 0; i < fn.input_size(); ++i)
        call.rename[fn.input(i)] = i < caller.input_size() ? caller.input(i) : std::string();
    for (int i = 0; i < fn.output_size(); ++i)
        call.rename[fn.output(i)] = i < caller.output_size() && !caller.output(i).empty()
                                        ? caller.output(i)
                                        : call.prefix + fn.output(i);
    OpsetMap fn_opsets = caller_opsets;
    for (const auto& imp : fn.opset_import())
        fn_opsets[normalized_domain(imp.domain())] = imp.version();
    ++m_depth;
    int index = 0;
    for (const auto& inner : fn.node()) {
        onnx::NodeProto copy = inner;
        call.instantiate(copy);
        auto inner_name =
            friendly + "/" +
            (inner.name().empty() ? inner.op_type() + "_" + std::to_string(index) : inner.name());
        try {
            convert_node(copy, fn_opsets, inner_name);
        } catch (...) {
            --m_depth;
            throw;
        }
        ++index;
    }
    --m_depth;
}

// ---- read_onnx ----

namespace {
onnx::ModelProto parse_model(std::span<const std::byte> bytes, const std::string& source) {
    LOOM_REQUIRE(bytes.size() < static_cast<std::size_t>(INT_MAX),
                 "{}: the ONNX protobuf is larger than 2 GiB (use external data)", source);
    google::protobuf::io::CodedInputStream stream(
        reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
    stream.SetTotalBytesLimit(INT_MAX);
    onnx::ModelProto proto;
    if (!proto.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{}: not a valid ONNX model (protobuf parse failed)", source);
    return proto;
}

ReadState make_state(const onnx::ModelProto& proto, const std::string& base_dir,
                     const model::OpRegistry& registry, const std::string& source) {
    LOOM_REQUIRE(proto.has_ir_version(), "{}: not a valid ONNX model (no ir_version)", source);
    LOOM_REQUIRE(proto.has_graph(), "{}: the ONNX model has no graph", source);
    ReadState state;
    state.registry = &registry;
    state.base_dir = base_dir;
    state.source = source;
    for (const auto& imp : proto.opset_import())
        state.model_opsets[normalized_domain(imp.domain())] = imp.version();
    if (!state.model_opsets.count("")) {
        for (const auto& [domain, version] : state.model_opsets)
            if (is_refused_domain(domain))
                LOOM_THROW(ErrorKind::UNSUPPORTED,
                           "{}: the model imports the {} domain (not supported) and no "
                           "default-domain (ai.onnx) opset",
                           source, domain);
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{}: the model imports no default-domain (ai.onnx) opset", source);
    }
    for (const auto& fn : proto.functions())
        state.functions[{normalized_domain(fn.domain()), fn.name()}] = &fn;
    state.converters = build_converter_table();
    return state;
}
} // namespace

std::shared_ptr<model::Model> read_onnx(std::span<const std::byte> bytes,
                                        const std::string& base_dir,
                                        const model::OpRegistry& registry,
                                        const std::string& source) {
    auto proto = parse_model(bytes, source);
    auto state = make_state(proto, base_dir, registry, source);
    try {
        GraphConverter main(state, nullptr, 0);
        auto m = main.convert_main(proto.graph());
        model::infer_and_validate(*m, registry);
        return m;
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "{}: {}", source, e.message());
    }
}

} // namespace loom::reader::onnx_fe
