// The Core, Model and Tensor of the public API (core.hpp). Compiled models and requests are in
// compiled_model.cpp; the compile cache in compile_cache.cpp.

#include <fstream>

#include "schemas/capnp_lists.hpp"
#include <iterator>

#include "components/model/serialize.hpp"
#include "components/protocol/codec.hpp"
#include "components/runtime/compile_cache.hpp"
#include "components/runtime/core_access.hpp"
#include "components/runtime/core_internal.hpp"
#include "components/runtime/hetero.hpp"
#include "components/runtime/multi.hpp"
#include "schemas/error.hpp"
#include "schemas/extensions.capnp.h"
#include "schemas/plugin.capnp.h"

namespace loom {

std::string version() {
    return LOOM_VERSION;
}

// ---- Tensor -----------------------------------------------------------------------------------

Tensor::Tensor(ElementType type, const Shape& shape)
    : m_impl(model::Tensor::allocate(type, shape)) {}

Tensor::Tensor(ElementType type, const Shape& shape, void* host_memory) {
    LOOM_REQUIRE(host_memory != nullptr, "Tensor: host memory is null");
    const auto bytes = static_cast<std::size_t>(model::shape_size(shape)) * element_size(type);
    m_impl = model::Tensor::view(type, shape, {static_cast<const std::byte*>(host_memory), bytes},
                                 nullptr);
}

// ---- Model ------------------------------------------------------------------------------------

Model::Model(std::shared_ptr<model::Model> impl, std::shared_ptr<const model::OpRegistry> registry)
    : m_impl(std::move(impl))
    , m_registry(std::move(registry)) {
    LOOM_REQUIRE(m_impl != nullptr, "Model: no graph");
}

std::vector<Port> Model::inputs() const {
    return protocol::input_ports(*m_impl);
}
std::vector<Port> Model::outputs() const {
    return protocol::output_ports(*m_impl);
}

Port Model::input(const std::string& name) const {
    auto ports = inputs();
    return ports[protocol::port_index(ports, name, "input")];
}
Port Model::output(const std::string& name) const {
    auto ports = outputs();
    return ports[protocol::port_index(ports, name, "output")];
}

void Model::reshape(const std::map<std::string, PartialShape>& shapes) {
    auto ports = inputs();
    auto copy = m_impl->clone();
    for (const auto& [name, shape] : shapes) {
        auto* param = copy->parameters().at(protocol::port_index(ports, name, "input"));
        param->attrs.set("shape", shape);
        param->outputs.at(0).shape = shape;
    }
    auto registry = m_registry ? m_registry : model::make_native_registry();
    try {
        model::infer_and_validate(*copy, *registry);
    } catch (const Error& e) {
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "reshape: the new input shapes do not fit the "
                   "model: {}",
                   e.message());
    }
    m_impl = std::move(copy);
}

void Model::reshape(const PartialShape& shape) {
    auto ports = inputs();
    LOOM_REQUIRE(ports.size() == 1, "reshape(shape) needs a model with one input; it has {}",
                 ports.size());
    reshape({{ports[0].name, shape}});
}

bool Model::is_dynamic() const {
    for (const auto& p : inputs())
        if (!p.shape.is_static()) return true;
    return false;
}

// ---- the deployment and device calls ------------------------------------------------------------

DeploymentState::~DeploymentState() {
    executor.reset(); // finishes queued inferences while the bus is still up
    links.clear();    // closes this Core's device sessions
    deployment.reset();
}

std::shared_ptr<DeviceLink> DeploymentState::link(const std::string& device) {
    if (device.starts_with("MULTI:") || device.starts_with("HETERO:"))
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "{} is a device to compile for (compile_model); ask its members for anything "
                   "else",
                   device);
    {
        std::lock_guard lock(mutex);
        if (auto it = links.find(device); it != links.end()) return it->second;
    }
    auto channel = deployment->device(device); // starts it on first use (not under `mutex`)
    std::lock_guard lock(mutex);
    auto& slot = links[device];
    if (!slot) {
        auto l = std::make_shared<DeviceLink>();
        l->name = device;
        l->channel = channel;
        l->session = std::make_unique<protocol::DeviceSession>(std::move(channel), sessions);
        slot = std::move(l);
    }
    return slot;
}

