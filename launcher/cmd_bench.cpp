// loom bench -m MODEL [-d DEVICE] [--shape NAME=D0,D1,...] [-i NAME=FILE ...] [-t SECONDS]
//            [--hint latency|throughput] [--json FILE] [--trace FILE] [--extension LIB ...]
// Like OpenVINO's benchmark_app (DESIGN.md §7): compiles the model with the hint, times the first
// inference, then runs for -t seconds — one request back to back (latency), or the device's
// OPTIMAL_NUMBER_OF_INFER_REQUESTS requests kept in flight (throughput) — and reports latency
// percentiles and throughput on stdout and, with --json, in a file whose keys are a contract.
// Inputs come from -i files as for `loom run`; an input without one is filled with values valid
// for its type (floats in [0, 1), integers 0, booleans false).

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "launcher/bench_report.hpp"
#include "launcher/commands.hpp"
#include "launcher/model_inputs.hpp"
#include "launcher/security_options.hpp"
#include "launcher/trace.hpp"
#include "schemas/error.hpp"
#include <loom/core.hpp>
#include <loom/pipeline.hpp>

namespace loom::launcher {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
    std::string model;
    std::string pipeline;
    std::string device = "REFERENCE";
    std::vector<std::string> shapes, inputs, extensions;
    double seconds = 10;
    std::string hint = "latency";
    std::string json;
    std::string trace;
    std::string precision;
    std::string kernel;    // a running deployment to use
    ClientKeyOptions keys; // for the kernel, devices and extensions at tcp:// endpoints
};

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The inferences a --trace file holds at most (the first ones of the timed run).
constexpr std::size_t k_traced_inferences = 1000;

// Adds the request's last inference to `trace` (if tracing and not full).
void record(Trace* trace, std::size_t index, InferRequest& request, Clock::time_point origin,
            Clock::time_point started) {
    if (!trace || trace->inferences() >= k_traced_inferences) return;
    trace->add(index, std::chrono::duration_cast<std::chrono::microseconds>(started - origin),
               request.get_profiling_info());
}

// An input tensor of the port's (static) shape holding values valid for its type.
Tensor filled(const Port& port, std::mt19937& rng) {
    LOOM_REQUIRE(port.shape.is_static(),
                 "input '{}' has the dynamic shape {}: give --shape {}=D0,D1,... or -i {}=FILE",
                 port.name, port.shape.to_string(), port.name, port.name);
    Tensor t(port.type, port.shape.to_shape()); // zero-filled: integers 0, booleans false
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    switch (port.type) {
    case ElementType::F32:
        for (std::int64_t i = 0; i < t.size(); ++i)
            t.data<float>()[i] = unit(rng);
        break;
    case ElementType::F64:
        for (std::int64_t i = 0; i < t.size(); ++i)
            t.data<double>()[i] = unit(rng);
        break;
    case ElementType::F16: // 0.5
        std::fill_n(t.data<std::uint16_t>(), t.size(), std::uint16_t{0x3800});
        break;
    case ElementType::BF16: // 0.5
        std::fill_n(t.data<std::uint16_t>(), t.size(), std::uint16_t{0x3f00});
        break;
    default:
        break;
    }
    return t;
}

// Draws "[#####.....]  4.2 / 10.0 s" over itself on a terminal; nothing otherwise.
class Progress {
public:
    explicit Progress(double seconds)
        : m_seconds(seconds)
        , m_on(::isatty(STDOUT_FILENO) == 1) {}
    void update(double elapsed_s) {
        if (!m_on || Clock::now() < m_next) return;
        m_next = Clock::now() + std::chrono::milliseconds(100);
        constexpr int width = 40;
        const int done = std::clamp(static_cast<int>(width * elapsed_s / m_seconds), 0, width);
        std::cout << fmt::format("\r[{}{}] {:5.1f} / {:.1f} s", std::string(done, '#'),
                                 std::string(width - done, '.'), elapsed_s, m_seconds)
                  << std::flush;
    }
    void finish() {
        if (m_on) std::cout << "\r" << std::string(60, ' ') << "\r" << std::flush;
    }

private:
    double m_seconds;
    bool m_on;
    Clock::time_point m_next{};
};

