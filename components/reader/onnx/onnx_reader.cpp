#include "components/reader/onnx/onnx_reader.hpp"

#include "schemas/error.hpp"

namespace loom::reader::onnx_fe {
std::shared_ptr<model::Model> read_onnx(std::span<const std::byte>, const std::string&,
                                        const model::OpRegistry&, const std::string& source) {
    LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: ONNX reading is not implemented yet", source);
}
} // namespace loom::reader::onnx_fe
