#pragma once
// The compile cache (CACHE_DIR): a compiled model's export stored under a key that covers the
// model (graph and constant bytes), Loom's version, the device, its properties and the transform
// pipeline. Private to components/runtime.

#include <optional>
#include <string>

#include "bus/frame.hpp"
#include "components/model/graph.hpp"
#include "components/model/properties.hpp"

namespace loom::runtime {

// CACHE_DIR/<key>.blob (the directory is created when missing; invalid_argument when it cannot
// be).
std::string cache_file_for(const model::Model& model, const std::string& device,
                           const Properties& device_properties, const std::string& pipeline,
                           const std::string& cache_dir);
// The blob, or nullopt when there is none.
std::optional<bus::Frame> read_cache(const std::string& file);
// Writes atomically (temporary file + rename); a failure to write is not an error of the compile.
void write_cache(const std::string& file, const std::string& blob);

} // namespace loom::runtime
