#pragma once
// The reader component's bus service (schemas/reader.capnp). Thread-safe and blocking: reads
// run on the caller's thread in process, on the worker pool over sockets. The op registry is
// an immutable snapshot shared with the caller (extensions will publish new ones).

#include <memory>
#include <string>

#include "bus/service.hpp"
#include "components/model/op_registry.hpp"

namespace loom::reader {

std::shared_ptr<bus::Service> make_reader_service(std::string name,
                                                  std::shared_ptr<const model::OpRegistry> registry,
                                                  unsigned workers = 2);

} // namespace loom::reader
