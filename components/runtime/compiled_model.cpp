// CompiledModel, InferRequest and VariableState of the public API (core.hpp): handles to objects
// living in a device component, reached over the bus.

#include <cstring>

#include "schemas/capnp_lists.hpp"
#include <ostream>

#include "components/model/serialize.hpp"
#include "components/protocol/codec.hpp"
#include "components/runtime/core_internal.hpp"
#include "components/runtime/hetero.hpp"
#include "components/runtime/multi.hpp"
#include "schemas/error.hpp"
#include "schemas/plugin.capnp.h"

namespace loom {

namespace {

bus::OutMessage handle_message(std::uint64_t h) {
    bus::OutMessage request;
    request.init_payload<schema::Handle>().setHandle(h);
    return request;
}

void call_handle(DeviceLink& device, schema::DeviceMethod method, std::uint64_t h) {
    auto request = handle_message(h);
    device.call(method, request);
}

} // namespace

CompiledModelState::~CompiledModelState() {
    try {
        auto request = handle_message(handle);
        if (device && handle) device->release(schema::DeviceMethod::RELEASE_MODEL, request);
    } catch (...) { // the device may be gone or frozen; its lease ends what we cannot release
    }
}

RequestState::~RequestState() {
    async.reset(); // waits for a running inference
    try {
        auto request = handle_message(handle);
        if (handle) compiled->device->release(schema::DeviceMethod::RELEASE_REQUEST, request);
    } catch (...) {
    }
}

namespace {
// Puts `t` in `request`'s output `i`: into the bound tensor when it fits, else as it is.
void set_output(RequestState& request, std::size_t i, const model::Tensor& t) {
    auto& slot = request.outputs[i];
    if (request.output_bound[i] && slot.element_type() == t.element_type() &&
        slot.shape() == t.shape() && t.element_type() != ElementType::STRING) {
        if (slot.data() != t.bytes().data())
            std::memcpy(slot.data(), t.bytes().data(), t.byte_size());
    } else {
        slot = Tensor(t);
    }
}

void infer_custom(RequestState& request) {
    auto& c = *request.compiled;
    for (std::size_t i = 0; i < request.inputs.size(); ++i)
        LOOM_REQUIRE(!request.inputs[i].empty(), "input '{}' has no tensor (set_tensor it first)",
                     c.inputs[i].name);
    auto outputs = c.custom->infer(request.inputs, request.cancelled);
    LOOM_ASSERT(outputs.size() == request.outputs.size(), "{} returned {} outputs, not {}", c.name,
                outputs.size(), request.outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i)
        set_output(request, i, outputs[i].impl());
}
} // namespace

void RequestState::infer_now(std::uint64_t sequence) {
    if (compiled->custom) {
        cancelled = false;
        return infer_custom(*this);
    }
    if (compiled->multi) return compiled->multi->infer(*this, sequence);
    if (compiled->hetero) return compiled->hetero->infer(*this, sequence);
    const auto& c = *compiled;
    bus::OutMessage request;
    auto p = request.init_payload<schema::InferRequest>();
    p.setRequest(handle);
    p.setProfiling(c.profiling);
    p.setSequence(sequence);
    auto list = p.initInputs(static_cast<unsigned>(inputs.size()));
    for (unsigned i = 0; i < list.size(); ++i) {
        LOOM_REQUIRE(!inputs[i].empty(), "input '{}' has no tensor (set_tensor it first)",
                     c.inputs[i].name);
        protocol::put_tensor(request, list[i], inputs[i].impl(), c.inputs[i].name);
    }
    auto reply = c.device->call(schema::DeviceMethod::INFER, request);
    auto r = reply.payload<schema::InferReply>();
    LOOM_ASSERT(r.getOutputs().size() == outputs.size(), "the device returned {} outputs, not {}",
                r.getOutputs().size(), outputs.size());
    for (unsigned i = 0; i < r.getOutputs().size(); ++i) {
        set_output(*this, i, protocol::take_tensor(reply, r.getOutputs()[i]));
    }
    profile.clear();
    for (auto n : carried(r.getProfile(), "profile entries")) {
        ProfilingInfo info;
        info.node_name = n.getName();
        info.node_type = n.getType();
        info.exec_type = n.getExecType();
        info.status = static_cast<ProfilingInfo::Status>(std::min<std::uint8_t>(n.getStatus(), 2));
        info.real_time = std::chrono::microseconds(n.getRealTimeUs());
        profile.push_back(std::move(info));
    }
}

std::shared_ptr<RequestState> new_device_request(std::shared_ptr<CompiledModelState> compiled) {
    auto state = std::make_shared<RequestState>();
    if (compiled->hetero) {
        state->stage_requests = compiled->hetero->new_requests();
    } else if (!compiled->multi && !compiled->custom) {
        auto request = handle_message(compiled->handle);
        auto reply = compiled->device->call(schema::DeviceMethod::CREATE_REQUEST, request);
        state->handle = reply.payload<schema::Handle>().getHandle();
    }
    state->inputs.resize(compiled->inputs.size());
    state->outputs.resize(compiled->outputs.size());
    state->output_bound.assign(compiled->outputs.size(), false);
    state->compiled = std::move(compiled);
    return state;
}

unsigned optimal_requests(CompiledModelState& compiled) {
    try {
        bus::OutMessage request;
        auto p = request.init_payload<schema::PropertyRequest>();
        p.setHandle(compiled.handle);
        p.setName(props::optimal_number_of_infer_requests.name);
        auto reply = compiled.device->call(schema::DeviceMethod::MODEL_PROPERTY, request);
        return static_cast<unsigned>(
            std::stoul(std::string(reply.payload<schema::PropertyValue>().getValue())));
    } catch (const std::exception&) { // not said (or not a number): one at a time
        return 1;
    }
}

namespace {
// The request on a device that holds `request`'s variables: itself, or under MULTI the member
// request it is pinned to.
RequestState& on_device(RequestState& request) {
    if (request.compiled->hetero) // (it refuses models with variables)
        LOOM_THROW(ErrorKind::NOT_FOUND, "{} runs models without variables: there are none",
                   request.compiled->name);
    if (request.compiled->multi) return *request.compiled->multi->pinned(request);
    return request;
}
} // namespace

void cancel_on_device(RequestState& request, std::uint64_t sequence) noexcept {
    try {
        bus::OutMessage message;
        auto p = message.init_payload<schema::CancelRequest>();
        p.setRequest(request.handle);
        p.setSequence(sequence);
        request.compiled->device->call(schema::DeviceMethod::CANCEL, message);
    } catch (...) { // finished or gone: nothing to cancel
    }
}

// ---- CompiledModel ----------------------------------------------------------------------------

InferRequest CompiledModel::create_infer_request() const {
    LOOM_REQUIRE(m_state != nullptr, "the compiled model is empty");
    auto state = new_device_request(m_state);
    if (m_state->multi && m_state->multi->stateful()) m_state->multi->pinned(*state);
    RequestState* raw = state.get(); // the pipeline lives inside the state
    std::weak_ptr<CompiledModelState> compiled = m_state;
    state->async = std::make_unique<protocol::AsyncInferRequest>(
        std::vector<protocol::AsyncInferRequest::Stage>{
            {m_state->deployment->executor, [raw] { raw->infer_now(raw->async->sequence()); }}},
        [raw, compiled](std::uint64_t sequence) {
            auto c = compiled.lock();
            if (!c) return;
            if (c->custom) {
                raw->cancelled = true;
            } else if (c->multi) {
                c->multi->cancel(*raw, sequence);
            } else if (c->hetero) { // the stage running now
                std::shared_ptr<RequestState> stage;
                {
                    std::lock_guard lock(raw->member_mutex);
                    stage = raw->member;
                }
                if (stage) cancel_on_device(*stage, sequence);
            } else {
                cancel_on_device(*raw, sequence);
            }
        });
    return InferRequest(std::move(state));
}

const std::vector<Port>& CompiledModel::inputs() const {
    return m_state->inputs;
}
const std::vector<Port>& CompiledModel::outputs() const {
    return m_state->outputs;
}

Port CompiledModel::input(const std::string& name) const {
    if (name.empty()) {
        LOOM_REQUIRE(m_state->inputs.size() == 1, "the model has {} inputs: name one",
                     m_state->inputs.size());
        return m_state->inputs[0];
    }
    return m_state->inputs[protocol::port_index(m_state->inputs, name, "input")];
}

Port CompiledModel::output(const std::string& name) const {
    if (name.empty()) {
        LOOM_REQUIRE(m_state->outputs.size() == 1, "the model has {} outputs: name one",
                     m_state->outputs.size());
        return m_state->outputs[0];
    }
    return m_state->outputs[protocol::port_index(m_state->outputs, name, "output")];
}

void CompiledModel::export_model(std::ostream& out) const {
    if (m_state->multi || m_state->hetero || m_state->custom)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "export_model: {} is compiled on each of its devices; export a member's "
                   "compiled model instead",
                   m_state->name);
    auto request = handle_message(m_state->handle);
    auto reply = m_state->device->call(schema::DeviceMethod::EXPORT_MODEL, request);
    const auto& blob = reply.frame(reply.payload<schema::ExportReply>().getBlob());
    out.write(reinterpret_cast<const char*>(blob.data()),
              static_cast<std::streamsize>(blob.size()));
    LOOM_REQUIRE(static_cast<bool>(out), "export_model: writing the stream failed");
}

