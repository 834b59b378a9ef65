// Endpoint strings: what parse_endpoint accepts and what it refuses (invalid_argument, saying
// what is wrong).

#include "bus/endpoint.hpp"

#include <gtest/gtest.h>

#include <string>

#include "schemas/error.hpp"

namespace loom::bus {
namespace {

void expect_rejected(const std::string& text, std::string_view says) {
    try {
        parse_endpoint(text);
        ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << text << ": " << e.what();
        EXPECT_NE(e.message().find(says), std::string::npos)
            << text << ": '" << e.message() << "' does not say '" << says << "'";
    }
}

TEST(Endpoint, AcceptsInproc) {
    auto e = parse_endpoint("inproc://reader");
    EXPECT_EQ(e.transport, Transport::inproc);
    EXPECT_EQ(e.address, "reader");
    EXPECT_EQ(e.text, "inproc://reader");
}

TEST(Endpoint, AcceptsIpc) {
    auto e = parse_endpoint("ipc:///run/loom/reader.sock");
    EXPECT_EQ(e.transport, Transport::ipc);
    EXPECT_EQ(e.address, "/run/loom/reader.sock");
    EXPECT_EQ(e.text, "ipc:///run/loom/reader.sock");
    // Abstract-namespace sockets.
    EXPECT_EQ(parse_endpoint("ipc://@loom-reader").address, "@loom-reader");
}

TEST(Endpoint, AcceptsTcp) {
    auto e = parse_endpoint("tcp://127.0.0.1:5555");
    EXPECT_EQ(e.transport, Transport::tcp);
    EXPECT_EQ(e.address, "127.0.0.1:5555");
    EXPECT_EQ(parse_endpoint("tcp://*:*").transport, Transport::tcp);
    EXPECT_EQ(parse_endpoint("tcp://gpu-box.example:7000").address, "gpu-box.example:7000");
    EXPECT_EQ(parse_endpoint("tcp://[::1]:7000").address, "[::1]:7000");
}

TEST(Endpoint, IpcPathUpToTheLimit) {
    std::string path = "/" + std::string(99, 'p');
    ASSERT_EQ(path.size(), 100u);
    EXPECT_EQ(parse_endpoint("ipc://" + path).address, path);
    expect_rejected("ipc://" + path + "q", "longer than 100 bytes");
}

TEST(Endpoint, RejectsMissingScheme) {
    expect_rejected("127.0.0.1:5555", "has no transport");
    expect_rejected("", "has no transport");
    expect_rejected("tcp:/127.0.0.1:5555", "has no transport");
}

TEST(Endpoint, RejectsUnknownScheme) {
    expect_rejected("udp://127.0.0.1:5555", "unknown transport 'udp'");
    expect_rejected("TCP://127.0.0.1:5555", "unknown transport");
    expect_rejected("://x", "unknown transport");
}

TEST(Endpoint, RejectsTcpWithoutPort) {
    expect_rejected("tcp://127.0.0.1", "HOST:PORT");
    expect_rejected("tcp://127.0.0.1:", "HOST:PORT");
    expect_rejected("tcp://localhost", "HOST:PORT");
}

TEST(Endpoint, RejectsEmptyAddress) {
    expect_rejected("inproc://", "empty address");
    expect_rejected("ipc://", "empty address");
    expect_rejected("tcp://", "empty address");
}

TEST(Endpoint, TransportNames) {
    EXPECT_EQ(to_string(Transport::inproc), "inproc");
    EXPECT_EQ(to_string(Transport::ipc), "ipc");
    EXPECT_EQ(to_string(Transport::tcp), "tcp");
}

TEST(Endpoint, HostIdIsStableAndNotEmpty) {
    const std::string& id = host_id();
    EXPECT_GT(id.size(), 1u);
    EXPECT_NE(id.find('/'), std::string::npos);
    EXPECT_EQ(&host_id(), &id);
}

} // namespace
} // namespace loom::bus
