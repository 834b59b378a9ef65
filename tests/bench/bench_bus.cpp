// bench_bus — bus latency and tensor throughput (Google Benchmark; --benchmark_format=json).
//
// roundtrip/*: one 64-byte request/reply through the real Channel and Server code.
// tensor/*/4MiB: from an ordinary filled 4 MiB frame until the receiver's checksum over every
// byte comes back. baseline/zmq_reqrep/*: plain cppzmq REQ/REP with a blocking recv, same payload;
// zmq_reqrep_spin: a REP server that spins after each reply as Loom's server loop does.
// tcp_curve: the same with CURVE, as Loom's tcp is (secure by default: its tcp server takes the
// key pair and the client key the parent writes into DIR, and the channel the client keys).
// ipc and tcp servers run in a child process (this program started with --serve DIR).

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bus/channel.hpp"
#include "bus/security.hpp"
#include "bus/server.hpp"
#include "bus/tensor_frame.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/test_service.hpp"

namespace {

using namespace loom;
using Clock = std::chrono::steady_clock;

constexpr std::size_t k_payload = 64;
constexpr std::size_t k_tensor_bytes = 4u << 20;

std::string g_dir;
std::string g_tcp_port_loom, g_tcp_port_zmq;

// LOOM_SPIN_US (read by bus::default_spin) sets both processes' spinning.
bus::ContextOptions bench_options() {
    return {};
}

void run_rep(zmq::socket_t& socket) {
    for (;;) {
        zmq::message_t m;
        if (!socket.recv(m, zmq::recv_flags::none)) return;
        if (m.size() == 4 && std::memcmp(m.data(), "quit", 4) == 0) return;
        socket.send(m, zmq::send_flags::none);
    }
}

// REP that busy-polls for the next request for 50 µs after each reply, as Loom's server loop
// does (ContextOptions::spin), yielding each turn: the like-for-like baseline of a spinning server.
void run_rep_spinning(zmq::socket_t& socket) {
    auto last = Clock::time_point{};
    for (;;) {
        zmq::message_t m;
        bool spin = Clock::now() - last < std::chrono::microseconds(50);
        if (!socket.recv(m, spin ? zmq::recv_flags::dontwait : zmq::recv_flags::none)) {
            if (!spin) return;
            sched_yield();
            continue;
        }
        if (m.size() == 4 && std::memcmp(m.data(), "quit", 4) == 0) return;
        socket.send(m, zmq::send_flags::none);
        last = Clock::now();
    }
}

// The child: echo/checksum services over ipc and tcp, and plain REP sockets for the baselines,
// until SIGTERM (from the parent's ChildProcess).
int serve(const std::string& dir) {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, nullptr); // before any thread: sigwait below takes it
    bus::Context context(bench_options());
    auto fast = test::make_test_service("bench", "1", {true, false, 1});
    bus::ServerSecurity security(bus::KeyPair::load(dir + "/server.key"));
    const auto client = bus::load_public_key(dir + "/client.pub");
    security.allow(client, bus::Roles::all());
    bus::Server ipc(context, fast, {.endpoints = {"ipc://" + dir + "/loom.sock"}});
    bus::Server tcp(context, fast, {.endpoints = {"tcp://127.0.0.1:*"}, .security = security});
    zmq::socket_t rep_ipc(context.zmq(), zmq::socket_type::rep);
    rep_ipc.bind("ipc://" + dir + "/zmq.sock");
    zmq::socket_t rep_tcp(context.zmq(), zmq::socket_type::rep);
    rep_tcp.bind("tcp://127.0.0.1:*");
    std::string zmq_tcp = rep_tcp.get(zmq::sockopt::last_endpoint);
    // The CURVE baseline: the same handshake check (this context's ZAP handler, the client's key
    // allowed), then nothing but ZeroMQ's own encryption per message.
    context.authenticator().allow("bench-baseline", {client});
    zmq::socket_t rep_curve(context.zmq(), zmq::socket_type::rep);
    bus::apply_server_security(rep_curve, security, "bench-baseline");
    rep_curve.bind("tcp://127.0.0.1:*");
    std::string zmq_curve = rep_curve.get(zmq::sockopt::last_endpoint);
    zmq::socket_t rep_spin_ipc(context.zmq(), zmq::socket_type::rep);
    rep_spin_ipc.bind("ipc://" + dir + "/zmq-spin.sock");
    zmq::socket_t rep_spin_curve(context.zmq(), zmq::socket_type::rep);
    bus::apply_server_security(rep_spin_curve, security, "bench-baseline");
    rep_spin_curve.bind("tcp://127.0.0.1:*");
    std::string zmq_spin_curve = rep_spin_curve.get(zmq::sockopt::last_endpoint);
    std::thread t1([&] { run_rep(rep_ipc); });
    std::thread t2([&] { run_rep(rep_tcp); });
    std::thread t3([&] { run_rep(rep_curve); });
    std::thread t4([&] { run_rep_spinning(rep_spin_ipc); });
    std::thread t5([&] { run_rep_spinning(rep_spin_curve); });
    std::cout << tcp.endpoints()[0] << " " << zmq_tcp << " " << zmq_curve << " " << zmq_spin_curve
              << std::endl;
    int signo = 0;
    sigwait(&term, &signo);
    rep_ipc.close();
    rep_tcp.close();
    rep_curve.close();
    rep_spin_ipc.close();
    rep_spin_curve.close();
    _exit(0); // the REP threads block in recv; nothing else needs tearing down
}

