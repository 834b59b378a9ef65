#include "components/model/serialize.hpp"

#include "schemas/capnp_lists.hpp"

#include "schemas/schema_enums.hpp"

#include <unordered_map>

#include <capnp/any.h>
#include <kj/exception.h>

#include "schemas/error.hpp"

namespace loom::model {

namespace {

void write_shape(const PartialShape& s, schema::PartialShape::Builder out) {
    out.setDynamicRank(s.rank_is_dynamic());
    if (s.rank_is_dynamic()) return;
    auto dims = out.initDims(static_cast<unsigned>(s.rank()));
    for (unsigned i = 0; i < dims.size(); ++i) {
        dims[i].setMin(s[i].min());
        dims[i].setMax(s[i].max());
    }
}

PartialShape read_shape(schema::PartialShape::Reader in) {
    if (in.getDynamicRank()) return PartialShape::dynamic();
    std::vector<Dimension> dims;
    for (auto d : carried(in.getDims(), "dimensions"))
        dims.emplace_back(d.getMin(), d.getMax());
    return PartialShape(std::move(dims));
}

void write_rt(const RtNode& rt, schema::RtNode::Builder out) {
    out.setTag(rt.tag);
    auto attrs = out.initAttributes(static_cast<unsigned>(rt.attributes.size()));
    for (unsigned i = 0; i < attrs.size(); ++i) {
        attrs[i].setKey(rt.attributes[i].first);
        attrs[i].setValue(rt.attributes[i].second);
    }
    auto children = out.initChildren(static_cast<unsigned>(rt.children.size()));
    for (unsigned i = 0; i < children.size(); ++i)
        write_rt(rt.children[i], children[i]);
}

RtNode read_rt(schema::RtNode::Reader in, int depth = 0) {
    LOOM_REQUIRE(depth < 64, "rt_info is nested deeper than 64 levels");
    RtNode rt;
    rt.tag = in.getTag();
    for (auto kv : carried(in.getAttributes(), "rt_info attributes"))
        rt.attributes.emplace_back(kv.getKey(), kv.getValue());
    for (auto c : carried(in.getChildren(), "rt_info children"))
        rt.children.push_back(read_rt(c, depth + 1));
    return rt;
}

void write_attr(const AttrValue& v, schema::AttrValue::Builder out) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>)
                out.setBool(x);
            else if constexpr (std::is_same_v<T, std::int64_t>)
                out.setInt(x);
            else if constexpr (std::is_same_v<T, double>)
                out.setFloat(x);
            else if constexpr (std::is_same_v<T, std::string>)
                out.setString(x);
            else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
                auto l = out.initInts(static_cast<unsigned>(x.size()));
                for (unsigned i = 0; i < l.size(); ++i)
                    l.set(i, x[i]);
            } else if constexpr (std::is_same_v<T, std::vector<double>>) {
                auto l = out.initFloats(static_cast<unsigned>(x.size()));
                for (unsigned i = 0; i < l.size(); ++i)
                    l.set(i, x[i]);
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                auto l = out.initStrings(static_cast<unsigned>(x.size()));
                for (unsigned i = 0; i < l.size(); ++i)
                    l.set(i, x[i]);
            } else if constexpr (std::is_same_v<T, ElementType>)
                out.setType(to_schema(x));
            else
                write_shape(x, out.initShape());
        },
        v);
}

AttrValue read_attr(schema::AttrValue::Reader in) {
    switch (in.which()) {
    case schema::AttrValue::BOOL:
        return in.getBool();
    case schema::AttrValue::INT:
        return in.getInt();
    case schema::AttrValue::FLOAT:
        return in.getFloat();
    case schema::AttrValue::STRING:
        return std::string(in.getString());
    case schema::AttrValue::INTS: {
        std::vector<std::int64_t> v;
        for (auto x : in.getInts())
            v.push_back(x);
        return v;
    }
    case schema::AttrValue::FLOATS: {
        std::vector<double> v;
        for (auto x : in.getFloats())
            v.push_back(x);
        return v;
    }
    case schema::AttrValue::STRINGS: {
        std::vector<std::string> v;
        for (auto s : in.getStrings())
            v.emplace_back(s);
        return v;
    }
    case schema::AttrValue::TYPE:
        return from_schema(in.getType());
    case schema::AttrValue::SHAPE:
        return read_shape(in.getShape());
    }
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "attribute value of an unknown kind");
}

