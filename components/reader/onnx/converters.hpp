#pragma once
// The explicit converter tables (DESIGN.md §5: explicit tables, no self-registration). Each
// function appends its entries; onnx_reader.cpp builds the lookup from all of them.

#include <vector>

#include "components/reader/onnx/convert_context.hpp"

namespace loom::reader::onnx_fe {

void add_converters_a_to_l(std::vector<ConverterEntry>& table); // ONNX ops Abs … LpPool
void add_converters_m_to_z(std::vector<ConverterEntry>& table); // ONNX ops MatMul … Xor
void add_converters_control(std::vector<ConverterEntry>& table); // If, Loop, Scan, Constant, Identity

} // namespace loom::reader::onnx_fe
