#pragma once
// MULTI (DESIGN.md §6, OpenVINO's MULTI): one logical device over several, "MULTI:CPU@nodeb,
// CPU@nodec,CPU". The model is compiled on every member; each inference goes to a member with a
// free slot (its OPTIMAL_NUMBER_OF_INFER_REQUESTS), the least loaded first, priority order on
// ties. Private to components/runtime.
//
// The contract when a member is lost (killed, host gone, partitioned — its calls fail
// disconnected / unavailable, or it came back as a new instance that does not know our
// objects, not_found):
// - inferences not started on it go to the others;
// - an inference it was running on a stateless model (no ReadValue/Assign) is run again on
//   another member: the caller sees only latency;
// - on a stateful model each request is pinned to one member (its variables live there), and
//   an inference on a lost member fails `disconnected`;
// - no member left: `unavailable` at once, naming each member and why it is out;
// - a lost member is compiled again in the background every probe interval (0.5 s) and serves
//   again once that succeeds — no client action.
// Threading: every method may be called from many threads.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "components/runtime/core_internal.hpp"

namespace loom::runtime {

class MultiModel {
public:
    // Compiles (or recompiles) the model on one member.
    using Compile = std::function<std::shared_ptr<CompiledModelState>(const std::string& device)>;

    // Compiles on every member at once. A member that cannot be reached starts lost (and is
    // probed); any other compile error is thrown, as is the first error when no member compiled.
    MultiModel(std::string name, std::vector<std::string> members, bool stateful, Compile compile);
    ~MultiModel();
    MultiModel(const MultiModel&) = delete;
    MultiModel& operator=(const MultiModel&) = delete;

    const std::string& name() const noexcept { return m_name; }
    bool stateful() const noexcept { return m_stateful; }
    // A live member's compiled model (the first in priority order); unavailable when none.
    std::shared_ptr<CompiledModelState> any_compiled();
    // MULTI's own properties (OPTIMAL_NUMBER_OF_INFER_REQUESTS, MULTI_DEVICE_PRIORITIES,
    // EXECUTION_DEVICES, LOOM_MULTI_MEMBERS); nullopt for the others (asked of a member).
    std::optional<std::string> property(const std::string& name);

    // One inference of `request` (its inputs, bound outputs; outputs and profile set on return).
    void infer(RequestState& request, std::uint64_t sequence);
    // The member request a stateful MULTI request is pinned to (made on first use).
    std::shared_ptr<RequestState> pinned(RequestState& request);
    // Cancels `request`'s running inference, wherever it runs.
    void cancel(RequestState& request, std::uint64_t sequence);

private:
    struct Member {
        std::string device;
        std::shared_ptr<CompiledModelState> compiled; // null while lost
        std::vector<std::shared_ptr<RequestState>> idle;
        unsigned slots = 1, busy = 0;
        std::uint64_t served = 0, generation = 0;
        std::string why_lost;
    };
    struct Lease {
        std::size_t member;
        std::uint64_t generation;
        std::shared_ptr<RequestState> request;
    };
    std::shared_ptr<CompiledModelState> any_compiled_or_null();
    Lease acquire();
    void give_back(const Lease& lease, bool served);
    // Marks the member lost (if `generation` is still its current one) and wakes the prober.
    void lose(std::size_t member, std::uint64_t generation, const Error& why);
    void join(std::size_t member, std::shared_ptr<CompiledModelState> compiled);
    void probe_loop();
    std::string members_text() const; // under m_mutex

    std::string m_name;
    bool m_stateful;
    Compile m_compile;
    mutable std::mutex m_mutex;           // guards the members and the fields below
    std::condition_variable m_changed;    // a slot freed, a member lost or joined
    std::condition_variable m_probe_wake; // the prober: a member lost, or stopping
    std::vector<Member> m_members;
    std::size_t m_next_pin = 0;
    bool m_stopping = false;
    std::thread m_prober;
};

// Whether an error from a member means the member is lost (rather than the request being bad).
bool is_member_loss(ErrorKind kind) noexcept;

} // namespace loom::runtime