void write_port_maps(const std::vector<PortMap>& maps, capnp::List<schema::PortMap>::Builder out) {
    for (unsigned i = 0; i < out.size(); ++i) {
        const auto& m = maps[i];
        auto b = out[i];
        b.setExternalPort(m.external_port);
        b.setBodyIndex(m.body_index);
        std::uint8_t present = 0;
        auto put = [&](const std::optional<std::int64_t>& v, std::uint8_t bit, auto setter) {
            if (v) {
                present |= bit;
                (b.*setter)(*v);
            }
        };
        put(m.axis, 1, &schema::PortMap::Builder::setAxis);
        put(m.start, 2, &schema::PortMap::Builder::setStart);
        put(m.end, 4, &schema::PortMap::Builder::setEnd);
        put(m.stride, 8, &schema::PortMap::Builder::setStride);
        put(m.part_size, 16, &schema::PortMap::Builder::setPartSize);
        b.setPresent(present);
        b.setPurpose(m.purpose);
    }
}

std::vector<PortMap> read_port_maps(capnp::List<schema::PortMap>::Reader in) {
    std::vector<PortMap> out;
    for (auto r : carried(in, "port maps")) {
        PortMap m;
        m.external_port = r.getExternalPort();
        m.body_index = r.getBodyIndex();
        auto p = r.getPresent();
        if (p & 1) m.axis = r.getAxis();
        if (p & 2) m.start = r.getStart();
        if (p & 4) m.end = r.getEnd();
        if (p & 8) m.stride = r.getStride();
        if (p & 16) m.part_size = r.getPartSize();
        m.purpose = r.getPurpose();
        out.push_back(std::move(m));
    }
    return out;
}

void write_node(const Node& n, schema::Node::Builder out,
                const std::unordered_map<const Node*, unsigned>& index, std::vector<Tensor>& frames,
                std::size_t frame_base);

void write_graph_at(const Model& model, schema::Graph::Builder out, std::vector<Tensor>& frames,
                    std::size_t frame_base) {
    out.setName(model.name);
    auto order = model.topological_order();
    std::unordered_map<const Node*, unsigned> index;
    for (unsigned i = 0; i < order.size(); ++i)
        index.emplace(order[i], i);
    auto nodes = out.initNodes(static_cast<unsigned>(order.size()));
    for (unsigned i = 0; i < order.size(); ++i)
        write_node(*order[i], nodes[i], index, frames, frame_base);
    auto put_list = [&](const std::vector<Node*>& v, capnp::List<std::uint32_t>::Builder l) {
        for (unsigned i = 0; i < l.size(); ++i)
            l.set(i, index.at(v[i]));
    };
    put_list(model.parameters(),
             out.initParameters(static_cast<unsigned>(model.parameters().size())));
    put_list(model.results(), out.initResults(static_cast<unsigned>(model.results().size())));
    put_list(model.sinks(), out.initSinks(static_cast<unsigned>(model.sinks().size())));
    write_rt(model.rt_info, out.initRtInfo());
}

