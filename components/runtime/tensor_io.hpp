#pragma once
// Host tensors as files (DESIGN.md §7: `loom run` inputs and outputs, `loom check` test data):
// NumPy .npy (format versions 1, 2 and 3; little-endian, C order) and ONNX TensorProto .pb.
// The TensorProto is decoded by hand from the protobuf wire format, so that users of this file
// (the launcher) do not depend on protobuf or on the reader.
//
// Errors (loom::Error, the message names the file): not_found when a file cannot be opened;
// invalid_argument for a truncated or corrupt file, a big-endian or Fortran-order or object
// array, or values that do not match the shape; unsupported for data Loom cannot hold (string
// or complex tensors, TensorProto external data, bf16 in a .npy).

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

#include <loom/core.hpp>

namespace loom::runtime {

struct NamedTensor {
    std::string name; // the TensorProto's name; empty for .npy
    Tensor tensor;
};

Tensor read_npy(const std::filesystem::path& path);
// Writes `tensor` as a version 1.0 .npy (2.0 when the header needs it); strings as NumPy bytes
// ('|S<longest>', zero-padded UTF-8); bf16 is
// unsupported (NumPy has no such dtype).
void write_npy(const std::filesystem::path& path, const Tensor& tensor);
NamedTensor read_tensor_pb(const std::filesystem::path& path);
// By extension: .npy, or .pb (anything else is invalid_argument).
NamedTensor read_tensor_file(const std::filesystem::path& path);

// ONNX's backend-test data stores bf16 tensors as their uint16 bits (NumPy has no bf16): when
// `want` is bf16 and `t` is u16, the same bytes as bf16; otherwise `t`.
Tensor bf16_from_bits(const Tensor& t, ElementType want);

// The same on bytes in memory; `what` names the source in error messages.
Tensor parse_npy(std::span<const std::byte> bytes, const std::string& what);
std::string npy_bytes(const Tensor& tensor);
NamedTensor parse_tensor_pb(std::span<const std::byte> bytes, const std::string& what);

} // namespace loom::runtime
