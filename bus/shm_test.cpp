// Shared-memory sessions (DESIGN.md §3): sealed memfd pools lent over a SOCK_SEQPACKET side
// socket, frames carried as (pool, slot, offset, length, generation) and checked by the
// receiver, slots returned by credits, and the fall-back to the socket when no slot can be had.

#include "bus/shm.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <capnp/message.h>

#include "schemas/error.hpp"

namespace loom::bus {
namespace {

constexpr std::uint64_t k_mib = 1 << 20;

Frame pattern(std::size_t size, unsigned seed) {
    Frame f = Frame::allocate(size);
    auto words = f.as_mutable<std::uint64_t>();
    for (std::size_t i = 0; i < words.size(); ++i)
        words[i] = (i + 1) * 0x9e3779b97f4a7c15ull + seed;
    for (std::size_t i = words.size() * 8; i < size; ++i)
        f.data()[i] = static_cast<std::byte>(i + seed);
    return f;
}

bool same_bytes(const Frame& a, const Frame& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

bool fd_is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

// The permissions ("r--s" ...) of the mapping that contains `address`, from /proc/self/maps.
std::string mapping_permissions(const void* address) {
    auto at = reinterpret_cast<std::uintptr_t>(address);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        std::istringstream in(line);
        std::string range, permissions;
        in >> range >> permissions;
        auto dash = range.find('-');
        auto begin = std::stoull(range.substr(0, dash), nullptr, 16);
        auto end = std::stoull(range.substr(dash + 1), nullptr, 16);
        if (at >= begin && at < end) return permissions;
    }
    return "unmapped";
}

// A ShmRef held in its own message (send() fills a builder; receive() reads a reader).
struct Ref {
    capnp::MallocMessageBuilder message;
    schema::ShmRef::Builder ref = message.initRoot<schema::ShmRef>();
    schema::ShmRef::Reader reader() { return ref.asReader(); }
};

template <class F>
Error expect_invalid(F&& f, std::string_view says) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
        EXPECT_NE(e.message().find(says), std::string::npos)
            << "'" << e.message() << "' does not say '" << says << "'";
        return e;
    }
    ADD_FAILURE() << "accepted; expected an error saying '" << says << "'";
    return Error(ErrorKind::INTERNAL, "accepted");
}

// Two sessions connected back to back, as a client's and a server's would be.
class ShmPair : public ::testing::Test {
protected:
    void connect(ShmOptions a_options = {}, ShmOptions b_options = {}) {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        a = std::make_shared<ShmSession>(fds[0], 11, a_options);
        b = std::make_shared<ShmSession>(fds[1], 22, b_options);
    }
    void SetUp() override { connect(); }

    std::shared_ptr<ShmSession> a; // sender
    std::shared_ptr<ShmSession> b; // receiver
};

// ---- ShmPool ------------------------------------------------------------------------------

TEST(ShmPool, AdoptedDescriptorMapsTheSameBytes) {
    auto pool = ShmPool::create(1, k_mib, 2);
    EXPECT_EQ(pool->id(), 1u);
    EXPECT_EQ(pool->slot_bytes(), k_mib);
    EXPECT_EQ(pool->slots(), 2u);
    EXPECT_EQ(pool->slot(1) - pool->slot(0), static_cast<std::ptrdiff_t>(k_mib));
    std::memset(pool->slot(1), 0x3c, 64);

    auto peer = ShmPool::adopt(1, ::dup(pool->fd()), k_mib, 2);
    EXPECT_NE(peer->slot(1), pool->slot(1)) << "a second, separate mapping";
    EXPECT_EQ(peer->slot(1)[63], std::byte{0x3c});
    // One memory: later writes show through the other mapping.
    pool->slot(0)[5] = std::byte{0x77};
    EXPECT_EQ(peer->slot(0)[5], std::byte{0x77});
}

TEST(ShmPool, CreatedPoolsAreSealedAgainstResizing) {
    auto pool = ShmPool::create(1, k_mib, 1);
    int seals = ::fcntl(pool->fd(), F_GET_SEALS);
    ASSERT_GE(seals, 0);
    EXPECT_TRUE(seals & F_SEAL_SHRINK);
    EXPECT_TRUE(seals & F_SEAL_GROW);
    EXPECT_NE(::ftruncate(pool->fd(), 0), 0) << "a lent pool could be shrunk under its borrower";
}

TEST(ShmPool, AdoptRefusesAnUnsealedMemfd) {
    for (unsigned flags : {MFD_CLOEXEC, MFD_CLOEXEC | MFD_ALLOW_SEALING}) {
        int fd = ::memfd_create("unsealed", flags);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(k_mib)), 0);
        expect_invalid([&] { ShmPool::adopt(3, fd, k_mib, 1); }, "not a memfd sealed");
        EXPECT_FALSE(fd_is_open(fd)) << "adopt() must take the descriptor, also on failure";
    }
}

