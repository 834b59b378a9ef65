// An extension whose entry function fails: the loader reports the error it threw.
#include "extensions/sdk/extension.hpp"

namespace {

void define(loom::extensions::sdk::Extension& ext) {
    ext.name("loom_test_throws");
    throw loom::Error(loom::ErrorKind::INVALID_ARGUMENT, "init failed on purpose");
}

} // namespace

LOOM_EXTENSION(define)