bus::InMessage DeviceLink::call(schema::DeviceMethod method, bus::OutMessage& request) {
    return session->call(method, request);
}

bus::InMessage DeviceLink::release(schema::DeviceMethod method, bus::OutMessage& request) {
    return session->call_releasing(method, request);
}

bus::InMessage DeviceLink::call_plain(schema::DeviceMethod method, bus::OutMessage& request) {
    return channel(static_cast<std::uint16_t>(method), request, bus::CallOptions{});
}

// ---- Core ---------------------------------------------------------------------------------------

// Threads the Core's executor may grow to: requests in flight at once (more wait their turn).
constexpr unsigned k_max_infer_threads = 256;

Core::Core(CoreOptions options)
    : m_deployment(std::make_shared<DeploymentState>()) {
    m_deployment->deployment = runtime::make_deployment(options);
    m_deployment->sessions.lease = options.device_session_lease;
    m_deployment->sessions.release_timeout = options.release_timeout;
    // A request's stage blocks its thread while a device (maybe remote, maybe MULTI's several)
    // runs it: the pool grows so that every started request can be in flight at once.
    m_deployment->executor = std::make_shared<protocol::ThreadPoolExecutor>(
        std::max(4u, std::thread::hardware_concurrency()), "loom-infer", k_max_infer_threads);
}

Core::~Core() = default;

Model Core::read_model(const std::string& path) const {
    auto& deployment = *m_deployment->deployment;
    auto snapshot = deployment.registry()->current();
    return Model(runtime::read_model_file(deployment, path).model, std::move(snapshot));
}

Model Core::read_model(std::span<const std::byte> model_bytes,
                       std::span<const std::byte> weights) const {
    auto copy = [](std::span<const std::byte> b) {
        return b.empty() ? bus::Frame{} : bus::Frame::copy_of(b);
    };
    auto snapshot = m_deployment->deployment->registry()->current();
    return Model(runtime::read_model_bytes(m_deployment->deployment->reader(), copy(model_bytes),
                                           copy(weights))
                     .model,
                 std::move(snapshot));
}