// One request back to back for `seconds` (at least once); the latency of each run.
std::vector<double> run_latency(InferRequest& request, double seconds, Progress& progress,
                                Trace* trace) {
    std::vector<double> latencies;
    const auto start = Clock::now();
    do {
        const auto t = Clock::now();
        request.infer();
        latencies.push_back(ms_since(t));
        record(trace, 0, request, start, t);
        progress.update(ms_since(start) / 1000);
    } while (ms_since(start) < seconds * 1000);
    return latencies;
}

// Runs `body`; what it throws, as an exception_ptr (null when nothing).
template <class F>
std::exception_ptr guard(F&& body) {
    try {
        body();
        return nullptr;
    } catch (...) {
        return std::current_exception();
    }
}

// `requests` kept in flight for `seconds`: a request that finishes is started again until the
// time is up; then every one is waited for. The latency of each run, start to callback. An
// inference's error ends the run and is rethrown.
std::vector<double> run_throughput(std::vector<InferRequest>& requests, double seconds,
                                   Progress& progress, Trace* trace) {
    std::mutex mutex;
    std::condition_variable done;
    std::deque<std::size_t> idle;
    std::vector<Clock::time_point> started(requests.size());
    std::vector<double> latencies;
    std::exception_ptr failure;
    for (std::size_t i = 0; i < requests.size(); ++i)
        requests[i].set_callback([&, i](std::exception_ptr error) {
            std::lock_guard lock(mutex);
            latencies.push_back(ms_since(started[i]));
            if (error && !failure) failure = error;
            idle.push_back(i);
            done.notify_one();
        });
    const auto start = Clock::now();
    std::unique_lock lock(mutex);
    std::size_t in_flight = 0;
    for (std::size_t i = 0; i < requests.size() && !failure; ++i) {
        started[i] = Clock::now();
        lock.unlock();
        auto error = guard([&] { requests[i].start_async(); });
        lock.lock();
        if (error)
            failure = error;
        else
            ++in_flight;
    }
    while (in_flight > 0) {
        done.wait(lock, [&] { return !idle.empty(); });
        while (!idle.empty()) {
            const auto i = idle.front();
            idle.pop_front();
            --in_flight;
            lock.unlock();
            auto error = guard([&] {
                requests[i].wait(); // the callback runs first
                record(trace, i, requests[i], start, started[i]);
            });
            lock.lock();
            if (error && !failure) failure = error;
            if (failure || ms_since(start) >= seconds * 1000) continue;
            started[i] = Clock::now();
            lock.unlock();
            error = guard([&] { requests[i].start_async(); });
            lock.lock();
            if (error && !failure) failure = error;
            if (!error) ++in_flight;
        }
        lock.unlock();
        progress.update(ms_since(start) / 1000);
        lock.lock();
    }
    lock.unlock();
    for (auto& r : requests) // nothing is in flight: no callback can run any more
        r.set_callback({});
    if (failure) std::rethrow_exception(failure);
    return latencies;
}

// A compiled model's property as a number, or `fallback` where the device has none.
std::uint32_t count_property(const CompiledModel& compiled, PropertyKey<std::uint32_t> key,
                             std::uint32_t fallback) {
    try {
        return std::max<std::uint32_t>(1, compiled.get_property(key));
    } catch (const Error&) {
        return fallback;
    }
}

