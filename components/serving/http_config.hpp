#pragma once
// What an HTTP server serves and its limits: `loom kernel --config` reads it from the
// deployment's [http] table, `loom serve --http` from its options.
//
//   [http]
//   address = "127.0.0.1"     # 0.0.0.0 to listen on every interface
//   port = 8000               # 0: any free port (printed)
//   max_body_mib = 64         # bigger bodies: 413
//   max_concurrent = 64       # more inferences at once: 503 (overloaded)
//   threads = 8               # connections served at once
//   [[http.model]]
//   name = "cls"
//   model = "cls.onnx"        # or pipeline = "ocr.toml", or the name of a [[pipeline]]
//                             # declared in the deployment file
//   device = "CPU"

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace loom::serving {

struct ServedSpec {
    std::string name;
    std::string model;         // a model file, or
    std::string pipeline;      // a pipeline file, or
    std::string pipeline_text; // a pipeline declared in the deployment file (TOML)
    std::string device = "CPU";
    std::string version = "1";
    std::filesystem::path base_dir; // where a declared pipeline's relative paths start
};

struct HttpOptions {
    std::string address = "127.0.0.1";
    int port = 8000;
    std::size_t max_body_bytes = std::size_t{64} << 20;
    unsigned max_concurrent = 64;
    unsigned threads = 8;
    std::size_t max_elements = std::size_t{1} << 28; // per tensor of a request
    std::vector<ServedSpec> models;
};

// Parses the [http] table's TOML text (relative paths from `base_dir`); `pipeline = "NAME"`
// names one of `declared` (the deployment file's [[pipeline]] tables) before it names a file.
// invalid_argument naming `where` and the key.
HttpOptions parse_http_config(std::string_view toml, const std::filesystem::path& base_dir,
                              const std::string& where,
                              const std::map<std::string, std::string>& declared = {});

} // namespace loom::serving
