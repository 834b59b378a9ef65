// Reference kernels: elementwise family (see kernel.hpp).

#include "plugins/reference/kernels/kernel_util.hpp"

namespace loom::reference {

void add_elementwise_kernels(KernelTable& table) { (void)table; }

} // namespace loom::reference
