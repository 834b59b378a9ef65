#pragma once
// Inputs of `loom run` and `loom bench` (DESIGN.md §7): -i NAME=FILE bindings (.npy or ONNX
// TensorProto .pb) and --shape NAME=D0,D1,... specs, checked against the model's ports with
// errors that name the ports the model has.

#include <map>
#include <string>
#include <vector>

#include <loom/core.hpp>
#include <loom/pipeline.hpp>

namespace loom::launcher {

// "x (f32 [1,3,?,?]), y (...)": the ports, for error messages.
std::string port_list(const std::vector<Port>& ports);

// The port one of whose names is `name`, or null.
const Port* find_port(const std::vector<Port>& ports, const std::string& name);

// NAME=D0,D1,... (a bare D0,D1,... for a single-input model); a dimension is a number, ? or -1
// (dynamic), or a range a..b. not_found for an input the model lacks.
std::map<std::string, PartialShape> parse_shapes(const std::vector<std::string>& specs,
                                                 const std::vector<Port>& inputs);

struct Binding {
    std::string file;
    Tensor tensor;
};

// Reads every -i file and decides which input it feeds: NAME=FILE, or a bare FILE for the
// single input (or a .pb whose tensor name is an input's name). With `require_all`, an input
// without a file is an error naming every missing one.
std::map<std::size_t, Binding> bind_inputs(const std::vector<std::string>& specs,
                                           const std::vector<Port>& inputs,
                                           bool require_all = true);

// What `run` and `bench` infer on: a model read, reshaped by `shapes` and compiled on `device`,
// or a pipeline compiled from its file (`pipeline` set; then `shapes` and `trace` are refused —
// they apply to a model). invalid_argument when neither is given.
struct Target {
    Pipeline pipeline; // empty for a model
    CompiledModel compiled;
};
Target compile_target(Core& core, const std::string& model, const std::string& pipeline,
                      const std::string& device, const std::vector<std::string>& shapes, bool trace,
                      const Properties& properties);

} // namespace loom::launcher
