#include "bus/shm.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "schemas/error.hpp"

namespace loom::bus {

namespace {

constexpr std::uint32_t k_magic = 0x4c4f4f4d; // "LOOM"
enum RecordType : std::uint32_t { k_hello = 1, k_pool = 2, k_credit = 3 };
constexpr std::uint64_t k_max_slot_bytes = 1ull << 36;
constexpr std::uint32_t k_max_slots = 4096;

std::uint64_t random_token() {
    std::uint64_t token = 0;
    while (token == 0)
        if (::getrandom(&token, sizeof(token), 0) != sizeof(token))
            LOOM_THROW(ErrorKind::INTERNAL, "getrandom failed: {}", std::strerror(errno));
    return token;
}

sockaddr_un side_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    LOOM_REQUIRE(path.size() < sizeof(address.sun_path), "side socket path '{}' is too long", path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

} // namespace

std::string shm_side_path(const std::string& ipc_path) {
    return ipc_path + ".shm";
}

// ---- ShmPool ------------------------------------------------------------------------------

ShmPool::ShmPool(std::uint32_t id, int fd, std::byte* base, std::uint64_t slot_bytes,
                 std::uint32_t slots)
    : m_id(id)
    , m_fd(fd)
    , m_base(base)
    , m_slot_bytes(slot_bytes)
    , m_slots(slots) {}

ShmPool::~ShmPool() {
    ::munmap(m_base, m_slot_bytes * m_slots);
    ::close(m_fd);
}

std::shared_ptr<ShmPool> ShmPool::create(std::uint32_t id, std::uint64_t slot_bytes,
                                         std::uint32_t slots) {
    std::uint64_t bytes = slot_bytes * slots;
    int fd = ::memfd_create("loom-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) LOOM_THROW(ErrorKind::OVERLOADED, "memfd_create failed: {}", std::strerror(errno));
    if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0 ||
        ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int err = errno;
        ::close(fd);
        LOOM_THROW(ErrorKind::OVERLOADED, "cannot size and seal a {}-byte pool: {}", bytes,
                   std::strerror(err));
    }
    // Pre-faulted: writing into fresh pages costs ~10x a copy into mapped ones.
    void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        LOOM_THROW(ErrorKind::OVERLOADED, "cannot map a {}-byte pool: {}", bytes,
                   std::strerror(err));
    }
    return std::shared_ptr<ShmPool>(
        new ShmPool(id, fd, static_cast<std::byte*>(base), slot_bytes, slots));
}

std::shared_ptr<ShmPool> ShmPool::adopt(std::uint32_t id, int fd, std::uint64_t slot_bytes,
                                        std::uint32_t slots) {
    auto fail = [fd](std::string why) {
        ::close(fd);
        throw Error(ErrorKind::INVALID_ARGUMENT, why);
    };
    if (slot_bytes == 0 || slot_bytes > k_max_slot_bytes || slots == 0 || slots > k_max_slots)
        fail(fmt::format("pool {} has an absurd geometry: {} slots of {} bytes", id, slots,
                         slot_bytes));
    int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
        fail(fmt::format("pool {} is not a memfd sealed against shrinking and growing", id));
    struct stat st {};
    std::uint64_t bytes = slot_bytes * slots;
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != bytes)
        fail(fmt::format("pool {} is {} bytes, but {} were announced", id, st.st_size, bytes));
    void* base = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) fail(fmt::format("cannot map pool {}: {}", id, std::strerror(errno)));
    return std::shared_ptr<ShmPool>(
        new ShmPool(id, fd, static_cast<std::byte*>(base), slot_bytes, slots));
}

// ---- ShmSession ---------------------------------------------------------------------------

ShmSession::ShmSession(int fd, std::uint64_t token, ShmOptions options)
    : m_token(token)
    , m_options(options)
    , m_fd(fd) {}

ShmSession::~ShmSession() {
    if (m_fd >= 0) ::close(m_fd);
}

bool ShmSession::alive() const {
    std::lock_guard lock(m_mutex);
    return m_alive;
}

ShmSession::Stats ShmSession::stats() const {
    std::lock_guard lock(m_mutex);
    return m_stats;
}

bool ShmSession::write_record(const Record& record, int fd_to_pass) {
    iovec iov{const_cast<Record*>(&record), sizeof(record)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd_to_pass >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    for (;;) {
        ssize_t n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == static_cast<ssize_t>(sizeof(record))) return true;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
        m_alive = false;
        return false;
    }
}

void ShmSession::flush_credits_locked() {
    while (m_alive && !m_pending_credits.empty() && write_record(m_pending_credits.front(), -1)) {
        m_pending_credits.pop_front();
        ++m_stats.credits_out;
    }
}

bool ShmSession::pump() {
    std::lock_guard lock(m_mutex);
    return pump_locked();
}