TEST(ShmPool, AdoptRefusesASizeOtherThanAnnounced) {
    auto pool = ShmPool::create(1, k_mib, 2);
    int fd = ::dup(pool->fd());
    expect_invalid([&] { ShmPool::adopt(1, fd, k_mib, 3); }, "were announced");
    EXPECT_FALSE(fd_is_open(fd));
    expect_invalid([&] { ShmPool::adopt(1, ::dup(pool->fd()), k_mib / 2, 2); }, "were announced");
}

TEST(ShmPool, AdoptRefusesAnAbsurdGeometry) {
    auto pool = ShmPool::create(1, k_mib, 1);
    expect_invalid([&] { ShmPool::adopt(1, ::dup(pool->fd()), k_mib, 0); }, "absurd geometry");
    expect_invalid([&] { ShmPool::adopt(1, ::dup(pool->fd()), 0, 1); }, "absurd geometry");
    expect_invalid([&] { ShmPool::adopt(1, ::dup(pool->fd()), k_mib, 1u << 20); },
                   "absurd geometry");
}

TEST(ShmPool, AdoptedMappingIsReadOnly) {
    auto pool = ShmPool::create(1, k_mib, 1);
    auto peer = ShmPool::adopt(1, ::dup(pool->fd()), k_mib, 1);
    EXPECT_EQ(mapping_permissions(pool->slot(0)), "rw-s");
    EXPECT_EQ(mapping_permissions(peer->slot(0)), "r--s")
        << "a borrower could write the lender's pool";
}

// ---- ShmSession ---------------------------------------------------------------------------

TEST_F(ShmPair, LargeFrameArrivesIntact) {
    Frame sent = pattern(2 * k_mib, 1);
    Ref ref;
    ASSERT_TRUE(a->send(sent, ref.ref));
    EXPECT_EQ(ref.ref.getOffset(), 0u);
    EXPECT_EQ(ref.ref.getLength(), 2 * k_mib);
    EXPECT_GT(ref.ref.getGeneration(), 0u);

    Frame got = b->receive(ref.reader());
    EXPECT_TRUE(same_bytes(got, sent));
    EXPECT_NE(got.data(), sent.data());

    auto as = a->stats();
    EXPECT_EQ(as.pools_lent, 1u);
    EXPECT_EQ(as.slots_sent, 1u);
    auto bs = b->stats();
    EXPECT_EQ(bs.pools_borrowed, 1u);
    EXPECT_EQ(bs.slots_received, 1u);
    EXPECT_EQ(bs.rejected, 0u);
    EXPECT_TRUE(a->alive());
    EXPECT_TRUE(b->alive());
}

TEST_F(ShmPair, SmallAndOddSizedFrames) {
    for (std::size_t size : {std::size_t{1}, std::size_t{4093}, std::size_t{k_mib + 7}}) {
        Frame sent = pattern(size, static_cast<unsigned>(size));
        Ref ref;
        ASSERT_TRUE(a->send(sent, ref.ref)) << size;
        Frame got = b->receive(ref.reader());
        EXPECT_TRUE(same_bytes(got, sent)) << size;
    }
}

TEST_F(ShmPair, ReleasingTheFrameReturnsTheSlot) {
    Frame sent = pattern(2 * k_mib, 2);
    Ref first;
    ASSERT_TRUE(a->send(sent, first.ref));
    {
        Frame got = b->receive(first.reader());
        Frame view = got.slice(10, 10); // the slot is held until the last view goes
        got = Frame{};
        EXPECT_EQ(b->stats().credits_out, 0u);
        EXPECT_EQ(view.size(), 10u);
    }
    EXPECT_EQ(b->stats().credits_out, 1u);
    EXPECT_EQ(a->stats().credits_in, 0u) << "credits are read by pump()";
    EXPECT_TRUE(a->pump());
    EXPECT_EQ(a->stats().credits_in, 1u);

    // The slot is free again: the next frame reuses it under a newer generation.
    Frame next = pattern(2 * k_mib, 3);
    Ref second;
    ASSERT_TRUE(a->send(next, second.ref));
    EXPECT_EQ(second.ref.getPool(), first.ref.getPool());
    EXPECT_EQ(second.ref.getSlot(), first.ref.getSlot());
    EXPECT_GT(second.ref.getGeneration(), first.ref.getGeneration());
    EXPECT_EQ(a->stats().pools_lent, 1u);
    EXPECT_TRUE(same_bytes(b->receive(second.reader()), next));
}

