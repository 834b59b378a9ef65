// Reference kernels: shape family (see kernel.hpp).

#include "plugins/reference/kernels/kernel_util.hpp"

namespace loom::reference {

void add_shape_kernels(KernelTable& table) { (void)table; }

} // namespace loom::reference
