// Shared-memory references and side-socket records (bus/shm.hpp), as a receiver gets them from a
// peer: a session pair over a socketpair, the sender lends one real pool, then the input is
// either (byte 0 even) a ShmRef — pool, slot, offset, length, generation — to receive, or (odd)
// raw side-socket records the peer "sent", pumped by the receiver, followed by a receive of the
// slot the sender really filled.

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <capnp/message.h>

#include "bus/shm.hpp"
#include "schemas/tensor.capnp.h"
#include "tests/fuzz/targets/fuzz_target.hpp"

namespace {

using namespace loom;

bus::ShmOptions options() {
    bus::ShmOptions o;
    o.min_slot_bytes = 4096;
    o.slots_per_pool = 2;
    o.threshold = 1;
    o.max_lent_bytes = 1 << 20;
    return o;
}

template <class T>
T take(const std::uint8_t*& p, const std::uint8_t* end) {
    T value{};
    std::size_t n = std::min<std::size_t>(sizeof(T), static_cast<std::size_t>(end - p));
    std::memcpy(&value, p, n);
    p += n;
    return value;
}

} // namespace

FuzzSeeds loom_fuzz_seeds() {
    FuzzSeeds seeds;
    // A valid reference to the filled slot: pool 1, slot 0, offset 0, 100 bytes, generation 1.
    std::vector<std::uint8_t> ref(1 + 4 + 4 + 8 + 8 + 8, 0);
    ref[1] = 1;
    ref[9 + 8] = 100;
    ref[9 + 16] = 1;
    seeds.push_back(ref);
    // A credit record, and a pool record without a descriptor.
    bus::ShmSession::Record credit{0x4c4f4f4d, 3, 1, 0, 1, 0};
    bus::ShmSession::Record pool{0x4c4f4f4d, 2, 9, 0, 4096, 2};
    std::vector<std::uint8_t> records{1};
    for (const auto& r : {credit, pool}) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&r);
        records.insert(records.end(), p, p + sizeof(r));
    }
    seeds.push_back(records);
    return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return 0;
    int raw = ::dup(fds[0]); // the "peer" writes its records here
    auto sender = std::make_shared<bus::ShmSession>(fds[0], 1, options());
    auto receiver = std::make_shared<bus::ShmSession>(fds[1], 2, options());
    capnp::MallocMessageBuilder builder;
    auto sent = builder.initRoot<schema::ShmRef>();
    auto frame = bus::Frame::allocate(100);
    std::memset(frame.mutable_bytes().data(), 0x5a, 100);
    (void)sender->send(frame, sent);
    (void)receiver->pump();

    const std::uint8_t* p = data + 1;
    const std::uint8_t* end = data + size;
    loom::fuzz::expect_typed([&] {
        if (data[0] % 2 == 0) {
            capnp::MallocMessageBuilder b;
            auto ref = b.initRoot<schema::ShmRef>();
            ref.setPool(take<std::uint32_t>(p, end));
            ref.setSlot(take<std::uint32_t>(p, end));
            ref.setOffset(take<std::uint64_t>(p, end));
            ref.setLength(take<std::uint64_t>(p, end));
            ref.setGeneration(take<std::uint64_t>(p, end));
            auto view = receiver->receive(ref.asReader());
            volatile std::uint8_t sink = 0;
            for (auto byte : view.bytes())
                sink = sink ^ static_cast<std::uint8_t>(byte);
            (void)sink;
        } else {
            while (p < end) {
                std::size_t n = std::min<std::size_t>(sizeof(bus::ShmSession::Record) + (*p % 3),
                                                      static_cast<std::size_t>(end - p));
                if (::send(raw, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) break;
                p += n;
            }
            (void)receiver->pump();
            (void)receiver->receive(sent.asReader());
        }
    });
    ::close(raw);
    return 0;
}
