// Compiled with the source root and the public include root only — no generated Cap'n Proto
// headers, no ZeroMQ: <loom/core.hpp> must not pull either into a user's translation unit.
#include <loom/core.hpp>

#if defined(CAPNP_VERSION) || defined(ZMQ_VERSION)
#error "<loom/core.hpp> pulled Cap'n Proto or ZeroMQ headers into a user translation unit"
#endif

int loom_public_header_check() {
    loom::Tensor t(loom::ElementType::F32, {1});
    return static_cast<int>(t.size());
}
