#pragma once
// Printing component records for people (a table) and for scripts (JSON lines).

#include <ostream>
#include <vector>

#include "kernel/types.hpp"

namespace loom::launcher {

void print_components(std::ostream& out, const std::vector<kernel::ComponentRecord>& records);
void print_components_json(std::ostream& out, const std::vector<kernel::ComponentRecord>& records);

} // namespace loom::launcher
