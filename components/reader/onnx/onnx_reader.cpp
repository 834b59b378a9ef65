// The ONNX reader: protobuf parsing, opset imports, graph traversal, ONNX functions (libonnx's
// schema bodies and model-local functions, inlined), bodies with captured outer values,
// extension operators of custom domains (conversions and extension ops from the registry).

#include "components/reader/onnx/onnx_reader.hpp"

#include <algorithm>
#include <climits>
#include <exception>
#include <set>
#include <variant>

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
    auto it = state.converters->find(op);
    if (it == state.converters->end()) return nullptr;
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

namespace {
ConverterTable build_converter_table() {
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
} // namespace

const ConverterTable& converter_table() {
    static const ConverterTable table = build_converter_table();
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
    // As onnx.checker: a node's domain must be imported (the model's opset_import, or its
    // function's), or its version is unknown.
    if (it == opsets.end())
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "node '{}': operator {} is of domain '{}', which the model does not import "
                   "(add {{domain: \"{}\", version: N}} to its opset_import)",
                   friendly, node.op_type(), domain, domain);
    auto fn = m_state.functions.find({domain, node.op_type()});
    if (fn != m_state.functions.end()) {
        expand_function(*fn->second, node, opsets, friendly, nullptr);
        return;
    }
    auto version = std::to_string(it->second);
    if (try_extension(node, domain, version, friendly)) return;
    LOOM_THROW(ErrorKind::NOT_FOUND,
               "unknown ONNX operator {} (domain {}, version {}) in node '{}'{}", node.op_type(),
               domain.empty() ? std::string("ai.onnx") : domain, version, friendly,
               domain.empty() ? "" : " (no loaded extension provides it)");
}

// ---- Extension operators (DESIGN.md §6) ----
//
// For a node of a non-default domain that no model-local function defines, the registry is
// asked for a conversion ("onnx", domain, op type) first: it sees the node's inputs (an omitted
// optional input is Output{}, trailing omitted ones are dropped) and attributes (ONNX INT → int,
// FLOAT → float, STRING → string, INTS/FLOATS/STRINGS → lists; tensor, graph and type
// attributes are refused), builds native ops, and returns one value per ONNX output. Otherwise
// an extension op (op type, version = domain) becomes one node whose attributes are those same
// values coerced to the kinds its spec declares where ONNX cannot say them (an int where a
// float, bool, list or element type is wanted, a float where a list of floats is, a string where
// a list of strings is); an attribute whose ONNX type cannot carry the declared kind (a string
// "1.5" for a float) is refused, as onnx.checker refuses one of the wrong type. Attributes the
// spec does not list are kept as read.

namespace {
using AP = onnx::AttributeProto;
using model::AttrKind;
using model::AttrValue;

AttrValue onnx_attr_value(const AP& a) {
    switch (a.type()) {
    case AP::INT:
        return AttrValue(static_cast<std::int64_t>(a.i()));
    case AP::FLOAT:
        return AttrValue(static_cast<double>(a.f()));
    case AP::STRING:
        return AttrValue(std::in_place_type<std::string>, a.s());
    case AP::INTS:
        return AttrValue(std::vector<std::int64_t>(a.ints().begin(), a.ints().end()));
    case AP::FLOATS:
        return AttrValue(std::vector<double>(a.floats().begin(), a.floats().end()));
    case AP::STRINGS:
        return AttrValue(std::vector<std::string>(a.strings().begin(), a.strings().end()));
    default:
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "attribute '{}' is of ONNX type {}; extension operators take int, float and "
                   "string attributes and lists of them",
                   a.name(), AP::AttributeType_Name(a.type()));
    }
}

