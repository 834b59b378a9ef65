// Reference kernels: index family (see kernel.hpp).

#include "plugins/reference/kernels/kernel_util.hpp"

namespace loom::reference {

void add_index_kernels(KernelTable& table) { (void)table; }

} // namespace loom::reference
