#include "components/transform/transform_service.hpp"

#include "components/model/serialize.hpp"
#include "schemas/transform.capnp.h"

namespace loom::transform {

std::shared_ptr<bus::Service>
make_transform_service(std::string name, std::shared_ptr<const model::OpRegistry> registry,
                       std::shared_ptr<const passes::PipelineRegistry> pipelines,
                       unsigned workers) {
    auto service = std::make_shared<bus::Service>(std::move(name), LOOM_VERSION,
                                                  bus::ServiceOptions{true, true, workers});
    service->on(schema::TransformMethod::RUN, [registry, pipelines](bus::Call& call) {
        auto request = call.params<schema::TransformRequest>();
        auto manager = pipelines->make(std::string(request.getPipeline()));
        auto model = model::take_graph(call.request(), request);
        auto report = manager.run(*model, *registry);
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
