#include "kernel/deployment.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>

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
    EXPECT_NE(error_of("[roles]\nclient = [\"a.pub\"]\n").find("no `server_key`"),
              std::string::npos);
    EXPECT_NE(error_of("[kernel]\ninsecure = \"yes\"\n").find("true or false"), std::string::npos);
    EXPECT_NE(error_of("[kernel]\nmax_frame_mib = 0\n").find("max_frame_mib"), std::string::npos);
}

TEST(Deployment, ReadsRolesLimitsAndLibraryDirectories) {
    auto dir =
        std::filesystem::temp_directory_path() / ("loom-deploy-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::map<std::string, bus::KeyPair> keys;
    for (const char* who : {"kernel", "ops", "app", "node"}) {
        keys[who] = bus::KeyPair::generate();
        keys[who].save(dir / who);
    }
    auto d = parse_deployment(R"([kernel]
server_key = "kernel.key"
library_dirs = ["plugins"]
max_frame_mib = 8
max_in_flight_mib = 32

[roles]
operator = ["ops.pub"]
client = ["app.pub"]
[[roles.component]]
key = "node.pub"
names = ["device/*"]
)",
                              dir, "deploy.toml");
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(d.kernel.security.has_value());
    const auto& s = *d.kernel.security;
    EXPECT_EQ(s.keys.public_key, keys["kernel"].public_key);
    auto ops = s.roles_of(keys["ops"].public_key);
    EXPECT_TRUE(ops.has(bus::Role::operator_) && ops.has(bus::Role::client));
    auto app = s.roles_of(keys["app"].public_key);
    EXPECT_TRUE(app.has(bus::Role::client));
    EXPECT_FALSE(app.has(bus::Role::operator_) || app.has(bus::Role::component));
    auto node = s.roles_of(keys["node"].public_key);
    EXPECT_TRUE(node.has(bus::Role::component) && !node.has(bus::Role::operator_));
    EXPECT_EQ(d.kernel.component_names.at(keys["node"].public_key),
              std::vector<std::string>{"device/*"});
    EXPECT_EQ(s.roles_of(keys["kernel"].public_key), bus::Roles::none());
    EXPECT_FALSE(d.kernel.insecure);
    ASSERT_EQ(d.context.library_dirs.size(), 1u);
    EXPECT_EQ(d.context.library_dirs[0], dir / "plugins");
    EXPECT_EQ(d.context.limits.max_frame_bytes, 8 << 20);
    EXPECT_EQ(d.context.limits.max_in_flight_bytes, 32u << 20);
}

TEST(Deployment, MissingFileIsNotFound) {
    try {
        load_deployment("/nonexistent/deploy.toml");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::NOT_FOUND);
    }
}

TEST(Deployment, KeepsHttpAndDeclaredPipelinesForTheServer) {
    auto d = parse_deployment(R"(
[[pipeline]]
name = "p"
[[pipeline.input]]
name = "x"
type = "f32"
[http]
port = 0
[[http.model]]
name = "m"
pipeline = "p"
)",
                              "/base", "deploy.toml");
    ASSERT_EQ(d.pipelines.size(), 1u);
    EXPECT_NE(d.pipelines.at("p").find("[[input]]"), std::string::npos) << d.pipelines.at("p");
    EXPECT_NE(d.http.find("port = 0"), std::string::npos) << d.http;
    EXPECT_EQ(d.base_dir, "/base");
    EXPECT_NE(error_of("[[pipeline]]\ntype = \"x\"\n").find("needs a `name`"), std::string::npos);
    EXPECT_NE(
        error_of("[[pipeline]]\nname = \"a\"\n[[pipeline]]\nname = \"a\"\n").find("declared twice"),
        std::string::npos);
    EXPECT_NE(error_of("http = 3\n").find("`http` must be a table"), std::string::npos);
}

} // namespace
} // namespace loom::kernel
