// A client host's load for the multi-host tests: THREADS threads × COUNT inferences of ONNX's
// relu node model on DEVICE (e.g. MULTI:CPU@nodeb,CPU@nodec) of the deployment whose kernel is
// KERNEL, each output checked against max(x, 0). Prints "progress N" every 25 inferences, then
// "result done=N failed=N", the first failures ("failure: …") and, for MULTI, LOOM_MULTI_MEMBERS
// ("member DEVICE STATE SLOTS SERVED"); then waits up to 60 s for every member to be ready ("all
// members ready" or "not all members ready") and runs THREADS × 25 more ("result2 …").
//
//   loom_test_remote_client KERNEL KEY PEER_KEY DEVICE THREADS COUNT

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <loom/core.hpp>

namespace {

constexpr const char* k_relu = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";

bool run_one(loom::InferRequest& request, float offset) {
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
    int done = 0, failed = 0;
    std::vector<std::string> failures; // the first few
};

// THREADS × COUNT inferences, each thread with its own request; "progress N" every 25.
Round run_round(const loom::CompiledModel& compiled, int threads, int count) {
    std::atomic<int> done{0}, failed{0};
    std::mutex mutex;
    Round round;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            auto request = compiled.create_infer_request();
            for (int i = 0; i < count; ++i) {
                std::string failure;
                try {
                    if (!run_one(request, static_cast<float>(t * 1000 + i) * 0.5f))
                        failure = "wrong output";
                } catch (const std::exception& e) {
                    failure = e.what();
                }
                std::lock_guard lock(mutex);
                if (!failure.empty()) {
                    ++failed;
                    if (round.failures.size() < 5) round.failures.push_back(failure);
                }
                if (int n = ++done; n % 25 == 0) std::cout << "progress " << n << std::endl;
            }
        });
    for (auto& th : pool)
        th.join();
    round.done = done;
    round.failed = failed;
    return round;
}

void print(const char* title, const Round& round, const loom::CompiledModel& compiled,
           const std::string& device) {
    std::cout << title << " done=" << round.done << " failed=" << round.failed << "\n";
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
    if (argc != 7) {
        std::cerr << "usage: loom_test_remote_client KERNEL KEY PEER_KEY DEVICE THREADS COUNT\n";
        return 2;
    }
    loom::CoreOptions options;
    options.kernel = argv[1];
    options.client_key_file = argv[2];
    options.kernel_key = argv[3];
    const std::string device = argv[4];
    const int threads = std::stoi(argv[5]), count = std::stoi(argv[6]);
    try {
        loom::Core core(options);
        auto compiled = core.compile_model(k_relu, device);
        std::cout << "compiled" << std::endl;
        auto first = run_round(compiled, threads, count);
        print("result", first, compiled, device);
        if (!device.starts_with("MULTI:")) return first.failed == 0 ? 0 : 1;
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        bool ready = false;
        while (!ready && std::chrono::steady_clock::now() < end) {
            ready = compiled.get_property("LOOM_MULTI_MEMBERS").find(" lost ") == std::string::npos;
            if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::cout << (ready ? "all members ready" : "not all members ready") << std::endl;
        auto second = run_round(compiled, threads, 25);
        print("result2", second, compiled, device);
        return first.failed == 0 && second.failed == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cout << "error: " << e.what() << std::endl;
        return 1;
    }
}
