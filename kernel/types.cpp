#include "kernel/types.hpp"

namespace loom::kernel {
namespace {

template <class List>
void set_texts(List list, const std::vector<std::string>& values) {
    for (unsigned i = 0; i < values.size(); ++i)
        list.set(i, values[i]);
}

} // namespace

std::vector<std::string> texts(capnp::List<capnp::Text>::Reader list) {
    std::vector<std::string> out;
    out.reserve(list.size());
    for (auto t : list)
        out.emplace_back(t.cStr());
    return out;
}

std::string_view to_string(ComponentState state) noexcept {
    switch (state) {
    case ComponentState::STARTING:
        return "starting";
    case ComponentState::READY:
        return "ready";
    case ComponentState::DRAINING:
        return "draining";
    case ComponentState::STOPPED:
        return "stopped";
    case ComponentState::FAILED:
        return "failed";
    }
    return "unknown";
}

std::string_view to_string(Placement placement) noexcept {
    switch (placement) {
    case Placement::IN_PROCESS:
        return "in-process";
    case Placement::CHILD_PROCESS:
        return "process";
    case Placement::REMOTE:
        return "remote";
    }
    return "unknown";
}

void to_schema(const ComponentSpec& spec, schema::ComponentSpec::Builder out) {
    out.setName(spec.name);
    out.setLibrary(spec.library);
    out.setPlacement(spec.placement);
    set_texts(out.initEndpoints(static_cast<unsigned>(spec.endpoints.size())), spec.endpoints);
    out.setStartTimeoutMs(static_cast<std::uint32_t>(spec.start_timeout.count()));
    out.setConfig(spec.config);
}

ComponentSpec from_schema(schema::ComponentSpec::Reader in) {
    ComponentSpec spec;
    spec.name = in.getName().cStr();
    spec.library = in.getLibrary().cStr();
    spec.placement = in.getPlacement();
    spec.endpoints = texts(in.getEndpoints());
    spec.start_timeout = std::chrono::milliseconds(in.getStartTimeoutMs());
    spec.config = in.getConfig().cStr();
    return spec;
}

void to_schema(const ComponentRecord& r, schema::ComponentInfo::Builder out) {
    out.setName(r.name);
    out.setKind(r.kind);
    out.setVersion(r.version);
    set_texts(out.initEndpoints(static_cast<unsigned>(r.endpoints.size())), r.endpoints);
    out.setState(r.state);
    out.setEpoch(r.epoch);
    out.setInstance(r.instance);
    out.setPlacement(r.placement);
    out.setPid(r.pid);
    out.setLastError(r.last_error);
    out.setCleanStop(r.clean_stop);
    out.setRouted(r.routed);
    out.setHost(r.host);
    out.setServerKey(r.server_key);
    out.setInFlight(r.in_flight);
}

ComponentRecord from_schema(schema::ComponentInfo::Reader in) {
    ComponentRecord r;
    r.name = in.getName().cStr();
    r.kind = in.getKind().cStr();
    r.version = in.getVersion().cStr();
    r.endpoints = texts(in.getEndpoints());
    r.state = in.getState();
    r.epoch = in.getEpoch();
    r.instance = in.getInstance();
    r.placement = in.getPlacement();
    r.pid = in.getPid();
    r.last_error = in.getLastError().cStr();
    r.clean_stop = in.getCleanStop();
    r.routed = in.getRouted();
    r.host = in.getHost().cStr();
    r.server_key = in.getServerKey().cStr();
    r.in_flight = in.getInFlight();
    return r;
}

void to_schema(const Route& route, schema::Route::Builder out) {
    out.setName(route.name);
    set_texts(out.initEndpoints(static_cast<unsigned>(route.endpoints.size())), route.endpoints);
    out.setEpoch(route.epoch);
    out.setInstance(route.instance);
    out.setHost(route.host);
    out.setServerKey(route.server_key);
}

Route from_schema(schema::Route::Reader in) {
    Route route;
    route.name = in.getName().cStr();
    route.endpoints = texts(in.getEndpoints());
    route.epoch = in.getEpoch();
    route.instance = in.getInstance();
    route.host = in.getHost().cStr();
    route.server_key = in.getServerKey().cStr();
    return route;
}

} // namespace loom::kernel