namespace {

// Properties for a compile: the device defaults, then the call's.
Properties effective(DeploymentState& d, const std::string& device, const Properties& call) {
    std::lock_guard lock(d.mutex);
    Properties p = d.core_properties;
    if (auto it = d.device_properties.find(device); it != d.device_properties.end())
        p.merge(it->second);
    p.merge(call);
    return p;
}

Properties device_only(Properties p) {
    p.erase(props::cache_dir.name);
    p.erase(props::transform_pipeline.name);
    return p;
}

std::shared_ptr<CompiledModelState> compiled_from_reply(std::shared_ptr<DeploymentState> d,
                                                        std::shared_ptr<DeviceLink> device,
                                                        const bus::InMessage& reply,
                                                        const Properties& props) {
    auto info = reply.payload<schema::CompiledInfo>();
    auto state = std::make_shared<CompiledModelState>();
    state->deployment = std::move(d);
    state->name = device->name;
    state->device = std::move(device);
    state->handle = info.getHandle();
    state->inputs = protocol::take_ports(info.getInputs());
    state->outputs = protocol::take_ports(info.getOutputs());
    state->profiling = props.get_or(props::enable_profiling, false);
    return state;
}

std::shared_ptr<CompiledModelState> import_blob(std::shared_ptr<DeploymentState> d,
                                                const std::string& device, bus::Frame blob,
                                                const Properties& props) {
    auto link = d->link(device);
    bus::OutMessage request;
    auto p = request.init_payload<schema::ImportRequest>();
    p.setBlob(request.add_frame(std::move(blob)));
    auto dp = device_only(props);
    protocol::put_properties(p.initProperties(static_cast<unsigned>(dp.values().size())), dp);
    auto reply = link->call(schema::DeviceMethod::IMPORT_MODEL, request);
    return compiled_from_reply(std::move(d), std::move(link), reply, props);
}

// A ModelRequest (compile_model, query_model) carrying `graph` and the device's properties.
bus::OutMessage model_request(const model::Model& graph, const Properties& props) {
    bus::OutMessage request;
    auto p = request.init_payload<schema::ModelRequest>();
    auto dp = device_only(props);
    protocol::put_properties(p.initProperties(static_cast<unsigned>(dp.values().size())), dp);
    model::put_graph(request, p, graph);
    return request;
}

// The graph a compile sends: `m` through the transform pipeline the properties name.
std::shared_ptr<model::Model> transformed(DeploymentState& d, const Model& m,
                                          const Properties& props) {
    const auto pipeline = props.get_or(props::transform_pipeline, std::string("common"));
    if (pipeline.empty()) return m.impl();
    return runtime::transform_model(d.deployment->transform(), *m.impl(), pipeline).model;
}

// Compiles an already transformed graph on one device.
std::shared_ptr<CompiledModelState> compile_graph(std::shared_ptr<DeploymentState> d,
                                                  const std::string& device,
                                                  const model::Model& graph,
                                                  const Properties& props) {
    auto link = d->link(device);
    auto request = model_request(graph, props);
    auto reply = link->call(schema::DeviceMethod::COMPILE_MODEL, request);
    return compiled_from_reply(std::move(d), std::move(link), reply, props);
}

bool has_variables(const model::Model& graph) {
    for (const auto& [type, count] : graph.histogram())
        if (type.starts_with("ReadValue") || type.starts_with("Assign")) return true;
    return false;
}

// MULTI (multi.hpp): transformed once, compiled on every member.
std::shared_ptr<CompiledModelState> compile_multi(const std::shared_ptr<DeploymentState>& d,
                                                  const Model& m, const std::string& device,
                                                  std::vector<std::string> members,
                                                  const Properties& properties) {
    auto props = effective(*d, device, properties);
    check_properties(props, {props::device_full_name.name});
    auto graph = transformed(*d, m, props);
    std::weak_ptr<DeploymentState> weak = d; // the compiled model keeps `d` alive, not this
    auto compile = [weak, graph, properties](const std::string& member) {
        auto deployment = weak.lock();
        if (!deployment) LOOM_THROW(ErrorKind::UNAVAILABLE, "the deployment is shutting down");
        return compile_graph(deployment, member, *graph,
                             effective(*deployment, member, properties));
    };
    auto multi = std::make_shared<runtime::MultiModel>(device, std::move(members),
                                                       has_variables(*graph), compile);
    auto first = multi->any_compiled();
    auto state = std::make_shared<CompiledModelState>();
    state->deployment = d;
    state->multi = std::move(multi);
    state->name = device;
    state->inputs = first->inputs;
    state->outputs = first->outputs;
    state->profiling = props.get_or(props::enable_profiling, false);
    return state;
}

// Each member's supported node names for `graph` (query_model), in the members' order.
std::vector<std::set<std::string>> supported_by(const std::shared_ptr<DeploymentState>& d,
                                                const model::Model& graph,
                                                const std::vector<std::string>& members,
                                                const Properties& properties) {
    std::vector<std::set<std::string>> out;
    for (const auto& member : members) {
        auto request = model_request(graph, effective(*d, member, properties));
        auto reply = d->link(member)->call_plain(schema::DeviceMethod::QUERY_MODEL, request);
        auto& names = out.emplace_back();
        for (auto name : reply.payload<schema::QueryReply>().getSupported())
            names.emplace(name.cStr());
    }
    return out;
}

// HETERO (hetero.hpp): transformed once, split by the members' query_model, each stage
// compiled on its device.
std::shared_ptr<CompiledModelState> compile_hetero(const std::shared_ptr<DeploymentState>& d,
                                                   const Model& m, const std::string& device,
                                                   const std::vector<std::string>& members,
                                                   const Properties& properties) {
    auto props = effective(*d, device, properties);
    check_properties(props, {props::device_full_name.name});
    auto graph = transformed(*d, m, props);
    if (graph == m.impl()) graph = graph->clone(); // names are made unique in it
    runtime::make_names_unique(*graph);
    auto plan = runtime::plan_hetero(*graph, members, supported_by(d, *graph, members, properties));
    std::vector<std::shared_ptr<CompiledModelState>> stages;
    for (const auto& stage : plan.stages)
        stages.push_back(
            compile_graph(d, stage.device, *stage.graph, effective(*d, stage.device, properties)));
    auto state = std::make_shared<CompiledModelState>();
    state->deployment = d;
    state->name = device;
    state->inputs = protocol::input_ports(*graph);
    state->outputs = protocol::output_ports(*graph);
    state->profiling = props.get_or(props::enable_profiling, false);
    state->hetero =
        std::make_shared<runtime::HeteroModel>(device, std::move(plan), std::move(stages), graph);
    return state;
}

} // namespace

