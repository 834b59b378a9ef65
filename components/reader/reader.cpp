#include "components/reader/reader.hpp"

#include <fstream>

#include "components/model/tensor.hpp"
#include "components/reader/ir/ir_reader.hpp"
#include "components/reader/ir/ir_writer.hpp"
#include "components/reader/onnx/onnx_reader.hpp"
#include "schemas/error.hpp"

namespace loom::reader {

namespace {
std::string_view as_text(std::span<const std::byte> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool looks_like_xml(std::span<const std::byte> bytes) {
    auto text = as_text(bytes.subspan(0, std::min<std::size_t>(bytes.size(), 64)));
    auto first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    return first != std::string_view::npos && text[first] == '<';
}

Format detect(const std::string& path, std::span<const std::byte> bytes) {
    if (path.ends_with(".xml")) return Format::Ir;
    if (path.ends_with(".onnx")) return Format::Onnx;
    return looks_like_xml(bytes) ? Format::Ir : Format::Onnx;
}

std::string parent_dir(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}
} // namespace

std::shared_ptr<model::Model> read_model(const std::string& path, const model::OpRegistry& registry,
                                         Format format) {
    auto file = model::MappedFile::open(path);
    if (format == Format::Auto) format = detect(path, file->bytes());
    if (format == Format::Onnx)
        return onnx_fe::read_onnx(file->bytes(), parent_dir(path), registry, path);
    auto dot = path.rfind('.');
    auto bin = (dot == std::string::npos ? path : path.substr(0, dot)) + ".bin";
    std::shared_ptr<const model::MappedFile> weights;
    if (std::ifstream(bin).good()) weights = model::MappedFile::open(bin);
    std::span<const std::byte> wbytes;
    if (weights) wbytes = weights->bytes();
    return ir::read_ir(as_text(file->bytes()), wbytes, weights, registry, path);
}

std::shared_ptr<model::Model> read_model_bytes(std::span<const std::byte> model_bytes,
                                               std::span<const std::byte> weights,
                                               std::shared_ptr<const void> owner,
                                               const model::OpRegistry& registry, Format format) {
    if (format == Format::Auto) format = looks_like_xml(model_bytes) ? Format::Ir : Format::Onnx;
    if (format == Format::Onnx) return onnx_fe::read_onnx(model_bytes, ".", registry, "<memory>");
    return ir::read_ir(as_text(model_bytes), weights, std::move(owner), registry, "<memory>");
}

WrittenIr write_ir(const model::Model& model, const std::string& xml_path) {
    auto doc = ir::write_ir_document(model);
    auto dot = xml_path.rfind('.');
    auto bin = (dot == std::string::npos ? xml_path : xml_path.substr(0, dot)) + ".bin";
    std::ofstream xml(xml_path, std::ios::binary | std::ios::trunc);
    std::ofstream weights(bin, std::ios::binary | std::ios::trunc);
    if (!xml || !weights)
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "cannot write '{}' and '{}'", xml_path, bin);
    xml.write(doc.xml.data(), static_cast<std::streamsize>(doc.xml.size()));
    weights.write(reinterpret_cast<const char*>(doc.weights.data()),
                  static_cast<std::streamsize>(doc.weights.size()));
    if (!xml || !weights) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "writing '{}' failed", xml_path);
    return {bin, doc.weights.size()};
}

} // namespace loom::reader
