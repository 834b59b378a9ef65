#include "plugins/sdk/device_service.hpp"

#include <atomic>
#include <map>
#include <mutex>

#include "components/model/serialize.hpp"
#include "plugins/sdk/wire.hpp"
#include "schemas/error.hpp"

namespace loom::sdk {

namespace {

using schema::DeviceMethod;

// The objects the service made, by handle. Guarded by `mutex`; the objects themselves are
// shared out of the lock (a request is used by one client thread at a time).
struct DeviceState {
    std::shared_ptr<Plugin> plugin;
    std::mutex mutex;
    std::map<std::uint64_t, std::shared_ptr<CompiledModel>> models;
    std::map<std::uint64_t, std::shared_ptr<SyncInferRequest>> requests;
    std::uint64_t next = 1;

    std::uint64_t add_model(std::shared_ptr<CompiledModel> m) {
        std::lock_guard lock(mutex);
        models.emplace(next, std::move(m));
        return next++;
    }
    std::shared_ptr<CompiledModel> model(std::uint64_t h) {
        std::lock_guard lock(mutex);
        auto it = models.find(h);
        if (it == models.end())
            LOOM_THROW(ErrorKind::NOT_FOUND, "compiled model {} does not exist on {} (released?)",
                       h, plugin->device_name());
        return it->second;
    }
    std::shared_ptr<SyncInferRequest> request(std::uint64_t h) {
        std::lock_guard lock(mutex);
        auto it = requests.find(h);
        if (it == requests.end())
            LOOM_THROW(ErrorKind::NOT_FOUND, "infer request {} does not exist on {} (released?)", h,
                       plugin->device_name());
        return it->second;
    }
};

void reply_compiled(bus::Call& call, std::uint64_t handle, const CompiledModel& m) {
    auto r = call.init_reply<schema::CompiledInfo>();
    r.setHandle(handle);
    wire::put_ports(r.initInputs(static_cast<unsigned>(m.inputs().size())), m.inputs());
    wire::put_ports(r.initOutputs(static_cast<unsigned>(m.outputs().size())), m.outputs());
}

void on_infer(DeviceState& s, bus::Call& call) {
    auto params = call.params<schema::InferRequest>();
    auto request = s.request(params.getRequest());
    auto inputs = params.getInputs();
    LOOM_REQUIRE(inputs.size() == request->inputs().size(),
                 "the model has {} input(s), the request carries {}", request->inputs().size(),
                 inputs.size());
    for (unsigned i = 0; i < inputs.size(); ++i)
        request->set_input(i, wire::take_tensor(call.request(), inputs[i]));
    request->set_sequence(params.getSequence());
    request->infer();
    auto reply = call.init_reply<schema::InferReply>();
    auto outs = reply.initOutputs(static_cast<unsigned>(request->outputs().size()));
    for (unsigned i = 0; i < outs.size(); ++i)
        wire::put_tensor(call.reply(), outs[i], request->output(i), request->outputs()[i].name);
    if (params.getProfiling()) {
        auto profile = request->profiling_info();
        auto list = reply.initProfile(static_cast<unsigned>(profile.size()));
        for (unsigned i = 0; i < list.size(); ++i) {
            list[i].setName(profile[i].name);
            list[i].setType(profile[i].type);
            list[i].setExecType(profile[i].exec_type);
            list[i].setStatus(static_cast<std::uint8_t>(profile[i].status));
            list[i].setRealTimeUs(static_cast<std::uint64_t>(profile[i].real_time_us));
        }
    }
}

void on_states(const std::shared_ptr<DeviceState>& st, bus::Service& service) {
    service.on(DeviceMethod::QUERY_STATE, [st](bus::Call& call) {
        auto request = st->request(call.params<schema::Handle>().getHandle());
        auto states = request->query_state();
        auto list =
            call.init_reply<schema::StateList>().initStates(static_cast<unsigned>(states.size()));
        for (unsigned i = 0; i < list.size(); ++i) {
            list[i].setName(states[i].first);
            if (!states[i].second.empty()) // no value yet and no static shape to show
                wire::put_tensor(call.reply(), list[i].initValue(), states[i].second);
        }
    });
    service.on(DeviceMethod::SET_STATE, [st](bus::Call& call) {
        auto p = call.params<schema::StateRequest>();
        auto request = st->request(p.getRequest());
        auto state = p.getState();
        if (!state.hasValue())
            request->reset_state(state.getName());
        else
            request->set_state(state.getName(),
                               wire::take_tensor(call.request(), state.getValue()));
    });
    service.on(DeviceMethod::RESET_STATE, [st](bus::Call& call) {
        st->request(call.params<schema::Handle>().getHandle())->reset_state("");
    });
}

void on_models(const std::shared_ptr<DeviceState>& st, bus::Service& service) {
    service.on(DeviceMethod::COMPILE_MODEL, [st](bus::Call& call) {
        auto p = call.params<schema::ModelRequest>();
        auto props = wire::take_properties(p.getProperties());
        std::shared_ptr<const Model> m = model::take_graph(call.request(), p);
        auto compiled = st->plugin->compile_model(std::move(m), props);
        reply_compiled(call, st->add_model(compiled), *compiled);
    });
    service.on(DeviceMethod::IMPORT_MODEL, [st](bus::Call& call) {
        auto p = call.params<schema::ImportRequest>();
        const auto& blob = call.frame(p.getBlob());
        auto compiled =
            st->plugin->import_model(blob.bytes(), wire::take_properties(p.getProperties()));
        reply_compiled(call, st->add_model(compiled), *compiled);
    });
    service.on(DeviceMethod::EXPORT_MODEL, [st](bus::Call& call) {
        auto blob = std::make_shared<std::vector<std::byte>>(
            st->model(call.params<schema::Handle>().getHandle())->export_model());
        auto frame = bus::Frame::wrap(blob->data(), blob->size(), blob);
        call.init_reply<schema::ExportReply>().setBlob(call.add_frame(std::move(frame)));
    });
    service.on(DeviceMethod::RELEASE_MODEL, [st](bus::Call& call) {
        std::lock_guard lock(st->mutex);
        st->models.erase(call.params<schema::Handle>().getHandle());
    });
    service.on(DeviceMethod::RUNTIME_MODEL, [st](bus::Call& call) {
        auto m = st->model(call.params<schema::Handle>().getHandle())->runtime_model();
        auto reply = call.init_reply<schema::RuntimeModelReply>();
        model::put_graph(call.reply(), reply, *m);
    });
    service.on(DeviceMethod::MODEL_PROPERTY, [st](bus::Call& call) {
        auto p = call.params<schema::PropertyRequest>();
        auto value = st->model(p.getHandle())->get_property(p.getName());
        call.init_reply<schema::PropertyValue>().setValue(value);
    });
}

void on_requests(const std::shared_ptr<DeviceState>& st, bus::Service& service) {
    service.on(DeviceMethod::CREATE_REQUEST, [st](bus::Call& call) {
        auto m = st->model(call.params<schema::Handle>().getHandle());
        auto request = m->create_sync_infer_request();
        std::lock_guard lock(st->mutex);
        st->requests.emplace(st->next, std::move(request));
        call.init_reply<schema::Handle>().setHandle(st->next++);
    });
    service.on(DeviceMethod::RELEASE_REQUEST, [st](bus::Call& call) {
        std::lock_guard lock(st->mutex);
        st->requests.erase(call.params<schema::Handle>().getHandle());
    });
    service.on(DeviceMethod::INFER, [st](bus::Call& call) { on_infer(*st, call); });
    service.on(DeviceMethod::CANCEL, [st](bus::Call& call) {
        auto p = call.params<schema::CancelRequest>();
        st->request(p.getRequest())->cancel(p.getSequence());
    });
}

void on_device(const std::shared_ptr<DeviceState>& st, bus::Service& service) {
    service.on(DeviceMethod::DESCRIBE, [st](bus::Call& call) {
        auto r = call.init_reply<schema::DeviceInfo>();
        r.setName(st->plugin->device_name());
        r.setFullName(st->plugin->full_name());
        r.setAbiVersion(LOOM_PLUGIN_ABI_VERSION);
    });
    service.on(DeviceMethod::GET_PROPERTY, [st](bus::Call& call) {
        auto name = std::string(call.params<schema::PropertyRequest>().getName());
        call.init_reply<schema::PropertyValue>().setValue(st->plugin->get_property(name));
    });
    service.on(DeviceMethod::SET_PROPERTY, [st](bus::Call& call) {
        st->plugin->set_property(
            wire::take_properties(call.params<schema::PropertyList>().getProperties()));
    });
    service.on(DeviceMethod::QUERY_MODEL, [st](bus::Call& call) {
        auto p = call.params<schema::ModelRequest>();
        auto m = model::take_graph(call.request(), p);
        auto names = st->plugin->query_model(*m, wire::take_properties(p.getProperties()));
        auto list = call.init_reply<schema::QueryReply>().initSupported(
            static_cast<unsigned>(names.size()));
        for (unsigned i = 0; i < list.size(); ++i)
            list.set(i, names[i]);
    });
    service.on(DeviceMethod::OP_COVERAGE, [st](bus::Call& call) {
        auto cov = st->plugin->op_coverage();
        auto r = call.init_reply<schema::OpCoverage>();
        auto types = r.initTypes(static_cast<unsigned>(cov.size()));
        auto ok = r.initSupported(static_cast<unsigned>(cov.size()));
        for (unsigned i = 0; i < cov.size(); ++i) {
            types.set(i, cov[i].first);
            ok.set(i, cov[i].second);
        }
    });
}

} // namespace

std::shared_ptr<bus::Service> make_device_service(std::shared_ptr<Plugin> plugin,
                                                  std::string service_name, unsigned workers) {
    auto service = std::make_shared<bus::Service>(std::move(service_name), LOOM_VERSION,
                                                  bus::ServiceOptions{true, true, workers});
    // The handlers share the state; it lives as long as the service.
    auto state = std::make_shared<DeviceState>();
    state->plugin = std::move(plugin);
    on_device(state, *service);
    on_models(state, *service);
    on_requests(state, *service);
    on_states(state, *service);
    return service;
}

} // namespace loom::sdk