void write_node(const Node& n, schema::Node::Builder out,
                const std::unordered_map<const Node*, unsigned>& index, std::vector<Tensor>& frames,
                std::size_t frame_base) {
    out.setType(n.type);
    out.setVersion(n.version);
    out.setName(n.name);
    auto attrs = out.initAttrs(static_cast<unsigned>(n.attrs.size()));
    for (unsigned i = 0; i < attrs.size(); ++i) {
        attrs[i].setName(n.attrs.entries()[i].first);
        write_attr(n.attrs.entries()[i].second, attrs[i].initValue());
    }
    auto inputs = out.initInputs(static_cast<unsigned>(n.inputs.size()));
    for (unsigned i = 0; i < inputs.size(); ++i) {
        inputs[i].setNode(index.at(n.inputs[i].node));
        inputs[i].setPort(n.inputs[i].index);
    }
    auto outputs = out.initOutputs(static_cast<unsigned>(n.outputs.size()));
    for (unsigned i = 0; i < outputs.size(); ++i) {
        const auto& o = n.outputs[i];
        outputs[i].setType(to_schema(o.type));
        write_shape(o.shape, outputs[i].initShape());
        auto names = outputs[i].initNames(static_cast<unsigned>(o.names.size()));
        for (unsigned k = 0; k < names.size(); ++k)
            names.set(k, o.names[k]);
        write_rt(o.rt_info, outputs[i].initRtInfo());
    }
    auto in_rt = out.initInputRtInfo(static_cast<unsigned>(n.input_rt_info.size()));
    for (unsigned i = 0; i < in_rt.size(); ++i)
        write_rt(n.input_rt_info[i], in_rt[i]);
    write_rt(n.rt_info, out.initRtInfo());
    auto bodies = out.initBodies(static_cast<unsigned>(n.bodies.size()));
    for (unsigned i = 0; i < bodies.size(); ++i) {
        const auto& b = n.bodies[i];
        LOOM_REQUIRE(b.model != nullptr, "node '{}': body '{}' is missing", n.name, b.name);
        bodies[i].setName(b.name);
        write_graph_at(*b.model, bodies[i].initGraph(), frames, frame_base);
        write_port_maps(b.inputs, bodies[i].initInputs(static_cast<unsigned>(b.inputs.size())));
        write_port_maps(b.outputs, bodies[i].initOutputs(static_cast<unsigned>(b.outputs.size())));
        auto edges = bodies[i].initBackEdges(static_cast<unsigned>(b.back_edges.size()));
        for (unsigned k = 0; k < edges.size(); ++k) {
            edges[k].setFromResult(b.back_edges[k].from_result);
            edges[k].setToParameter(b.back_edges[k].to_parameter);
        }
    }
    out.setHasValue(!n.value.empty());
    if (!n.value.empty()) {
        auto desc = out.initValue();
        desc.setElementType(to_schema(n.value.element_type()));
        auto shape = desc.initShape(static_cast<unsigned>(n.value.shape().size()));
        for (unsigned i = 0; i < shape.size(); ++i)
            shape.set(i, n.value.shape()[i]);
        desc.setByteSize(n.value.byte_size());
        desc.setFrame(static_cast<std::uint32_t>(frames.size() - frame_base));
        frames.push_back(n.value);
    }
}

constexpr int k_max_depth = 16;