bool ShmSession::pump_locked() {
    while (m_alive) {
        Record record{};
        iovec iov{&record, sizeof(record)};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        ssize_t n = ::recvmsg(m_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            m_alive = false;
            break;
        }
        int fd = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (std::size_t i = 0; i < count; ++i) {
                    int received;
                    std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                    if (fd < 0)
                        fd = received;
                    else
                        ::close(received); // one descriptor per record, at most
                }
            }
        }
        if (n != static_cast<ssize_t>(sizeof(record)) || record.magic != k_magic ||
            (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
            // A peer that breaks the protocol loses its session.
            if (fd >= 0) ::close(fd);
            ++m_stats.rejected;
            m_alive = false;
            break;
        }
        handle_record(record, fd);
    }
    flush_credits_locked();
    return m_alive;
}

void ShmSession::handle_record(const Record& record, int fd) {
    switch (record.type) {
    case k_pool: {
        std::uint64_t bytes = record.a * record.b;
        std::uint64_t borrowed = 0;
        for (auto& [id, b] : m_borrowed)
            borrowed += b.pool->slot_bytes() * b.pool->slots();
        if (fd < 0 || m_borrowed.contains(record.pool) || record.b > k_max_slots ||
            record.a > k_max_slot_bytes || borrowed + bytes > m_options.max_lent_bytes) {
            if (fd >= 0) ::close(fd);
            ++m_stats.rejected;
            return;
        }
        try {
            auto pool =
                ShmPool::adopt(record.pool, fd, record.a, static_cast<std::uint32_t>(record.b));
            auto slots = pool->slots();
            m_borrowed[record.pool] =
                Borrowed{std::move(pool), std::vector<std::uint64_t>(slots, 0),
                         std::vector<bool>(slots, false)};
            ++m_stats.pools_borrowed;
        } catch (const Error&) {
            ++m_stats.rejected; // adopt() closed the descriptor
        }
        return;
    }
    case k_credit: {
        if (fd >= 0) ::close(fd);
        auto it = m_lent.find(record.pool);
        if (it == m_lent.end() || record.slot >= it->second.busy.size() ||
            !it->second.busy[record.slot] || it->second.generation[record.slot] != record.a) {
            ++m_stats.rejected; // stale or forged credit: the slot stays where it is
            return;
        }
        it->second.busy[record.slot] = false;
        ++m_stats.credits_in;
        return;
    }
    default:
        if (fd >= 0) ::close(fd);
        ++m_stats.rejected;
    }
}

std::optional<std::pair<std::uint32_t, std::uint32_t>>
ShmSession::take_slot_locked(std::uint64_t bytes) {
    std::uint64_t slot_bytes =
        std::max<std::uint64_t>(m_options.min_slot_bytes, std::bit_ceil(bytes));
    for (auto& [id, lent] : m_lent) {
        if (lent.pool->slot_bytes() != slot_bytes) continue;
        for (std::uint32_t s = 0; s < lent.busy.size(); ++s)
            if (!lent.busy[s]) return std::pair{id, s};
    }
    std::uint64_t room =
        m_options.max_lent_bytes - std::min(m_options.max_lent_bytes, m_lent_bytes);
    auto slots = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(m_options.slots_per_pool, room / slot_bytes));
    if (slots == 0) return std::nullopt;
    std::shared_ptr<ShmPool> pool;
    try {
        pool = ShmPool::create(m_next_pool, slot_bytes, slots);
    } catch (const Error&) {
        return std::nullopt;
    }
    Record announce{k_magic, k_pool, pool->id(), 0, slot_bytes, slots};
    if (!write_record(announce, pool->fd())) return std::nullopt;
    std::uint32_t id = m_next_pool++;
    m_lent_bytes += slot_bytes * slots;
    m_lent[id] = Lent{std::move(pool), std::vector<std::uint64_t>(slots, 0),
                      std::vector<bool>(slots, false)};
    ++m_stats.pools_lent;
    return std::pair{id, 0u};
}

bool ShmSession::send(const Frame& frame, schema::ShmRef::Builder ref) {
    std::byte* target = nullptr;
    std::uint32_t pool_id = 0, slot = 0;
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(m_mutex);
        if (!m_alive || !pump_locked()) return false;
        auto taken = take_slot_locked(frame.size());
        if (!taken) return false;
        std::tie(pool_id, slot) = *taken;
        auto& lent = m_lent[pool_id];
        generation = ++lent.generation[slot];
        lent.busy[slot] = true;
        target = lent.pool->slot(slot);
        ++m_stats.slots_sent;
    }
    // The slot is ours (busy) until the peer's credit: copy outside the lock.
    std::memcpy(target, frame.data(), frame.size());
    ref.setPool(pool_id);
    ref.setSlot(slot);
    ref.setOffset(0);
    ref.setLength(frame.size());
    ref.setGeneration(generation);
    return true;
}

void ShmSession::cancel(schema::ShmRef::Reader ref) {
    std::lock_guard lock(m_mutex);
    auto it = m_lent.find(ref.getPool());
    if (it == m_lent.end() || ref.getSlot() >= it->second.busy.size()) return;
    if (it->second.generation[ref.getSlot()] == ref.getGeneration())
        it->second.busy[ref.getSlot()] = false;
}

