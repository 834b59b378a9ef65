#include "components/runtime/multi.hpp"

#include <future>

#include <spdlog/spdlog.h>

#include "components/model/properties.hpp"
#include "schemas/error.hpp"

namespace loom::runtime {

namespace {
constexpr auto k_probe_interval = std::chrono::milliseconds(500);
}

bool is_member_loss(ErrorKind kind) noexcept {
    return kind == ErrorKind::DISCONNECTED || kind == ErrorKind::UNAVAILABLE ||
           kind == ErrorKind::NOT_FOUND;
}

MultiModel::MultiModel(std::string name, std::vector<std::string> members, bool stateful,
                       Compile compile)
    : m_name(std::move(name))
    , m_stateful(stateful)
    , m_compile(std::move(compile)) {
    LOOM_REQUIRE(!members.empty(), "device '{}': no members", m_name);
    std::vector<std::future<std::shared_ptr<CompiledModelState>>> compiling;
    for (const auto& device : members) {
        m_members.push_back(Member{.device = device});
        compiling.push_back(std::async(std::launch::async, m_compile, device));
    }
    std::exception_ptr first_error, fatal;
    for (std::size_t i = 0; i < compiling.size(); ++i) {
        try {
            join(i, compiling[i].get());
        } catch (const Error& e) {
            if (!first_error) first_error = std::current_exception();
            if (is_member_loss(e.kind())) {
                m_members[i].why_lost = e.what();
                spdlog::warn("{}: member {} is out for now ({}); probing it", m_name,
                             m_members[i].device, e.what());
            } else if (!fatal) {
                fatal = std::current_exception();
            }
        }
    }
    if (fatal) std::rethrow_exception(fatal);
    if (!any_compiled_or_null()) std::rethrow_exception(first_error);
    m_prober = std::thread([this] { probe_loop(); });
}

MultiModel::~MultiModel() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    m_probe_wake.notify_all();
    if (m_prober.joinable()) m_prober.join();
}

std::shared_ptr<CompiledModelState> MultiModel::any_compiled_or_null() {
    std::lock_guard lock(m_mutex);
    for (const auto& m : m_members)
        if (m.compiled) return m.compiled;
    return nullptr;
}

std::shared_ptr<CompiledModelState> MultiModel::any_compiled() {
    if (auto c = any_compiled_or_null()) return c;
    std::lock_guard lock(m_mutex);
    LOOM_THROW(ErrorKind::UNAVAILABLE, "{}: no member is available ({})", m_name, members_text());
}

std::string MultiModel::members_text() const {
    std::string out;
    for (const auto& m : m_members)
        out += (out.empty() ? "" : "; ") + m.device + ": " +
               (m.compiled ? "ready" : "lost: " + m.why_lost);
    return out;
}

void MultiModel::join(std::size_t i, std::shared_ptr<CompiledModelState> compiled) {
    auto slots = optimal_requests(*compiled);
    std::lock_guard lock(m_mutex);
    auto& m = m_members[i];
    m.compiled = std::move(compiled);
    m.slots = std::max(1u, slots);
    m.busy = 0;
    m.idle.clear();
    m.why_lost.clear();
    ++m.generation;
    m_changed.notify_all();
}

void MultiModel::lose(std::size_t i, std::uint64_t generation, const Error& why) {
    std::vector<std::shared_ptr<RequestState>> dropped;
    std::shared_ptr<CompiledModelState> compiled;
    {
        std::lock_guard lock(m_mutex);
        auto& m = m_members[i];
        if (m.generation != generation || !m.compiled) return; // already lost (or rejoined)
        spdlog::warn("{}: member {} lost ({}); {}", m_name, m.device, why.what(),
                     m_stateful ? "the requests pinned to it fail `disconnected`"
                                : "its work goes to the others");
        // Its objects went with it (or its lease ends them): nothing to release.
        for (auto& r : m.idle)
            r->handle = 0;
        m.compiled->handle = 0;
        dropped = std::move(m.idle);
        compiled = std::move(m.compiled);
        m.idle.clear();
        m.why_lost = why.what();
        ++m.generation;
    }
    m_changed.notify_all();
    m_probe_wake.notify_all();
}

MultiModel::Lease MultiModel::acquire() {
    std::unique_lock lock(m_mutex);
    for (;;) {
        std::size_t best = m_members.size();
        bool any_live = false;
        for (std::size_t i = 0; i < m_members.size(); ++i) {
            const auto& m = m_members[i];
            if (!m.compiled) continue;
            any_live = true;
            if (m.busy >= m.slots) continue;
            // Least loaded (busy / slots) first; priority order on ties.
            if (best == m_members.size() ||
                m.busy * m_members[best].slots < m_members[best].busy * m.slots)
                best = i;
        }
        if (!any_live)
            LOOM_THROW(ErrorKind::UNAVAILABLE, "{}: no member is available ({})", m_name,
                       members_text());
        if (best < m_members.size()) {
            auto& m = m_members[best];
            ++m.busy;
            Lease lease{best, m.generation, nullptr};
            if (!m.idle.empty()) {
                lease.request = std::move(m.idle.back());
                m.idle.pop_back();
                return lease;
            }
            auto compiled = m.compiled;
            lock.unlock();
            try {
                lease.request = new_device_request(compiled);
                return lease;
            } catch (const Error& e) {
                give_back(lease, false);
                if (!is_member_loss(e.kind())) throw;
                lose(lease.member, lease.generation, e); // and try the others
            }
            lock.lock();
            continue;
        }
        m_changed.wait(lock);
    }
}

