#include "components/runtime/model_client.hpp"

#include "schemas/capnp_lists.hpp"

#include "components/model/serialize.hpp"
#include "schemas/error.hpp"
#include "schemas/reader.capnp.h"
#include "schemas/transform.capnp.h"

namespace loom::runtime {

namespace {
schema::ModelFormat to_schema(ModelFormat f) {
    switch (f) {
    case ModelFormat::Ir:
        return schema::ModelFormat::IR;
    case ModelFormat::Onnx:
        return schema::ModelFormat::ONNX;
    default:
        return schema::ModelFormat::AUTO;
    }
}

ReadResult take_read_reply(const bus::InMessage& reply) {
    auto r = reply.payload<schema::ReadReply>();
    ReadResult result;
    result.model = model::take_graph(reply, r);
    result.reader_micros = r.getReadMicros();
    return result;
}
} // namespace

ReadResult read_model(const Caller& reader, const std::string& path, ModelFormat format) {
    bus::OutMessage request;
    auto params = request.init_payload<schema::ReadRequest>();
    params.getSource().setPath(path);
    params.setFormat(to_schema(format));
    auto reply = reader(static_cast<std::uint16_t>(schema::ReaderMethod::READ), request);
    return take_read_reply(reply);
}

ReadResult read_model_bytes(const Caller& reader, bus::Frame model_bytes, bus::Frame weights,
                            ModelFormat format) {
    bus::OutMessage request;
    auto params = request.init_payload<schema::ReadRequest>();
    params.getSource().setBytes(request.add_frame(std::move(model_bytes)));
    if (!weights.empty()) {
        params.setHasWeights(true);
        params.setWeightsFrame(request.add_frame(std::move(weights)));
    }
    params.setFormat(to_schema(format));
    auto reply = reader(static_cast<std::uint16_t>(schema::ReaderMethod::READ), request);
    return take_read_reply(reply);
}

std::pair<std::string, std::uint64_t> write_ir(const Caller& reader, const model::Model& model,
                                               const std::string& xml_path) {
    bus::OutMessage request;
    auto params = request.init_payload<schema::WriteIrRequest>();
    params.setXmlPath(xml_path);
    model::put_graph(request, params, model);
    auto reply = reader(static_cast<std::uint16_t>(schema::ReaderMethod::WRITE_IR), request);
    auto r = reply.payload<schema::WriteIrReply>();
    return {r.getBinPath(), r.getBinBytes()};
}

TransformResult transform_model(const Caller& transform, const model::Model& model,
                                const std::string& pipeline) {
    bus::OutMessage request;
    auto params = request.init_payload<schema::TransformRequest>();
    params.setPipeline(pipeline);
    model::put_graph(request, params, model);
    auto reply = transform(static_cast<std::uint16_t>(schema::TransformMethod::RUN), request);
    auto r = reply.payload<schema::TransformReply>();
    TransformResult result;
    result.model = model::take_graph(reply, r);
    for (auto p : carried(r.getPasses(), "passes"))
        result.passes.push_back({p.getName(), p.getChanged(), p.getRewrites(), p.getNodesBefore(),
                                 p.getNodesAfter(), p.getMicros()});
    return result;
}

std::vector<std::string> list_pipelines(const Caller& transform) {
    bus::OutMessage request;
    request.init_payload<schema::PipelineList>();
    auto reply =
        transform(static_cast<std::uint16_t>(schema::TransformMethod::LIST_PIPELINES), request);
    std::vector<std::string> names;
    for (auto n : reply.payload<schema::PipelineList>().getNames())
        names.emplace_back(n);
    return names;
}

} // namespace loom::runtime
