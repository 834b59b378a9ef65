#pragma once
// A Cap'n Proto list of structs whose elements carry no data (zero-sized structs) costs nothing
// on the wire — the traversal limit charges one word per element — so a short message could
// declare millions of elements and make whoever reads it loop (or allocate) millions of times.
// No writer of Loom's schemas sends such elements: readers of lists from outside wrap them in
// carried(), which refuses them (invalid_argument) before an element is read. Found by
// tools/fuzz.sh (fuzz_device_request: model nodes, then device properties).

#include <capnp/any.h>

#include "schemas/error.hpp"

namespace loom {

template <class List>
List carried(List list, const char* what) {
    if (list.size() > 0) {
        capnp::AnyStruct::Reader first(list[0]);
        LOOM_REQUIRE(first.getDataSection().size() > 0 || first.getPointerSection().size() > 0,
                     "malformed message: a list of {} {} whose elements carry no data", list.size(),
                     what);
    }
    return list;
}

} // namespace loom
