#include "plugins/cpu/streams.hpp"

#include <omp.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "components/reference/kernel.hpp"

namespace loom::plugins::cpu {

namespace {

int cores() {
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// The reference kernels' parallel_for on the stream's OpenMP team.
void omp_parallel_for(std::int64_t n, std::int64_t grain,
                      const std::function<void(std::int64_t, std::int64_t)>& f) {
    const std::int64_t chunks = (n + grain - 1) / grain;
    std::exception_ptr error;
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < chunks; ++c) {
        try {
            f(c * grain, std::min(n, (c + 1) * grain));
        } catch (...) {
#pragma omp critical(loom_parallel_for_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

} // namespace

StreamConfig stream_config(const Properties& props) {
    StreamConfig c;
    const int total = props.has(props::inference_num_threads.name)
                          ? static_cast<int>(props.get(props::inference_num_threads))
                          : cores();
    c.throughput = props.has(props::performance_mode.name) &&
                   props.get(props::performance_mode) == PerformanceMode::THROUGHPUT;
    c.streams = c.throughput ? std::max(std::min(2, total), total / 4) : 1;
    if (props.has(props::num_streams.name) && props.get(props::num_streams) > 0)
        c.streams = static_cast<int>(props.get(props::num_streams));
    c.streams = std::clamp(c.streams, 1, std::max(1, total));
    c.threads = std::max(1, std::max(1, total) / c.streams);
    return c;
}

std::optional<std::string> stream_property(const Properties& props, const std::string& name) {
    const auto c = stream_config(props);
    if (name == props::optimal_number_of_infer_requests.name)
        return std::to_string(c.throughput ? 2 * c.streams : c.streams);
    if (name == props::num_streams.name) return std::to_string(c.streams);
    if (name == props::inference_num_threads.name) return std::to_string(c.streams * c.threads);
    if (name == props::performance_mode.name) return c.throughput ? "THROUGHPUT" : "LATENCY";
    return std::nullopt;
}

Streams::Streams(StreamConfig config)
    : m_config(config)
    // Named for top -H / perf; their OpenMP workers inherit the name.
    , m_pool(static_cast<unsigned>(config.streams), "cpu-stream") {}

void Streams::run(const std::function<void()>& f) {
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    std::exception_ptr error;
    m_pool.run([&] {
        // Each run sets its thread up: the pool's threads are the streams' alone.
        omp_set_num_threads(m_config.threads);
        loom::reference::set_thread_parallel_backend(omp_parallel_for);
        try {
            f();
        } catch (...) {
            error = std::current_exception();
        }
        std::lock_guard lock(mutex);
        done = true;
        finished.notify_all();
    });
    std::unique_lock lock(mutex);
    finished.wait(lock, [&] { return done; });
    if (error) std::rethrow_exception(error);
}

std::vector<model::Tensor> StreamedExecutable::run(std::span<const model::Tensor> parameters,
                                                   const loom::reference::RunState& run,
                                                   loom::reference::Profile* profile) const {
    std::vector<model::Tensor> out;
    m_streams->run([&] { out = m_inner->run(parameters, run, profile); });
    return out;
}

} // namespace loom::plugins::cpu
