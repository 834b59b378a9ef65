// A client host's load for the multi-host tests: THREADS threads × COUNT inferences of ONNX's
// relu node model on DEVICE (e.g. MULTI:CPU@nodeb,CPU@nodec) of the deployment whose kernel is
// KERNEL, each output checked against max(x, 0) — or, with `stateful`, of an accumulator with
// a variable, each output checked against the running sum. Prints "progress N" every 25
// inferences, then "result done=N failed=N disconnected=N max_failure_ms=N", the first failures
// ("failure: …") and, for MULTI, LOOM_MULTI_MEMBERS
// ("member DEVICE STATE SLOTS SERVED BUSY"); then waits up to 60 s for every member to be ready
// ("all members ready" or "not all members ready") and runs THREADS × 25 more ("result2 …").
//
//   loom_test_remote_client KERNEL KEY PEER_KEY DEVICE THREADS COUNT [stateful]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <loom/core.hpp>

#include "schemas/error.hpp"
#include "tests/support/expect.hpp"

namespace {

constexpr const char* k_relu = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";

// y = state + x; state = y (variable "acc", from 0), on [2] f32: a stateful model.
constexpr const char* k_accumulator = R"(<?xml version="1.0"?>
<net name="accumulator" version="11"><layers>
<layer id="0" name="x" type="Parameter" version="opset1"><data element_type="f32" shape="2"/>
<output><port id="0" precision="FP32"><dim>2</dim></port></output></layer>
<layer id="1" name="zero" type="Const" version="opset1"><data element_type="f32" shape="2"
offset="0" size="8"/><output><port id="0" precision="FP32"><dim>2</dim></port></output></layer>
<layer id="2" name="acc_read" type="ReadValue" version="opset6"><data variable_id="acc"
variable_type="f32" variable_shape="2"/><input><port id="0"><dim>2</dim></port></input>
<output><port id="1" precision="FP32"><dim>2</dim></port></output></layer>
<layer id="3" name="sum" type="Add" version="opset1"><input><port id="0"><dim>2</dim></port>
<port id="1"><dim>2</dim></port></input><output><port id="2" precision="FP32"><dim>2</dim>
</port></output></layer>
<layer id="4" name="acc_write" type="Assign" version="opset6"><data variable_id="acc"/>
<input><port id="0"><dim>2</dim></port></input></layer>
<layer id="5" name="y" type="Result" version="opset1"><input><port id="0"><dim>2</dim></port>
</input></layer></layers><edges>
<edge from-layer="1" from-port="0" to-layer="2" to-port="0"/>
<edge from-layer="2" from-port="1" to-layer="3" to-port="0"/>
<edge from-layer="0" from-port="0" to-layer="3" to-port="1"/>
<edge from-layer="3" from-port="2" to-layer="4" to-port="0"/>
<edge from-layer="3" from-port="2" to-layer="5" to-port="0"/>
</edges></net>
)";

// One inference; false when the output is wrong. Stateless: relu of values made from `offset`;
// stateful: the accumulator, whose output must be (runs so far + 1) × [1, 2].
bool run_one(loom::InferRequest& request, float offset, bool stateful, int& runs) {
    if (stateful) {
        float x[2] = {1, 2};
        request.set_input_tensor(loom::Tensor(loom::ElementType::F32, {2}, x));
        request.infer();
        const auto* y = static_cast<const float*>(request.get_output_tensor(0).data());
        ++runs;
        return y[0] == static_cast<float>(runs) && y[1] == static_cast<float>(2 * runs);
    }
    loom::Tensor x(loom::ElementType::F32, {3, 4, 5});
    auto* in = static_cast<float*>(x.data());
    for (int i = 0; i < 60; ++i)
        in[i] = static_cast<float>(i - 30) + offset;
    request.set_input_tensor(x);
    request.infer();
    const auto* y = static_cast<const float*>(request.get_output_tensor(0).data());
    for (int i = 0; i < 60; ++i)
        if (y[i] != std::max(in[i], 0.0f)) return false;
    return true;
}

struct Round {
    int done = 0, failed = 0, disconnected = 0;
    double max_failure_ms = 0; // the longest a failing inference took
    std::vector<int> failed_per_thread;
    std::vector<std::string> failures; // the first few
};