void bench(const BenchOptions& o) {
    LOOM_REQUIRE(o.hint == "latency" || o.hint == "throughput",
                 "--hint {}: use latency or throughput", o.hint);
    LOOM_REQUIRE(o.seconds > 0, "-t {}: the duration must be positive", o.seconds);
    auto co = client_core_options(o.keys, o.kernel, o.device, o.extensions);
    Core core(co);
    for (const auto& lib : o.extensions)
        core.add_extension(lib);
    const bool throughput = o.hint == "throughput";
    auto properties = precision_properties(o.precision);
    properties.set(props::performance_mode,
                   throughput ? PerformanceMode::THROUGHPUT : PerformanceMode::LATENCY);
    if (!o.trace.empty()) properties.set(props::enable_profiling, true);
    auto target =
        compile_target(core, o.model, o.pipeline, o.device, o.shapes, !o.trace.empty(), properties);
    const auto& pipeline = target.pipeline;
    const auto& compiled = target.compiled;

    BenchReport report;
    report.device = o.pipeline.empty() ? o.device : compiled.device();
    report.hint = o.hint;
    report.streams = count_property(compiled, props::num_streams, 1);
    report.requests =
        throughput ? count_property(compiled, props::optimal_number_of_infer_requests, 1) : 1;
    auto bound = bind_inputs(o.inputs, compiled.inputs(), false);
    std::mt19937 rng(20261207);
    std::vector<Tensor> inputs;
    for (const auto& port : compiled.inputs())
        inputs.push_back(bound.contains(port.index) ? bound.at(port.index).tensor
                                                    : filled(port, rng));
    std::vector<InferRequest> requests;
    for (std::uint32_t r = 0; r < report.requests; ++r) {
        requests.push_back(compiled.create_infer_request());
        for (std::size_t i = 0; i < inputs.size(); ++i)
            requests.back().set_input_tensor(i, inputs[i]);
    }

    const auto first = Clock::now();
    requests.front().infer();
    report.first_inference_ms = ms_since(first);
    Progress progress(o.seconds);
    std::optional<Trace> trace;
    if (!o.trace.empty()) trace.emplace(o.device);
    Trace* tracing = trace ? &*trace : nullptr;
    const auto start = Clock::now();
    auto latencies = throughput ? run_throughput(requests, o.seconds, progress, tracing)
                                : run_latency(requests.front(), o.seconds, progress, tracing);
    report.duration_s = ms_since(start) / 1000;
    progress.finish();
    report.count = latencies.size();
    report.latency_ms = latency_stats(std::move(latencies));
    report.throughput_fps = static_cast<double>(report.count) / report.duration_s;
    if (o.device.starts_with("MULTI:"))
        report.members = parse_multi_members(compiled.get_property("LOOM_MULTI_MEMBERS"));
    std::cout << to_text(report);
    for (const auto& n : pipeline.node_stats()) // a pipeline: where the time went
        std::cout << fmt::format("  node {:<16} {:<9} runs {:>8}  mean {:8.3f} ms{}\n", n.name,
                                 n.kind, n.runs, n.runs ? n.seconds * 1000 / n.runs : 0.0,
                                 n.failures ? fmt::format("  failed {}", n.failures) : "");
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << to_json(report).dump(2) << '\n';
        LOOM_REQUIRE(out.good(), "--json {}: cannot write the file", o.json);
    }
    if (trace) trace->write(o.trace);
}

} // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<BenchOptions>();
    auto* cmd = app.add_subcommand(
        "bench", "Measure a model on a device, like benchmark_app: first-inference time, latency "
                 "percentiles, throughput");
    auto* model = cmd->add_option("-m,--model", o->model, "Model file (.xml OpenVINO IR or .onnx)");
    auto* pipeline = cmd->add_option(
        "--pipeline", o->pipeline,
        "A pipeline file (TOML) to measure where a model would go (give its inputs with -i); "
        "prints each node's runs and mean time too");
    model->excludes(pipeline);
    pipeline->excludes(model);
    cmd->add_option("-d,--device", o->device, "Device (default REFERENCE)");
    cmd->add_option("--shape", o->shapes,
                    "Reshape an input first: NAME=D0,D1,... (needed for dynamic inputs without "
                    "an -i file)");
    cmd->add_option("-i,--input", o->inputs,
                    "NAME=FILE (.npy or TensorProto .pb) for real inputs; others are filled "
                    "with valid values");
    cmd->add_option("-t,--time", o->seconds, "Seconds to run after the first inference (10)");
    cmd->add_option("--hint", o->hint,
                    "latency: one request back to back; throughput: the device's optimal number "
                    "of requests in flight")
        ->check(CLI::IsMember({"latency", "throughput"}));
    add_precision_option(*cmd, o->precision);
    cmd->add_option("--json", o->json,
                    "Also write the report as JSON (first_inference_ms, count, duration_s, "
                    "latency_ms, throughput_fps, device, hint, streams, requests)");
    cmd->add_option("--trace", o->trace,
                    "Write the per-node profile of the first 1000 timed inferences as "
                    "Chrome-trace JSON (Perfetto, chrome://tracing); profiling adds time "
                    "between inferences");
    cmd->add_option("--extension", o->extensions,
                    "Extension library with custom operations (or the endpoint of one hosted "
                    "with `loom serve --extension`)");
    add_kernel_option(*cmd, o->kernel);
    o->keys.add(*cmd, "the kernel, or the tcp:// device and extension hosts");
    cmd->callback([&exit_code, o] { exit_code = guarded("bench", [&] { bench(*o); }); });
}

} // namespace loom::launcher
