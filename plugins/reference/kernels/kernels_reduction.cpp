// Reference kernels: reduction family (see kernel.hpp).

#include "plugins/reference/kernels/kernel_util.hpp"

namespace loom::reference {

void add_reduction_kernels(KernelTable& table) { (void)table; }

} // namespace loom::reference