std::shared_ptr<Model> read_graph_at(schema::Graph::Reader in, std::span<const FrameView> frames,
                                     int depth) {
    LOOM_REQUIRE(depth < k_max_depth, "model bodies are nested deeper than {} levels", k_max_depth);
    auto model = std::make_shared<Model>();
    model->name = in.getName();
    std::vector<Node*> nodes;
    auto in_nodes = carried(in.getNodes(), "nodes");
    nodes.reserve(in_nodes.size());
    for (auto rn : in_nodes) {
        LOOM_REQUIRE(rn.hasType() && rn.getType().size() > 0, "node {} ({}) has no type",
                     nodes.size(), std::string(rn.getName()));
        std::vector<Output> inputs;
        for (auto ref : carried(rn.getInputs(), "inputs")) {
            LOOM_REQUIRE(ref.getNode() < nodes.size(),
                         "node {} ('{}') reads node {}, which does not come before it",
                         nodes.size(), std::string(rn.getName()), ref.getNode());
            Node* producer = nodes[ref.getNode()];
            LOOM_REQUIRE(ref.getPort() < producer->outputs.size(),
                         "node '{}' reads output {} of '{}', which has {} outputs",
                         std::string(rn.getName()), ref.getPort(), producer->name,
                         producer->outputs.size());
            inputs.push_back({producer, ref.getPort()});
        }
        Attributes attrs;
        for (auto a : carried(rn.getAttrs(), "attributes"))
            attrs.set(a.getName(), read_attr(a.getValue()));
        auto outputs = carried(rn.getOutputs(), "outputs");
        auto& node = model->add(rn.getType(), rn.getVersion(), std::move(inputs), std::move(attrs),
                                outputs.size(), rn.getName());
        for (unsigned i = 0; i < outputs.size(); ++i) {
            auto ro = outputs[i];
            auto& o = node.outputs[i];
            o.type = from_schema(ro.getType());
            o.shape = read_shape(ro.getShape());
            for (auto name : ro.getNames())
                o.names.emplace_back(name);
            o.rt_info = read_rt(ro.getRtInfo());
        }
        for (auto r : carried(rn.getInputRtInfo(), "input rt_info entries"))
            node.input_rt_info.push_back(read_rt(r));
        node.rt_info = read_rt(rn.getRtInfo());
        for (auto rb : carried(rn.getBodies(), "bodies")) {
            Body b;
            b.name = rb.getName();
            b.model = read_graph_at(rb.getGraph(), frames, depth + 1);
            b.inputs = read_port_maps(rb.getInputs());
            b.outputs = read_port_maps(rb.getOutputs());
            for (auto e : carried(rb.getBackEdges(), "back edges"))
                b.back_edges.push_back({e.getFromResult(), e.getToParameter()});
            node.bodies.push_back(std::move(b));
        }
        if (rn.getHasValue()) {
            auto desc = rn.getValue();
            LOOM_REQUIRE(desc.getFrame() < frames.size(),
                         "constant '{}' refers to frame {} but the message has {}", node.name,
                         desc.getFrame(), frames.size());
            const auto& frame = frames[desc.getFrame()];
            Shape shape;
            for (auto d : desc.getShape())
                shape.push_back(d);
            LOOM_REQUIRE(desc.getByteSize() == frame.bytes.size(),
                         "constant '{}' declares {} bytes but its frame has {}", node.name,
                         desc.getByteSize(), frame.bytes.size());
            node.value = Tensor::view(from_schema(desc.getElementType()), std::move(shape),
                                      frame.bytes, frame.owner);
        }
        nodes.push_back(&node);
    }
    auto pick = [&](capnp::List<std::uint32_t>::Reader list, std::string_view what) {
        std::vector<Node*> out;
        for (auto i : list) {
            LOOM_REQUIRE(i < nodes.size(), "{} index {} is out of range ({} nodes)", what, i,
                         nodes.size());
            out.push_back(nodes[i]);
        }
        return out;
    };
    // What the graph's users rely on: a parameter is a Parameter node with one output and no
    // input, a result a Result node with one input (found by fuzz_device_request).
    auto parameters = pick(in.getParameters(), "parameter");
    for (const auto* p : parameters)
        LOOM_REQUIRE(p->type == "Parameter" && p->inputs.empty() && p->outputs.size() == 1,
                     "parameter '{}' is a {} node with {} inputs and {} outputs, not a Parameter",
                     p->name, p->type, p->inputs.size(), p->outputs.size());
    auto results = pick(in.getResults(), "result");
    for (const auto* r : results)
        LOOM_REQUIRE(r->type == "Result" && r->inputs.size() == 1,
                     "result '{}' is a {} node with {} inputs, not a Result", r->name, r->type,
                     r->inputs.size());
    model->set_parameters(std::move(parameters));
    model->set_results(std::move(results));
    for (auto* s : pick(in.getSinks(), "sink"))
        model->add_sink(*s);
    model->rt_info = read_rt(in.getRtInfo());
    return model;
}

} // namespace

void write_graph(const Model& model, schema::Graph::Builder out, std::vector<Tensor>& frames) {
    write_graph_at(model, out, frames, frames.size());
}

std::shared_ptr<Model> read_graph(schema::Graph::Reader in, std::span<const FrameView> frames) {
    try {
        return read_graph_at(in, frames, 0);
    } catch (const kj::Exception& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "malformed model message: {}",
                   e.getDescription().cStr());
    }
}

} // namespace loom::model