std::string CompiledModel::get_property(const std::string& name) const {
    if (m_state->custom) return m_state->custom->get_property(name);
    if (m_state->multi) {
        if (auto own = m_state->multi->property(name)) return *own;
        return CompiledModel(m_state->multi->any_compiled()).get_property(name);
    }
    if (m_state->hetero) {
        if (auto own = m_state->hetero->property(name)) return *own;
        return CompiledModel(m_state->hetero->stages().front()).get_property(name);
    }
    bus::OutMessage request;
    auto p = request.init_payload<schema::PropertyRequest>();
    p.setHandle(m_state->handle);
    p.setName(name);
    auto reply = m_state->device->call(schema::DeviceMethod::MODEL_PROPERTY, request);
    return std::string(reply.payload<schema::PropertyValue>().getValue());
}

std::shared_ptr<model::Model> runtime_graph(CompiledModelState& compiled) {
    auto request = handle_message(compiled.handle);
    auto reply = compiled.device->call(schema::DeviceMethod::RUNTIME_MODEL, request);
    return model::take_graph(reply, reply.payload<schema::RuntimeModelReply>());
}

Model CompiledModel::runtime_model() const {
    if (m_state->custom)
        LOOM_THROW(ErrorKind::UNSUPPORTED,
                   "runtime_model: {} is not one graph on a device; ask its nodes' compiled "
                   "models",
                   m_state->name);
    if (m_state->multi) return CompiledModel(m_state->multi->any_compiled()).runtime_model();
    if (m_state->hetero) return Model(m_state->hetero->runtime_model());
    return Model(runtime_graph(*m_state));
}

