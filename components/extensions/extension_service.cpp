#include "components/extensions/extension_service.hpp"

#include <spdlog/spdlog.h>

#include "bus/channel.hpp"
#include "schemas/error.hpp"
#include "schemas/extensions.capnp.h"

namespace loom::extensions {

namespace {

using schema::ExtensionMethod;

void put_info(schema::ExtensionInfo::Builder out, const ExtensionInfo& info,
              std::uint32_t processes) {
    out.setName(info.name);
    out.setVersion(info.version);
    out.setSource(info.source);
    auto ops = out.initOps(static_cast<unsigned>(info.ops.size()));
    for (unsigned i = 0; i < info.ops.size(); ++i)
        ops.set(i, info.ops[i]);
    auto conv = out.initConversions(static_cast<unsigned>(info.conversions.size()));
    for (unsigned i = 0; i < info.conversions.size(); ++i)
        conv.set(i, info.conversions[i]);
    out.setProcesses(processes);
}

// One process's companion loader, reached by endpoint.
class Peer {
public:
    Peer(bus::Context& context, const std::string& endpoint)
        : m_endpoint(endpoint)
        , m_channel(context, endpoint, k_extension_service) {}

    void load(const std::string& source) {
        bus::OutMessage m;
        auto p = m.init_payload<schema::ExtensionLoadRequest>();
        p.setSource(source);
        p.setLocalOnly(true);
        call(ExtensionMethod::LOAD, std::move(m));
    }
    void unload(const std::string& name) {
        bus::OutMessage m;
        auto p = m.init_payload<schema::ExtensionUnloadRequest>();
        p.setName(name);
        p.setLocalOnly(true);
        call(ExtensionMethod::UNLOAD, std::move(m));
    }
    void swap(const std::string& name, const std::string& source) {
        bus::OutMessage m;
        auto p = m.init_payload<schema::ExtensionSwapRequest>();
        p.setName(name);
        p.setSource(source);
        p.setLocalOnly(true);
        call(ExtensionMethod::SWAP, std::move(m));
    }
    std::vector<std::string> names() {
        auto reply = call(ExtensionMethod::LIST, bus::OutMessage{});
        std::vector<std::string> out;
        for (auto e : reply.payload<schema::ExtensionList>().getExtensions())
            out.emplace_back(e.getName().cStr());
        return out;
    }
    const std::string& endpoint() const noexcept { return m_endpoint; }

private:
    bus::InMessage call(ExtensionMethod method, bus::OutMessage m) {
        try {
            return m_channel.call(method, std::move(m));
        } catch (const Error& e) {
            throw Error(e.kind(), fmt::format("the process at {}: {}", m_endpoint, e.message()));
        }
    }
    std::string m_endpoint;
    bus::Channel m_channel;
};

class Coordinator {
public:
    Coordinator(std::shared_ptr<ExtensionLoader> loader, bus::Context& context, PeerList peers)
        : m_loader(std::move(loader))
        , m_context(context)
        , m_peers(std::move(peers)) {}

    std::pair<ExtensionInfo, std::uint32_t> load(const std::string& source, bool local_only) {
        auto info = m_loader->load(source);
        if (local_only || !m_peers) return {info, 1};
        std::vector<std::unique_ptr<Peer>> done;
        try {
            for (const auto& endpoint : m_peers()) {
                auto peer = std::make_unique<Peer>(m_context, endpoint);
                peer->load(source);
                done.push_back(std::move(peer));
            }
        } catch (...) {
            for (auto& peer : done)
                best_effort([&] { peer->unload(info.name); }, "unload", peer->endpoint());
            best_effort([&] { m_loader->unload(info.name); }, "unload", "this process");
            throw;
        }
        return {info, static_cast<std::uint32_t>(done.size() + 1)};
    }

