// MULTI (DESIGN.md §6, issue 14): one logical device over device hosts in processes of their
// own (`loom serve --device REFERENCE` on ipc endpoints, named by endpoint). Requests spread over
// the members; a member killed mid-run loses no request of a stateless model; it rejoins when
// restarted; a stateful request on a lost member fails `disconnected`; with no member left a
// request fails `unavailable` at once.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <loom/core.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/expect.hpp"

namespace loom::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* k_relu = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";

class TempDir {
public:
    TempDir() {
        m_path = fs::temp_directory_path() /
                 ("loom-multi-" + std::to_string(::getpid()) + "-" + std::to_string(++s_count));
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    std::string ipc(const std::string& name) const { return "ipc://" + (m_path / name).string(); }

private:
    static inline int s_count = 0;
    fs::path m_path;
};

// A device host: `loom serve --device REFERENCE` at `endpoint`, up once it says so.
std::unique_ptr<ChildProcess> serve_device(const std::string& endpoint) {
    auto p = std::make_unique<ChildProcess>(std::vector<std::string>{
        LOOM_EXECUTABLE, "serve", "--device", "REFERENCE", "--name", "host", "-b", endpoint});
    p->read_until([](const std::string& out) { return out.find("serving") != std::string::npos; });
    EXPECT_NE(p->output().find("serving 'device/REFERENCE@host'"), std::string::npos)
        << p->output();
    return p;
}

void kill_now(ChildProcess& p) {
    p.signal(SIGKILL);
    p.wait();
}

// x = -30 … 29 as [3,4,5]; relu's output is max(x, 0).
Tensor relu_input(float offset) {
    Tensor t(ElementType::F32, {3, 4, 5});
    auto* x = static_cast<float*>(t.data());
    for (int i = 0; i < 60; ++i)
        x[i] = static_cast<float>(i - 30) + offset;
    return t;
}
bool is_relu_of(const Tensor& y, float offset) {
    if (y.shape() != Shape{3, 4, 5}) return false;
    const auto* v = static_cast<const float*>(y.data());
    for (int i = 0; i < 60; ++i)
        if (v[i] != std::max(static_cast<float>(i - 30) + offset, 0.0f)) return false;
    return true;
}

struct MemberLine {
    std::string state;
    unsigned slots = 0;
    std::uint64_t served = 0;
    unsigned busy = 0;
};
// LOOM_MULTI_MEMBERS: a line per member, "DEVICE STATE SLOTS SERVED BUSY".
std::map<std::string, MemberLine> members(const CompiledModel& compiled) {
    std::map<std::string, MemberLine> out;
    std::istringstream lines(compiled.get_property("LOOM_MULTI_MEMBERS"));
    std::string device;
    MemberLine m;
    while (lines >> device >> m.state >> m.slots >> m.served >> m.busy)
        out[device] = m;
    return out;
}

// `threads` threads each running `count` inferences with their own request; the failures.
std::vector<std::string> run_load(const CompiledModel& compiled, int threads, int count,
                                  std::atomic<int>& done) {
    std::vector<std::string> failures;
    std::mutex mutex;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            auto request = compiled.create_infer_request();
            for (int i = 0; i < count; ++i) {
                const float offset = static_cast<float>(t * 1000 + i) * 0.5f;
                try {
                    request.set_input_tensor(relu_input(offset));
                    request.infer();
                    if (!is_relu_of(request.get_output_tensor(0), offset))
                        throw Error(ErrorKind::INTERNAL, "wrong output");
                } catch (const std::exception& e) {
                    std::lock_guard lock(mutex);
                    failures.push_back(e.what());
                }
                ++done;
            }
        });
    for (auto& th : pool)
        th.join();
    return failures;
}

// Two device hosts (REFERENCE, ipc) and a Core whose MULTI device spans them: a first in
// priority order, then b.
class Multi : public testing::Test {
protected:
    void SetUp() override {
        m_host_a = serve_device(m_at_a);
        m_host_b = serve_device(m_at_b);
    }

