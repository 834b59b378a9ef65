// The test component as a component library (test code; built twice, as versions 1 and 2, for
// swap tests; never installed). Configuration (TOML):
//   fail_on_start = true    the entry reports an error
//   abort_on_start = true   the process aborts while starting (a crashing component)
//   thread_safe / blocking  ServiceOptions (default true / true)

#include <cstdlib>

#include <toml++/toml.h>

#include "kernel/component_api.hpp"
#include "tests/support/test_service.hpp"

namespace {

std::shared_ptr<loom::bus::Service> make(const loom::kernel::ComponentArgs& args,
                                         std::string& kind) {
    kind = "test";
    toml::table config;
    try {
        config = toml::parse(args.config);
    } catch (const toml::parse_error& e) {
        throw loom::Error(loom::ErrorKind::INVALID_ARGUMENT,
                          std::string("bad test component config: ") +
                              std::string(e.description()));
    }
    if (config["fail_on_start"].value_or(false))
        throw loom::Error(loom::ErrorKind::INVALID_ARGUMENT,
                          "the test component was configured to fail on start");
    if (config["abort_on_start"].value_or(false)) std::abort();
    loom::bus::ServiceOptions options;
    options.thread_safe = config["thread_safe"].value_or(true);
    options.blocking = config["blocking"].value_or(true);
    options.workers = 4;
    return loom::test::make_test_service(args.name, LOOM_TEST_COMPONENT_VERSION, options);
}

} // namespace

LOOM_COMPONENT(make)
