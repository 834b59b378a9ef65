// A library whose constructor leaves a mark (the file named by LOOM_TEST_EVIL_MARK): the
// security tests offer it from places a network peer may not load from and check that no
// process ever opened it.

#include <cstdlib>
#include <fstream>

namespace {

__attribute__((constructor)) void leave_a_mark() {
    if (const char* path = std::getenv("LOOM_TEST_EVIL_MARK")) std::ofstream(path) << "loaded\n";
}

} // namespace