    std::pair<ExtensionInfo, std::uint32_t> swap(const std::string& name, const std::string& source,
                                                 bool local_only) {
        std::string previous;
        for (const auto& e : m_loader->list())
            if (e.name == name) previous = e.source;
        auto info = m_loader->swap(name, source);
        if (local_only || !m_peers) return {info, 1};
        std::vector<std::unique_ptr<Peer>> done;
        try {
            for (const auto& endpoint : m_peers()) {
                auto peer = std::make_unique<Peer>(m_context, endpoint);
                peer->swap(name, source);
                done.push_back(std::move(peer));
            }
        } catch (...) {
            for (auto& peer : done)
                best_effort([&] { peer->swap(info.name, previous); }, "swap back",
                            peer->endpoint());
            best_effort([&] { m_loader->swap(info.name, previous); }, "swap back", "this process");
            throw;
        }
        return {info, static_cast<std::uint32_t>(done.size() + 1)};
    }

    void unload(const std::string& name, bool local_only) {
        m_loader->unload(name);
        if (local_only || !m_peers) return;
        for (const auto& endpoint : m_peers())
            best_effort([&] { Peer(m_context, endpoint).unload(name); }, "unload", endpoint);
    }

    void sync(const std::string& endpoint) {
        Peer peer(m_context, endpoint);
        auto there = peer.names();
        for (const auto& e : m_loader->list())
            if (std::find(there.begin(), there.end(), e.name) == there.end()) peer.load(e.source);
    }

    ExtensionLoader& loader() noexcept { return *m_loader; }

private:
    template <class F>
    static void best_effort(F f, const char* what, const std::string& where) noexcept {
        try {
            f();
        } catch (const std::exception& e) {
            spdlog::error("extensions: {} in {} failed while rolling back: {}", what, where,
                          e.what());
        }
    }

    std::shared_ptr<ExtensionLoader> m_loader;
    bus::Context& m_context;
    PeerList m_peers;
};

} // namespace

std::shared_ptr<bus::Service> make_extension_service(std::shared_ptr<ExtensionLoader> loader,
                                                     bus::Context& context, PeerList peers,
                                                     std::string name) {
    auto service = std::make_shared<bus::Service>(
        std::move(name), LOOM_VERSION,
        bus::ServiceOptions{.thread_safe = true, .blocking = true, .workers = 2});
    auto c = std::make_shared<Coordinator>(std::move(loader), context, std::move(peers));
    // A library named from the network is checked against the library policy before anything
    // opens it (bus/library_policy.hpp); hosted extensions (endpoints) are only connected to.
    auto trusted = [ctx = &context](const bus::Call& call, std::string source) {
        bool endpoint = source.starts_with("ipc://") || source.starts_with("tcp://") ||
                        source.starts_with("inproc://");
        return endpoint ? source : ctx->trusted_library(source, call.from_network());
    };
    service->on(
        ExtensionMethod::LOAD,
        [c, trusted](bus::Call& call) {
            auto p = call.params<schema::ExtensionLoadRequest>();
            auto [info, n] = c->load(trusted(call, p.getSource().cStr()), p.getLocalOnly());
            put_info(call.init_reply<schema::ExtensionInfo>(), info, n);
        },
        bus::Role::operator_);
    service->on(
        ExtensionMethod::UNLOAD,
        [c](bus::Call& call) {
            auto p = call.params<schema::ExtensionUnloadRequest>();
            c->unload(p.getName().cStr(), p.getLocalOnly());
        },
        bus::Role::operator_);
    service->on(
        ExtensionMethod::SWAP,
        [c, trusted](bus::Call& call) {
            auto p = call.params<schema::ExtensionSwapRequest>();
            auto [info, n] =
                c->swap(p.getName().cStr(), trusted(call, p.getSource().cStr()), p.getLocalOnly());
            put_info(call.init_reply<schema::ExtensionInfo>(), info, n);
        },
        bus::Role::operator_);
    service->on(ExtensionMethod::LIST, [c](bus::Call& call) {
        auto list = c->loader().list();
        auto out = call.init_reply<schema::ExtensionList>().initExtensions(
            static_cast<unsigned>(list.size()));
        for (unsigned i = 0; i < list.size(); ++i)
            put_info(out[i], list[i], 1);
    });
    service->on(
        ExtensionMethod::SYNC,
        [c](bus::Call& call) {
            c->sync(call.params<schema::ExtensionSyncRequest>().getEndpoint().cStr());
        },
        bus::Role::operator_);
    return service;
}

} // namespace loom::extensions