CompiledModel Core::compile_model(const Model& m, const std::string& device,
                                  const Properties& properties) const {
    LOOM_REQUIRE(m.impl() != nullptr, "compile_model: the model is empty");
    if (auto members = runtime::composite_members(device, "MULTI"); !members.empty())
        return CompiledModel(
            compile_multi(m_deployment, m, device, std::move(members), properties));
    if (auto members = runtime::composite_members(device, "HETERO"); !members.empty())
        return CompiledModel(compile_hetero(m_deployment, m, device, members, properties));
    auto props = effective(*m_deployment, device, properties);
    check_properties(props, {props::device_full_name.name});
    m_deployment->link(device); // an unknown device fails here, before the transform
    const bool caching =
        props.has(props::cache_dir.name) && !props.text(props::cache_dir.name).empty();
    std::string cache_file;
    if (caching) {
        cache_file =
            runtime::cache_file_for(*m.impl(), device, device_only(props),
                                    props.get_or(props::transform_pipeline, std::string("common")),
                                    props.text(props::cache_dir.name));
        if (auto blob = runtime::read_cache(cache_file)) {
            try {
                return CompiledModel(import_blob(m_deployment, device, std::move(*blob), props));
            } catch (const Error&) { // stale or corrupt: compile again and overwrite
            }
        }
    }
    CompiledModel compiled(
        compile_graph(m_deployment, device, *transformed(*m_deployment, m, props), props));
    if (caching) {
        std::ostringstream blob;
        compiled.export_model(blob);
        runtime::write_cache(cache_file, blob.str());
    }
    return compiled;
}

CompiledModel Core::adopt(std::shared_ptr<CompiledModelImpl> impl) const {
    LOOM_REQUIRE(impl != nullptr, "adopt: no compiled model given");
    auto state = std::make_shared<CompiledModelState>();
    state->deployment = m_deployment;
    state->name = impl->device();
    state->inputs = impl->inputs();
    state->outputs = impl->outputs();
    state->custom = std::move(impl);
    return CompiledModel(std::move(state));
}

runtime::Deployment& CoreAccess::deployment(const Core& core) {
    return *core.m_deployment->deployment;
}

std::shared_ptr<const model::OpRegistry> CoreAccess::registry(const Core& core) {
    return core.m_deployment->deployment->registry()->current();
}

CompiledModel Core::compile_model(const std::string& path, const std::string& device,
                                  const Properties& properties) const {
    return compile_model(read_model(path), device, properties);
}

