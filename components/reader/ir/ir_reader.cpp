#include "components/reader/ir/ir_reader.hpp"

#include "schemas/error.hpp"

namespace loom::reader::ir {
std::shared_ptr<model::Model> read_ir(std::string_view, std::span<const std::byte>,
                                      std::shared_ptr<const void>, const model::OpRegistry&,
                                      std::string_view source) {
    LOOM_THROW(ErrorKind::UNSUPPORTED, "{}: IR reading is not implemented yet", source);
}
} // namespace loom::reader::ir