    TempDir m_dir;
    const std::string m_at_a = m_dir.ipc("a"), m_at_b = m_dir.ipc("b");
    const std::string m_a = "REFERENCE@" + m_at_a, m_b = "REFERENCE@" + m_at_b;
    const std::string m_multi = "MULTI:" + m_a + "," + m_b;
    std::unique_ptr<ChildProcess> m_host_a, m_host_b;
    Core m_core;
};

TEST_F(Multi, SpreadsRequestsOverItsMembers) {
    auto compiled = m_core.compile_model(k_relu, m_multi);
    EXPECT_EQ(compiled.device(), m_multi);
    EXPECT_EQ(compiled.get_property(props::optimal_number_of_infer_requests), 2u);
    EXPECT_EQ(compiled.get_property("EXECUTION_DEVICES"), m_a + "," + m_b);
    // a (first in priority) is held busy — its host stopped with our request in it — so the
    // next request goes to b, which has a free slot.
    m_host_a->signal(SIGSTOP);
    auto held = compiled.create_infer_request();
    held.set_input_tensor(relu_input(1));
    held.start_async();
    ASSERT_TRUE(eventually([&] { return members(compiled)[m_a].busy == 1; }));
    auto next = compiled.create_infer_request();
    next.set_input_tensor(relu_input(2));
    next.infer();
    EXPECT_TRUE(is_relu_of(next.get_output_tensor(0), 2));
    EXPECT_EQ(members(compiled)[m_b].served, 1u);
    m_host_a->signal(SIGCONT);
    held.wait();
    EXPECT_TRUE(is_relu_of(held.get_output_tensor(0), 1));
    EXPECT_EQ(members(compiled)[m_a].served, 1u);
    // Under load every inference is served once, by one member.
    std::atomic<int> done{0};
    auto failures = run_load(compiled, 2, 100, done);
    EXPECT_TRUE(failures.empty()) << failures.front();
    auto m = members(compiled);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[m_a].served + m[m_b].served, 202u);
    EXPECT_EQ(m[m_a].busy + m[m_b].busy, 0u);
    EXPECT_EQ(error_kind_of([&] {
                  std::ostringstream s;
                  compiled.export_model(s);
              }),
              ErrorKind::UNSUPPORTED);
}

// The member killed is the first in priority order: every inference that finds it idle goes
// there, so its loss is certain to be met, and after its restart it is certain to be used again.
TEST_F(Multi, AMemberKilledMidRunLosesNoRequestAndRejoinsWhenRestarted) {
    auto compiled = m_core.compile_model(k_relu, m_multi);
    std::atomic<int> done{0};
    std::vector<std::string> failures;
    std::thread load([&] { failures = run_load(compiled, 3, 200, done); });
    ASSERT_TRUE(eventually([&] { return done.load() >= 100; }, 60s));
    kill_now(*m_host_a); // kill -9 mid-run
    const int done_at_kill = done.load();
    load.join();
    EXPECT_EQ(done.load(), 600);
    EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
    auto m = members(compiled);
    EXPECT_EQ(m[m_a].state, "lost");
    EXPECT_EQ(m[m_a].served + m[m_b].served, 600u) << "every request served once, by one member";
    EXPECT_LE(m[m_a].served, static_cast<std::uint64_t>(done_at_kill))
        << "the survivor served the rest (what a was running was run again on b)";

    // Restarted on the same endpoint: it rejoins without the client doing anything.
    m_host_a = serve_device(m_at_a);
    ASSERT_TRUE(eventually([&] { return members(compiled)[m_a].state == "ready"; }, 30s))
        << compiled.get_property("LOOM_MULTI_MEMBERS");
    const auto before = members(compiled)[m_a].served;
    done = 0;
    failures = run_load(compiled, 2, 100, done);
    EXPECT_TRUE(failures.empty()) << failures.front();
    EXPECT_GT(members(compiled)[m_a].served, before) << "it serves again";
}

TEST_F(Multi, NoMemberLeftIsUnavailableAtOnce) {
    auto compiled = m_core.compile_model(k_relu, m_multi);
    auto request = compiled.create_infer_request();
    request.set_input_tensor(relu_input(0));
    request.infer();
    kill_now(*m_host_a);
    kill_now(*m_host_b);
    std::string message;
    // (A hang would be caught by the ctest timeout; the kind is the contract.)
    EXPECT_EQ(error_kind_of([&] { request.infer(); }, &message), ErrorKind::UNAVAILABLE);
    EXPECT_NE(message.find("no member is available"), std::string::npos) << message;
    EXPECT_NE(message.find(m_a), std::string::npos) << message;
}

