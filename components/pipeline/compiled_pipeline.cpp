#include "components/pipeline/compiled_pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "components/pipeline/items.hpp"
#include "components/runtime/core_access.hpp"
#include "components/runtime/embedded.hpp"
#include "components/runtime/tensor_io.hpp"
#include "schemas/error.hpp"

namespace loom::pipeline {

namespace {

const char* kind_name(NodeKind kind) {
    switch (kind) {
    case NodeKind::Model:
        return "model";
    case NodeKind::Op:
        return "op";
    case NodeKind::Component:
        return "component";
    }
    return "?";
}

// A constant file: .npy (its tensor) or text (its lines, a string tensor).
model::Tensor read_constant(const ConstantSpec& c) {
    if (c.file.extension() == ".npy") return runtime::read_npy(c.file).impl();
    std::ifstream in(c.file);
    if (!in)
        LOOM_THROW(ErrorKind::NOT_FOUND, "constant '{}': cannot open {}", c.name, c.file.string());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
    }
    return model::Tensor::strings({static_cast<std::int64_t>(lines.size())}, lines);
}

// A bare library name: beside the pipeline file, else in Loom's library folder (build/lib,
// <prefix>/lib/loom) or its extensions/ folder; not_found naming where it looked.
std::string find_library(const std::string& name, const std::filesystem::path& base) {
    if (name.find('/') != std::string::npos || name.find("://") != std::string::npos) return name;
    std::vector<std::filesystem::path> places{base / name};
    try {
        const auto dir = runtime::component_library_dir();
        places.push_back(dir / name);
        places.push_back(dir / "extensions" / name);
    } catch (const Error&) { // no library folder known: only beside the file
    }
    std::vector<std::string> looked;
    for (const auto& p : places) {
        if (std::filesystem::exists(p)) return p.string();
        looked.push_back(p.string());
    }
    LOOM_THROW(ErrorKind::NOT_FOUND, "extension library {} not found (looked at {})", name,
               fmt::join(looked, ", "));
}

Port port_of(const model::Tensor& t, std::string name) {
    Port p;
    p.name = name;
    p.names = {std::move(name)};
    p.type = t.element_type();
    p.shape = model::PartialShape(t.shape());
    return p;
}

} // namespace

CompiledPipeline::CompiledPipeline(Core& core, PipelineSpec spec, const Properties& properties)
    : m_spec(std::move(spec))
    , m_device("PIPELINE:" + m_spec.name)
    , m_stats(new Stats[m_spec.nodes.size()])
    , m_registry(CoreAccess::deployment(core).registry())
    , m_executor(std::make_shared<protocol::ThreadPoolExecutor>(
          std::max(2u, std::thread::hardware_concurrency()), "loom-pipe", 256)) {
    std::set<std::string> loaded;
    for (const auto& e : core.extensions())
        loaded.insert(e.source);
    for (auto& e : m_spec.extensions)
        e = find_library(e, m_spec.base_dir);
    for (const auto& e : m_spec.extensions)
        if (!loaded.contains(e) && !loaded.contains(runtime::extension_source(e))) {
            try {
                core.add_extension(e);
            } catch (const Error& err) {
                LOOM_THROW(err.kind(), "pipeline '{}': extension {}: {}", m_spec.name, e,
                           err.message());
            }
        }
    for (std::size_t i = 0; i < m_spec.inputs.size(); ++i) {
        const auto& in = m_spec.inputs[i];
        Port p;
        p.index = i;
        p.name = in.name;
        p.names = {in.name};
        p.type = in.type;
        p.shape = in.shape;
        m_inputs.push_back(std::move(p));
    }
    for (const auto& c : m_spec.constants) {
        m_constants.push_back(read_constant(c));
        m_constant_ports.push_back(port_of(m_constants.back(), c.name));
    }
    build_nodes(core, properties);
    for (std::size_t i = 0; i < m_spec.outputs.size(); ++i) {
        const auto& out = m_spec.outputs[i];
        Port p = wire_type(out.from, std::nullopt);
        p.index = i;
        p.name = out.name;
        p.names = {out.name};
        m_outputs.push_back(std::move(p));
        m_output_ports.push_back(out.from.from == Wire::From::Node
                                     ? named_port(m_nodes[out.from.index]->outputs(),
                                                  out.from.output.empty()
                                                      ? m_nodes[out.from.index]->outputs()[0].name
                                                      : out.from.output,
                                                  m_spec.nodes[out.from.index].name)
                                     : 0);
    }
}