struct Child {
    std::unique_ptr<test::ChildProcess> process; // SIGTERM and reaped when reset
    std::string loom_tcp, zmq_tcp, zmq_curve, zmq_spin_curve;
};

// Starts `self --serve DIR` and reads the endpoints it prints on its first line.
Child spawn_child(const char* self, const std::string& dir) {
    Child c;
    c.process = std::make_unique<test::ChildProcess>(std::vector<std::string>{self, "--serve", dir},
                                                     /*with_stderr=*/false);
    std::istringstream words(c.process->read_until(
        [](const std::string& t) { return t.find('\n') != std::string::npos; }));
    words >> c.loom_tcp >> c.zmq_tcp >> c.zmq_curve >> c.zmq_spin_curve;
    if (c.zmq_spin_curve.empty()) std::abort();
    return c;
}

bus::Context& context() {
    static bus::Context c(bench_options());
    return c;
}

void report_percentiles(benchmark::State& state, std::vector<double>& us) {
    if (us.empty()) return;
    std::sort(us.begin(), us.end());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p90_us"] = us[us.size() * 9 / 10];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
}

void roundtrip(benchmark::State& state, bus::Channel& channel) {
    std::string text(k_payload, 'x');
    std::vector<double> us;
    us.reserve(1 << 16);
    for (auto _ : state) {
        auto t0 = Clock::now();
        bus::OutMessage request;
        auto p = request.init_payload<test::schema::EchoRequest>();
        p.setText(text);
        auto reply = channel.call(test::TestMethod::ECHO, std::move(request));
        benchmark::DoNotOptimize(reply.payload<test::schema::EchoReply>().getValue());
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    report_percentiles(state, us);
}

void tensor(benchmark::State& state, bus::Channel& channel) {
    auto frame = bus::Frame::allocate(k_tensor_bytes);
    auto bytes = frame.as_mutable<std::uint32_t>();
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<std::uint32_t>(i * 2654435761u);
    std::uint64_t expected = test::checksum(frame.bytes());
    std::int64_t shape[] = {static_cast<std::int64_t>(k_tensor_bytes / 4)};
    std::vector<double> us;
    for (auto _ : state) {
        auto t0 = Clock::now();
        bus::OutMessage request;
        auto p = request.init_payload<test::schema::ChecksumRequest>();
        bus::write_tensor(request, p.initTensor(), ElementType::F32, shape, frame);
        auto reply = channel.call(test::TestMethod::CHECKSUM, std::move(request));
        if (reply.payload<test::schema::ChecksumReply>().getSum() != expected) {
            state.SkipWithError("checksum mismatch");
            break;
        }
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * k_tensor_bytes));
    report_percentiles(state, us);
}

