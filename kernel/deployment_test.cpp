#include "kernel/deployment.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace loom::kernel {
namespace {

std::string error_of(std::string_view toml) {
    try {
        parse_deployment(toml, "/base", "deploy.toml");
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        return e.message();
    }
    return "no error";
}

TEST(Deployment, ReadsKernelAndComponents) {
    ::setenv("LOOM_TEST_DEPLOY_DIR", "/opt/x", 1);
    auto d = parse_deployment(R"(
[kernel]
endpoints = ["ipc://{runtime}/kernel"]
heartbeat_ms = 250
liveness = 4

[[component]]
name = "reader"
library = "lib/libreader.so"

[[component]]
name = "cpu"
library = "${LOOM_TEST_DEPLOY_DIR}/libcpu.so"
where = "process"
endpoints = ["tcp://127.0.0.1:*"]
start_timeout_ms = 1234
[component.config]
threads = 2
)",
                              "/base", "deploy.toml");
    EXPECT_EQ(d.kernel.endpoints, std::vector<std::string>{"ipc://{runtime}/kernel"});
    EXPECT_EQ(d.context.heartbeat.interval.count(), 250);
    EXPECT_EQ(d.context.heartbeat.liveness, 4u);
    ASSERT_EQ(d.components.size(), 2u);
    EXPECT_EQ(d.components[0].name, "reader");
    EXPECT_EQ(d.components[0].library, "/base/lib/libreader.so");
    EXPECT_EQ(d.components[0].placement, Placement::IN_PROCESS);
    EXPECT_EQ(d.components[1].library, "/opt/x/libcpu.so");
    EXPECT_EQ(d.components[1].placement, Placement::CHILD_PROCESS);
    EXPECT_EQ(d.components[1].start_timeout.count(), 1234);
    EXPECT_NE(d.components[1].config.find("threads = 2"), std::string::npos)
        << d.components[1].config;
}

TEST(Deployment, BadFilesNameWhatIsWrong) {
    EXPECT_NE(error_of("[kernel\n").find("deploy.toml:1"), std::string::npos);
    EXPECT_NE(error_of("[kernel]\nheartbeat_ms = \"fast\"\n").find("heartbeat_ms"),
              std::string::npos);
    EXPECT_NE(error_of("[kernel]\nliveness = 0\n").find("liveness"), std::string::npos);
    EXPECT_NE(error_of("[kernel]\nbogus = 1\n").find("unknown key `bogus`"), std::string::npos);
    EXPECT_NE(error_of("[[component]]\nlibrary = \"x.so\"\n").find("`name` is required"),
              std::string::npos);
    EXPECT_NE(error_of("[[component]]\nname = \"a\"\n").find("`library` is required"),
              std::string::npos);
    EXPECT_NE(error_of("[[component]]\nname = \"a\"\nlibrary = \"a.so\"\nwhere = \"mars\"\n")
                  .find("mars"),
              std::string::npos);
    EXPECT_NE(error_of("[[component]]\nname = \"a\"\nlibrary = \"a.so\"\n"
                       "[[component]]\nname = \"a\"\nlibrary = \"b.so\"\n")
                  .find("listed twice"),
              std::string::npos);
    EXPECT_NE(error_of("[[component]]\nname = \"a\"\nlibrary = \"${LOOM_SURELY_UNSET_VAR}\"\n")
                  .find("LOOM_SURELY_UNSET_VAR"),
              std::string::npos);
    EXPECT_NE(error_of("[kernel]\nserver_key = \"k.key\"\n").find("allowed_clients"),
              std::string::npos);
}

TEST(Deployment, MissingFileIsNotFound) {
    try {
        load_deployment("/nonexistent/deploy.toml");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
    }
}

} // namespace
} // namespace loom::kernel