// `value` as `kind` where ONNX has no way to say it; nullopt when there is no sensible reading.
std::optional<AttrValue> coerce(const AttrValue& value, AttrKind kind) {
    if (model::kind_of(value) == kind) return value;
    if (const auto* i = std::get_if<std::int64_t>(&value)) {
        switch (kind) {
        case AttrKind::Float:
            return AttrValue(static_cast<double>(*i));
        case AttrKind::Bool:
            if (*i == 0 || *i == 1) return AttrValue(*i == 1);
            return std::nullopt;
        case AttrKind::Ints:
            return AttrValue(std::vector<std::int64_t>{*i});
        case AttrKind::Floats:
            return AttrValue(std::vector<double>{static_cast<double>(*i)});
        case AttrKind::Type: { // ONNX names element types by their TensorProto code
            if (*i <= 0 || *i > INT_MAX) return std::nullopt;
            auto t = element_type_from_onnx(static_cast<std::int32_t>(*i));
            if (t == ElementType::UNDEFINED) return std::nullopt;
            return AttrValue(t);
        }
        default:
            return std::nullopt;
        }
    }
    if (const auto* f = std::get_if<double>(&value)) {
        if (kind == AttrKind::Floats) return AttrValue(std::vector<double>{*f});
        return std::nullopt;
    }
    if (std::holds_alternative<std::string>(value)) { // never a number, bool or type
        if (kind == AttrKind::Strings)
            return AttrValue(std::vector<std::string>{std::get<std::string>(value)});
        return std::nullopt;
    }
    if (const auto* is = std::get_if<std::vector<std::int64_t>>(&value)) {
        if (kind == AttrKind::Floats) return AttrValue(std::vector<double>(is->begin(), is->end()));
        if (kind == AttrKind::Dims) { // -1: a dynamic dimension
            std::vector<model::Dimension> dims;
            for (auto d : *is) {
                if (d < -1) return std::nullopt;
                dims.push_back(d == -1 ? model::Dimension::dynamic() : model::Dimension(d));
            }
            return AttrValue(PartialShape(std::move(dims)));
        }
    }
    return std::nullopt;
}

// The node's attributes as model attributes, coerced to `spec`'s kinds when given;
// invalid_argument naming the attribute, its declared kind and its ONNX type when the value
// cannot be one of that kind.
model::Attributes onnx_attributes(const onnx::NodeProto& node, const model::OpSpec* spec) {
    model::Attributes out;
    for (const auto& a : node.attribute()) {
        auto value = onnx_attr_value(a);
        if (const auto* want = spec ? spec->find_attr(a.name()) : nullptr) {
            auto coerced = coerce(value, want->kind);
            if (!coerced)
                LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                           "attribute '{}' is declared {} by the operator's spec but is an ONNX "
                           "{} attribute{} that cannot be read as {}",
                           a.name(), model::to_string(want->kind), AP::AttributeType_Name(a.type()),
                           a.type() == AP::STRING ? fmt::format(" (\"{}\")", a.s()) : "",
                           model::to_string(want->kind));
            value = std::move(*coerced);
        }
        out.set(a.name(), std::move(value));
    }
    return out;
}

// Provenance, as the converters leave it: <attribute name="onnx_op" value="domain:Op-1"/>.
void mark_origin(model::Node& node, const std::string& origin) {
    node.rt_info.tag = "rt_info";
    node.rt_info.children.push_back(
        model::RtNode{"attribute", {{"name", "onnx_op"}, {"version", "0"}, {"value", origin}}, {}});
}
} // namespace

bool GraphConverter::try_extension(const onnx::NodeProto& node, const std::string& domain,
                                   const std::string& version, const std::string& friendly) {
    if (domain.empty()) return false;
    const auto& registry = *m_state.registry;
    auto what = fmt::format("{}, domain {}, version {}", node.op_type(), domain, version);
    m_current_name = friendly;
    m_current_origin = fmt::format("{}:{}-{}", domain, node.op_type(), version);
    if (const auto* conversion = registry.find_conversion("onnx", domain, node.op_type())) {
        run_conversion(*conversion, node, what, friendly);
        return true;
    }
    if (model::opset_number(domain)) return false; // a domain named like a native opset
    if (const auto* spec = registry.find(node.op_type(), domain)) {
        add_extension_op(*spec, node, what, friendly);
        return true;
    }
    return false;
}

std::vector<Output> GraphConverter::extension_inputs(const onnx::NodeProto& node) {
    std::vector<Output> inputs;
    for (int i = 0; i < node.input_size(); ++i)
        inputs.push_back(node.input(i).empty() ? Output{} : lookup(node.input(i), node));
    while (!inputs.empty() && !inputs.back().node)
        inputs.pop_back();
    return inputs;
}

