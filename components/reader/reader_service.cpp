#include "components/reader/reader_service.hpp"

#include <chrono>

#include "components/model/serialize.hpp"
#include "components/reader/reader.hpp"
#include "schemas/error.hpp"
#include "schemas/reader.capnp.h"

namespace loom::reader {

namespace {
Format to_format(schema::ModelFormat f) {
    switch (f) {
    case schema::ModelFormat::IR:
        return Format::Ir;
    case schema::ModelFormat::ONNX:
        return Format::Onnx;
    default:
        return Format::Auto;
    }
}

std::shared_ptr<model::Model> read(bus::Call& call, const model::OpRegistry& registry) {
    auto request = call.params<schema::ReadRequest>();
    auto format = to_format(request.getFormat());
    if (request.getSource().isPath())
        return read_model(request.getSource().getPath(), registry, format);
    const bus::Frame& bytes = call.frame(request.getSource().getBytes());
    std::span<const std::byte> weights;
    std::shared_ptr<const void> owner;
    if (request.getHasWeights()) {
        const bus::Frame& w = call.frame(request.getWeightsFrame());
        weights = w.bytes();
        owner = w.owner();
    }
    return read_model_bytes(bytes.bytes(), weights, std::move(owner), registry, format);
}
} // namespace

std::shared_ptr<bus::Service> make_reader_service(std::string name,
                                                  std::shared_ptr<model::RegistryHost> registry,
                                                  unsigned workers) {
    auto service = std::make_shared<bus::Service>(std::move(name), LOOM_VERSION,
                                                  bus::ServiceOptions{true, true, workers});
    service->on(schema::ReaderMethod::READ, [registry](bus::Call& call) {
        auto start = std::chrono::steady_clock::now();
        auto model = read(call, *registry->current());
        auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - start);
        auto reply = call.init_reply<schema::ReadReply>();
        model::put_graph(call.reply(), reply, *model);
        reply.setReadMicros(static_cast<std::uint64_t>(micros.count()));
    });
    service->on(schema::ReaderMethod::WRITE_IR, [](bus::Call& call) {
        auto request = call.params<schema::WriteIrRequest>();
        auto model = model::take_graph(call.request(), request);
        std::string xml = request.getXmlPath();
        LOOM_REQUIRE(!xml.empty(), "writeIr needs an output path");
        auto written = write_ir(*model, xml);
        auto reply = call.init_reply<schema::WriteIrReply>();
        reply.setXmlPath(xml);
        reply.setBinPath(written.bin_path);
        reply.setBinBytes(written.bin_bytes);
    });
    return service;
}

} // namespace loom::reader
