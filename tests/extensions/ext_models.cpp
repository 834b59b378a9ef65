#include "tests/extensions/ext_models.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

namespace loom::test {

std::string onnx_chain(const std::vector<CustomNode>& nodes,
                       const std::vector<std::int64_t>& dims) {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    std::set<std::string> domains;
    for (const auto& n : nodes)
        if (!n.domain.empty() && domains.insert(n.domain).second) {
            auto* imp = m.add_opset_import();
            imp->set_domain(n.domain);
            imp->set_version(1);
        }
    auto* g = m.mutable_graph();
    g->set_name("custom_chain");
    auto value = [&](onnx::ValueInfoProto* v, const std::string& name) {
        v->set_name(name);
        auto* t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(onnx::TensorProto::FLOAT);
        for (auto d : dims)
            t->mutable_shape()->add_dim()->set_dim_value(d);
    };
    value(g->add_input(), "x");
    std::string prev = "x";
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto* node = g->add_node();
        node->set_op_type(nodes[i].type);
        node->set_domain(nodes[i].domain);
        node->set_name(fmt::format("n{}", i));
        node->add_input(prev);
        prev = i + 1 == nodes.size() ? "y" : fmt::format("t{}", i);
        node->add_output(prev);
        for (const auto& [name, v] : nodes[i].attrs) {
            auto* a = node->add_attribute();
            a->set_name(name);
            a->set_type(onnx::AttributeProto::FLOAT);
            a->set_f(v);
        }
    }
    value(g->add_output(), "y");
    return m.SerializeAsString();
}

std::string ir_chain(const std::vector<CustomNode>& nodes, const std::vector<std::int64_t>& dims) {
    std::string port_dims;
    for (auto d : dims)
        port_dims += fmt::format("<dim>{}</dim>", d);
    std::ostringstream xml;
    xml << "<?xml version=\"1.0\"?>\n<net name=\"custom_chain\" version=\"11\">\n<layers>\n";
    xml << fmt::format("<layer id=\"0\" name=\"x\" type=\"Parameter\" version=\"opset1\">"
                       "<data shape=\"{}\" element_type=\"f32\"/><output><port id=\"0\" "
                       "precision=\"FP32\" names=\"x\">{}</port></output></layer>\n",
                       fmt::join(dims, ","), port_dims);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        std::string data;
        for (const auto& [name, v] : nodes[i].attrs)
            data += fmt::format(" {}=\"{}\"", name, v);
        const auto name = i + 1 == nodes.size() ? std::string("y") : fmt::format("t{}", i);
        xml << fmt::format("<layer id=\"{}\" name=\"n{}\" type=\"{}\" version=\"{}\"><data{}/>"
                           "<input><port id=\"0\" precision=\"FP32\">{}</port></input>"
                           "<output><port id=\"1\" precision=\"FP32\" names=\"{}\">{}</port>"
                           "</output></layer>\n",
                           i + 1, i, nodes[i].type,
                           nodes[i].domain.empty() ? "opset1" : nodes[i].domain, data, port_dims,
                           name, port_dims);
    }
    const auto last = nodes.size() + 1;
    xml << fmt::format("<layer id=\"{}\" name=\"y/sink_port_0\" type=\"Result\" "
                       "version=\"opset1\"><input><port id=\"0\" precision=\"FP32\">{}</port>"
                       "</input></layer>\n</layers>\n<edges>\n",
                       last, port_dims);
    for (std::size_t i = 0; i <= nodes.size(); ++i)
        xml << fmt::format("<edge from-layer=\"{}\" from-port=\"{}\" to-layer=\"{}\" "
                           "to-port=\"0\"/>\n",
                           i, i == 0 ? 0 : 1, i + 1);
    xml << "</edges>\n</net>\n";
    return xml.str();
}

std::string hetero_chain() {
    return ir_chain({{"Relu", "", {}},
                     {"Activation", "loom.template", {{"alpha", 2.0f}, {"beta", 0.5f}}},
                     {"Sigmoid", "", {}}},
                    {2, 8});
}

Tensor hetero_chain_input() {
    Tensor x(ElementType::F32, {2, 8});
    for (int i = 0; i < 16; ++i)
        static_cast<float*>(x.data())[i] = static_cast<float>(i - 8) * 0.75f;
    return x;
}

Tensor reference_output(Core& core, const Model& model, const Tensor& x) {
    auto oracle = core.compile_model(model, "REFERENCE").create_infer_request();
    oracle.set_input_tensor(x);
    oracle.infer();
    return oracle.get_output_tensor(0);
}

double activation(double x, double alpha, double beta, int version) {
    const double y = alpha * x / (1.0 + std::exp(-beta * x));
    return version == 2 ? y + 1.0 : y;
}

std::vector<std::string> mapped_copies(const std::string& stem, int pid) {
    std::ifstream maps(pid ? fmt::format("/proc/{}/maps", pid) : "/proc/self/maps");
    std::set<std::string> found;
    std::string line;
    const auto needle = "/" + stem + "-"; // private copies are <stem>-<n>.so
    while (std::getline(maps, line))
        if (auto at = line.find(needle); at != std::string::npos) {
            auto start = line.find('/');
            found.insert(line.substr(start));
        }
    return {found.begin(), found.end()};
}

std::vector<int> child_pids() {
    std::vector<int> out;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream children(task.path() / "children");
        int pid = 0;
        while (children >> pid)
            out.push_back(pid);
    }
    return out;
}

} // namespace loom::test
