#include "components/reader/ir/ir_writer.hpp"

#include "schemas/error.hpp"

namespace loom::reader::ir {
IrDocument write_ir_document(const model::Model&) {
    LOOM_THROW(ErrorKind::UNSUPPORTED, "IR writing is not implemented yet");
}
} // namespace loom::reader::ir