void baseline(benchmark::State& state, const std::string& endpoint,
              const std::optional<bus::ClientSecurity>& security = std::nullopt) {
    zmq::socket_t req(context().zmq(), zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    if (security) bus::apply_client_security(req, *security);
    req.connect(endpoint);
    std::string payload(k_payload, 'x');
    std::vector<double> us;
    for (auto _ : state) {
        auto t0 = Clock::now();
        req.send(zmq::buffer(payload), zmq::send_flags::none);
        zmq::message_t reply;
        (void)req.recv(reply, zmq::recv_flags::none);
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    report_percentiles(state, us);
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--serve") return serve(argv[2]);

    char dir_template[] = "/tmp/loom-bench-XXXXXX";
    g_dir = mkdtemp(dir_template);
    const auto server_keys = bus::KeyPair::generate();
    const auto client_keys = bus::KeyPair::generate();
    server_keys.save(g_dir + "/server");
    client_keys.save(g_dir + "/client");
    const bus::ClientSecurity curve{client_keys, server_keys.public_key};
    Child child = spawn_child("/proc/self/exe", g_dir);

    auto& ctx = context();
    // Co-located, thread-safe: called on the caller's thread.
    auto direct_service = test::make_test_service("bench", "1", {true, false, 1});
    bus::Server direct_server(ctx, direct_service, {.endpoints = {"inproc://bench-direct"}});
    // A component with its own event loop (handlers not thread-safe): over inproc sockets.
    auto loop_service = test::make_test_service("bench", "1", {false, false, 1});
    bus::Server loop_server(ctx, loop_service, {.endpoints = {"inproc://bench-loop"}});
    // Plain REP for the inproc baseline.
    zmq::socket_t rep(ctx.zmq(), zmq::socket_type::rep);
    rep.bind("inproc://bench-zmq");
    std::thread rep_thread([&] { run_rep(rep); });

    bus::Channel direct(ctx, "inproc://bench-direct", "bench");
    bus::Channel inproc(ctx, "inproc://bench-loop", "bench");
    bus::Channel ipc(ctx, "ipc://" + g_dir + "/loom.sock", "bench");
    bus::Channel tcp(ctx, child.loom_tcp, "bench", {.security = curve});

    // Plain names (no /real_time suffix): scripts read them. The iteration count follows CPU
    // time; every row also reports wall-clock percentiles of the individual requests.
    auto reg = [](const char* name, auto fn) { benchmark::RegisterBenchmark(name, fn); };
    reg("roundtrip/direct", [&](benchmark::State& s) { roundtrip(s, direct); });
    reg("roundtrip/inproc", [&](benchmark::State& s) { roundtrip(s, inproc); });
    reg("roundtrip/ipc", [&](benchmark::State& s) { roundtrip(s, ipc); });
    reg("roundtrip/tcp", [&](benchmark::State& s) { roundtrip(s, tcp); });
    reg("tensor/ipc/4MiB", [&](benchmark::State& s) { tensor(s, ipc); });
    reg("tensor/tcp/4MiB", [&](benchmark::State& s) { tensor(s, tcp); });
    reg("baseline/zmq_reqrep/inproc",
        [&](benchmark::State& s) { baseline(s, "inproc://bench-zmq"); });
    reg("baseline/zmq_reqrep/ipc",
        [&](benchmark::State& s) { baseline(s, "ipc://" + g_dir + "/zmq.sock"); });
    reg("baseline/zmq_reqrep/tcp", [&](benchmark::State& s) { baseline(s, child.zmq_tcp); });
    reg("baseline/zmq_reqrep/tcp_curve",
        [&](benchmark::State& s) { baseline(s, child.zmq_curve, curve); });
    reg("baseline/zmq_reqrep_spin/ipc",
        [&](benchmark::State& s) { baseline(s, "ipc://" + g_dir + "/zmq-spin.sock"); });
    reg("baseline/zmq_reqrep_spin/tcp_curve",
        [&](benchmark::State& s) { baseline(s, child.zmq_spin_curve, curve); });

    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    {
        zmq::socket_t quit(ctx.zmq(), zmq::socket_type::req);
        quit.connect("inproc://bench-zmq");
        quit.send(zmq::str_buffer("quit"), zmq::send_flags::none);
    }
    rep_thread.join();
    rep.close();
    child.process.reset();
    std::filesystem::remove_all(g_dir);
    return 0;
}