CompiledModel Core::import_model(std::istream& in, const std::string& device,
                                 const Properties& properties) const {
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LOOM_REQUIRE(!bytes.empty(), "import_model: the stream is empty");
    auto props = effective(*m_deployment, device, properties);
    auto frame = bus::Frame::copy_of(
        std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
    return CompiledModel(import_blob(m_deployment, device, std::move(frame), props));
}

std::map<std::string, std::string> Core::query_model(const Model& m, const std::string& device,
                                                     const Properties& properties) const {
    if (auto members = runtime::composite_members(device, "HETERO"); !members.empty()) {
        auto graph = m.impl()->clone();
        runtime::make_names_unique(*graph);
        return runtime::plan_hetero(*graph, members,
                                    supported_by(m_deployment, *graph, members, properties))
            .affinity;
    }
    std::map<std::string, std::string> out;
    const auto supported = supported_by(m_deployment, *m.impl(), {device}, properties);
    for (const auto& name : supported.front())
        out.emplace(name, device);
    return out;
}

std::vector<std::string> Core::available_devices() const {
    return m_deployment->deployment->device_names();
}

std::string Core::get_property(const std::string& device, const std::string& name) const {
    if (device.empty()) {
        std::lock_guard lock(m_deployment->mutex);
        if (m_deployment->core_properties.has(name))
            return m_deployment->core_properties.text(name);
        if (name == props::cache_dir.name) return "";
        if (name == props::transform_pipeline.name) return "common";
        if (name == props::supported_properties.name)
            return to_text(
                std::vector<std::string>{props::cache_dir.name, props::transform_pipeline.name});
        LOOM_THROW(ErrorKind::NOT_FOUND, "the Core has no property {}", name);
    }
    {
        std::lock_guard lock(m_deployment->mutex);
        auto it = m_deployment->device_properties.find(device);
        if (it != m_deployment->device_properties.end() && it->second.has(name))
            return it->second.text(name);
    }
    auto link = m_deployment->link(device);
    bus::OutMessage request;
    request.init_payload<schema::PropertyRequest>().setName(name);
    auto reply = link->call_plain(schema::DeviceMethod::GET_PROPERTY, request);
    return std::string(reply.payload<schema::PropertyValue>().getValue());
}

void Core::set_property(const std::string& device, const Properties& properties) {
    if (device.empty()) {
        for (const auto& [name, value] : properties.values())
            LOOM_REQUIRE(name == props::cache_dir.name || name == props::transform_pipeline.name,
                         "the Core has no property {} (set device properties per device)", name);
        std::lock_guard lock(m_deployment->mutex);
        m_deployment->core_properties.merge(properties);
        return;
    }
    check_properties(properties, {});
    auto link = m_deployment->link(device);
    bus::OutMessage request;
    protocol::init_properties(request.init_payload<schema::PropertyList>(), properties);
    link->call_plain(schema::DeviceMethod::SET_PROPERTY, request);
    std::lock_guard lock(m_deployment->mutex);
    m_deployment->device_properties[device].merge(properties);
}

std::vector<std::pair<std::string, bool>> Core::op_coverage(const std::string& device) const {
    auto link = m_deployment->link(device);
    bus::OutMessage request;
    auto reply = link->call_plain(schema::DeviceMethod::OP_COVERAGE, request);
    auto r = reply.payload<schema::OpCoverage>();
    std::vector<std::pair<std::string, bool>> out;
    for (unsigned i = 0; i < r.getTypes().size() && i < r.getSupported().size(); ++i)
        out.emplace_back(std::string(r.getTypes()[i]), r.getSupported()[i]);
    return out;
}

namespace {
ExtensionInfo from_schema(schema::ExtensionInfo::Reader in) {
    ExtensionInfo out;
    out.name = in.getName().cStr();
    out.version = in.getVersion().cStr();
    out.source = in.getSource().cStr();
    for (auto op : in.getOps())
        out.ops.emplace_back(op.cStr());
    for (auto c : in.getConversions())
        out.conversions.emplace_back(c.cStr());
    return out;
}
} // namespace

ExtensionInfo Core::add_extension(const std::string& source) {
    bus::OutMessage request;
    request.init_payload<schema::ExtensionLoadRequest>().setSource(
        runtime::extension_source(source));
    auto reply = m_deployment->deployment->extensions()(
        static_cast<std::uint16_t>(schema::ExtensionMethod::LOAD), request);
    return from_schema(reply.payload<schema::ExtensionInfo>());
}

ExtensionInfo Core::swap_extension(const std::string& name, const std::string& source) {
    bus::OutMessage request;
    auto p = request.init_payload<schema::ExtensionSwapRequest>();
    p.setName(name);
    p.setSource(runtime::extension_source(source));
    auto reply = m_deployment->deployment->extensions()(
        static_cast<std::uint16_t>(schema::ExtensionMethod::SWAP), request);
    return from_schema(reply.payload<schema::ExtensionInfo>());
}

void Core::remove_extension(const std::string& name) {
    bus::OutMessage request;
    request.init_payload<schema::ExtensionUnloadRequest>().setName(name);
    m_deployment->deployment->extensions()(
        static_cast<std::uint16_t>(schema::ExtensionMethod::UNLOAD), request);
}

std::vector<ExtensionInfo> Core::extensions() const {
    bus::OutMessage request;
    auto reply = m_deployment->deployment->extensions()(
        static_cast<std::uint16_t>(schema::ExtensionMethod::LIST), request);
    std::vector<ExtensionInfo> out;
    for (auto e : reply.payload<schema::ExtensionList>().getExtensions())
        out.push_back(from_schema(e));
    return out;
}

} // namespace loom