// THREADS × COUNT inferences, each thread with its own request; "progress N" every 25.
Round run_round(const loom::CompiledModel& compiled, int threads, int count, bool stateful) {
    std::atomic<int> done{0};
    std::mutex mutex;
    Round round;
    round.failed_per_thread.assign(static_cast<std::size_t>(threads), 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            auto request = compiled.create_infer_request();
            int runs = 0;
            for (int i = 0; i < count; ++i) {
                std::string failure;
                bool disconnected = false;
                const auto start = std::chrono::steady_clock::now();
                try {
                    if (!run_one(request, static_cast<float>(t * 1000 + i) * 0.5f, stateful, runs))
                        failure = "wrong output";
                } catch (const loom::Error& e) {
                    failure = e.what();
                    disconnected = e.kind() == loom::ErrorKind::DISCONNECTED;
                } catch (const std::exception& e) {
                    failure = e.what();
                }
                const std::chrono::duration<double, std::milli> took =
                    std::chrono::steady_clock::now() - start;
                std::lock_guard lock(mutex);
                if (!failure.empty()) {
                    ++round.failed;
                    ++round.failed_per_thread[static_cast<std::size_t>(t)];
                    round.disconnected += disconnected ? 1 : 0;
                    round.max_failure_ms = std::max(round.max_failure_ms, took.count());
                    if (round.failures.size() < 5) round.failures.push_back(failure);
                }
                if (int n = ++done; n % 25 == 0) std::cout << "progress " << n << std::endl;
            }
        });
    for (auto& th : pool)
        th.join();
    round.done = done;
    return round;
}

void print(const char* title, const Round& round, const loom::CompiledModel& compiled,
           const std::string& device) {
    std::cout << title << " done=" << round.done << " failed=" << round.failed
              << " disconnected=" << round.disconnected
              << " max_failure_ms=" << static_cast<long>(round.max_failure_ms) << "\n";
    std::cout << "failed per thread:";
    for (int n : round.failed_per_thread)
        std::cout << " " << n;
    std::cout << "\n";
    for (const auto& f : round.failures)
        std::cout << "failure: " << f << "\n";
    if (device.starts_with("MULTI:")) {
        std::istringstream lines(compiled.get_property("LOOM_MULTI_MEMBERS"));
        for (std::string line; std::getline(lines, line);)
            std::cout << "member " << line << "\n";
    }
    std::cout << std::flush;
}

} // namespace

// Round 1 (THREADS × COUNT), then — MULTI — a wait of up to 60 s for every member to be ready
// ("all members ready"), and round 2 (THREADS × 25) to show that they serve.
int main(int argc, char** argv) {
    if (argc != 7 && !(argc == 8 && std::string(argv[7]) == "stateful")) {
        std::cerr << "usage: loom_test_remote_client KERNEL KEY PEER_KEY DEVICE THREADS COUNT "
                     "[stateful]\n";
        return 2;
    }
    const bool stateful = argc == 8;
    loom::CoreOptions options;
    options.kernel = argv[1];
    options.client_key_file = argv[2];
    options.kernel_key = argv[3];
    const std::string device = argv[4];
    const int threads = std::stoi(argv[5]), count = std::stoi(argv[6]);
    try {
        loom::Core core(options);
        const std::string xml = k_accumulator;
        const float zeros[2] = {0, 0};
        auto compiled = stateful
                            ? core.compile_model(
                                  core.read_model(std::as_bytes(std::span(xml.data(), xml.size())),
                                                  std::as_bytes(std::span(zeros))),
                                  device)
                            : core.compile_model(k_relu, device);
        std::cout << "compiled" << std::endl;
        auto first = run_round(compiled, threads, count, stateful);
        print("result", first, compiled, device);
        if (!device.starts_with("MULTI:")) return first.failed == 0 ? 0 : 1;
        const bool ready = loom::test::eventually(
            [&] {
                return compiled.get_property("LOOM_MULTI_MEMBERS").find(" lost ") ==
                       std::string::npos;
            },
            std::chrono::seconds(60));
        std::cout << (ready ? "all members ready" : "not all members ready") << std::endl;
        auto second = run_round(compiled, threads, 25, stateful);
        print("result2", second, compiled, device);
        return first.failed == 0 && second.failed == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cout << "error: " << e.what() << std::endl;
        return 1;
    }
}
