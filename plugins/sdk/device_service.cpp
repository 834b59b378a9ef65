#include "plugins/sdk/device_service.hpp"

#include "components/model/serialize.hpp"
#include "components/protocol/codec.hpp"
#include "components/protocol/session_table.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::sdk {

namespace {

using schema::DeviceMethod;

using protocol::ObjectKind;

// What the handlers share: the plugin and the objects its client sessions own. Objects are
// shared out of the table (a request is used by one client thread at a time).
struct DeviceState {
    std::shared_ptr<Plugin> plugin;
    protocol::SessionTable sessions;

    explicit DeviceState(std::shared_ptr<Plugin> p)
        : plugin(std::move(p))
        , sessions("device " + plugin->device_name()) {}

    std::shared_ptr<CompiledModel> model(const bus::Call& call, std::uint64_t handle) {
        return sessions.get<CompiledModel>(call.session(), call.peer_key(),
                                           ObjectKind::COMPILED_MODEL, handle);
    }
    std::shared_ptr<SyncInferRequest> request(const bus::Call& call, std::uint64_t handle) {
        return sessions.get<SyncInferRequest>(call.session(), call.peer_key(),
                                              ObjectKind::INFER_REQUEST, handle);
    }
    std::uint64_t add_model(const bus::Call& call, std::shared_ptr<CompiledModel> m) {
        return sessions.add(call.session(), call.peer_key(), ObjectKind::COMPILED_MODEL,
                            std::move(m));
    }
};

void reply_compiled(bus::Call& call, std::uint64_t handle, const CompiledModel& m) {
    auto r = call.init_reply<schema::CompiledInfo>();
    r.setHandle(handle);
    protocol::put_ports(r.initInputs(static_cast<unsigned>(m.inputs().size())), m.inputs());
    protocol::put_ports(r.initOutputs(static_cast<unsigned>(m.outputs().size())), m.outputs());
}

void on_infer(DeviceState& s, bus::Call& call) {
    auto params = call.params<schema::InferRequest>();
    auto request = s.request(call, params.getRequest());
    auto inputs = params.getInputs();
    LOOM_REQUIRE(inputs.size() == request->inputs().size(),
                 "the model has {} input(s), the request carries {}", request->inputs().size(),
                 inputs.size());
    for (unsigned i = 0; i < inputs.size(); ++i)
        request->set_input(i, protocol::take_tensor(call.request(), inputs[i]));
    request->set_sequence(params.getSequence());
    request->infer();
    auto reply = call.init_reply<schema::InferReply>();
    auto outs = reply.initOutputs(static_cast<unsigned>(request->outputs().size()));
    for (unsigned i = 0; i < outs.size(); ++i)
        protocol::put_tensor(call.reply(), outs[i], request->output(i), request->outputs()[i].name);
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
        auto request = st->request(call, call.params<schema::Handle>().getHandle());
        auto states = request->query_state();
        auto list =
            call.init_reply<schema::StateList>().initStates(static_cast<unsigned>(states.size()));
        for (unsigned i = 0; i < list.size(); ++i) {
            list[i].setName(states[i].first);
            if (!states[i].second.empty()) // no value yet and no static shape to show
                protocol::put_tensor(call.reply(), list[i].initValue(), states[i].second);
        }
    });
    service.on(DeviceMethod::SET_STATE, [st](bus::Call& call) {
        auto p = call.params<schema::StateRequest>();
        auto request = st->request(call, p.getRequest());
        auto state = p.getState();
        if (!state.hasValue())
            request->reset_state(state.getName());
        else
            request->set_state(state.getName(),
                               protocol::take_tensor(call.request(), state.getValue()));
    });
    service.on(DeviceMethod::RESET_STATE, [st](bus::Call& call) {
        st->request(call, call.params<schema::Handle>().getHandle())->reset_state("");
    });
}

