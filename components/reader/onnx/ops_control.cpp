// ONNX control flow and graph-structure ops: Constant, Identity, If, Loop, Scan.

#include "components/reader/onnx/converters.hpp"

namespace loom::reader::onnx_fe {

void add_converters_control(std::vector<ConverterEntry>&) {}

} // namespace loom::reader::onnx_fe
