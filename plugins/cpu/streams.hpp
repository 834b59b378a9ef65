#pragma once
// Streams — where the CPU device runs inferences (issue 13's thread layout): threads of its own,
// each running one inference at a time with an OpenMP team of its size (set on that thread:
// libgomp sizes a team per calling thread and spins it after each region, so two teams on the
// same cores — say one per bus thread — fight), and the reference kernels' parallel_for on that
// same team (set_thread_parallel_backend). Bus threads and oneTBB workers only hand a run over
// and wait for it. LATENCY: one stream on all cores; THROUGHPUT: several streams of fewer
// threads each, runs in flight overlapping across them.
// Threading: run() may be called from any number of threads; runs beyond the streams queue.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "components/model/properties.hpp"
#include "components/protocol/executor.hpp"
#include "components/reference/interpreter.hpp"

namespace loom::plugins::cpu {

struct StreamConfig {
    int streams = 1;
    int threads = 1; // per stream
    bool throughput = false;
};

// From PERFORMANCE_HINT, NUM_STREAMS and INFERENCE_NUM_THREADS (default: every core).
StreamConfig stream_config(const Properties& props);

// The compiled model's answer for a stream property (OPTIMAL_NUMBER_OF_INFER_REQUESTS — two per
// stream with THROUGHPUT, so one computes while the other's tensors cross the bus —,
// NUM_STREAMS, INFERENCE_NUM_THREADS, PERFORMANCE_HINT); nullopt for the others.
std::optional<std::string> stream_property(const Properties& props, const std::string& name);

class Streams {
public:
    explicit Streams(StreamConfig config);

    // Runs `f` on the next free stream and returns when it has; rethrows what it threw.
    void run(const std::function<void()>& f);
    const StreamConfig& config() const noexcept { return m_config; }

private:
    StreamConfig m_config;
    protocol::ThreadPoolExecutor m_pool; // one thread per stream, named "cpu-stream"
};

// An executable whose runs go to `streams`.
class StreamedExecutable final : public loom::reference::Executable {
public:
    StreamedExecutable(std::shared_ptr<const loom::reference::Executable> inner,
                       std::shared_ptr<Streams> streams)
        : m_inner(std::move(inner))
        , m_streams(std::move(streams)) {}
    std::vector<model::Tensor> run(std::span<const model::Tensor> parameters,
                                   const loom::reference::RunState& run,
                                   loom::reference::Profile* profile) const override;
    std::string exec_type(const model::Node& node) const override {
        return m_inner->exec_type(node);
    }

private:
    std::shared_ptr<const loom::reference::Executable> m_inner;
    std::shared_ptr<Streams> m_streams;
};

} // namespace loom::plugins::cpu