CompiledPipeline::~CompiledPipeline() = default;

Port CompiledPipeline::wire_type(const Wire& wire, std::optional<std::size_t> reader_scope) const {
    switch (wire.from) {
    case Wire::From::Input:
        return m_inputs[wire.index];
    case Wire::From::Constant:
        return m_constant_ports[wire.index];
    case Wire::From::Node:
        break;
    }
    const auto& node = *m_nodes[wire.index];
    const auto& name = m_spec.nodes[wire.index].name;
    LOOM_REQUIRE(!node.outputs().empty(), "node '{}' has no outputs", name);
    Port p =
        node.outputs()[wire.output.empty() ? 0 : named_port(node.outputs(), wire.output, name)];
    const auto scope = scope_of(m_spec, wire);
    if (!scope || scope == reader_scope) {
        if (m_spec.nodes[wire.index].demultiply) p.shape = item_shape(p.shape, wire.text);
        return p;
    }
    // Read from outside the scope: gathered along a new first dimension.
    if (m_spec.nodes[wire.index].demultiply) return p; // its items, gathered, are its outputs
    p.shape = gathered_shape(p.shape);
    return p;
}

void CompiledPipeline::build_nodes(Core& core, const Properties& properties) {
    const auto ops = CoreAccess::registry(core);
    m_wiring.resize(m_spec.nodes.size());
    for (std::size_t n = 0; n < m_spec.nodes.size(); ++n) {
        const auto& spec = m_spec.nodes[n];
        std::vector<Port> wire_types;
        for (const auto& w : spec.inputs)
            wire_types.push_back(wire_type(w, spec.scope));
        switch (spec.kind) {
        case NodeKind::Model:
            m_nodes.push_back(std::make_unique<ModelNode>(core, spec, properties));
            break;
        case NodeKind::Op:
            try {
                m_nodes.push_back(std::make_unique<OpNode>(spec, wire_types, *ops));
            } catch (const Error& e) {
                // Attached from a process of its own, the Core's extensions load into the
                // deployment's processes, not this one — where op nodes run.
                if (e.kind() != ErrorKind::NOT_FOUND ||
                    !CoreAccess::deployment(core).reader_is_remote())
                    throw;
                LOOM_THROW(ErrorKind::UNSUPPORTED,
                           "{} — this Core is attached to a deployment from a process of its "
                           "own, and extensions are not loaded into it: run the pipeline from "
                           "an embedded Core (no --kernel) or serve it from the deployment's "
                           "`loom kernel` ([http])",
                           e.message());
            }
            break;
        case NodeKind::Component:
            m_nodes.push_back(std::make_unique<ComponentNode>(core, spec));
            break;
        }
        const auto& ports = m_nodes.back()->inputs();
        for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
            LOOM_REQUIRE(ports[i].type == wire_types[i].type,
                         "node '{}': input '{}' is {} but '{}' gives {}", spec.name, ports[i].name,
                         loom::to_string(ports[i].type), spec.inputs[i].text,
                         loom::to_string(wire_types[i].type));
            LOOM_REQUIRE(ports[i].shape.compatible(wire_types[i].shape),
                         "node '{}': input '{}' takes shape {} but '{}' gives {}", spec.name,
                         ports[i].name, ports[i].shape.to_string(), spec.inputs[i].text,
                         wire_types[i].shape.to_string());
        }
        auto& wiring = m_wiring[n];
        for (const auto& w : spec.inputs) {
            if (w.from != Wire::From::Node) {
                wiring.output_of_wire.push_back(0);
                continue;
            }
            const auto& producer = *m_nodes[w.index];
            wiring.output_of_wire.push_back(
                w.output.empty()
                    ? 0
                    : named_port(producer.outputs(), w.output, m_spec.nodes[w.index].name));
            const auto& p = m_spec.nodes[w.index];
            // A scope node's producers inside the scope wait per item; the demultiply node and
            // nodes outside wait once.
            if (p.scope) {
                wiring.item_producers.insert(w.index);
            } else {
                wiring.outer_producers.insert(w.index);
            }
            m_wiring[w.index].consumers.insert(n);
        }
        if (spec.gather_from) {
            wiring.outer_producers.insert(*spec.gather_from);
            m_wiring[*spec.gather_from].consumers.insert(n);
            m_wiring[*spec.gather_from].gatherers.push_back(n);
        }
        if (spec.scope) m_wiring[*spec.scope].scope_nodes.push_back(n);
    }
    // Outputs read from inside a scope gather at the end of the request.
}