void MultiModel::give_back(const Lease& lease, bool served) {
    {
        std::lock_guard lock(m_mutex);
        auto& m = m_members[lease.member];
        if (m.generation == lease.generation) {
            --m.busy;
            if (served) ++m.served;
            if (lease.request) m.idle.push_back(lease.request);
        } else if (lease.request) {
            lease.request->handle = 0; // its member was lost since: nothing to release
        }
    }
    m_changed.notify_all();
}

namespace {
// Runs `member`'s inference on `request`'s tensors and hands the results back.
void run_on(RequestState& request, RequestState& member, std::uint64_t sequence) {
    member.inputs = request.inputs;
    member.outputs = request.outputs;
    member.output_bound = request.output_bound;
    member.infer_now(sequence);
    request.outputs = member.outputs;
    request.profile = std::move(member.profile);
}
} // namespace

void MultiModel::infer(RequestState& request, std::uint64_t sequence) {
    if (m_stateful) {
        auto member = pinned(request);
        {
            std::lock_guard lock(m_mutex);
            const auto& m = m_members[request.pin_index];
            if (m.generation != request.pin_generation)
                LOOM_THROW(ErrorKind::DISCONNECTED,
                           "{}: {}, which held this stateful request's variables, was lost "
                           "({}); they went with it — create a new request",
                           m_name, m.device, m.why_lost.empty() ? "since" : m.why_lost);
        }
        try {
            run_on(request, *member, sequence);
        } catch (const Error& e) {
            if (!is_member_loss(e.kind())) throw;
            lose(request.pin_index, request.pin_generation, e);
            LOOM_THROW(ErrorKind::DISCONNECTED,
                       "{}: the member running this stateful request was lost ({}); its "
                       "variables went with it — create a new request",
                       m_name, e.what());
        }
        std::lock_guard lock(m_mutex);
        ++m_members[request.pin_index].served;
        return;
    }
    for (;;) {
        auto lease = acquire(); // unavailable when no member is left
        {
            std::lock_guard lock(request.member_mutex);
            request.member = lease.request;
        }
        try {
            run_on(request, *lease.request, sequence);
        } catch (const Error& e) {
            {
                std::lock_guard lock(request.member_mutex);
                request.member.reset();
            }
            if (!is_member_loss(e.kind())) {
                give_back(lease, false);
                throw;
            }
            give_back(lease, false);
            lose(lease.member, lease.generation, e);
            continue; // stateless: run it again elsewhere
        }
        {
            std::lock_guard lock(request.member_mutex);
            request.member.reset();
        }
        give_back(lease, true);
        return;
    }
}

std::shared_ptr<RequestState> MultiModel::pinned(RequestState& request) {
    std::lock_guard pin_lock(request.member_mutex);
    if (request.member) return request.member;
    std::shared_ptr<CompiledModelState> compiled;
    {
        std::lock_guard lock(m_mutex);
        for (std::size_t k = 0; k < m_members.size() && !compiled; ++k) {
            const auto index = (m_next_pin + k) % m_members.size();
            auto& m = m_members[index];
            if (m.compiled) {
                compiled = m.compiled;
                request.pin_index = index;
                request.pin_generation = m.generation;
                m_next_pin = (index + 1) % m_members.size();
            }
        }
        if (!compiled)
            LOOM_THROW(ErrorKind::UNAVAILABLE, "{}: no member is available ({})", m_name,
                       members_text());
    }
    request.member = new_device_request(compiled);
    return request.member;
}

void MultiModel::cancel(RequestState& request, std::uint64_t sequence) {
    std::shared_ptr<RequestState> member;
    {
        std::lock_guard lock(request.member_mutex);
        member = request.member;
    }
    if (member) cancel_on_device(*member, sequence);
}

std::optional<std::string> MultiModel::property(const std::string& name) {
    std::lock_guard lock(m_mutex);
    if (name == props::optimal_number_of_infer_requests.name) {
        unsigned total = 0;
        for (const auto& m : m_members)
            if (m.compiled) total += m.slots;
        return std::to_string(std::max(1u, total));
    }
    std::string list;
    if (name == "MULTI_DEVICE_PRIORITIES" || name == "EXECUTION_DEVICES") {
        for (const auto& m : m_members)
            if (name == "MULTI_DEVICE_PRIORITIES" || m.compiled)
                list += (list.empty() ? "" : ",") + m.device;
        return list;
    }
    if (name == "LOOM_MULTI_MEMBERS") { // a line per member: device state slots served busy
        for (const auto& m : m_members)
            list += fmt::format("{} {} {} {} {}\n", m.device, m.compiled ? "ready" : "lost",
                                m.compiled ? m.slots : 0, m.served, m.compiled ? m.busy : 0);
        return list;
    }
    return std::nullopt;
}

void MultiModel::probe_loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        m_probe_wake.wait_for(lock, k_probe_interval);
        for (std::size_t i = 0; i < m_members.size() && !m_stopping; ++i) {
            if (m_members[i].compiled) continue;
            const auto device = m_members[i].device;
            const auto generation = m_members[i].generation;
            lock.unlock();
            std::shared_ptr<CompiledModelState> compiled;
            std::string why;
            try {
                compiled = m_compile(device);
            } catch (const std::exception& e) {
                why = e.what();
            }
            if (compiled) {
                lock.lock();
                const bool current = m_members[i].generation == generation && !m_stopping;
                lock.unlock();
                if (current) {
                    join(i, std::move(compiled));
                    spdlog::info("{}: member {} is back", m_name, device);
                }
            }
            lock.lock();
            if (!why.empty() && m_members[i].generation == generation) m_members[i].why_lost = why;
        }
    }
}

} // namespace loom::runtime