Frame ShmSession::receive(schema::ShmRef::Reader ref) {
    std::uint32_t pool_id = ref.getPool(), slot = ref.getSlot();
    std::uint64_t offset = ref.getOffset(), length = ref.getLength();
    std::uint64_t generation = ref.getGeneration();
    std::shared_ptr<ShmPool> pool;
    {
        std::lock_guard lock(m_mutex);
        // The pool's announcement precedes the first message using it on the side socket.
        if (!m_borrowed.contains(pool_id)) pump_locked();
        auto it = m_borrowed.find(pool_id);
        auto reject = [&](std::string why) {
            ++m_stats.rejected;
            throw Error(ErrorKind::INVALID_ARGUMENT,
                        fmt::format("bad shared-memory reference (pool {}, slot {}, offset {}, "
                                    "length {}, generation {}): {}",
                                    pool_id, slot, offset, length, generation, why));
        };
        if (it == m_borrowed.end()) reject("no such pool was lent on this connection");
        auto& b = it->second;
        if (slot >= b.pool->slots()) reject(fmt::format("the pool has {} slots", b.pool->slots()));
        if (offset > b.pool->slot_bytes() || length > b.pool->slot_bytes() - offset)
            reject(fmt::format("the slot holds {} bytes", b.pool->slot_bytes()));
        if (b.in_use[slot]) reject("the slot is still in use by an earlier message");
        if (generation <= b.last_generation[slot])
            reject(fmt::format("generation is not newer than {}", b.last_generation[slot]));
        b.in_use[slot] = true;
        b.last_generation[slot] = generation;
        pool = b.pool;
        ++m_stats.slots_received;
    }
    struct SlotLease {
        std::weak_ptr<ShmSession> session;
        std::shared_ptr<ShmPool> pool;
        std::uint32_t slot = 0;
        std::uint64_t generation = 0;
        ~SlotLease() {
            if (auto s = session.lock()) s->return_slot(pool->id(), slot, generation);
        }
    };
    std::byte* data = pool->slot(slot) + offset;
    // Built in place: a temporary SlotLease copied into make_shared would return the slot (and
    // send its credit) when the temporary dies, while the frame still views the slot.
    auto lease = std::make_shared<SlotLease>();
    lease->session = weak_from_this();
    lease->pool = pool;
    lease->slot = slot;
    lease->generation = generation;
    return Frame::wrap(data, length, std::move(lease));
}

void ShmSession::return_slot(std::uint32_t pool, std::uint32_t slot, std::uint64_t generation) {
    std::lock_guard lock(m_mutex);
    auto it = m_borrowed.find(pool);
    if (it != m_borrowed.end() && slot < it->second.in_use.size()) it->second.in_use[slot] = false;
    if (!m_alive) return;
    m_pending_credits.push_back(Record{k_magic, k_credit, pool, slot, generation, 0});
    flush_credits_locked();
}

// ---- connecting and listening ---------------------------------------------------------------

std::shared_ptr<ShmSession> connect_shm(const std::string& ipc_path, const ShmOptions& options,
                                        std::chrono::steady_clock::time_point deadline) {
    if (!options.enabled) return nullptr;
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    auto address = side_address(shm_side_path(ipc_path));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return nullptr; // the server offers no shared memory (or is gone)
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int timeout = static_cast<int>(std::clamp<std::int64_t>(remaining.count(), 0, 5000));
    if (::poll(&p, 1, timeout) != 1) {
        ::close(fd);
        return nullptr;
    }
    ShmSession::Record hello{};
    ssize_t n = ::recv(fd, &hello, sizeof(hello), 0);
    std::uint64_t token = 0;
    if (n == sizeof(hello) && hello.magic == k_magic && hello.type == k_hello) token = hello.a;
    if (token == 0) {
        ::close(fd);
        return nullptr;
    }
    return std::make_shared<ShmSession>(fd, token, options);
}

ShmListener::ShmListener(std::string ipc_path, ShmOptions options)
    : m_path(shm_side_path(ipc_path))
    , m_options(options) {
    m_fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m_fd < 0) LOOM_THROW(ErrorKind::OVERLOADED, "socket(): {}", std::strerror(errno));
    auto address = side_address(m_path);
    ::unlink(m_path.c_str());
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(m_fd, 64) != 0) {
        int err = errno;
        ::close(m_fd);
        LOOM_THROW(ErrorKind::UNAVAILABLE, "cannot listen on shared-memory side socket {}: {}",
                   m_path, std::strerror(err));
    }
}

ShmListener::~ShmListener() {
    ::close(m_fd);
    ::unlink(m_path.c_str());
}

std::shared_ptr<ShmSession> ShmListener::accept() {
    int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return nullptr;
    std::uint64_t token = random_token();
    ShmSession::Record hello{k_magic, k_hello, 0, 0, token, 0};
    if (::send(fd, &hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello)) {
        ::close(fd);
        return nullptr;
    }
    return std::make_shared<ShmSession>(fd, token, m_options);
}

} // namespace loom::bus
