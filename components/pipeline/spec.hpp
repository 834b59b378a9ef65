#pragma once
// A pipeline declaration (DESIGN.md §6, README "Pipelines"): named inputs, constants, nodes and
// outputs, read from TOML and checked for structure — every name unique, every wire naming an
// input, a constant or a node's output, no cycle, demultiplexing one level deep. Errors are
// invalid_argument naming the file, the node and the key. Typing (element types and shapes) is
// done when the pipeline is compiled (pipeline.cpp), where the models and ops are known.
//
//   name = "ocr"
//   extensions = ["libloom_ocr_extension.so"]            # loaded into the Core first
//   [[input]]    name = "image"  type = "u8"  shape = [-1]
//   [[constant]] name = "keys"   file = "keys.txt"       # .npy, or text lines → string tensor
//   [[node]]     name = "det"    model = "det.onnx"  device = "CPU"  inputs = { x = "pre" }
//   [[node]]     name = "crops"  op = "CropLines"  domain = "loom.ocr"
//                inputs = ["decode.rgb", "boxes"]  demultiply = true
//   [[node]]     name = "scale"  component = "scaler"    # any pipeline-node component
//   [[output]]   name = "text"   from = "ctc.text"       # gathered when inside a demultiply
//
// A wire is "INPUT", "CONSTANT", "NODE" (its first output) or "NODE.OUTPUT" (split at the first
// '.', so output names may hold dots).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "components/model/attribute.hpp"
#include "components/model/shape.hpp"

namespace loom::pipeline {

enum class NodeKind { Model, Op, Component };

// Where a node input comes from.
struct Wire {
    enum class From { Input, Constant, Node };
    From from = From::Input;
    std::size_t index = 0; // into inputs, constants or nodes
    std::string output;    // the node's output name; empty: its first output
    std::string text;      // as written
};

struct InputSpec {
    std::string name;
    ElementType type = ElementType::UNDEFINED;
    model::PartialShape shape; // dynamic rank when not given
};

struct ConstantSpec {
    std::string name;
    std::filesystem::path file;
};

struct NodeSpec {
    std::string name;
    NodeKind kind = NodeKind::Op;
    std::string target;      // model path, op type, or component name/endpoint
    std::string domain;      // op: its version/domain ("loom.ocr", "opset8")
    std::string device;      // model: the device ("CPU", "CPU@nodeb", "MULTI:…")
    model::Attributes attrs; // op: its attributes (typed against the op's spec at compile)
    std::vector<std::string> input_names; // model/component: the port each wire feeds
    std::vector<Wire> inputs;
    std::vector<std::string> output_names;  // op: names of its outputs (default "output", …)
    bool demultiply = false;                // fans its outputs' first dimension out into items
    std::optional<std::size_t> gather_from; // a demultiply node whose items this node gathers
    // Filled by the structure check: the demultiply node whose items this node runs once per
    // (nullopt: once per request).
    std::optional<std::size_t> scope;
};

struct OutputSpec {
    std::string name;
    Wire from;
};

struct PipelineSpec {
    std::string name;
    std::filesystem::path source;   // the file it was read from ("" for text)
    std::filesystem::path base_dir; // where its relative paths start
    // Library paths or endpoints; a bare file name ("libloom_ocr_extension.so") is looked up
    // beside the pipeline file, then in Loom's library folder and its extensions/ folder.
    std::vector<std::string> extensions;
    std::vector<InputSpec> inputs;
    std::vector<ConstantSpec> constants;
    std::vector<NodeSpec> nodes; // in a topological order once read
    std::vector<OutputSpec> outputs;
};

// Reads and checks a pipeline file; relative paths are taken from its folder.
PipelineSpec read_pipeline_file(const std::filesystem::path& file);
// The same from TOML text; relative paths from `base_dir`; `where` names it in errors.
PipelineSpec read_pipeline_text(std::string_view toml, const std::filesystem::path& base_dir,
                                const std::string& where = "pipeline");

// Where a wire's value lives: the demultiply node whose items carry it (nullopt: the request).
std::optional<std::size_t> scope_of(const PipelineSpec& spec, const Wire& wire);

} // namespace loom::pipeline
