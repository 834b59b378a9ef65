#pragma once
// Shared memory for large frames between processes on one host (DESIGN.md §3).
//
// Each ipc connection opens one session over a Unix-domain side socket beside the ipc endpoint
// (`<path>.shm`, SOCK_SEQPACKET). Each side lends the other sealed memfd pools (sent once, with
// SCM_RIGHTS) and maps the pools it is lent once, read-only. A message then carries (pool, slot,
// offset, length, generation) instead of the bytes; the receiver checks every field against what
// it was lent, and gives the slot back with a credit record when the last view of it is released.
// When no slot is free and no more pools may be lent, the frame simply travels over the socket.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bus/frame.hpp"
#include "schemas/tensor.capnp.h"

namespace loom::bus {

struct ShmOptions {
    bool enabled = true;
    std::uint64_t threshold = 64 << 10;     // frames at least this big go through a slot
    std::uint64_t min_slot_bytes = 1 << 20; // slot sizes are powers of two from here
    std::uint32_t slots_per_pool = 4;
    std::uint64_t max_lent_bytes = 1ull << 30; // per session and direction
};

// One memfd mapped once. Shared by the session and every frame viewing it.
class ShmPool {
public:
    // Lender side: a new sealed memfd of slots × slot_bytes, mapped read-write and pre-faulted.
    static std::shared_ptr<ShmPool> create(std::uint32_t id, std::uint64_t slot_bytes,
                                           std::uint32_t slots);
    // Borrower side: checks the memfd's seals and size, maps it read-only. Takes `fd`.
    static std::shared_ptr<ShmPool> adopt(std::uint32_t id, int fd, std::uint64_t slot_bytes,
                                          std::uint32_t slots);
    ~ShmPool();
    ShmPool(const ShmPool&) = delete;
    ShmPool& operator=(const ShmPool&) = delete;

    std::uint32_t id() const noexcept { return m_id; }
    std::uint64_t slot_bytes() const noexcept { return m_slot_bytes; }
    std::uint32_t slots() const noexcept { return m_slots; }
    int fd() const noexcept { return m_fd; }
    std::byte* slot(std::uint32_t index) const noexcept { return m_base + index * m_slot_bytes; }

private:
    ShmPool(std::uint32_t id, int fd, std::byte* base, std::uint64_t slot_bytes,
            std::uint32_t slots);
    std::uint32_t m_id;
    int m_fd;
    std::byte* m_base;
    std::uint64_t m_slot_bytes;
    std::uint32_t m_slots;
};

class ShmSession : public std::enable_shared_from_this<ShmSession> {
public:
    // Takes ownership of the connected side socket `fd`.
    ShmSession(int fd, std::uint64_t token, ShmOptions options);
    ~ShmSession();
    ShmSession(const ShmSession&) = delete;
    ShmSession& operator=(const ShmSession&) = delete;

    std::uint64_t token() const noexcept { return m_token; }
    int fd() const noexcept { return m_fd; }
    bool alive() const;

    // Copies `frame` into a slot lent to the peer and describes it in `ref`. False when no slot
    // can be had; the caller then sends the frame over the socket. Thread-safe.
    bool send(const Frame& frame, schema::ShmRef::Builder ref);
    // Takes back a slot that send() filled for a message that was then not sent.
    void cancel(schema::ShmRef::Reader ref);
    // A read-only view of a slot the peer lent us. Every field of `ref` is checked; a bad one is
    // invalid_argument. Releasing the last copy of the frame returns the slot to the peer.
    Frame receive(schema::ShmRef::Reader ref);
    // Processes what the peer sent on the side socket (pools, credits) without blocking.
    // Returns false once the peer has closed it.
    bool pump();

    // Counters for tests and diagnostics.
    struct Stats {
        std::uint32_t pools_lent = 0, pools_borrowed = 0;
        std::uint64_t slots_sent = 0, slots_received = 0, credits_in = 0, credits_out = 0;
        std::uint64_t rejected = 0;
    };
    Stats stats() const;

    // One side-socket record: hello (a = token), pool (a = slot bytes, b = slots; carries the
    // memfd), credit (pool, slot, a = generation).
    struct Record {
        std::uint32_t magic;
        std::uint32_t type;
        std::uint32_t pool;
        std::uint32_t slot;
        std::uint64_t a;
        std::uint64_t b;
    };

private:
    struct Lent {
        std::shared_ptr<ShmPool> pool;
        std::vector<std::uint64_t> generation; // current generation of each slot
        std::vector<bool> busy;
    };
    struct Borrowed {
        std::shared_ptr<ShmPool> pool;
        std::vector<std::uint64_t> last_generation;
        std::vector<bool> in_use;
    };
    bool pump_locked();
    void handle_record(const Record& record, int fd);
    void return_slot(std::uint32_t pool, std::uint32_t slot, std::uint64_t generation);
    bool write_record(const Record& record, int fd_to_pass);
    void flush_credits_locked();
    std::optional<std::pair<std::uint32_t, std::uint32_t>> take_slot_locked(std::uint64_t bytes);

    const std::uint64_t m_token;
    const ShmOptions m_options;
    mutable std::mutex m_mutex; // guards everything below, and the socket
    int m_fd;
    bool m_alive = true;
    std::map<std::uint32_t, Lent> m_lent;
    std::map<std::uint32_t, Borrowed> m_borrowed;
    std::uint64_t m_lent_bytes = 0;
    std::uint32_t m_next_pool = 1;
    std::deque<Record> m_pending_credits;
    Stats m_stats;
};

// Client side: opens a session with the server bound at ipc path `ipc_path` (waits for its
// hello until `deadline`). Null when the server offers no shared memory.
std::shared_ptr<ShmSession> connect_shm(const std::string& ipc_path, const ShmOptions& options,
                                        std::chrono::steady_clock::time_point deadline);

// Server side: the side socket listening beside an ipc endpoint.
class ShmListener {
public:
    ShmListener(std::string ipc_path, ShmOptions options);
    ~ShmListener();
    ShmListener(const ShmListener&) = delete;
    ShmListener& operator=(const ShmListener&) = delete;

    int fd() const noexcept { return m_fd; }
    // Accepts one pending connection and greets it with a fresh random token; null if none.
    std::shared_ptr<ShmSession> accept();

private:
    std::string m_path;
    ShmOptions m_options;
    int m_fd = -1;
};

// The side socket path beside an ipc endpoint's path.
std::string shm_side_path(const std::string& ipc_path);

} // namespace loom::bus
