// Reference kernels: control flow — If, Loop, TensorIterator (see kernel.hpp).

#include "plugins/reference/kernels/kernel_util.hpp"

namespace loom::reference {

void add_control_kernels(KernelTable& table) { (void)table; }

} // namespace loom::reference
