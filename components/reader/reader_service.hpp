#pragma once
// The reader component's bus service (schemas/reader.capnp). Thread-safe and blocking: reads
// run on the caller's thread in process, on the worker pool over sockets. Each read uses the
// registry snapshot current when it starts (extension ops included, DESIGN.md §5).

#include <memory>
#include <string>

#include "bus/service.hpp"
#include "components/model/registry_host.hpp"

namespace loom::reader {

std::shared_ptr<bus::Service> make_reader_service(std::string name,
                                                  std::shared_ptr<model::RegistryHost> registry,
                                                  unsigned workers = 2);

} // namespace loom::reader
