#pragma once
// The explicit converter tables (DESIGN.md §5: explicit tables, no self-registration). Each
// function appends its entries; onnx_reader.cpp builds the lookup from all of them.

#include <vector>

#include "components/reader/onnx/convert_context.hpp"

namespace loom::reader::onnx_fe {

void add_converters_elementwise(std::vector<ConverterEntry>& table); // math, logic, activations
void add_converters_nn(std::vector<ConverterEntry>& table);          // conv, pooling, norms, Resize
void add_converters_rnn(std::vector<ConverterEntry>& table);         // RNN, GRU, LSTM
void add_converters_tensor(std::vector<ConverterEntry>& table);      // shape and data movement
void add_converters_reduce(std::vector<ConverterEntry>& table); // Reduce*, ArgMax, TopK, softmax
void add_converters_quant(std::vector<ConverterEntry>& table);  // (De)QuantizeLinear, QLinear*
void add_converters_misc(std::vector<ConverterEntry>& table);   // DFT, STFT, NMS, RoiAlign, …
void add_converters_control(
    std::vector<ConverterEntry>& table); // If, Loop, Scan, Constant, Identity

} // namespace loom::reader::onnx_fe
