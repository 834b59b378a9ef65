// Inputs of `loom run` and `loom bench`: -i files bound to ports, --shape specs.

#include "launcher/model_inputs.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "components/runtime/tensor_io.hpp"
#include "schemas/error.hpp"

namespace loom::launcher {

namespace fs = std::filesystem;

namespace {

// "D0,D1,..." (optionally in brackets); a dimension is a number, "?" or -1 (dynamic), or a
// range "1..10".
PartialShape parse_dims(std::string text, const std::string& spec) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    std::vector<model::Dimension> dims;
    std::size_t start = 0;
    while (!text.empty() && start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        auto item = text.substr(start, end - start);
        auto dim = item == "-1" ? std::optional(model::Dimension::dynamic())
                                : model::Dimension::parse(item);
        LOOM_REQUIRE(dim.has_value(), "--shape {}: '{}' is not a dimension (a number, ? or a..b)",
                     spec, item);
        dims.push_back(*dim);
        start = end + 1;
    }
    return PartialShape(dims);
}

// A file that is neither .npy nor .pb feeds a u8 or string input with its raw bytes (an image
// for a pipeline that decodes it): u8[n], or one string element.
runtime::NamedTensor read_input(const std::string& file, const Port* port) {
    const auto ext = fs::path(file).extension();
    const bool raw = port && ext != ".npy" && ext != ".pb" &&
                     (port->type == ElementType::U8 || port->type == ElementType::STRING);
    if (!raw) return runtime::read_tensor_file(file);
    std::ifstream in(file, std::ios::binary);
    if (!in) LOOM_THROW(ErrorKind::NOT_FOUND, "-i: cannot open {}", file);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (port->type == ElementType::STRING)
        return {{}, Tensor(model::Tensor::strings({1}, {bytes}))};
    Tensor t(ElementType::U8, {static_cast<std::int64_t>(bytes.size())});
    std::copy(bytes.begin(), bytes.end(), t.data<char>());
    return {{}, t};
}

} // namespace

std::string port_list(const std::vector<Port>& ports) {
    std::string s;
    for (const auto& p : ports)
        s += fmt::format("{}{} ({} {})", s.empty() ? "" : ", ", p.name, loom::to_string(p.type),
                         p.shape.to_string());
    return s;
}

const Port* find_port(const std::vector<Port>& ports, const std::string& name) {
    for (const auto& p : ports) {
        if (p.name == name) return &p;
        for (const auto& n : p.names)
            if (n == name) return &p;
    }
    return nullptr;
}

std::map<std::string, PartialShape> parse_shapes(const std::vector<std::string>& specs,
                                                 const std::vector<Port>& inputs) {
    std::map<std::string, PartialShape> shapes;
    for (const auto& spec : specs) {
        auto eq = spec.find('=');
        std::string name;
        if (eq == std::string::npos) {
            LOOM_REQUIRE(inputs.size() == 1,
                         "--shape {}: name the input (NAME=D0,D1,...); the model has {} inputs: {}",
                         spec, inputs.size(), port_list(inputs));
            name = inputs[0].name;
        } else {
            name = spec.substr(0, eq);
            if (!find_port(inputs, name))
                LOOM_THROW(ErrorKind::NOT_FOUND,
                           "--shape {}: the model has no input '{}' (it has: {})", spec, name,
                           port_list(inputs));
        }
        shapes[name] = parse_dims(eq == std::string::npos ? spec : spec.substr(eq + 1), spec);
    }
    return shapes;
}

std::map<std::size_t, Binding> bind_inputs(const std::vector<std::string>& specs,
                                           const std::vector<Port>& inputs, bool require_all) {
    std::map<std::size_t, Binding> bound;
    for (const auto& spec : specs) {
        auto eq = spec.find('=');
        const Port* port =
            eq == std::string::npos ? nullptr : find_port(inputs, spec.substr(0, eq));
        if (eq != std::string::npos && !port && !fs::exists(spec))
            LOOM_THROW(ErrorKind::NOT_FOUND, "-i {}: the model has no input '{}' (it has: {})",
                       spec, spec.substr(0, eq), port_list(inputs));
        const std::string file = port ? spec.substr(eq + 1) : spec;
        if (!port && inputs.size() == 1) port = &inputs[0];
        auto read = read_input(file, port);
        if (!port && !read.name.empty()) port = find_port(inputs, read.name);
        if (port) read.tensor = runtime::bf16_from_bits(read.tensor, port->type);
        if (!port)
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                       "-i {}: which input? The model has {} inputs ({}); write -i NAME={}", spec,
                       inputs.size(), port_list(inputs), file);
        LOOM_REQUIRE(!bound.contains(port->index), "input '{}' is given twice (-i {})", port->name,
                     spec);
        LOOM_REQUIRE(read.tensor.element_type() == port->type,
                     "input '{}' is {} but {} holds {} (save it as {}, e.g. numpy's "
                     "array.astype(...))",
                     port->name, loom::to_string(port->type), file,
                     loom::to_string(read.tensor.element_type()), loom::to_string(port->type));
        bound[port->index] = {file, read.tensor};
    }
    if (!require_all) return bound;
    std::string missing;
    for (const auto& p : inputs)
        if (!bound.contains(p.index))
            missing += fmt::format("{}{} ({} {})", missing.empty() ? "" : ", ", p.name,
                                   loom::to_string(p.type), p.shape.to_string());
    LOOM_REQUIRE(missing.empty(), "missing inputs: {} — give each with -i NAME=FILE (.npy or .pb)",
                 missing);
    return bound;
}

Target compile_target(Core& core, const std::string& model, const std::string& pipeline,
                      const std::string& device, const std::vector<std::string>& shapes, bool trace,
                      const Properties& properties) {
    LOOM_REQUIRE(!model.empty() || !pipeline.empty(),
                 "give a model (-m MODEL) or a pipeline (--pipeline FILE)");
    Target t;
    if (!pipeline.empty()) {
        LOOM_REQUIRE(shapes.empty() && !trace,
                     "--shape and --trace apply to a model (-m), not to a pipeline");
        t.pipeline = Pipeline::compile(core, pipeline, properties);
        t.compiled = t.pipeline.compiled_model();
        return t;
    }
    auto m = core.read_model(model);
    if (!shapes.empty()) m.reshape(parse_shapes(shapes, m.inputs()));
    t.compiled = core.compile_model(m, device, properties);
    return t;
}

} // namespace loom::launcher