const std::string& CompiledModel::device() const {
    return m_state->name;
}

// ---- InferRequest -----------------------------------------------------------------------------

RequestState& InferRequest::state() const {
    LOOM_REQUIRE(m_state != nullptr, "the infer request is empty (use create_infer_request)");
    return *m_state;
}

void InferRequest::set_tensor(const std::string& name, const Tensor& tensor) {
    auto& s = state();
    for (const auto& p : s.compiled->inputs)
        if (p.name == name || std::find(p.names.begin(), p.names.end(), name) != p.names.end())
            return set_input_tensor(p.index, tensor);
    set_output_tensor(protocol::port_index(s.compiled->outputs, name, "input or output"), tensor);
}

void InferRequest::set_tensor(const Port& port, const Tensor& tensor) {
    set_tensor(port.name, tensor);
}

void InferRequest::set_input_tensor(std::size_t index, const Tensor& tensor) {
    auto& s = state();
    LOOM_REQUIRE(index < s.inputs.size(), "input index {} is out of range (the model has {})",
                 index, s.inputs.size());
    protocol::check_tensor("input", s.compiled->inputs[index], tensor.impl());
    s.inputs[index] = tensor;
}

void InferRequest::set_input_tensor(const Tensor& tensor) {
    LOOM_REQUIRE(state().inputs.size() == 1, "the model has {} inputs: name one",
                 state().inputs.size());
    set_input_tensor(0, tensor);
}

void InferRequest::set_output_tensor(std::size_t index, const Tensor& tensor) {
    auto& s = state();
    LOOM_REQUIRE(index < s.outputs.size(), "output index {} is out of range (the model has {})",
                 index, s.outputs.size());
    protocol::check_tensor("output", s.compiled->outputs[index], tensor.impl());
    s.outputs[index] = tensor;
    s.output_bound[index] = true;
}

