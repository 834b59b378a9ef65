// The bus envelope and frame table as a server receives them (bus/wire.hpp), then admission
// and a handler reading the payload: parts[0] is frame 0 (the Cap'n Proto envelope), the rest are
// side frames. Input: byte 0 = side frames k (mod 8), then k little-endian u16 sizes taken from
// the end of the input, the envelope being what is left.

#include <algorithm>
#include <cstring>

#include <capnp/message.h>

#include "bus/service.hpp"
#include "bus/wire.hpp"
#include "schemas/kernel.capnp.h"
#include "tests/fuzz/targets/fuzz_target.hpp"

namespace {

using namespace loom;

bus::Limits limits() {
    bus::Limits l;
    l.traversal_limit_words = 1 << 16;
    l.max_frames = 16;
    l.max_frame_bytes = 1 << 20;
    l.max_message_bytes = 1 << 20;
    return l;
}

// A service whose handler walks a payload the way real handlers do.
std::shared_ptr<bus::Dispatcher> dispatcher() {
    static auto d = [] {
        auto s = std::make_shared<bus::Service>("fuzz", "1");
        s->on(static_cast<std::uint16_t>(0), [](bus::Call& call) {
            auto p = call.params<schema::RegisterRequest>();
            std::size_t n = p.getName().size() + p.getKind().size() + p.getHost().size();
            for (auto e : p.getEndpoints())
                n += e.size();
            call.init_reply<schema::RegisterReply>().setInstance(n);
        });
        s->on(static_cast<std::uint16_t>(1), [](bus::Call& call) {
            for (std::uint32_t i = 0; i < call.request().frames().size(); ++i)
                (void)call.frame(i).size();
            call.init_reply<schema::RegisterReply>();
        });
        return std::make_shared<bus::Dispatcher>(s, limits(), 1);
    }();
    return d;
}

std::vector<zmq::message_t> split(const std::uint8_t* data, std::size_t size) {
    std::vector<zmq::message_t> parts;
    if (size == 0) return parts;
    std::size_t k = data[0] % 8;
    std::size_t head = 1 + 2 * k;
    if (size < head) return parts;
    std::vector<std::size_t> sizes(k);
    std::size_t tail = size;
    for (std::size_t i = 0; i < k; ++i) {
        std::size_t s = data[1 + 2 * i] | (std::size_t(data[2 + 2 * i]) << 8);
        sizes[i] = std::min(s, tail - head);
        tail -= sizes[i];
    }
    parts.emplace_back(data + head, tail - head);
    for (std::size_t i = 0, at = tail; i < k; ++i) {
        parts.emplace_back(data + at, sizes[i]);
        at += sizes[i];
    }
    return parts;
}

std::vector<std::uint8_t> join(bus::OutMessage& m) {
    auto words = bus::encode_words(m);
    auto bytes = words.asBytes();
    std::vector<std::uint8_t> out{static_cast<std::uint8_t>(m.frames().size())};
    for (const auto& f : m.frames()) {
        out.push_back(static_cast<std::uint8_t>(f.size() & 0xff));
        out.push_back(static_cast<std::uint8_t>(f.size() >> 8));
    }
    out.insert(out.end(), bytes.begin(), bytes.end());
    for (const auto& f : m.frames()) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(f.bytes().data());
        out.insert(out.end(), p, p + f.size());
    }
    return out;
}

} // namespace

FuzzSeeds loom_fuzz_seeds() {
    FuzzSeeds seeds;
    {
        bus::OutMessage m;
        auto env = m.envelope();
        env.setRequestId(7);
        env.setService("fuzz");
        env.setMethod(0);
        env.setDeadlineUs(1000000);
        auto p = m.init_payload<schema::RegisterRequest>();
        p.setName("device/CPU");
        p.setKind("device");
        p.initEndpoints(1).set(0, "ipc:///run/loom/cpu-1");
        seeds.push_back(join(m));
    }
    {
        bus::OutMessage m;
        auto env = m.envelope();
        env.setRequestId(8);
        env.setService("fuzz");
        env.setMethod(1);
        m.init_payload<schema::RegisterReply>();
        auto frame = bus::Frame::allocate(24);
        std::memset(frame.mutable_bytes().data(), 3, 24);
        m.add_frame(std::move(frame));
        m.add_frame(bus::Frame::allocate(8));
        seeds.push_back(join(m));
    }
    {
        bus::OutMessage m;
        auto env = m.envelope();
        env.setRequestId(9);
        env.setService("$control");
        env.setMethod(0);
        seeds.push_back(join(m));
    }
    {
        bus::OutMessage m = bus::OutMessage::error(Error::moved("ipc:///run/x", 3, "moved"));
        m.envelope().setRequestId(10);
        seeds.push_back(join(m));
    }
    return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parts = split(data, size);
    if (parts.empty()) return 0;
    loom::fuzz::expect_typed([&] {
        auto request = bus::decode_envelope(parts, 0, limits());
        bus::attach_frames(request, parts, 0, limits(), nullptr);
        request.set_roles(bus::Role::client);
        (void)dispatcher()->dispatch_here(request, bus::Clock::now());
    });
    return 0;
}
