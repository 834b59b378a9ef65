#include "components/transform/transform_service.hpp"

#include "components/model/serialize.hpp"
#include "schemas/transform.capnp.h"

namespace loom::transform {

namespace {

// The current snapshot, completed once per generation. Dropped as soon as another snapshot is in
// force, so that it never keeps a swapped-out extension library mapped.
class CompletedRegistry final : public model::SnapshotUser {
public:
    CompletedRegistry(std::shared_ptr<model::RegistryHost> host,
                      std::function<void(model::OpRegistry&)> complete)
        : m_host(std::move(host))
        , m_complete(std::move(complete)) {}

    std::shared_ptr<const model::OpRegistry> get() {
        auto current = m_host->current();
        {
            std::lock_guard lock(m_mutex);
            if (m_cached && m_cached->generation() == current->generation()) return m_cached;
        }
        auto copy = std::make_shared<model::OpRegistry>(*current);
        if (m_complete) m_complete(*copy);
        std::lock_guard lock(m_mutex);
        m_cached = copy;
        return copy;
    }
    void watch() { m_watch = m_host->watch(*this); }
    void prepare(const std::shared_ptr<const model::OpRegistry>&) override {}
    void settle(std::uint64_t generation) noexcept override {
        std::shared_ptr<const model::OpRegistry> dropped; // released after the lock
        std::lock_guard lock(m_mutex);
        if (m_cached && m_cached->generation() != generation) dropped = std::move(m_cached);
    }

private:
    std::shared_ptr<model::RegistryHost> m_host;
    std::function<void(model::OpRegistry&)> m_complete;
    std::mutex m_mutex; // guards m_cached
    std::shared_ptr<const model::OpRegistry> m_cached;
    model::Watch m_watch; // last: unregisters before anything else goes
};

} // namespace

std::shared_ptr<bus::Service>
make_transform_service(std::string name, std::shared_ptr<model::RegistryHost> registry,
                       std::function<void(model::OpRegistry&)> complete,
                       std::shared_ptr<const passes::PipelineRegistry> pipelines,
                       unsigned workers) {
    auto service = std::make_shared<bus::Service>(std::move(name), LOOM_VERSION,
                                                  bus::ServiceOptions{true, true, workers});
    auto completed = std::make_shared<CompletedRegistry>(registry, std::move(complete));
    completed->watch();
    service->on(schema::TransformMethod::RUN, [completed, pipelines](bus::Call& call) {
        auto request = call.params<schema::TransformRequest>();
        auto manager = pipelines->make(std::string(request.getPipeline()));
        auto model = model::take_graph(call.request(), request);
        const auto snapshot = completed->get();
        auto report = manager.run(*model, *snapshot);
        auto reply = call.init_reply<schema::TransformReply>();
        model::put_graph(call.reply(), reply, *model);
        auto list = reply.initPasses(static_cast<unsigned>(report.passes.size()));
        for (unsigned i = 0; i < list.size(); ++i) {
            const auto& p = report.passes[i];
            list[i].setName(p.name);
            list[i].setChanged(p.changed);
            list[i].setRewrites(p.rewrites);
            list[i].setNodesBefore(p.nodes_before);
            list[i].setNodesAfter(p.nodes_after);
            list[i].setMicros(static_cast<std::uint64_t>(p.time_us));
        }
    });
    service->on(schema::TransformMethod::LIST_PIPELINES, [pipelines](bus::Call& call) {
        auto names = pipelines->names();
        auto list =
            call.init_reply<schema::PipelineList>().initNames(static_cast<unsigned>(names.size()));
        for (unsigned i = 0; i < list.size(); ++i)
            list.set(i, names[i]);
    });
    return service;
}

} // namespace loom::transform