Tensor InferRequest::get_tensor(const std::string& name) const {
    auto& s = state();
    for (const auto& p : s.compiled->inputs)
        if (p.name == name || std::find(p.names.begin(), p.names.end(), name) != p.names.end())
            return s.inputs[p.index];
    return s.outputs[protocol::port_index(s.compiled->outputs, name, "input or output")];
}

Tensor InferRequest::get_tensor(const Port& port) const {
    return get_tensor(port.name);
}

Tensor InferRequest::get_input_tensor(std::size_t index) const {
    LOOM_REQUIRE(index < state().inputs.size(), "input index {} is out of range", index);
    return state().inputs[index];
}

Tensor InferRequest::get_output_tensor(std::size_t index) const {
    LOOM_REQUIRE(index < state().outputs.size(), "output index {} is out of range", index);
    return state().outputs[index];
}

void InferRequest::infer() {
    auto& s = state();
    // Numbered like an asynchronous inference, so cancel() from another thread reaches it.
    const auto sequence = s.async->begin_sync();
    struct End {
        protocol::AsyncInferRequest& async;
        ~End() { async.end_sync(); }
    } end{*s.async};
    s.infer_now(sequence);
}

void InferRequest::start_async() {
    state().async->start_async();
}
void InferRequest::wait() {
    state().async->wait();
}
bool InferRequest::wait_for(std::chrono::milliseconds timeout) {
    return state().async->wait_for(timeout);
}
void InferRequest::set_callback(std::function<void(std::exception_ptr)> callback) {
    state().async->set_callback(std::move(callback));
}
void InferRequest::cancel() {
    state().async->cancel();
}

std::vector<ProfilingInfo> InferRequest::get_profiling_info() const {
    LOOM_REQUIRE(state().compiled->profiling,
                 "profiling is off: compile with PERF_COUNT=YES (props::enable_profiling)");
    return state().profile;
}

std::vector<VariableState> InferRequest::query_state() const {
    if (state().compiled->hetero || state().compiled->custom)
        return {}; // it refuses models with variables
    auto& s = on_device(state());
    auto request = handle_message(s.handle);
    auto reply = s.compiled->device->call(schema::DeviceMethod::QUERY_STATE, request);
    std::vector<VariableState> out;
    for (auto st : reply.payload<schema::StateList>().getStates())
        out.push_back(VariableState(m_state, std::string(st.getName())));
    return out;
}

void InferRequest::reset_state() {
    if (state().compiled->hetero || state().compiled->custom) return; // no variables
    auto& s = on_device(state());
    call_handle(*s.compiled->device, schema::DeviceMethod::RESET_STATE, s.handle);
}

const std::vector<Port>& InferRequest::inputs() const {
    return state().compiled->inputs;
}
const std::vector<Port>& InferRequest::outputs() const {
    return state().compiled->outputs;
}

// ---- VariableState ----------------------------------------------------------------------------

Tensor VariableState::state() const {
    auto& d = on_device(*m_request);
    auto request = handle_message(d.handle);
    auto reply = d.compiled->device->call(schema::DeviceMethod::QUERY_STATE, request);
    for (auto st : reply.payload<schema::StateList>().getStates())
        if (st.getName() == m_name) {
            if (!st.hasValue()) return {};
            // Copy: the value must not change under the caller when the request runs again.
            auto t = protocol::take_tensor(reply, st.getValue());
            return Tensor(model::Tensor::copy_of(t.element_type(), t.shape(), t.bytes()));
        }
    LOOM_THROW(ErrorKind::NOT_FOUND, "the request has no variable '{}'", m_name);
}

void VariableState::set_state(const Tensor& value) {
    bus::OutMessage request;
    auto p = request.init_payload<schema::StateRequest>();
    auto& d = on_device(*m_request);
    p.setRequest(d.handle);
    auto st = p.initState();
    st.setName(m_name);
    protocol::put_tensor(request, st.initValue(), value.impl());
    d.compiled->device->call(schema::DeviceMethod::SET_STATE, request);
}

void VariableState::reset() {
    bus::OutMessage request;
    auto p = request.init_payload<schema::StateRequest>();
    auto& d = on_device(*m_request);
    p.setRequest(d.handle);
    p.initState().setName(m_name);
    d.compiled->device->call(schema::DeviceMethod::SET_STATE, request);
}

} // namespace loom