void on_models(const std::shared_ptr<DeviceState>& st, bus::Service& service) {
    service.on(DeviceMethod::COMPILE_MODEL, [st](bus::Call& call) {
        st->sessions.renew(call.session(), call.peer_key()); // no work for a stranger
        auto p = call.params<schema::ModelRequest>();
        auto props = protocol::take_properties(p.getProperties());
        std::shared_ptr<const Model> m = model::take_graph(call.request(), p);
        auto compiled = st->plugin->compile_model(std::move(m), props);
        reply_compiled(call, st->add_model(call, compiled), *compiled);
    });
    service.on(DeviceMethod::IMPORT_MODEL, [st](bus::Call& call) {
        st->sessions.renew(call.session(), call.peer_key());
        auto p = call.params<schema::ImportRequest>();
        const auto& blob = call.frame(p.getBlob());
        auto compiled =
            st->plugin->import_model(blob.bytes(), protocol::take_properties(p.getProperties()));
        reply_compiled(call, st->add_model(call, compiled), *compiled);
    });
    service.on(DeviceMethod::EXPORT_MODEL, [st](bus::Call& call) {
        auto blob = std::make_shared<std::vector<std::byte>>(
            st->model(call, call.params<schema::Handle>().getHandle())->export_model());
        auto frame = bus::Frame::wrap(blob->data(), blob->size(), blob);
        call.init_reply<schema::ExportReply>().setBlob(call.add_frame(std::move(frame)));
    });
    service.on(DeviceMethod::RELEASE_MODEL, [st](bus::Call& call) {
        st->sessions.release(call.session(), call.peer_key(), ObjectKind::COMPILED_MODEL,
                             call.params<schema::Handle>().getHandle());
    });
    service.on(DeviceMethod::RUNTIME_MODEL, [st](bus::Call& call) {
        auto m = st->model(call, call.params<schema::Handle>().getHandle())->runtime_model();
        auto reply = call.init_reply<schema::RuntimeModelReply>();
        model::put_graph(call.reply(), reply, *m);
    });
    service.on(DeviceMethod::MODEL_PROPERTY, [st](bus::Call& call) {
        auto p = call.params<schema::PropertyRequest>();
        auto value = st->model(call, p.getHandle())->get_property(p.getName());
        call.init_reply<schema::PropertyValue>().setValue(value);
    });
}

void on_requests(const std::shared_ptr<DeviceState>& st, bus::Service& service) {
    service.on(DeviceMethod::CREATE_REQUEST, [st](bus::Call& call) {
        auto m = st->model(call, call.params<schema::Handle>().getHandle());
        auto request = m->create_sync_infer_request();
        // When the session ends, an inference still running on it stops with `cancelled`.
        std::weak_ptr<SyncInferRequest> weak = request;
        auto cancel = [weak] {
            if (auto r = weak.lock()) r->cancel();
        };
        call.init_reply<schema::Handle>().setHandle(
            st->sessions.add(call.session(), call.peer_key(), ObjectKind::INFER_REQUEST,
                             std::move(request), std::move(cancel)));
    });
    service.on(DeviceMethod::RELEASE_REQUEST, [st](bus::Call& call) {
        st->sessions.release(call.session(), call.peer_key(), ObjectKind::INFER_REQUEST,
                             call.params<schema::Handle>().getHandle());
    });
    service.on(DeviceMethod::INFER, [st](bus::Call& call) { on_infer(*st, call); });
    service.on(DeviceMethod::CANCEL, [st](bus::Call& call) {
        auto p = call.params<schema::CancelRequest>();
        st->request(call, p.getRequest())->cancel(p.getSequence());
    });
}

// The service's own properties (the session counts), else the plugin's.
std::string device_property(DeviceState& st, const std::string& name) {
    if (name == props::device_sessions.name) return std::to_string(st.sessions.counts().sessions);
    if (name == props::device_compiled_models.name)
        return std::to_string(st.sessions.counts().compiled_models);
    if (name == props::device_infer_requests.name)
        return std::to_string(st.sessions.counts().infer_requests);
    return st.plugin->get_property(name);
}

void on_sessions(const std::shared_ptr<DeviceState>& st, bus::Service& service) {
    const auto reply = [](bus::Call& call, const protocol::SessionTable::Lease& lease) {
        auto r = call.init_reply<schema::SessionInfo>();
        r.setSession(lease.session);
        r.setLeaseMs(static_cast<std::uint32_t>(lease.lease.count()));
    };
    service.on(DeviceMethod::OPEN_SESSION, [st, reply](bus::Call& call) {
        const auto requested =
            std::chrono::milliseconds(call.params<schema::SessionRequest>().getLeaseMs());
        reply(call, st->sessions.open(call.peer_key(), requested));
    });
    service.on(DeviceMethod::RENEW_SESSION, [st, reply](bus::Call& call) {
        reply(call, st->sessions.renew(call.session(), call.peer_key()));
    });
    service.on(DeviceMethod::CLOSE_SESSION,
               [st](bus::Call& call) { st->sessions.close(call.session(), call.peer_key()); });
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
        call.init_reply<schema::PropertyValue>().setValue(device_property(*st, name));
    });
    service.on(DeviceMethod::SET_PROPERTY, [st](bus::Call& call) {
        st->plugin->set_property(
            protocol::take_properties(call.params<schema::PropertyList>().getProperties()));
    });
    service.on(DeviceMethod::QUERY_MODEL, [st](bus::Call& call) {
        auto p = call.params<schema::ModelRequest>();
        auto m = model::take_graph(call.request(), p);
        auto names = st->plugin->query_model(*m, protocol::take_properties(p.getProperties()));
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
    auto state = std::make_shared<DeviceState>(std::move(plugin));
    on_sessions(state, *service);
    on_device(state, *service);
    on_models(state, *service);
    on_requests(state, *service);
    on_states(state, *service);
    return service;
}

} // namespace loom::plugins::sdk