void GraphConverter::run_conversion(const model::ConversionSpec& conversion,
                                    const onnx::NodeProto& node, const std::string& what,
                                    const std::string& friendly) {
    std::vector<Output> outs;
    try {
        model::ConversionContext ctx(*m_model, extension_inputs(node),
                                     onnx_attributes(node, nullptr), friendly);
        try {
            outs = conversion.convert(ctx);
        } catch (const Error& e) {
            LOOM_THROW(e.kind(), "the conversion failed: {}", e.message());
        } catch (const std::exception& e) {
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "the conversion failed: {}", e.what());
        }
        // The nodes it built, typed in creation order (their inputs come before them).
        for (auto* created : ctx.created()) {
            for (std::size_t i = 0; i < created->inputs.size(); ++i)
                LOOM_REQUIRE(created->inputs[i].node != nullptr,
                             "the conversion's {} node reads nothing at input {}", created->type,
                             i);
            if (created->is("Constant")) {
                if (!created->attrs.has("shape") && !created->value.empty())
                    created->attrs.set("shape", PartialShape(created->value.shape()));
            } else {
                mark_origin(*created, m_current_origin);
            }
            model::infer_node(*created, *m_state.registry);
        }
        auto declared = static_cast<std::size_t>(node.output_size());
        LOOM_REQUIRE(outs.size() == declared,
                     "the conversion returned {} outputs but the node has {}", outs.size(),
                     declared);
        for (std::size_t k = 0; k < outs.size(); ++k)
            LOOM_REQUIRE(!outs[k].node || (outs[k].index < outs[k].node->outputs.size() &&
                                           m_model->contains(outs[k].node)),
                         "the conversion's output {} is not a value of the model", k);
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "node '{}' ({}): {}", friendly, what, e.message());
    }
    define_outputs(node, outs, friendly);
}

void GraphConverter::add_extension_op(const model::OpSpec& spec, const onnx::NodeProto& node,
                                      const std::string& what, const std::string& friendly) {
    std::vector<Output> outs;
    try {
        auto inputs = extension_inputs(node);
        for (std::size_t i = 0; i < inputs.size(); ++i)
            LOOM_REQUIRE(inputs[i].node != nullptr,
                         "input {} is omitted; an extension operator takes no omitted input "
                         "before its last one",
                         i);
        auto& n = m_model->add(node.op_type(), spec.version, std::move(inputs),
                               onnx_attributes(node, &spec),
                               static_cast<std::size_t>(node.output_size()), friendly);
        mark_origin(n, m_current_origin);
        try {
            model::infer_node(n, *m_state.registry);
        } catch (const Error& e) { // drop infer_node's "node '…' (Type-version): " prefix
            std::string_view msg = e.message();
            auto own = fmt::format("node '{}' ({}-{}): ", n.name, n.type, n.version);
            if (msg.starts_with(own)) msg.remove_prefix(own.size());
            LOOM_THROW(e.kind(), "{}", msg);
        }
        for (std::size_t k = 0; k < n.outputs.size(); ++k)
            outs.push_back(n.output(static_cast<std::uint32_t>(k)));
    } catch (const Error& e) {
        LOOM_THROW(e.kind(), "node '{}' ({}): {}", friendly, what, e.message());
    }
    define_outputs(node, outs, friendly);
}

void GraphConverter::define_outputs(const onnx::NodeProto& node, const std::vector<Output>& outs,
                                    const std::string& friendly) {
    for (int i = 0; i < node.output_size(); ++i) {
        const auto& name = node.output(i);
        auto k = static_cast<std::size_t>(i);
        // A converted op's shape inference decides how many outputs it has (a Split by a
        // one-element `split` has one, whatever the node names): found by fuzz_onnx.
        if (!name.empty() && k < outs.size() && outs[k].node &&
            outs[k].index >= outs[k].node->outputs.size())
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                       "node '{}' ({}) names {} outputs; the operation makes {} with its inputs "
                       "and attributes",
                       friendly, node.op_type(), node.output_size(), outs[k].node->outputs.size());
        if (!name.empty() && k < outs.size() && outs[k].node)
            define(name, outs[k]);
        else if (!name.empty())
            m_unproduced[name] = friendly;
    }
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
    define_outputs(node, outs, friendly);
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
    state.converters = &converter_table();
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