std::string CompiledPipeline::get_property(const std::string& name) const {
    if (name == props::optimal_number_of_infer_requests.name)
        return std::to_string(std::max(4u, std::thread::hardware_concurrency()));
    if (name == "LOOM_PIPELINE_RERUNS") return std::to_string(m_reruns.load());
    if (name == "LOOM_PIPELINE_NODES") {
        std::string out;
        for (const auto& n : m_spec.nodes)
            out += (out.empty() ? "" : ",") + n.name;
        return out;
    }
    if (name == "SUPPORTED_PROPERTIES")
        return fmt::format("{},LOOM_PIPELINE_NODES,LOOM_PIPELINE_RERUNS,SUPPORTED_PROPERTIES",
                           props::optimal_number_of_infer_requests.name);
    LOOM_THROW(ErrorKind::NOT_FOUND,
               "pipeline '{}' has no property '{}' (it has OPTIMAL_NUMBER_OF_INFER_REQUESTS, "
               "LOOM_PIPELINE_NODES, LOOM_PIPELINE_RERUNS)",
               m_spec.name, name);
}

void CompiledPipeline::swap_model(const std::string& node, const std::string& path) {
    for (std::size_t n = 0; n < m_spec.nodes.size(); ++n)
        if (m_spec.nodes[n].name == node) {
            auto* model = dynamic_cast<ModelNode*>(m_nodes[n].get());
            LOOM_REQUIRE(model != nullptr, "pipeline '{}': node '{}' is not a model node",
                         m_spec.name, node);
            return model->swap(path);
        }
    LOOM_THROW(ErrorKind::NOT_FOUND, "pipeline '{}' has no node '{}'", m_spec.name, node);
}

std::vector<PipelineNodeInfo> CompiledPipeline::describe() const {
    std::vector<PipelineNodeInfo> out;
    for (std::size_t n = 0; n < m_spec.nodes.size(); ++n) {
        const auto& s = m_spec.nodes[n];
        PipelineNodeInfo i;
        i.name = s.name;
        i.kind = kind_name(s.kind);
        i.target = s.kind == NodeKind::Op ? s.target + "@" + s.domain : s.target;
        i.device = s.device;
        i.demultiply = s.demultiply;
        if (s.scope) i.items_of = m_spec.nodes[*s.scope].name;
        if (s.gather_from) i.gathers = m_spec.nodes[*s.gather_from].name;
        i.inputs = m_nodes[n]->inputs();
        i.outputs = m_nodes[n]->outputs();
        out.push_back(std::move(i));
    }
    return out;
}

std::vector<PipelineNodeStats> CompiledPipeline::node_stats() const {
    std::vector<PipelineNodeStats> out;
    for (std::size_t n = 0; n < m_spec.nodes.size(); ++n) {
        const auto& s = m_stats[n];
        PipelineNodeStats st;
        st.name = m_spec.nodes[n].name;
        st.kind = kind_name(m_spec.nodes[n].kind);
        st.runs = s.runs.load();
        st.failures = s.failures.load();
        st.seconds = static_cast<double>(s.micros.load()) / 1e6;
        for (const auto& b : s.buckets)
            st.buckets.push_back(b.load());
        out.push_back(std::move(st));
    }
    return out;
}

} // namespace loom::pipeline
