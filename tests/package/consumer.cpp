// Uses the installed headers and libraries: a service and a channel over inproc.
#include <iostream>

#include "bus/channel.hpp"
#include "bus/server.hpp"
#include "kernel/kernel.hpp"

int main() {
    loom::bus::Context context;
    auto service = std::make_shared<loom::bus::Service>("hello", "1");
    service->on(0, [](loom::bus::Call& call) { call.init_reply<loom::schema::PingRequest>(); });
    loom::bus::Server server(context, service, {.endpoints = {"inproc://hello"}});
    loom::bus::Channel channel(context, "inproc://hello", "hello");
    auto reply = channel.ping(); // readers view the reply: keep it alive while reading
    auto status = reply.payload<loom::schema::ServiceStatus>();
    std::cout << "consumer: " << status.getName().cStr() << " v" << status.getVersion().cStr()
              << "\n";
    return std::string(status.getName().cStr()) == "hello" ? 0 : 1;
}