TEST_F(ShmPair, HeldSlotsAreNotReused) {
    Frame f = pattern(2 * k_mib, 4);
    Ref r1, r2;
    ASSERT_TRUE(a->send(f, r1.ref));
    Frame held = b->receive(r1.reader());
    ASSERT_TRUE(a->send(f, r2.ref));
    EXPECT_FALSE(r1.ref.getPool() == r2.ref.getPool() && r1.ref.getSlot() == r2.ref.getSlot())
        << "a slot the receiver still reads was handed out again";
    EXPECT_TRUE(same_bytes(b->receive(r2.reader()), f));
    EXPECT_TRUE(same_bytes(held, f)) << "the held frame was overwritten";
}

TEST_F(ShmPair, CancelledSlotIsReused) {
    Frame f = pattern(k_mib, 5);
    Ref r1, r2;
    ASSERT_TRUE(a->send(f, r1.ref));
    a->cancel(r1.reader()); // the message was never sent
    ASSERT_TRUE(a->send(f, r2.ref));
    EXPECT_EQ(r2.ref.getPool(), r1.ref.getPool());
    EXPECT_EQ(r2.ref.getSlot(), r1.ref.getSlot());
}

TEST_F(ShmPair, ForgedReferencesAreRefused) {
    Frame f = pattern(k_mib, 6);
    Ref valid;
    ASSERT_TRUE(a->send(f, valid.ref));
    std::uint32_t pool = valid.ref.getPool(), slot = valid.ref.getSlot();
    std::uint64_t generation = valid.ref.getGeneration();
    std::uint64_t slot_bytes = k_mib; // ShmOptions::min_slot_bytes
    std::uint32_t slots = ShmOptions{}.slots_per_pool;

    auto forged = [&](std::uint32_t p, std::uint32_t s, std::uint64_t offset, std::uint64_t length,
                      std::uint64_t g) {
        auto r = std::make_unique<Ref>();
        r->ref.setPool(p);
        r->ref.setSlot(s);
        r->ref.setOffset(offset);
        r->ref.setLength(length);
        r->ref.setGeneration(g);
        return r;
    };
    auto refuse = [&](std::unique_ptr<Ref> r, std::string_view says) {
        expect_invalid([&] { b->receive(r->reader()); }, says);
    };

    refuse(forged(pool + 100, slot, 0, 8, generation), "no such pool");
    refuse(forged(pool, slots, 0, 8, generation), "slots");
    refuse(forged(pool, 0xffffffffu, 0, 8, generation), "slots");
    refuse(forged(pool, slot, slot_bytes - 4, 8, generation), "the slot holds");
    refuse(forged(pool, slot, 0, slot_bytes + 1, generation), "the slot holds");
    refuse(forged(pool, slot, slot_bytes + 1, 0, generation), "the slot holds");
    // Wrapping arithmetic must not let offset + length pass.
    refuse(forged(pool, slot, 1, ~std::uint64_t{0}, generation), "the slot holds");
    refuse(forged(pool, slot, ~std::uint64_t{0}, 2, generation), "the slot holds");
    refuse(forged(pool, slot, 0, 8, 0), "not newer");
    EXPECT_EQ(b->stats().rejected, 9u);

    // The genuine reference is still good after all that, exactly once.
    {
        Frame got = b->receive(valid.reader());
        EXPECT_TRUE(same_bytes(got, f));
        // While the frame is held, a newer reference to its slot is refused.
        refuse(forged(pool, slot, 0, 8, generation + 1), "still in use");
    }
    // A replay of the same reference after its release is refused.
    refuse(forged(pool, slot, 0, k_mib, generation), "not newer");
    EXPECT_EQ(b->stats().slots_received, 1u);
}

TEST_F(ShmPair, ExactSlotSizeIsAccepted) {
    Frame f = pattern(k_mib, 7);
    Ref r;
    ASSERT_TRUE(a->send(f, r.ref));
    // A view of the whole slot, and one ending exactly at its end, are in bounds.
    EXPECT_EQ(b->receive(r.reader()).size(), k_mib);
    EXPECT_TRUE(a->pump());
    Ref s;
    ASSERT_TRUE(a->send(f, s.ref));
    s.ref.setOffset(k_mib - 16);
    s.ref.setLength(16);
    Frame tail = b->receive(s.reader());
    EXPECT_EQ(std::memcmp(tail.data(), f.data() + k_mib - 16, 16), 0);
}

