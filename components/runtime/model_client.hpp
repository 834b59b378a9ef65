#pragma once
// The client side of the reader and transform components (DESIGN.md §1, §6): a model crosses
// the bus as a Cap'n Proto graph with its constants as side frames — zero-copy in process,
// shared memory between processes on one host. The Core (next issue) builds on these.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bus/message.hpp"
#include "components/model/graph.hpp"

namespace loom::runtime {

// Sends a request (method, message) and returns the reply; a RoutedChannel or a Channel
// (see caller_of below). The message is kept intact so a routed channel may re-send it.
using Caller = std::function<bus::InMessage(std::uint16_t method, bus::OutMessage& request)>;

template <class ChannelT>
Caller caller_of(ChannelT& channel) {
    return [&channel](std::uint16_t method, bus::OutMessage& request) {
        if constexpr (requires { channel.call_method_keep(method, request); })
            return channel.call_method_keep(method, request);
        else
            return channel.call_method(method, request);
    };
}

enum class ModelFormat { Auto, Ir, Onnx };

struct ReadResult {
    std::shared_ptr<model::Model> model;
    std::uint64_t reader_micros = 0; // time spent inside the reader
};

// The reader opens `path` itself (it must be visible to the reader's host).
ReadResult read_model(const Caller& reader, const std::string& path,
                      ModelFormat format = ModelFormat::Auto);
// The model travels to the reader as frames (for readers on other machines). `weights` may be
// empty (ONNX, or IR without constants).
ReadResult read_model_bytes(const Caller& reader, bus::Frame model_bytes, bus::Frame weights,
                            ModelFormat format = ModelFormat::Auto);

// Writes `model` as OpenVINO IR (xml + bin beside it) on the reader's host; returns the .bin
// path and its size.
std::pair<std::string, std::uint64_t> write_ir(const Caller& reader, const model::Model& model,
                                               const std::string& xml_path);

struct PassReport {
    std::string name;
    bool changed = false;
    std::uint64_t rewrites = 0, nodes_before = 0, nodes_after = 0, micros = 0;
};

struct TransformResult {
    std::shared_ptr<model::Model> model;
    std::vector<PassReport> passes;
};

TransformResult transform_model(const Caller& transform, const model::Model& model,
                                const std::string& pipeline);
std::vector<std::string> list_pipelines(const Caller& transform);

} // namespace loom::runtime
