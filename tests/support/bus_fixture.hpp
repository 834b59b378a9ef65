#pragma once
// Helpers for tests that run one contract over every bus path.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bus/channel.hpp"
#include "bus/server.hpp"

namespace loom::test {

enum class PathKind { direct, inproc, ipc, tcp, tcp_curve };
std::string to_string(PathKind kind);

// A private temporary directory, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const noexcept { return m_path; }
    std::string ipc(const std::string& name) const { return "ipc://" + (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

// A server hosting `service` on the endpoint that `kind` needs, and a channel to it.
struct PathSetup {
    std::unique_ptr<bus::Server> server;
    std::unique_ptr<bus::Channel> channel;
    std::string endpoint;
};

PathSetup serve_on(bus::Context& context, PathKind kind, const TempDir& dir,
                   std::shared_ptr<bus::Service> service, bus::ChannelOptions channel = {});

std::vector<PathKind> all_paths();

// Waits (bounded by `timeout`) until `holding` holds are running in the service behind
// `channel`; false if they never were.
bool wait_holding(bus::Channel& channel, std::uint32_t holding,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

} // namespace loom::test