// y = state + x; state = y (variable "acc", starting at 0), on [2] f32.
constexpr const char* k_accumulator = R"(<?xml version="1.0"?>
<net name="accumulator" version="11">
  <layers>
    <layer id="0" name="x" type="Parameter" version="opset1">
      <data element_type="f32" shape="2"/>
      <output><port id="0" precision="FP32"><dim>2</dim></port></output>
    </layer>
    <layer id="1" name="zero" type="Const" version="opset1">
      <data element_type="f32" shape="2" offset="0" size="8"/>
      <output><port id="0" precision="FP32"><dim>2</dim></port></output>
    </layer>
    <layer id="2" name="acc_read" type="ReadValue" version="opset6">
      <data variable_id="acc" variable_type="f32" variable_shape="2"/>
      <input><port id="0"><dim>2</dim></port></input>
      <output><port id="1" precision="FP32"><dim>2</dim></port></output>
    </layer>
    <layer id="3" name="sum" type="Add" version="opset1">
      <input><port id="0"><dim>2</dim></port><port id="1"><dim>2</dim></port></input>
      <output><port id="2" precision="FP32"><dim>2</dim></port></output>
    </layer>
    <layer id="4" name="acc_write" type="Assign" version="opset6">
      <data variable_id="acc"/>
      <input><port id="0"><dim>2</dim></port></input>
    </layer>
    <layer id="5" name="y" type="Result" version="opset1">
      <input><port id="0"><dim>2</dim></port></input>
    </layer>
  </layers>
  <edges>
    <edge from-layer="1" from-port="0" to-layer="2" to-port="0"/>
    <edge from-layer="2" from-port="1" to-layer="3" to-port="0"/>
    <edge from-layer="0" from-port="0" to-layer="3" to-port="1"/>
    <edge from-layer="3" from-port="2" to-layer="4" to-port="0"/>
    <edge from-layer="3" from-port="2" to-layer="5" to-port="0"/>
  </edges>
</net>
)";

TEST_F(Multi, AStatefulRequestStaysOnItsMemberAndFailsDisconnectedWhenItIsLost) {
    const std::string xml = k_accumulator;
    const float zeros[2] = {0, 0};
    auto model = m_core.read_model(std::as_bytes(std::span(xml.data(), xml.size())),
                                   std::as_bytes(std::span(zeros)));
    auto compiled = m_core.compile_model(model, m_multi);
    // Pinned in turn: the first request to a, the second to b.
    auto on_a = compiled.create_infer_request();
    auto on_b = compiled.create_infer_request();
    float x[2] = {1, 2};
    const auto run = [&](InferRequest& r) {
        r.set_input_tensor(Tensor(ElementType::F32, {2}, x));
        r.infer();
        return static_cast<const float*>(r.get_output_tensor(0).data())[1];
    };
    EXPECT_EQ(run(on_a), 2.0f);
    EXPECT_EQ(run(on_a), 4.0f) << "the state accumulates on the request's member";
    EXPECT_EQ(run(on_b), 2.0f) << "each request has its own state";
    kill_now(*m_host_a);
    std::string message;
    EXPECT_EQ(error_kind_of([&] { run(on_a); }, &message), ErrorKind::DISCONNECTED) << message;
    EXPECT_EQ(error_kind_of([&] { run(on_a); }, &message), ErrorKind::DISCONNECTED)
        << "and stays so, without waiting on the lost member: " << message;
    EXPECT_EQ(run(on_b), 4.0f) << "the other member's requests go on";
    auto members = compiled.get_property("LOOM_MULTI_MEMBERS");
    EXPECT_NE(members.find(m_a + " lost 0 2 0\n"), std::string::npos) << members;
    EXPECT_NE(members.find(m_b + " ready 1 2 0\n"), std::string::npos) << members;
}

} // namespace
} // namespace loom::test