TEST_F(ShmPair, ExhaustedBudgetFallsBackToTheSocket) {
    ShmOptions small;
    small.max_lent_bytes = k_mib; // one slot of the smallest size
    connect(small, small);
    Frame f = pattern(k_mib, 8);
    Ref r1;
    ASSERT_TRUE(a->send(f, r1.ref));
    Frame held = b->receive(r1.reader());

    Ref r2;
    EXPECT_FALSE(a->send(f, r2.ref)) << "no slot is free and no pool may be lent";
    EXPECT_FALSE(a->send(pattern(2 * k_mib, 9), r2.ref)) << "a bigger slot would exceed the budget";
    EXPECT_EQ(a->stats().pools_lent, 1u);
    EXPECT_TRUE(a->alive()) << "running out of slots is not an error";

    held = Frame{}; // the credit comes back
    Ref r3;
    ASSERT_TRUE(a->send(f, r3.ref)) << "the returned slot was not reused";
    EXPECT_EQ(a->stats().credits_in, 1u);
    EXPECT_TRUE(same_bytes(b->receive(r3.reader()), f));
}

TEST_F(ShmPair, BorrowerRefusesPoolsBeyondItsBudget) {
    ShmOptions lender, borrower;
    borrower.max_lent_bytes = k_mib;
    connect(lender, borrower);
    Ref r;
    ASSERT_TRUE(a->send(pattern(k_mib, 10), r.ref)); // the lender may lend 4 MiB
    expect_invalid([&] { b->receive(r.reader()); }, "no such pool");
    EXPECT_EQ(b->stats().pools_borrowed, 0u);
    EXPECT_GE(b->stats().rejected, 1u);
}

TEST_F(ShmPair, PoolRecordWithAnUnsealedMemfdIsRefused) {
    // Speak the side-socket protocol by hand: a pool record carrying an unsealed memfd.
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    auto receiver = std::make_shared<ShmSession>(fds[1], 33, ShmOptions{});
    int memfd = ::memfd_create("forged", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(memfd, 0);
    ASSERT_EQ(::ftruncate(memfd, static_cast<off_t>(k_mib)), 0);
    ShmSession::Record record{0x4c4f4f4d /* "LOOM" */, 2 /* pool */, 5, 0, k_mib, 1};
    iovec iov{&record, sizeof(record)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &memfd, sizeof(int));
    ASSERT_EQ(::sendmsg(fds[0], &msg, 0), static_cast<ssize_t>(sizeof(record)));
    ::close(memfd);

    EXPECT_TRUE(receiver->pump()) << "a refused pool does not end the session";
    EXPECT_EQ(receiver->stats().pools_borrowed, 0u);
    EXPECT_EQ(receiver->stats().rejected, 1u);
    Ref r;
    r.ref.setPool(5);
    r.ref.setLength(8);
    r.ref.setGeneration(1);
    expect_invalid([&] { receiver->receive(r.reader()); }, "no such pool");

    // A record that breaks the protocol ends the session.
    char junk[5] = {1, 2, 3, 4, 5};
    ASSERT_EQ(::send(fds[0], junk, sizeof(junk), 0), static_cast<ssize_t>(sizeof(junk)));
    EXPECT_FALSE(receiver->pump());
    EXPECT_FALSE(receiver->alive());
    ::close(fds[0]);
}

TEST_F(ShmPair, PeerClosingEndsTheSession) {
    Ref r;
    ASSERT_TRUE(a->send(pattern(k_mib, 11), r.ref));
    Frame held = b->receive(r.reader());
    EXPECT_TRUE(a->pump());
    b.reset(); // closes its end; the frame still holds the mapping
    EXPECT_FALSE(a->pump());
    EXPECT_FALSE(a->alive());
    Ref again;
    EXPECT_FALSE(a->send(pattern(k_mib, 12), again.ref)) << "sent into a closed session";
    EXPECT_EQ(held.size(), k_mib);
    EXPECT_EQ(held.data()[0], pattern(k_mib, 11).data()[0]) << "the mapping outlives the session";
    held = Frame{}; // releasing after the session went away is harmless
}

TEST_F(ShmPair, SessionsWorkBothWays) {
    Frame to_b = pattern(2 * k_mib, 13), to_a = pattern(3 * k_mib, 14);
    Ref r1, r2;
    ASSERT_TRUE(a->send(to_b, r1.ref));
    ASSERT_TRUE(b->send(to_a, r2.ref));
    EXPECT_TRUE(same_bytes(b->receive(r1.reader()), to_b));
    EXPECT_TRUE(same_bytes(a->receive(r2.reader()), to_a));
    EXPECT_EQ(a->stats().pools_lent, 1u);
    EXPECT_EQ(a->stats().pools_borrowed, 1u);
    EXPECT_EQ(b->stats().pools_lent, 1u);
    EXPECT_EQ(b->stats().pools_borrowed, 1u);
}

} // namespace
} // namespace loom::bus
